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
    // Instances of one target with different args must be told apart.
    if (instances[node.canonical] > 1)
      for (const auto& b : node.args) name += " --" + b.name + "=" + b.value.text;
    names.push_back(std::move(name));
  }
  return names;
}

Context::Context(const resolve::Graph& g, const BuildOptions& o, BuildServices& s,
                 store::SnapshotStore st)
    : graph(g), order(g.build_order()), names(display_names(g)), options(o), services(s),
      steps(std::move(st)), results(g.nodes.size()), target_keys(g.nodes.size()) {}

TargetRun::TargetRun(Context& ctx, resolve::NodeId id)
    : ctx_(ctx), id_(id), node_(ctx.graph.nodes[id]), name_(ctx.names[id]) {}

const resolve::LoadedFile& TargetRun::file() const {
  return *ctx_.graph.files[node_.file];
}

const std::vector<resolve::Binding>& TargetRun::scope() const {
  static const std::vector<resolve::Binding> none;
  if (!step_ || step_->scope == resolve::kNone) return none;
  return node_.scopes[step_->scope];
}

std::vector<const resolve::Edge*> TargetRun::edges(resolve::EdgeKind kind) const {
  std::vector<const resolve::Edge*> out;
  if (!step_) return out;
  for (resolve::EdgeId e : step_->edges)
    if (ctx_.graph.edges[e].kind == kind) out.push_back(&ctx_.graph.edges[e]);
  return out;
}

void TargetRun::fail_at(const syntax::Span& span, const std::string& message,
                        const std::string& detail) const {
  syntax::Diagnostic d;
  d.path = file().path;
  d.span = span;
  d.message = message;
  if (!detail.empty()) d.notes.push_back({"", {}, detail});
  d.trace.push_back("while building " + name_);
  throw resolve::DiagnosticError(std::move(d), &file().source);
}

void TargetRun::fail(const Command& cmd, const std::string& message) const {
  fail_at(cmd.span, message);
}

std::string TargetRun::expand(const Command& cmd, const std::string& word) const {
  auto v = resolve::expand_in(scope(), word);
  if (!v) fail(cmd, v.error());
  if (v->dynamic)
    fail(cmd, fmt::format("'{}': shell-outs $(…) are not supported by the engine yet", word));
  return std::move(v->text);
}

resolve::CommandFlags TargetRun::flags(const Command& cmd, const std::vector<std::string>& words,
                                       std::initializer_list<std::string_view> valued,
                                       std::initializer_list<std::string_view> boolean) const {
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
  return {name_, fmt::format("{}:{}:{}", file().path, cmd.span.begin.line, cmd.span.begin.column),
          std::move(text)};
}

std::string TargetRun::in_workdir(const std::string& p) const {
  if (p.starts_with("/")) return fs::normalize(p);
  const std::string& wd = result_.env.config.working_dir;
  return fs::normalize(fs::join(wd.empty() ? "/" : wd, p));
}

std::string TargetRun::make_dir(const Command& cmd, Digest& key, const Fill& fill) {
  Digest asked = key; // what --explain and debug keys know the step by
  if (cache_off()) key = plan::unique_key(key);
  output::StepInfo si = info(cmd);
  auto* recorder = plan::KeyRecorder::current();
  auto& status = ctx_.services.status;
  if (!result_.shown) {
    result_.shown = true;
    status.target_started(name_);
  }
  if (ctx_.steps.has(key)) {
    if (recorder) recorder->step({asked, si.where, si.text, false});
    ++ctx_.steps_cached;
    status.step_cached(si);
    return ctx_.steps.path(key);
  }
  if (ctx_.cancelled || exec::runs_interrupted())
    throw BuildError("interrupted", ExitCode::interrupted);
  if (recorder) recorder->step({asked, si.where, si.text, true});
  status.step_started(si);
  auto start = std::chrono::steady_clock::now();
  bool filled = false;
  auto dir = ctx_.steps.ensure(key, [&](const std::string& d) {
    filled = true;
    return fill(d);
  });
  if (!dir) {
    if (exec::runs_interrupted() || ctx_.cancelled)
      throw BuildError("interrupted", ExitCode::interrupted);
    const std::string& e = dir.error();
    size_t nl = e.find('\n');
    fail_at(cmd.span, e.substr(0, nl), nl == std::string::npos ? "" : e.substr(nl + 1));
  }
  status.step_finished(si, std::chrono::steady_clock::now() - start);
  if (filled) {
    ++ctx_.steps_run;
    result_.all_cached = false;
  } else {
    ++ctx_.steps_cached; // another process made it while we waited
  }
  return *dir;
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
  implicit_base();
  run_block(*recipe);
  persist_caches(*this);
  return std::move(result_);
}

void TargetRun::run_block(const syntax::Block& block) {
  for (const auto& st : block) {
    if (const auto* cmd = std::get_if<Command>(&st.node)) {
      run_command(*cmd);
      continue;
    }
    const char* what = std::holds_alternative<syntax::IfStmt>(st.node)     ? "IF"
                       : std::holds_alternative<syntax::ForStmt>(st.node)  ? "FOR"
                       : std::holds_alternative<syntax::WaitStmt>(st.node) ? "WAIT"
                       : std::holds_alternative<syntax::TryStmt>(st.node)  ? "TRY"
                                                                           : "WITH DOCKER";
    fail_at(st.span, fmt::format("{} blocks are not supported by the engine yet; `earth "
                                 "--dry-run` shows what the target would build",
                                 what));
  }
}

void TargetRun::run_command(const Command& cmd) {
  // Steps are in statement order, as commands are run: search on from the
  // last one found (DO'd functions' steps sit in between).
  step_ = nullptr;
  for (size_t i = next_step_; i < node_.steps.size(); ++i)
    if (node_.steps[i].command == &cmd && node_.steps[i].depth == 0) {
      step_ = &node_.steps[i];
      next_step_ = i + 1;
      break;
    }
  if (ctx_.cancelled || exec::runs_interrupted())
    throw BuildError("interrupted", ExitCode::interrupted);
  switch (cmd.kind) {
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
    return; // the scheduler builds BUILD targets alongside this one
  case CommandKind::env:
  case CommandKind::arg:
  case CommandKind::let:
  case CommandKind::set:
  case CommandKind::workdir:
  case CommandKind::user:
  case CommandKind::entrypoint:
  case CommandKind::cmd:
  case CommandKind::expose:
  case CommandKind::label:
  case CommandKind::volume:
  case CommandKind::healthcheck:
  case CommandKind::host:
  case CommandKind::cache:
    return cmd_config(*this, cmd);
  case CommandKind::import: // the resolver applied it
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
