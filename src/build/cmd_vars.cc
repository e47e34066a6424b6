// ARG, LET and SET as the recipe runs (reference §2.4): each statement binds
// its value in the current frame when it is reached, so what a later
// statement sees follows the branches taken, the FOR items and the results
// of `$( … )`. The resolver has already refused what is statically wrong
// (redeclarations, SET of an ARG, …); the checks that depend on the run
// (a required ARG a DO did not pass) are made here.
#include <fmt/format.h>

#include "commands.h"
#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/resolve/command_flags.h"
#include "earth/resolve/expand.h"
#include "earth/resolve/reference.h"
#include "earth/resolve/scope.h"

namespace earth::build {

namespace {

using resolve::Binding;
using resolve::Value;
using resolve::VarKind;

const resolve::LoadedFile& frame_file(TargetRun& t) {
  return *t.ctx().graph.files[t.vars().file()];
}

// A builtin's value for this instance, as the resolver computed it (its
// builtin rules are the one implementation: resolve/builtins.cc).
Value builtin_value(TargetRun& t, const std::string& name) {
  for (const auto& scope : t.node().scopes)
    for (const auto& b : scope)
      if (b.kind == VarKind::builtin && b.name == name) return b.value;
  return {};
}

// An override's value; a value the caller could only know at build time
// (a `$( … )` in a build arg) makes the instance itself dynamic.
Value given_value(TargetRun& t, const syntax::Command& cmd, const std::string& name,
                  const Value& v) {
  if (v.dynamic)
    t.fail(cmd, fmt::format("ARG {}: a value from a shell-out $(…) in the caller's build args is "
                            "not supported yet",
                            name));
  return v;
}

} // namespace

void cmd_arg(TargetRun& t, const syntax::Command& cmd) {
  auto f = t.flags(cmd, cmd.args, {}, {"--required", "--global"});
  auto kv = resolve::split_key_value(cmd.args, f.next);
  if (kv.name.empty()) t.fail(cmd, "ARG needs a name");
  const auto& lf = frame_file(t);
  auto& vars = t.vars();
  bool global = f.has("--global") || (!lf.explicit_global && vars.in_base());
  bool builtin = resolve::is_builtin_arg(kv.name);
  Value value;
  if (builtin) {
    value = builtin_value(t, kv.name);
  } else if (const Value* o = vars.override_of(kv.name)) {
    value = given_value(t, cmd, kv.name, *o);
  } else if (const Value* cur =
                 lf.arg_scope_and_set ? nullptr : vars.lookup(kv.name, t.env().config.env)) {
    value = *cur; // before 0.8 a value already in scope wins over the default
  } else if (f.has("--required")) {
    t.fail(cmd,
           fmt::format("ARG {} is required but was not set (pass --{}=<value>)", kv.name, kv.name));
  } else if (kv.value) {
    value = Value{t.expand(cmd, *kv.value), false};
  }
  Binding b{kv.name, std::move(value),
            builtin  ? VarKind::builtin
            : global ? VarKind::global
                     : VarKind::arg};
  if (lf.arg_scope_and_set)
    vars.bind(std::move(b));
  else
    vars.rebind(std::move(b));
}

void cmd_let_set(TargetRun& t, const syntax::Command& cmd) {
  bool is_set = cmd.kind == syntax::CommandKind::set;
  auto kv = resolve::split_key_value(cmd.args, 0);
  if (kv.name.empty() || !kv.value) t.fail(cmd, cmd.name + " needs name = value");
  Value value{t.expand(cmd, *kv.value), false};
  if (!is_set) return t.vars().bind({kv.name, std::move(value), VarKind::let});
  if (!t.vars().set_let(kv.name, std::move(value)))
    t.fail(cmd, fmt::format("'{}' needs to be declared with LET {} = <value> before SET", kv.name,
                            kv.name));
}

// The resolver applied IMPORT to static references; the engine keeps the
// aliases of local Earthfiles for references known only at build time.
void cmd_import(TargetRun& t, const syntax::Command& cmd) {
  auto f = t.flags(cmd, cmd.args, {}, {"--allow-privileged", "--pass-args"});
  std::vector<std::string> rest(cmd.args.begin() + static_cast<long>(f.next), cmd.args.end());
  if (rest.empty()) return;
  auto ref = resolve::parse_earthfile_ref(t.expand(cmd, rest[0]));
  if (!ref || ref->kind != resolve::EarthfileRef::Kind::local_path) return;
  std::string alias;
  if (rest.size() == 3 && rest[1] == "AS") {
    alias = rest[2];
  } else if (auto a = resolve::default_import_alias(*ref)) {
    alias = *a;
  } else {
    return;
  }
  const std::string& p = ref->path;
  const auto& file = *t.ctx().graph.files[t.vars().file()];
  t.vars().add_import(alias, fs::normalize(p.starts_with("/") ? p : fs::join(file.abs_dir, p)));
}

namespace {

// The first ARG/LET/SET of a base recipe with a `$( … )` in it, or null.
const syntax::Command* base_shell_out(const syntax::Block& base) {
  using K = syntax::CommandKind;
  for (const auto& st : base) {
    const auto* cmd = std::get_if<syntax::Command>(&st.node);
    if (!cmd || (cmd->kind != K::arg && cmd->kind != K::let && cmd->kind != K::set)) continue;
    for (const auto& a : cmd->args)
      if (resolve::has_shell_out(a)) return cmd;
  }
  return nullptr;
}

// The globals and imports of the running frame.
std::shared_ptr<const BaseFrame> current_frame(TargetRun& t) {
  auto frame = std::make_shared<BaseFrame>();
  frame->globals = t.vars().of_kind(VarKind::global);
  frame->imports = t.vars().imports();
  return frame;
}

// The run of `file`'s base recipe the frame takes its globals from: the
// +base the target FROMs (finished before it starts), else one built now.
std::shared_ptr<const BaseFrame> base_run(TargetRun& t, resolve::FileId file,
                                          const Overrides& overrides, bool target_frame,
                                          const syntax::Command& at) {
  const auto& ctx = t.ctx();
  if (target_frame && file == t.node().file)
    for (resolve::EdgeId e : t.node().out) {
      const auto& edge = ctx.graph.edges[e];
      if (edge.kind != resolve::EdgeKind::from || edge.to == resolve::kNone || edge.conditional ||
          edge.dynamic || !ctx.scheduled[edge.to])
        continue;
      const auto& dep = ctx.graph.nodes[edge.to];
      if (dep.name == "base" && dep.file == file) return ctx.results[edge.to].base_frame;
    }
  auto built = build_base(t, at, ctx.graph.files[file]->abs_dir, overrides);
  return built ? built->result.base_frame : nullptr;
}

} // namespace

// The base recipe's ARGs and LETs in a scratch frame (with the frame's
// overrides); its globals stay in the frame. When one of them runs a
// `$( … )`, it must run in the base recipe's environment at that point:
// the globals come from a run of the base recipe instead (Earthly builds
// +base before every target, and before a DO's function).
void enter_frame(TargetRun& t, resolve::FileId file, Overrides overrides) {
  auto& vars = t.vars();
  bool target_frame = vars.depth() == 0;
  const auto& base = t.ctx().graph.files[file]->ast.base_recipe;
  const syntax::Command* at = base_shell_out(base);
  std::shared_ptr<const BaseFrame> run;
  // A DO in the base recipe of the function's own file: that run's globals.
  if (at && !target_frame && t.node().name == "base" && t.node().file == file)
    run = current_frame(t);
  vars.push(file, overrides);
  if (at && !run) run = base_run(t, file, overrides, target_frame, *at);
  if (run) {
    for (const auto& g : run->globals) vars.bind(g);
    for (const auto& [alias, dir] : run->imports) vars.add_import(alias, dir);
    return;
  }
  vars.push(file, std::move(overrides), true);
  for (const auto& st : base) {
    const auto* cmd = std::get_if<syntax::Command>(&st.node);
    if (!cmd) continue;
    if (cmd->kind == syntax::CommandKind::arg) cmd_arg(t, *cmd);
    if (cmd->kind == syntax::CommandKind::let || cmd->kind == syntax::CommandKind::set)
      cmd_let_set(t, *cmd);
    if (cmd->kind == syntax::CommandKind::import) cmd_import(t, *cmd);
  }
  auto globals = vars.of_kind(VarKind::global);
  auto imports = vars.imports();
  vars.pop();
  for (auto& g : globals) vars.bind(std::move(g));
  for (auto& [alias, dir] : imports) vars.add_import(alias, dir);
}

void keep_base_frame(TargetRun& t) {
  t.result().base_frame = current_frame(t);
}

// The instance's frame: the overrides it was given; a target (not the base
// recipe itself) also gets its Earthfile's globals.
void enter_target(TargetRun& t) {
  Overrides given;
  for (const auto& b : t.node().given) set_override(given, b.name, b.value);
  if (t.node().name == "base") return t.vars().push(t.node().file, std::move(given), true);
  enter_frame(t, t.node().file, std::move(given));
}

} // namespace earth::build
