#include "scope_runtime.h"

#include "secrets.h"

#include "earth/resolve/scope.h"

namespace earth::build {

using resolve::Binding;
using resolve::Value;
using resolve::VarKind;

namespace {

// The ENV binding of `name` in an image config's env list, if any.
const std::string* env_value(const std::vector<std::string>& env, std::string_view name) {
  for (auto it = env.rbegin(); it != env.rend(); ++it)
    if (it->size() > name.size() && it->compare(0, name.size(), name) == 0 &&
        (*it)[name.size()] == '=')
      return &*it;
  return nullptr;
}

} // namespace

void set_override(Overrides& o, const std::string& name, Value v) {
  for (auto& [k, val] : o)
    if (k == name) return (void)(val = std::move(v));
  o.emplace_back(name, std::move(v));
}

void RuntimeScope::push(resolve::FileId file, Overrides overrides, bool base) {
  frames_.push_back({file, std::move(overrides), {}, {}, base});
}

void RuntimeScope::pop() {
  frames_.pop_back();
}

const Value* RuntimeScope::override_of(std::string_view name) const {
  const auto& o = frames_.back().overrides;
  for (auto it = o.rbegin(); it != o.rend(); ++it)
    if (it->first == name) return &it->second;
  return nullptr;
}

const Value* RuntimeScope::lookup(std::string_view name,
                                  const std::vector<std::string>& env) const {
  static const std::vector<Binding> none;
  std::vector<Binding> envs;
  if (const std::string* e = env_value(env, name))
    envs.push_back({std::string(name), {e->substr(name.size() + 1), false}, VarKind::env});
  const Value* v = resolve::lookup(frames_.back().vars, envs.empty() ? none : envs, name);
  if (v && !envs.empty() && v == &envs.front().value) {
    env_scratch_.push_back(std::move(envs.front()));
    return &env_scratch_.back().value;
  }
  return v;
}

Result<Value> RuntimeScope::expand(std::string_view word, const std::vector<std::string>& env,
                                   const resolve::ShellOut& shell_out) const {
  env_scratch_.clear();
  bool read_derived = false;
  auto v = resolve::expand_word(
      word,
      [&](std::string_view n) {
        const Value* v = lookup(n, env);
        if (v && redact_ && redact_->found_in(v->text)) read_derived = true;
        return v;
      },
      shell_out);
  if (v && read_derived && !redact_->found_in(v->text)) redact_->add(v->text);
  return v;
}

std::vector<std::pair<std::string, std::string>>
RuntimeScope::visible(const std::vector<std::string>& env) const {
  std::vector<Binding> all = frames_.back().vars;
  for (const auto& e : env) {
    size_t eq = e.find('=');
    if (eq != std::string::npos) all.push_back({e.substr(0, eq), {e.substr(eq + 1)}, VarKind::env});
  }
  return resolve::visible_vars(all);
}

void RuntimeScope::rebind(Binding b) {
  for (auto& v : frames_.back().vars)
    if (v.name == b.name && v.kind == b.kind) return (void)(v.value = std::move(b.value));
  bind(std::move(b));
}

bool RuntimeScope::set_let(std::string_view name, Value v) {
  auto& vars = frames_.back().vars;
  for (auto it = vars.rbegin(); it != vars.rend(); ++it)
    if (it->name == name && it->kind == VarKind::let) {
      it->value = std::move(v);
      return true;
    }
  return false;
}

void RuntimeScope::unbind(std::string_view name) {
  auto& vars = frames_.back().vars;
  for (auto it = vars.rbegin(); it != vars.rend(); ++it)
    if (it->name == name) {
      vars.erase(std::next(it).base());
      return;
    }
}

void RuntimeScope::add_import(std::string alias, std::string abs_dir) {
  frames_.back().imports[std::move(alias)] = std::move(abs_dir);
}

const std::string* RuntimeScope::import_dir(std::string_view alias) const {
  const auto& m = frames_.back().imports;
  auto it = m.find(alias);
  return it == m.end() ? nullptr : &it->second;
}

std::vector<Binding> RuntimeScope::of_kind(VarKind kind) const {
  std::vector<Binding> out;
  for (const auto& b : frames_.back().vars)
    if (b.kind == kind) out.push_back(b);
  return out;
}

} // namespace earth::build
