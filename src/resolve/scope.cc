#include "earth/resolve/scope.h"

#include "earth/base/strings.h"

namespace earth::resolve {

namespace {

int rank_of(VarKind kind) {
  switch (kind) {
  case VarKind::let:
    return 0;
  case VarKind::arg:
  case VarKind::builtin:
    return 1;
  case VarKind::env:
    return 2;
  case VarKind::global:
    return 3;
  }
  return 4;
}

void consider(const std::vector<Binding>& bindings, std::string_view name, const Value*& best,
              int& best_rank) {
  for (auto it = bindings.rbegin(); it != bindings.rend(); ++it) {
    if (it->name != name) continue;
    int rank = rank_of(it->kind);
    if (rank < best_rank) best = &it->value, best_rank = rank;
  }
}

} // namespace

const Value* lookup(const std::vector<Binding>& vars, const std::vector<Binding>& envs,
                    std::string_view name) {
  const Value* best = nullptr;
  int best_rank = 99;
  consider(vars, name, best, best_rank);
  consider(envs, name, best, best_rank);
  return best;
}

const Value* lookup(const std::vector<Binding>& scope, std::string_view name) {
  static const std::vector<Binding> none;
  return lookup(scope, none, name);
}

Result<Value> expand_in(const std::vector<Binding>& scope, std::string_view word) {
  return expand_word(word, [&](std::string_view n) { return lookup(scope, n); });
}

KeyValue split_key_value(const std::vector<std::string>& words, size_t i) {
  KeyValue kv;
  if (i >= words.size()) return kv;
  const std::string& first = words[i];
  size_t eq = first.find('=');
  if (eq != std::string::npos && eq > 0) {
    kv.name = first.substr(0, eq);
    std::vector<std::string> rest{first.substr(eq + 1)};
    rest.insert(rest.end(), words.begin() + static_cast<long>(i) + 1, words.end());
    kv.value = join(rest, " ");
    return kv;
  }
  kv.name = first;
  if (i + 1 < words.size()) {
    size_t v = words[i + 1] == "=" ? i + 2 : i + 1;
    std::vector<std::string> rest(words.begin() + static_cast<long>(std::min(v, words.size())),
                                  words.end());
    kv.value = join(rest, " ");
  }
  return kv;
}

std::vector<std::pair<std::string, std::string>> visible_vars(const std::vector<Binding>& scope) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& b : scope) {
    if (b.kind == VarKind::env) continue;
    bool seen = false;
    for (const auto& [name, value] : out) seen |= name == b.name;
    if (seen) continue;
    if (const Value* v = lookup(scope, b.name)) out.emplace_back(b.name, v->text);
  }
  return out;
}

} // namespace earth::resolve
