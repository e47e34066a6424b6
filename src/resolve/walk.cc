// Walking one target's recipe: ARG/LET/SET scoping, expansion, and the
// statements that reference other targets (FROM, BUILD, COPY, DO, IMPORT,
// WITH DOCKER --load).
#include <algorithm>

#include <fmt/format.h>

#include "earth/base/strings.h"
#include "earth/resolve/scope.h"
#include "resolver.h"

namespace earth::resolve {

namespace {

using syntax::Command;
using syntax::Span;

bool is_env_command(const std::string& name) {
  return name == "FROM" || name == "LOCALLY" || name == "FROM DOCKERFILE";
}

// Commands that leave the environment alone: they may come before FROM
// without making a target start from +base.
bool is_scope_command(const std::string& name) {
  return name == "ARG" || name == "LET" || name == "SET" || name == "IMPORT" || name == "VERSION" ||
         name == "PROJECT" || name == "FUNCTION" || name == "COMMAND";
}

// Whether a recipe gets an implicit FROM +base: its first environment-
// changing statement is not FROM/LOCALLY.
bool starts_from_base(const syntax::Block& recipe) {
  for (const auto& st : recipe) {
    const auto* cmd = std::get_if<Command>(&st.node);
    if (!cmd) return true;
    if (is_env_command(cmd->name)) return false;
    if (!is_scope_command(cmd->name)) return true;
  }
  return true;
}

bool base_has_environment(const syntax::Block& base) {
  for (const auto& st : base) {
    const auto* cmd = std::get_if<Command>(&st.node);
    if (!cmd || !is_scope_command(cmd->name)) return true;
  }
  return false;
}

// Whether an ARG/LET/SET of the base recipe runs a `$( … )`: it runs in
// the base recipe's environment, so every target builds +base first (as
// Earthly does for every target) to take its globals from.
bool base_shells_out(const syntax::Block& base) {
  for (const auto& st : base) {
    const auto* cmd = std::get_if<Command>(&st.node);
    using K = syntax::CommandKind;
    if (cmd && (cmd->kind == K::arg || cmd->kind == K::let || cmd->kind == K::set))
      for (const auto& a : cmd->args)
        if (has_shell_out(a)) return true;
  }
  return false;
}

} // namespace

const Value* Resolver::lookup(Walk& w, std::string_view name) {
  return resolve::lookup(w.frames.back().vars, w.envs, name);
}

Value Resolver::expand(Walk& w, const std::string& word, const Span& span) {
  auto r = expand_word(word, [&](std::string_view n) { return lookup(w, n); });
  if (!r.ok()) fail(w.frames.back().file, span, r.error());
  return std::move(r).value();
}

void Resolver::walk_target(Walk& w, FileId file, const syntax::Block& recipe, bool is_base) {
  const auto& ast = graph_.files[file]->ast;
  if (is_base) {
    w.frames.back().base = true;
    walk_block(w, recipe);
    return;
  }
  eval_base(w);
  if ((starts_from_base(recipe) || base_shells_out(ast.base_recipe)) &&
      base_has_environment(ast.base_recipe)) {
    PendingEdge p;
    p.kind = EdgeKind::from;
    p.ref.name = "base";
    p.ref_text = "+base";
    p.ref_file = file;
    p.overrides = w.frames.back().overrides;
    p.platform = w.node.platform;
    p.file = file;
    p.span = ast.find_target(w.node.name)->span;
    w.pending.push_back(std::move(p));
    w.same_file_refs = true;
    w.has_env = true;
  }
  walk_block(w, recipe);
}

// Evaluates the base recipe's ARGs, LETs and IMPORTs into a scratch frame and
// keeps what the current frame sees: global ARGs and imports.
void Resolver::eval_base(Walk& w) {
  Frame scratch;
  scratch.file = w.frames.back().file;
  scratch.overrides = w.frames.back().overrides;
  scratch.base = true;
  w.frames.push_back(std::move(scratch));
  bool had_env = w.has_env;
  uint32_t step = w.step;
  w.step = kNone;
  for (const auto& st : graph_.files[w.frames.back().file]->ast.base_recipe) {
    const auto* cmd = std::get_if<Command>(&st.node);
    if (!cmd) continue;
    if (cmd->name == "ARG")
      cmd_arg(w, *cmd);
    else if (cmd->name == "LET")
      cmd_let_set(w, *cmd, false);
    else if (cmd->name == "SET")
      cmd_let_set(w, *cmd, true);
    else if (cmd->name == "IMPORT")
      cmd_import(w, *cmd);
    else if (is_env_command(cmd->name))
      w.has_env = true;
  }
  w.has_env = had_env;
  w.step = step;
  Frame done = std::move(w.frames.back());
  w.frames.pop_back();
  Frame& frame = w.frames.back();
  for (auto& b : done.vars)
    if (b.kind == VarKind::global) frame.vars.push_back(std::move(b));
  for (auto& [alias, ref] : done.imports) frame.imports.emplace(alias, std::move(ref));
}

void Resolver::walk_block(Walk& w, const syntax::Block& block) {
  for (const auto& st : block) {
    std::visit(
        [&](const auto& node) {
          using T = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<T, Command>) {
            walk_command(w, node);
          } else if constexpr (std::is_same_v<T, syntax::WithStmt>) {
            walk_command(w, node.command);
            walk_block(w, node.body);
          } else if constexpr (std::is_same_v<T, syntax::IfStmt>) {
            walk_if(w, node, st.span);
          } else if constexpr (std::is_same_v<T, syntax::ForStmt>) {
            walk_for(w, node, st.span);
          } else if constexpr (std::is_same_v<T, syntax::WaitStmt>) {
            ++w.waiting;
            walk_block(w, node.body);
            --w.waiting;
          } else if constexpr (std::is_same_v<T, syntax::TryStmt>) {
            walk_block(w, node.try_body);
            if (node.catch_body) walk_block(w, *node.catch_body);
            if (node.finally_body) walk_block(w, *node.finally_body);
          }
        },
        st.node);
  }
}

// Every branch is walked: the edges it makes are conditional. A run takes
// one branch, so a name declared in two branches (or in two IFs) is not
// redeclared (surely_declared).
void Resolver::walk_if(Walk& w, const syntax::IfStmt& node, const Span& span) {
  if (!w.has_env)
    fail(w.frames.back().file, span,
         "IF needs a FROM or LOCALLY first: its condition runs in the build environment");
  ++w.conditional;
  auto branch = [&](const syntax::Block& body) {
    w.branches.push_back(++w.next_branch);
    walk_block(w, body);
    w.branches.pop_back();
  };
  branch(node.if_branch.body);
  for (const auto& b : node.else_ifs) branch(b.body);
  if (node.else_body) branch(*node.else_body);
  --w.conditional;
}

// Records `cmd` as the node's next step, with the variables in scope.
void Resolver::add_step(Walk& w, const Command& cmd) {
  const Frame& frame = w.frames.back();
  Step step;
  step.command = &cmd;
  step.file = frame.file;
  step.depth = w.depth;
  // Consecutive steps with the same variables share one snapshot.
  if (w.scope_version != w.snapshot_version || w.node.scopes.empty()) {
    std::vector<Binding> scope = frame.vars;
    scope.insert(scope.end(), w.envs.begin(), w.envs.end());
    w.node.scopes.push_back(std::move(scope));
    w.snapshot_version = w.scope_version;
  }
  step.scope = static_cast<uint32_t>(w.node.scopes.size() - 1);
  w.node.steps.push_back(std::move(step));
  w.step = static_cast<uint32_t>(w.node.steps.size() - 1);
}

void Resolver::walk_command(Walk& w, const Command& cmd) {
  add_step(w, cmd);
  const std::string& n = cmd.name;
  if (n == "ARG" || n == "LET" || n == "SET" || n == "ENV" || n == "DO") ++w.scope_version;
  if (n == "ARG")
    cmd_arg(w, cmd);
  else if (n == "LET")
    cmd_let_set(w, cmd, false);
  else if (n == "SET")
    cmd_let_set(w, cmd, true);
  else if (n == "ENV")
    cmd_env(w, cmd);
  else if (n == "FROM")
    cmd_from(w, cmd);
  else if (n == "FROM DOCKERFILE")
    cmd_from_dockerfile(w, cmd);
  else if (n == "LOCALLY")
    w.has_env = true, w.locally = true;
  else if (n == "BUILD")
    cmd_build(w, cmd);
  else if (n == "COPY")
    cmd_copy(w, cmd);
  else if (n == "DO")
    cmd_do(w, cmd);
  else if (n == "IMPORT")
    cmd_import(w, cmd);
  else if (n == "SAVE ARTIFACT" || n == "SAVE IMAGE")
    cmd_save(w, cmd);
  else if (n == "DOCKER")
    cmd_with_docker(w, cmd);
  w.step = kNone;
}

namespace {

const Binding* find_var(const Frame& f, std::string_view name, bool lets) {
  for (auto it = f.vars.rbegin(); it != f.vars.rend(); ++it)
    if (it->name == name && (it->kind == VarKind::let) == lets) return &*it;
  return nullptr;
}

} // namespace

// Reads `ARG [--required] [--global] NAME [[=] default]` and checks what
// does not depend on the scope.
ArgDecl Resolver::parse_arg(Walk& w, const Command& cmd) {
  FileId file = w.frames.back().file;
  Flags f = parse_flags(file, cmd.span, "ARG", cmd.args, {}, {"--required", "--global"});
  KeyValue kv = split_key_value(cmd.args, f.next);
  ArgDecl d{kv.name, kv.value.value_or(""), kv.value.has_value(), f.has("--required"),
            f.has("--global")};
  if (d.name.empty()) fail(file, cmd.span, "ARG needs a name");
  if (!is_valid_arg_name(d.name))
    fail(file, cmd.span, fmt::format("invalid ARG name '{}'", d.name));
  if (d.required && d.has_default)
    fail(file, cmd.span, fmt::format("required ARG {} cannot have a default value", d.name));
  if (d.global && !w.frames.back().base)
    fail(file, cmd.span, fmt::format("ARG --global {} is only allowed in the base recipe", d.name));
  return d;
}

void Resolver::cmd_arg(Walk& w, const Command& cmd) {
  ArgDecl d = parse_arg(w, cmd);
  const LoadedFile& lf = features(w);
  if (!lf.explicit_global && w.frames.back().base) d.global = true; // 0.6: every base ARG
  if (!lf.arg_scope_and_set) return old_arg(w, cmd, d);
  check_arg_redeclared(w, cmd, d);
  Value value = arg_value(w, cmd, d, nullptr);
  w.frames.back().vars.push_back({d.name, std::move(value), arg_kind(d)});
  note_declared(w, d.name);
}

const LoadedFile& Resolver::features(const Walk& w) const {
  const Frame& frame = w.frames.back();
  return *graph_.files[frame.base ? frame.file : w.node.file];
}

bool Resolver::surely_declared(const Walk& w, const std::string& name) const {
  const auto& declared = w.frames.back().declared_in;
  auto it = declared.find(name);
  if (it == declared.end() || it->second == 0) return true;
  return std::find(w.branches.begin(), w.branches.end(), it->second) != w.branches.end();
}

void Resolver::note_declared(Walk& w, const std::string& name) {
  w.frames.back().declared_in[name] = w.branches.empty() ? 0 : w.branches.back();
}

VarKind Resolver::arg_kind(const ArgDecl& d) const {
  return is_builtin(d.name) ? VarKind::builtin : d.global ? VarKind::global : VarKind::arg;
}

// 0.8 (or --arg-scope-and-set): an ARG cannot redeclare a LET, an ARG or a
// builtin of its scope, nor a global from the base recipe.
void Resolver::check_arg_redeclared(Walk& w, const Command& cmd, const ArgDecl& d) {
  const Frame& frame = w.frames.back();
  if (!surely_declared(w, d.name)) return;
  if (find_var(frame, d.name, true))
    fail(frame.file, cmd.span,
         fmt::format("'{}' was already declared with LET and cannot be redeclared as an ARG",
                     d.name));
  for (const auto& b : frame.vars)
    if (b.name == d.name &&
        (b.kind == VarKind::arg || b.kind == VarKind::builtin ||
         (d.global && b.kind == VarKind::global) || (frame.base && b.kind == VarKind::global)))
      fail(frame.file, cmd.span,
           fmt::format("ARG {} was declared twice in this scope; to change its value, use LET {} "
                       "= <value> instead",
                       d.name, d.name));
}

// Precedence: a builtin's value, the override, `existing` (a value already
// in scope, before 0.8), the required placeholder (or an error), the
// expanded default.
Value Resolver::arg_value(Walk& w, const Command& cmd, const ArgDecl& d, const Value* existing) {
  FileId file = w.frames.back().file;
  if (is_builtin(d.name)) return builtin_value(w, d.name);
  if (const Value* o = find_override(w.frames.back().overrides, d.name)) return *o;
  if (existing) return *existing;
  if (d.required && options_.placeholder_required) return {"<required>", true};
  if (d.required)
    fail(file, cmd.span,
         fmt::format("ARG {} is required but was not set (pass --{}=<value>)", d.name, d.name));
  if (!d.has_default) return {};
  if (has_shell_out(d.default_text) && !w.has_env)
    fail(file, cmd.span,
         fmt::format("ARG {}: $(…) needs a FROM or LOCALLY first (it runs in the build "
                     "environment)",
                     d.name));
  return expand(w, d.default_text, cmd.span);
}

// Before 0.8 (without --arg-scope-and-set): redeclaring is allowed and an
// ARG keeps a value already in scope (a global wins over the default).
void Resolver::old_arg(Walk& w, const Command& cmd, const ArgDecl& d) {
  Value value = arg_value(w, cmd, d, lookup(w, d.name));
  VarKind kind = arg_kind(d);
  auto& vars = w.frames.back().vars;
  for (auto& b : vars)
    if (b.name == d.name && b.kind == kind) {
      b.value = std::move(value); // a redeclaration updates the ARG in place
      return;
    }
  vars.push_back({d.name, std::move(value), kind});
}

void Resolver::cmd_let_set(Walk& w, const Command& cmd, bool is_set) {
  FileId file = w.frames.back().file;
  const char* what = is_set ? "SET" : "LET";
  if (!features(w).arg_scope_and_set)
    fail(file, cmd.span,
         fmt::format("{} needs VERSION 0.8 or VERSION --arg-scope-and-set 0.7", what));
  KeyValue kv = split_key_value(cmd.args, 0);
  if (kv.name.empty() || !kv.value)
    fail(file, cmd.span, fmt::format("{} needs name = value", what));
  if (!is_valid_arg_name(kv.name))
    fail(file, cmd.span, fmt::format("invalid {} name '{}'", what, kv.name));
  if (has_shell_out(*kv.value) && !w.has_env)
    fail(file, cmd.span, fmt::format("{} {}: $(…) needs a FROM or LOCALLY first", what, kv.name));
  Value value = expand(w, *kv.value, cmd.span);
  Frame& frame = w.frames.back();
  if (!is_set) {
    if (find_var(frame, kv.name, true) && surely_declared(w, kv.name))
      fail(file, cmd.span,
           fmt::format("'{}' was already declared with LET; to change its value, use SET {} = {}",
                       kv.name, kv.name, *kv.value));
    frame.vars.push_back({kv.name, std::move(value), VarKind::let});
    note_declared(w, kv.name);
    return;
  }
  if (!lookup(w, kv.name))
    fail(file, cmd.span,
         fmt::format(
             "'{}' needs to be declared with LET {} = <value> before it can be used with SET",
             kv.name, kv.name));
  for (auto it = frame.vars.rbegin(); it != frame.vars.rend(); ++it)
    if (it->name == kv.name && it->kind == VarKind::let) {
      it->value = std::move(value);
      return;
    }
  fail(file, cmd.span,
       fmt::format("'{}' is an ARG and cannot be used with SET; declare LET {} = ${} first",
                   kv.name, kv.name, kv.name));
}

void Resolver::cmd_env(Walk& w, const Command& cmd) {
  KeyValue kv = split_key_value(cmd.args, 0);
  if (kv.name.empty()) return;
  w.envs.push_back({kv.name, kv.value ? expand(w, *kv.value, cmd.span) : Value{}, VarKind::env});
}

} // namespace earth::resolve
