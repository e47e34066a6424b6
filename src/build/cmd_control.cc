// The control statements as Earthly runs them: IF/ELSE IF/ELSE (the
// condition runs in the build environment; its exit status decides), FOR
// (the list is expanded, `$( … )` included, then split), WAIT (the BUILDs,
// outputs and pushes inside are done at its END), TRY/FINALLY (FINALLY runs even when
// TRY failed, on the failed command's filesystem; its AS LOCAL artifacts are
// written, and the build still fails), and DO (a function in a frame of its
// own).
#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <future>
#include <mutex>
#include <set>

#include "commands.h"
#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/exec/linux_runtime.h"
#include "earth/plan/keys.h"
#include "earth/resolve/reference.h"
#include "earth/resolve/resolve.h"
#include "outputs.h"

namespace earth::build {

namespace {

using resolve::Value;
using resolve::VarKind;

// An IF/FOR header as a command, for flags, errors and the step's line.
syntax::Command header(std::string name, std::vector<std::string> args, bool exec_mode,
                       const syntax::Span& span) {
  syntax::Command c;
  c.name = std::move(name);
  c.args = std::move(args);
  c.exec_mode = exec_mode;
  c.span = span;
  return c;
}

// Flags IF and FOR share; what the engine cannot do yet fails located.
void check_probe_flags(TargetRun& t, const syntax::Command& c, const resolve::CommandFlags& f,
                       Probe& p) {
  p.secrets = f.all("--secret");
  p.mounts = f.all("--mount");
  // The agent socket, as RUN --ssh (cmd_run.cc: ssh_mount).
  if (f.has("--ssh")) p.mounts.insert(p.mounts.begin(), "type=ssh");
  p.privileged = f.has("--privileged");
  if (f.has("--no-cache")) t.no_cache_from_here();
}

bool condition(TargetRun& t, const syntax::Branch& b, const char* keyword) {
  syntax::Command c = header(keyword, b.expression, b.exec_mode, b.span);
  Probe p;
  if (b.exec_mode) {
    p.argv = b.expression;
  } else {
    auto f = t.flags(c, c.args, {"--secret", "--mount"}, {"--privileged", "--no-cache", "--ssh"});
    check_probe_flags(t, c, f, p);
    std::vector<std::string> rest(c.args.begin() + static_cast<long>(f.next), c.args.end());
    if (rest.empty()) t.fail(c, fmt::format("{} needs a condition", keyword));
    p.argv = {"/bin/sh", "-c", join(rest, " ")};
  }
  return probe_status(t, c, p) == 0;
}

// The AS LOCAL artifacts saved since `from`, written now (WAIT's END, a
// failed TRY's FINALLY) when this target outputs; they are not written
// again after the build.
void flush_artifacts(TargetRun& t, size_t from) {
  auto& r = t.result();
  const auto& opts = t.ctx().options;
  if (!t.node().output || opts.no_output || !opts.only_artifact.empty() || opts.only_image) return;
  for (size_t i = from; i < r.local_artifacts.size(); ++i) {
    const auto& a = r.local_artifacts[i];
    auto written = write_artifact(a, opts.cache_dir);
    if (!written)
      t.fail_at({}, fmt::format("writing artifact to {}: {}", a.shown_dest, written.error()));
    const std::string& by = a.target.empty() ? t.name() : a.target;
    for (auto& w : *written) r.written.push_back({output::OutputInfo::Kind::artifact, by, w});
  }
  r.local_artifacts.resize(std::min(from, r.local_artifacts.size()));
}

std::vector<std::string> words_from(const std::vector<std::string>& w, size_t i) {
  return {w.begin() + static_cast<long>(std::min(i, w.size())), w.end()};
}

// What a DO'd function receives: with --pass-args the caller's globals,
// ARGs and overrides; then the explicit build args (a bare `--K` passes
// K's current value).
Overrides do_overrides(TargetRun& t, const syntax::Command& cmd, bool pass_args,
                       const std::vector<std::string>& arg_words) {
  Overrides o;
  auto& vars = t.vars();
  if (pass_args) {
    for (VarKind kind : {VarKind::global, VarKind::arg})
      for (auto& b : vars.of_kind(kind)) set_override(o, b.name, std::move(b.value));
    for (const auto& [k, v] : vars.overrides()) set_override(o, k, v);
  }
  auto flags = resolve::parse_build_arg_flags(arg_words);
  if (!flags) t.fail(cmd, flags.error());
  for (const auto& flag : *flags) {
    if (flag.value) {
      set_override(o, flag.name, Value{t.expand(cmd, *flag.value), false});
    } else if (const Value* cur = vars.lookup(flag.name, t.env().config.env)) {
      set_override(o, flag.name, *cur);
    } else {
      t.fail(cmd, fmt::format("--{} passes the current value of {}, but {} is not set here",
                              flag.name, flag.name, flag.name));
    }
  }
  return o;
}

// Pops a DO's frame however its body ends.
class FunctionFrame {
public:
  FunctionFrame(TargetRun& t, resolve::FileId file, Overrides o) : t_(t) {
    t_.enter_function();
    enter_frame(t_, file, std::move(o));
  }
  ~FunctionFrame() {
    t_.vars().pop();
    t_.leave_function();
  }
  FunctionFrame(const FunctionFrame&) = delete;
  FunctionFrame& operator=(const FunctionFrame&) = delete;

private:
  TargetRun& t_;
};

} // namespace

void run_control(TargetRun& t, const syntax::IfStmt& s, const syntax::Span&) {
  if (condition(t, s.if_branch, "IF")) return t.run_block(s.if_branch.body);
  for (const auto& b : s.else_ifs)
    if (condition(t, b, "ELSE IF")) return t.run_block(b.body);
  if (s.else_body) t.run_block(*s.else_body);
}

void run_control(TargetRun& t, const syntax::ForStmt& s, const syntax::Span& span) {
  syntax::Command c = header("FOR", s.args, false, span);
  auto f =
      t.flags(c, c.args, {"--sep", "--secret", "--mount"}, {"--privileged", "--no-cache", "--ssh"});
  Probe with; // for the list's shell-outs
  check_probe_flags(t, c, f, with);
  if (f.next + 1 >= c.args.size() || c.args[f.next + 1] != "IN")
    t.fail(c, "FOR syntax: FOR [--sep <chars>] <variable> IN <expression>");
  const std::string& var = c.args[f.next];
  std::string seps = f.all("--sep").empty() ? " \t\n" : t.expand(c, f.last("--sep"));
  std::vector<std::string> items;
  for (const auto& word : words_from(c.args, f.next + 2)) {
    auto v = t.vars().expand(word, t.env().config.env, [&](std::string_view command) {
      return Result<std::string>(shell_out(t, c, std::string(command), with));
    });
    if (!v) t.fail(c, v.error());
    // The items of a word holding a secret-derived value are secret-derived.
    bool secret = t.ctx().redact.found_in(v->text);
    const std::string& text = v->text;
    size_t b = 0;
    while (b < text.size()) {
      size_t e = text.find_first_of(seps + " ", b);
      if (e == std::string::npos) e = text.size();
      if (e > b) items.push_back(text.substr(b, e - b));
      if (e > b && secret) t.ctx().redact.add(items.back());
      b = e + 1;
    }
  }
  for (auto& item : items) {
    t.vars().bind({var, {std::move(item), false}, VarKind::arg});
    t.run_block(s.body);
    t.vars().unbind(var);
  }
}

// The BUILDs a WAIT started, each on a thread of its own (their nested
// builds and waits take job slots as any target), joined at its END; the
// first to fail fails the WAIT with its own error.
struct WaitGroup {
  struct Started {
    const syntax::Command* cmd;
    std::future<std::shared_ptr<const DynamicTarget>> built;
  };
  std::vector<Started> started;
  std::atomic<int> claimed{-1}; // the BUILD whose nested build failed first
  // Set when one of its BUILDs fails: the others' nested builds stop
  // (Context::outer_stops), and so do the target's own steps in the block
  // (stopping(TargetRun&)); `outer` is the WAIT around this one, if any.
  std::atomic<bool> stop{false};
  WaitGroup* outer = nullptr;
  std::mutex mu;
  std::exception_ptr first; // the first failure, …
  std::exception_ptr later; // … or one seen while sandboxes were being stopped

  ~WaitGroup() {
    for (auto& s : started)
      if (s.built.valid()) s.built.wait();
  }
  void failed(std::exception_ptr e) {
    std::lock_guard lock(mu);
    // A sibling's failure stops every sandbox: what that does to the others
    // is not the cause.
    auto& slot = exec::runs_interrupted() || stop ? later : first;
    if (!slot) slot = std::move(e);
    stop = true;
  }
};

namespace {

void add_outputs(TargetRun& t, const DynamicTarget& built) {
  auto& r = t.result();
  r.local_artifacts.insert(r.local_artifacts.end(), built.artifacts.begin(), built.artifacts.end());
  r.images.insert(r.images.end(), built.images.begin(), built.images.end());
  for (auto& p : built.take_pushes()) r.pushes.push_back(std::move(p));
}

// The BUILDs started in the block, done: their outputs join the target's in
// statement order; the first failure is rethrown.
void join(TargetRun& t, WaitGroup& g) {
  SlotReleased waiting;
  std::vector<std::exception_ptr> errors(g.started.size());
  for (size_t i = 0; i < g.started.size(); ++i) {
    try {
      auto built = g.started[i].built.get();
      if (built) add_outputs(t, *built);
    } catch (...) {
      errors[i] = std::current_exception(); // also recorded by the thread (WaitGroup::failed)
    }
  }
  if (int c = g.claimed; c >= 0 && errors[static_cast<size_t>(c)])
    std::rethrow_exception(errors[static_cast<size_t>(c)]);
  if (g.first) std::rethrow_exception(g.first);
  if (g.later) std::rethrow_exception(g.later);
}

} // namespace

// Everything in the block is done by its END: the BUILDs in it started
// their targets at the statement (the scheduler leaves them out:
// Edge::waited; one it schedules anyway is waited for), joined here, and the
// outputs and pushes saved in it, theirs included, happen now.
void run_control(TargetRun& t, const syntax::WaitStmt& s, const syntax::Span&) {
  const auto& r = t.result();
  size_t artifacts = r.local_artifacts.size(), images = r.images.size(), pushes = r.pushes.size();
  WaitGroup group;
  WaitGroup* outer = std::exchange(t.wait_group(), &group);
  group.outer = outer;
  struct Restore {
    TargetRun& t;
    WaitGroup* outer;
    ~Restore() { t.wait_group() = outer; }
  } restore{t, outer};
  try {
    t.run_block(s.body);
  } catch (...) {
    // A step of the block stopped because one of its BUILDs failed: that
    // failure is the cause. Else the block's own: its BUILDs stop.
    if (group.stop) join(t, group);
    group.stop = true;
    throw;
  }
  join(t, group);
  flush_artifacts(t, artifacts);
  write_images_now(t, images);
  push_now(t, pushes);
}

void run_control(TargetRun& t, const syntax::TryStmt& s, const syntax::Span& span) {
  if (s.catch_body) t.fail_at(span, "CATCH is not supported (Earthly rejects it too)");
  std::exception_ptr failed;
  {
    auto keep = t.keep_failed_layer();
    try {
      t.run_block(s.try_body);
    } catch (...) {
      if (t.ctx().cancelled || exec::runs_interrupted()) throw;
      failed = std::current_exception();
    }
  }
  // The failed command's filesystem, deleted once FINALLY is done.
  struct Aside {
    TargetRun& t;
    std::string layer;
    ~Aside() {
      if (!layer.empty()) t.ctx().trash.add(fs::dirname(layer));
    }
  } aside{t, t.take_failed_layer()};
  if (!s.finally_body) {
    if (failed) std::rethrow_exception(failed);
    return;
  }
  if (failed) {
    // FINALLY sees what the failed command left, never from the cache.
    auto& env = t.env();
    if (!aside.layer.empty()) env.layers.push_back(aside.layer);
    env.key = plan::unique_key(plan::KeyBuilder("TRY failed", env.key).finish());
  }
  size_t from = t.result().local_artifacts.size();
  t.run_block(*s.finally_body);
  if (failed) {
    flush_artifacts(t, from);
    std::rethrow_exception(failed);
  }
}

namespace {

// A push of target `id` (scheduled in `ctx`), done with a run of it.
PushAction pushed_as(Context& ctx, resolve::NodeId id, PushAction inner) {
  PushAction p;
  p.what = inner.what;
  p.image = inner.image;
  p.act = [&ctx, id, act = std::move(inner.act)](TargetRun& caller, output::BuildTotals& totals) {
    TargetRun t(ctx, id);
    t.result().shown = ctx.results[id].shown;
    act(t, totals);
    caller.mark_ran();
  };
  return p;
}

// A target the scheduler runs (reached otherwise too), BUILT in a WAIT:
// waited for with the targets its BUILDs reach, and, when `t` outputs, their
// outputs and pushes taken for its END (not done again after the build).
std::shared_ptr<const DynamicTarget> wait_scheduled(TargetRun& t, resolve::NodeId to) {
  auto& ctx = t.ctx();
  auto out = std::make_shared<DynamicTarget>();
  std::vector<resolve::NodeId> todo{to};
  std::set<resolve::NodeId> seen;
  while (!todo.empty()) {
    resolve::NodeId id = todo.back();
    todo.pop_back();
    // One left out was built at its statement, its outputs in its builder's.
    if (!ctx.scheduled[id] || !seen.insert(id).second) continue;
    wait_for_target(ctx, id);
    std::lock_guard lock(ctx.slots->mu);
    auto& r = ctx.results[id];
    if (t.node().output && ctx.graph.nodes[id].output) {
      for (auto& a : r.local_artifacts) {
        if (a.target.empty()) a.target = ctx.names[id];
        out->artifacts.push_back(std::move(a));
      }
      for (auto& i : r.images) {
        if (i.target.empty()) i.target = ctx.names[id];
        out->images.push_back(std::move(i));
      }
      for (auto& p : r.pushes) out->pushes->actions.push_back(pushed_as(ctx, id, std::move(p)));
      r.local_artifacts.clear();
      r.images.clear();
      r.pushes.clear();
    }
    for (resolve::EdgeId e : r.builds)
      if (ctx.graph.edges[e].to != resolve::kNone) todo.push_back(ctx.graph.edges[e].to);
  }
  return out;
}

// A BUILD in a WAIT: `build` started now on a thread of its own, joined at
// END.
void start_build(TargetRun& t, const syntax::Command& cmd, DynamicBuild build) {
  auto& group = *t.wait_group();
  int index = static_cast<int>(group.started.size());
  group.started.push_back(
      {&cmd, std::async(std::launch::async, [&group, index, build = std::move(build)] {
         // A nested build started here tells when its first target fails.
         thread_failure_hook() = [&group, index] {
           int none = -1;
           group.claimed.compare_exchange_strong(none, index);
           group.stop = true;
         };
         thread_stop_flag() = &group.stop;
         try {
           return build();
         } catch (...) {
           group.failed(std::current_exception());
           throw;
         }
       })});
}

void start_build(TargetRun& t, const syntax::Command& cmd, const resolve::Edge& edge) {
  start_build(t, cmd, [&t, &cmd, &edge] {
    if (!t.ctx().scheduled[edge.to]) return build_reached(t, cmd, edge);
    return wait_scheduled(t, edge.to);
  });
}

} // namespace

bool stopping(TargetRun& t) {
  if (stopping(t.ctx())) return true;
  for (const WaitGroup* g = t.wait_group(); g; g = g->outer)
    if (g->stop) return true;
  return false;
}

void note_build(TargetRun& t, const syntax::Command& cmd) {
  if (!t.step()) return;
  bool dynamic = false;
  for (resolve::EdgeId e : t.step()->edges) {
    const auto& edge = t.ctx().graph.edges[e];
    if (edge.kind != resolve::EdgeKind::build) continue;
    dynamic |= edge.dynamic;
    if (edge.dynamic) continue;
    if (t.wait_group() && edge.to != resolve::kNone) {
      start_build(t, cmd, edge);
      if (t.ctx().scheduled[edge.to]) t.result().builds.push_back(e);
      continue;
    }
    // A target reached only through IF / a dynamic FOR is built now.
    if (auto built = build_reached(t, cmd, edge))
      add_outputs(t, *built);
    else
      t.result().builds.push_back(e);
  }
  if (!dynamic) return;
  auto words = resolve::join_grouped_words(cmd.args);
  auto f = t.flags(cmd, words, {"--platform", "--build-arg"},
                   {"--allow-privileged", "--pass-args", "--auto-skip"});
  if (f.next >= words.size()) t.fail(cmd, "BUILD needs a target reference");
  auto ref = resolve::parse_target_ref(t.expand(cmd, words[f.next]));
  if (!ref) t.fail(cmd, ref.error());
  std::vector<std::string> args;
  for (const auto& a : f.all("--build-arg")) args.push_back("--" + a);
  auto rest = words_from(words, f.next + 1);
  args.insert(args.end(), rest.begin(), rest.end());
  auto build = prepare_dynamic(t, cmd, *ref, f.has("--pass-args"), args);
  if (t.wait_group())
    start_build(t, cmd, std::move(build));
  else
    add_outputs(t, *build());
}

void check_supported(const Context& ctx) {
  using syntax::CommandKind;
  for (resolve::NodeId id : ctx.order)
    for (const auto& step : ctx.graph.nodes[id].steps) {
      const syntax::Command& cmd = *step.command;
      const char* what = cmd.kind == CommandKind::docker            ? "WITH DOCKER"
                         : cmd.kind == CommandKind::git_clone       ? "GIT CLONE"
                         : cmd.kind == CommandKind::from_dockerfile ? "FROM DOCKERFILE"
                                                                    : nullptr;
      if (!what) continue;
      const auto& file = *ctx.graph.files[step.file];
      syntax::Diagnostic d;
      d.path = file.path;
      d.span = cmd.span;
      d.message = fmt::format("{} is not supported yet; `earth --dry-run` shows what the target "
                              "would build",
                              what);
      d.trace.push_back("in " + ctx.names[id]);
      throw resolve::DiagnosticError(std::move(d), &file.source);
    }
}

void keep_failed_upper(TargetRun& t, const std::string& upper) {
  auto aside = fs::make_temp_dir(t.ctx().tmp_dir, "failed-");
  if (!aside) return;
  std::string layer = fs::join(*aside, "layer");
  if (::rename(upper.c_str(), layer.c_str()) != 0 || !fs::make_dirs(upper)) return;
  t.set_failed_layer(layer); // TRY deletes it after FINALLY
}

void cmd_do(TargetRun& t, const syntax::Command& cmd) {
  auto words = resolve::join_grouped_words(cmd.args);
  auto f = t.flags(cmd, words, {}, {"--allow-privileged", "--pass-args"});
  if (f.next >= words.size()) t.fail(cmd, "DO needs a function reference");
  auto edges = t.edges(resolve::EdgeKind::do_function);
  const auto& graph = t.ctx().graph;
  if (edges.empty() || edges.front()->to == resolve::kNone ||
      graph.nodes[edges.front()->to].file == resolve::kNone)
    t.fail(cmd, fmt::format("DO {}: this function reference is not supported yet", words[f.next]));
  const resolve::Node& fn_node = graph.nodes[edges.front()->to];
  const syntax::Function* fn = graph.files[fn_node.file]->ast.find_function(fn_node.name);
  if (!fn) t.fail(cmd, fmt::format("DO {}: no such function", words[f.next]));
  Overrides o = do_overrides(t, cmd, f.has("--pass-args"), words_from(words, f.next + 1));
  FunctionFrame frame(t, fn_node.file, std::move(o));
  t.run_block(fn->recipe);
}

} // namespace earth::build
