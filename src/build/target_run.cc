#include "target_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "commands.h"
#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/exec/linux_runtime.h"
#include "earth/image/manifest.h"
#include "earth/plan/keys.h"
#include "earth/resolve/resolve.h"
#include "earth/resolve/scope.h"
#include "earth/store/cleanup.h"
#include "step_time.h"

namespace earth::build {

using syntax::Command;
using syntax::CommandKind;

std::vector<std::string> display_names(const resolve::Graph& graph) {
  std::unordered_map<std::string_view, int> instances;
  for (const auto& n : graph.nodes) ++instances[n.canonical];
  std::vector<std::string> names;
  names.reserve(graph.nodes.size());
  for (const auto& node : graph.nodes) {
    std::string name = node.canonical;
    if (name.starts_with("./+")) name.erase(0, 2);
    // Instances of one target must be told apart: by their args, the
    // overrides they pass on, their platform (as `earth --dry-run` shows
    // them). Events, step logs and journals know a target by this name.
    if (instances[node.canonical] > 1) name += resolve::instance_text(node);
    names.push_back(std::move(name));
  }
  return names;
}

namespace {

std::vector<resolve::NodeId> roots_or_graphs(const resolve::Graph& g,
                                             std::vector<resolve::NodeId> roots) {
  if (!roots.empty()) return roots;
  if (!g.roots.empty()) return g.roots;
  return {g.root};
}

// The targets reachable from `roots` through unconditional edges, in the
// order of graph.build_order() (a post-order over every edge, so still
// dependencies first). A BUILD inside WAIT is left to the statement too: it
// builds its target then, so that the WAIT's END finds it done.
std::vector<resolve::NodeId> unconditional_order(const resolve::Graph& g,
                                                 const std::vector<resolve::NodeId>& roots) {
  std::vector<bool> reached(g.nodes.size(), false);
  std::vector<resolve::NodeId> todo = roots;
  while (!todo.empty()) {
    resolve::NodeId id = todo.back();
    todo.pop_back();
    if (reached[id]) continue;
    reached[id] = true;
    for (resolve::EdgeId e : g.nodes[id].out) {
      const auto& edge = g.edges[e];
      if (edge.to == resolve::kNone || edge.conditional || edge.waited) continue;
      if (g.nodes[edge.to].kind == resolve::Node::Kind::target) todo.push_back(edge.to);
    }
  }
  std::vector<resolve::NodeId> order;
  for (resolve::NodeId id : g.build_order())
    if (reached[id]) order.push_back(id);
  return order;
}

// display_names, but for the instances BuildOptions::names names (a
// partial build shows each as the whole build did).
std::vector<std::string> shown_names(const resolve::Graph& g, const BuildOptions& o) {
  std::vector<std::string> names = display_names(g);
  if (!o.names.empty())
    for (resolve::NodeId id = 0; id < g.nodes.size(); ++id)
      if (auto it = o.names.find(g.key(id)); it != o.names.end()) names[id] = it->second;
  return names;
}

} // namespace

Context::Context(const resolve::Graph& g, const BuildOptions& o, BuildServices& s,
                 store::SnapshotStore st, std::vector<resolve::NodeId> r)
    : graph(g), roots(roots_or_graphs(g, std::move(r))), order(unconditional_order(g, roots)),
      scheduled(g.nodes.size(), false), names(shown_names(g, o)), options(o), services(s),
      steps(std::move(st)), results(g.nodes.size()), redact(o.secrets),
      secrets(o.secrets, o.secret_provider, redact), target_keys(g.nodes.size()) {
  for (resolve::NodeId id : order) scheduled[id] = true;
}

TargetRun::TargetRun(Context& ctx, resolve::NodeId id)
    : ctx_(ctx), id_(id), node_(ctx.graph.nodes[id]), name_(ctx.names[id]) {
  vars_.derived_from(&ctx.redact);
}

const resolve::LoadedFile& TargetRun::file() const {
  return *ctx_.graph.files[node_.file];
}

std::vector<std::string> TargetRun::run_env() const {
  std::vector<std::string> env = result_.env.config.env;
  for (const auto& [name, value] : vars_.visible(result_.env.config.env)) {
    std::string entry = name + "=" + value;
    bool replaced = false;
    for (auto& e : env)
      if (e.starts_with(name + "=")) e = entry, replaced = true;
    if (!replaced) env.push_back(entry);
  }
  return env;
}

std::vector<const resolve::Edge*> TargetRun::edges(resolve::EdgeKind kind) const {
  std::vector<const resolve::Edge*> out;
  if (!step_) return out;
  for (resolve::EdgeId e : step_->edges)
    if (ctx_.graph.edges[e].kind == kind) out.push_back(&ctx_.graph.edges[e]);
  return out;
}

void TargetRun::fail_at(const syntax::Span& span, const std::string& message,
                        const std::string& detail, const std::string& hint) const {
  // A DO'd function's statements are located in the function's file.
  const auto& f = vars_.depth() ? *ctx_.graph.files[vars_.file()] : file();
  syntax::Diagnostic d;
  d.path = f.path;
  d.span = span;
  d.message = message;
  if (!detail.empty()) d.notes.push_back({"", {}, detail});
  d.hint = hint;
  d.trace.push_back("while building " + name_);
  throw resolve::DiagnosticError(std::move(d), &f.source);
}

void TargetRun::fail(const Command& cmd, const std::string& message) const {
  fail_at(cmd.span, message);
}

std::string TargetRun::expand(const Command& cmd, const std::string& word) {
  auto v = vars_.expand(word, result_.env.config.env, [&](std::string_view command) {
    return Result<std::string>(shell_out(*this, cmd, std::string(command)));
  });
  if (!v) fail(cmd, v.error());
  return std::move(v->text);
}

resolve::CommandFlags TargetRun::flags(const Command& cmd, const std::vector<std::string>& words,
                                       std::initializer_list<std::string_view> valued,
                                       std::initializer_list<std::string_view> boolean) {
  auto f = resolve::parse_command_flags(cmd.name, words, valued, boolean,
                                        [&](const std::string& v) { return expand(cmd, v); });
  if (!f) fail(cmd, f.error());
  return std::move(f).value();
}

output::StepInfo TargetRun::info(const Command& cmd) const {
  std::string text = cmd.name;
  for (const auto& a : cmd.args) text += " " + a;
  for (auto& c : text)
    if (c == '\n') c = ' ';
  if (text.size() > 160) text = text.substr(0, 157) + "...";
  const auto& f = vars_.depth() ? *ctx_.graph.files[vars_.file()] : file();
  return {name_, fmt::format("{}:{}:{}", f.path, cmd.span.begin.line, cmd.span.begin.column),
          std::move(text), f.path, cmd.span.begin.line};
}

std::string TargetRun::in_workdir(const std::string& p) const {
  if (p.starts_with("/")) return fs::normalize(p);
  const std::string& wd = result_.env.config.working_dir;
  return fs::normalize(fs::join(wd.empty() ? "/" : wd, p));
}

bool TargetRun::on_unkept() const {
  return unkept_among(result_.env.layers);
}

bool TargetRun::unkept_among(const std::vector<std::string>& layers) const {
  return store::any_unkept(ctx_.options.cache_dir, layers);
}

std::string TargetRun::make_dir(const Command& cmd, Digest& key, const Fill& fill,
                                bool reads_unkept) {
  Digest asked = key; // what --explain and debug keys know the step by
  // Else unique, or chained on a unique key: no later build can reuse it.
  bool kept = !cache_off() && !on_unkept() && !reads_unkept;
  if (!kept) key = plan::unique_key(key);
  output::StepInfo si = info(cmd);
  auto* recorder = plan::KeyRecorder::current();
  auto& status = ctx_.services.status;
  if (!result_.shown) {
    result_.shown = true;
    status.target_started(name_);
  }
  const std::string& cache_dir = ctx_.options.cache_dir;
  if (kept && ctx_.steps.has(key)) {
    if (recorder) recorder->step({asked, si.where, si.text, false, {}});
    ++ctx_.steps_cached;
    output::Duration saved = recorded_step_time(cache_dir, key);
    ctx_.saved_ns += saved.count();
    status.step_cached(si, saved);
    return ctx_.steps.path(key);
  }
  if (stopping(*this)) throw BuildError("interrupted", ExitCode::interrupted);
  if (recorder) recorder->step({asked, si.where, si.text, true, {}});
  status.step_started(si);
  auto start = std::chrono::steady_clock::now();
  bool filled = false;
  failure_ = {};
  auto fill_here = [&](const std::string& d) {
    filled = true;
    return fill(d);
  };
  auto dir = kept ? ctx_.steps.ensure(key, fill_here) : ctx_.steps.make_unkept(key, fill_here);
  if (!dir) {
    if (exec::runs_interrupted() || ctx_.cancelled)
      throw BuildError("interrupted", ExitCode::interrupted);
    step_failed(cmd, si, dir.error());
  }
  auto took = std::chrono::steady_clock::now() - start;
  status.step_finished(si, took);
  if (filled) {
    ++ctx_.steps_run;
    result_.all_cached = false;
    if (kept) record_step_time(cache_dir, key, took);
  } else {
    ++ctx_.steps_cached; // another process made it while we waited
  }
  return *dir;
}

void TargetRun::run_unstored(const Command& cmd, const Digest& key, std::string why,
                             const std::function<Result<void>()>& run) {
  output::StepInfo si = info(cmd);
  if (!result_.shown) {
    result_.shown = true;
    ctx_.services.status.target_started(name_);
  }
  if (stopping(*this)) throw BuildError("interrupted", ExitCode::interrupted);
  if (auto* recorder = plan::KeyRecorder::current())
    recorder->step({key, si.where, si.text, true, std::move(why)});
  ctx_.services.status.step_started(si);
  auto start = std::chrono::steady_clock::now();
  failure_ = {};
  if (auto r = run(); !r) {
    if (exec::runs_interrupted() || ctx_.cancelled)
      throw BuildError("interrupted", ExitCode::interrupted);
    step_failed(cmd, si, r.error());
  }
  ctx_.services.status.step_finished(si, std::chrono::steady_clock::now() - start);
  ++ctx_.steps_run;
  result_.all_cached = false;
}

void TargetRun::step_failed(const Command& cmd, const output::StepInfo& si,
                            const std::string& error) {
  output::StepFailure f = std::move(failure_);
  size_t nl = error.find('\n');
  f.message = error.substr(0, nl);
  std::string detail = nl == std::string::npos ? "" : error.substr(nl + 1);
  if (detail.empty() && !f.tail.empty()) {
    detail = "its last lines of output:";
    for (const auto& l : f.tail) detail += "\n  | " + l;
  }
  ctx_.services.status.step_failed(si, f);
  fail_at(cmd.span, f.message, detail, f.hint);
}

void TargetRun::implicit_base() {
  // The resolver records `FROM +base` of a recipe without FROM as a FROM
  // edge that no step owns.
  std::vector<resolve::EdgeId> owned;
  for (const auto& s : node_.steps) owned.insert(owned.end(), s.edges.begin(), s.edges.end());
  std::sort(owned.begin(), owned.end());
  for (resolve::EdgeId e : node_.out) {
    const auto& edge = ctx_.graph.edges[e];
    if (edge.kind != resolve::EdgeKind::from || edge.to == resolve::kNone) continue;
    if (!std::binary_search(owned.begin(), owned.end(), e)) {
      from_target(*this, edge.to);
      return;
    }
  }
}

TargetResult TargetRun::run() {
  const auto& ast = file().ast;
  if (!node_.platform.empty()) {
    auto host = image::host_platform();
    std::string native = host.os + "/" + host.architecture;
    if (node_.platform != native && node_.platform != "native")
      throw BuildError(fmt::format("{}: building for platform {} is not supported yet; earth "
                                   "builds for the host's platform, {}",
                                   name_, node_.platform, native));
  }
  const syntax::Block* recipe = nullptr;
  if (node_.name == "base") {
    recipe = &ast.base_recipe;
  } else if (const auto* t = ast.find_target(node_.name)) {
    recipe = &t->recipe;
  } else {
    throw BuildError(fmt::format("{}: no recipe for target {}", file().path, name_));
  }
  enter_target(*this);
  implicit_base();
  run_block(*recipe);
  if (node_.name == "base") keep_base_frame(*this);
  persist_caches(*this);
  return std::move(result_);
}

void TargetRun::run_block(const syntax::Block& block) {
  for (const auto& st : block) {
    std::visit(
        [&](const auto& node) {
          using T = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<T, Command>)
            run_command(node);
          else if constexpr (std::is_same_v<T, syntax::WithStmt>)
            fail_at(st.span, "WITH DOCKER is not supported yet");
          else
            run_control(*this, node, st.span);
        },
        st.node);
  }
}

// Steps are in statement order, as commands are run: search on from the
// last one found (skipping the branches not taken). A command run more often
// than the resolver walked it (a FOR over a shell-out) reuses its last step.
void TargetRun::find_step(const Command& cmd) {
  step_ = nullptr;
  for (size_t i = next_step_; i < node_.steps.size(); ++i)
    if (node_.steps[i].command == &cmd && node_.steps[i].depth == depth_) {
      step_ = &node_.steps[i];
      next_step_ = i + 1;
      return;
    }
  for (size_t i = node_.steps.size(); i-- > 0;)
    if (node_.steps[i].command == &cmd) {
      step_ = &node_.steps[i];
      return;
    }
}

void TargetRun::run_command(const Command& cmd) {
  find_step(cmd);
  if (stopping(*this)) throw BuildError("interrupted", ExitCode::interrupted);
  if (result_.env.locally) check_locally(*this, cmd);
  if (syntax::sets_config(cmd.kind)) return cmd_config(*this, cmd);
  switch (cmd.kind) {
  case CommandKind::locally:
    return cmd_locally(*this, cmd);
  case CommandKind::from:
    return cmd_from(*this, cmd);
  case CommandKind::run:
    return cmd_run(*this, cmd);
  case CommandKind::copy:
    return cmd_copy(*this, cmd);
  case CommandKind::save_artifact:
    return cmd_save_artifact(*this, cmd);
  case CommandKind::save_image:
    return cmd_save_image(*this, cmd);
  case CommandKind::build:
    return note_build(*this, cmd); // the scheduler builds BUILD targets alongside this one
  case CommandKind::arg:
    return cmd_arg(*this, cmd);
  case CommandKind::let:
  case CommandKind::set:
    return cmd_let_set(*this, cmd);
  case CommandKind::do_function:
    return cmd_do(*this, cmd);
  case CommandKind::import: // the resolver applied it; kept for dynamic references
    return cmd_import(*this, cmd);
  case CommandKind::version:
  case CommandKind::project:
  case CommandKind::function:
  case CommandKind::command:
    return;
  default:
    fail(cmd, fmt::format("{} is not supported by the engine yet; `earth --dry-run` shows what "
                          "the target would build",
                          cmd.name));
  }
}

} // namespace earth::build
