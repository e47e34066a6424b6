// The builder loop: workers take ready targets from the Plan, interpret
// their recipes (TargetRun), and report to Status; the first failure stops
// the build (running sandboxes are killed). Outputs are written only after
// every target succeeded.
#include <fmt/format.h>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "commands.h"
#include "earth/base/fs.h"
#include "earth/base/profile.h"
#include "earth/build/build.h"
#include "earth/build/journal.h"
#include "earth/exec/linux_runtime.h"
#include "earth/plan/plan.h"
#include "earth/store/cleanup.h"
#include "earth/store/empty_steps.h"
#include "explain.h"
#include "outputs.h"
#include "push.h"
#include "target_cache.h"
#include "target_run.h"
#include "tree.h"

namespace earth::build {

namespace {

using Clock = std::chrono::steady_clock;

// Target `id` as its build's journal keeps it (keyed on `context`).
JournalTarget journal_target(const Context& ctx, resolve::NodeId id, std::string context) {
  const auto& g = ctx.graph;
  const resolve::Node& node = g.nodes[id];
  JournalTarget t;
  t.key = g.key(id);
  t.name = ctx.names[id];
  t.canonical = node.canonical;
  t.platform = node.platform;
  for (const auto& b : node.given) t.given.push_back({b.name, b.value.text, b.value.dynamic});
  t.output = node.output;
  t.context = std::move(context);
  for (resolve::EdgeId e : node.out)
    if (const auto& edge = g.edges[e];
        (edge.kind == resolve::EdgeKind::from || edge.kind == resolve::EdgeKind::copy) &&
        edge.to != resolve::kNone)
      t.reads.push_back(g.key(edge.to));
  return t;
}

class Scheduler;
thread_local Scheduler* tl_scheduler = nullptr; // the worker's, while it holds a slot

class Scheduler {
public:
  Scheduler(Context& ctx, StepLog& log, unsigned jobs)
      : ctx_(ctx), log_(log), plan_(ctx.graph, ctx.order), jobs_(jobs),
        records_(fs::join(ctx.options.cache_dir, "targets")), slots_(*ctx.slots) {}

  // Runs every target; rethrows the first failure.
  void run() {
    unsigned n = std::max(1u, std::min<unsigned>(jobs_, plan_.wanted()));
    {
      std::lock_guard lock(slots_.mu);
      for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { work(); });
    }
    // A worker that waits starts another (release): join until none is left.
    for (size_t i = 0;; ++i) {
      std::thread w;
      {
        std::lock_guard lock(slots_.mu);
        if (i >= workers_.size()) break;
        w = std::move(workers_[i]);
      }
      w.join();
    }
    if (cancelled_by_us_) exec::clear_interrupt();
    if (error_) std::rethrow_exception(error_);
  }

  // The calling worker waits: its slot goes to another worker (a new one
  // when none is idle) until it takes one back (acquire).
  void release() {
    std::lock_guard lock(slots_.mu);
    ++slots_.free;
    if (idle_ == 0 && !error_ && plan_.more_to_do()) workers_.emplace_back([this] { work(); });
    slots_.cv.notify_all();
  }
  void acquire() {
    std::unique_lock lock(slots_.mu);
    slots_.cv.wait(lock, [&] { return slots_.free > 0; });
    --slots_.free;
  }

  // Until target `id` has finished (or the build failed).
  void wait_for(resolve::NodeId id) {
    std::unique_lock lock(slots_.mu);
    slots_.cv.wait(lock, [&] { return ctx_.results[id].finished || error_; });
    if (!ctx_.results[id].finished) throw BuildError("interrupted", ExitCode::interrupted);
  }

private:
  void work() {
    for (;;) {
      resolve::NodeId id;
      {
        std::unique_lock lock(slots_.mu);
        ++idle_;
        slots_.cv.wait(lock, [&] {
          return error_ || !plan_.more_to_do() || (plan_.has_ready() && slots_.free > 0);
        });
        --idle_;
        if (error_ || !plan_.more_to_do()) return;
        id = plan_.pop_ready();
        --slots_.free;
      }
      tl_scheduler = this;
      build_one(id);
      tl_scheduler = nullptr;
    }
  }

  void build_one(resolve::NodeId id) {
    const std::string& name = ctx_.names[id];
    auto& status = ctx_.services.status;
    auto start = Clock::now();
    status.target_queued(name);
    try {
      // A target is shown from its first step on: one with nothing to run
      // (BUILDs only, ARGs only) stays out of the log.
      TargetResult r = build_instance_once(ctx_, id, [&] { return run_or_reuse(id); });
      r.finished = true;
      bool cached = r.all_cached, shown = r.shown;
      if (shown) status.target_finished(name, cached, Clock::now() - start);
      std::lock_guard lock(slots_.mu); // wait_for reads `finished`
      ctx_.results[id] = std::move(r);
      plan_.finished(id);
      ++slots_.free;
    } catch (...) {
      std::lock_guard lock(slots_.mu);
      ++slots_.free;
      if (!error_) {
        error_ = std::current_exception();
        if (ctx_.on_failure) ctx_.on_failure();
        status.target_failed(name);
        ctx_.cancelled = true;
        if (!exec::runs_interrupted()) {
          exec::interrupt_all_runs(); // stop the other targets' sandboxes
          cancelled_by_us_ = true;
        }
      }
      plan_.failed(id);
    }
    slots_.cv.notify_all();
  }

  // The recorded result when the target's input key has one (its steps are
  // shown as cached, as the run that recorded it showed them, under this
  // instance's name: other instances may share the input), else its
  // recipe, run.
  TargetResult run_or_reuse(resolve::NodeId id) {
    const std::string& name = ctx_.names[id];
    auto start = Clock::now();
    std::string context;
    std::optional<Digest> key = target_key(ctx_, id, &context);
    std::vector<ShownStep> shown;
    std::optional<TargetResult> hit;
    if (key && !ctx_.options.debug_keys) hit = records_.load(ctx_, *key, name, &shown);
    ctx_.key_ns +=
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    ctx_.target_keys[id] = key;
    // A target that ran is journaled too, when the next build reuses it whole.
    if (auto* journal = ctx_.options.journal) {
      if (!key) journal->refuse(name + " is never reused whole");
      journal->note_target(journal_target(ctx_, id, std::move(context)));
    }
    if (hit) {
      if (ctx_.options.explain) explain_reused(ctx_, id);
      ++ctx_.targets_reused;
      if (hit->shown) ctx_.services.status.target_started(name);
      for (const auto& [s, took] : shown) {
        ctx_.services.status.step_cached(s, took);
        ctx_.saved_ns += took.count();
      }
      ctx_.steps_cached += static_cast<uint32_t>(shown.size());
      (void)log_.take(name);
      hit->builds = every_build(id); // a reused recipe has no IF: each BUILD ran
      return std::move(*hit);
    }
    plan::KeyRecorder keys; // every key this walk makes, for --explain and debug keys
    TargetResult r = TargetRun(ctx_, id).run();
    explain_walk(ctx_, id, keys, ctx_.options.explain);
    if (ctx_.options.debug_keys) print_keys(ctx_, id, keys);
    auto shown_steps = log_.take(name);
    if (!key) return r;
    auto record = TargetCache::encode(r, shown_steps, ctx_.redact);
    if (!record && ctx_.options.journal)
      ctx_.options.journal->refuse(name + " could not be recorded");
    // Written by the commit thread once its step dirs are recorded (synced),
    // while the build goes on; the build's end waits for it (build()).
    if (record)
      ctx_.steps.once_recorded([records = records_, key = *key, bytes = std::move(*record)] {
        (void)records.write(key, bytes);
      });
    return r;
  }

  Context& ctx_;
  // The BUILD edges of a target's recipe (its outputs chain on, §5.6).
  std::vector<resolve::EdgeId> every_build(resolve::NodeId id) const {
    std::vector<resolve::EdgeId> out;
    for (const auto& step : ctx_.graph.nodes[id].steps)
      for (resolve::EdgeId e : step.edges)
        if (const auto& edge = ctx_.graph.edges[e];
            edge.kind == resolve::EdgeKind::build && !edge.dynamic)
          out.push_back(e);
    return out;
  }

  StepLog& log_;
  plan::Plan plan_;
  unsigned jobs_;
  TargetCache records_;
  JobSlots& slots_;                  // its mutex guards what follows
  std::vector<std::thread> workers_; // grows when a worker waits (release)
  unsigned idle_ = 0;                // workers waiting for a ready target
  std::exception_ptr error_;
  bool cancelled_by_us_ = false;
};

// The Scheduler of each open Context, for wait_for_target.
std::mutex schedulers_mu;
std::map<const Context*, Scheduler*> schedulers;

unsigned jobs_of(const BuildOptions& o) {
  return o.jobs ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
}

// Runs the targets of `ctx`; wait_for_target finds its Scheduler meanwhile.
void schedule(Context& ctx, StepLog& log) {
  Scheduler s(ctx, log, jobs_of(ctx.options));
  {
    std::lock_guard lock(schedulers_mu);
    schedulers[&ctx] = &s;
  }
  struct Forget {
    Context& ctx;
    ~Forget() {
      std::lock_guard lock(schedulers_mu);
      schedulers.erase(&ctx);
    }
  } forget{ctx};
  s.run();
}

// --artifact +t/path [dest]: only that artifact of the CLI target.
void write_only_artifact(Context& ctx, output::BuildTotals& totals) {
  resolve::NodeId root = ctx.graph.root;
  ArtifactOutput out;
  out.tree = ctx.results[root].artifacts;
  LayerView view(out.tree.layers);
  std::string path = fs::normalize(ctx.options.only_artifact);
  out.glob = has_glob(path);
  out.paths = out.glob ? glob(view, path) : std::vector<std::string>{path};
  if (out.paths.empty() || (!out.glob && !view.find(path)))
    throw BuildError(fmt::format("--artifact: {} has no artifact {}", ctx.names[root], path));
  const std::string& dest = ctx.options.only_artifact_dest;
  out.host_dest = fs::normalize(dest.starts_with("/") ? dest : fs::join(fs::current_dir(), dest));
  if (dest.ends_with("/") || dest == ".") out.host_dest += "/";
  auto written =
      write_artifact(out, ctx.options.cache_dir, {ctx.options.journal, ctx.graph.key(root)});
  if (!written) throw BuildError("--artifact: " + written.error());
  for (auto& w : *written)
    totals.outputs.push_back({output::OutputInfo::Kind::artifact, ctx.names[root], std::move(w)});
}

// The CLI targets and those the BUILD statements they ran reach, and so on
// (§5.6): a BUILD in an IF branch not taken outputs nothing (one taken to a
// target the scheduler left out brings its outputs with it: note_build).
std::vector<bool> outputs_reached(const Context& ctx) {
  std::vector<bool> reached(ctx.graph.nodes.size(), false);
  std::vector<resolve::NodeId> todo = ctx.roots;
  while (!todo.empty()) {
    resolve::NodeId id = todo.back();
    todo.pop_back();
    if (reached[id] || !ctx.graph.nodes[id].output) continue;
    reached[id] = true;
    for (resolve::EdgeId e : ctx.results[id].builds)
      if (ctx.graph.edges[e].to != resolve::kNone) todo.push_back(ctx.graph.edges[e].to);
  }
  return reached;
}

// Writes the outputs of the CLI target and its BUILD chain (Node::output).
void write_outputs(Context& ctx, output::BuildTotals& totals) {
  const auto& opts = ctx.options;
  if (!opts.only_artifact.empty()) return write_only_artifact(ctx, totals);
  std::map<std::string, std::string> labels;
  bool labels_known = false;
  auto earthly_labels = [&]() -> const std::map<std::string, std::string>& {
    if (!labels_known) {
      labels["dev.earthly.version"] = opts.version;
      labels["dev.earthly.built-by"] = "earth";
      if (opts.git_sha)
        if (std::string sha = opts.git_sha(); !sha.empty()) labels["dev.earthly.git-sha"] = sha;
      labels_known = true;
    }
    return labels;
  };
  std::vector<bool> reached = outputs_reached(ctx);
  size_t artifacts = 0, rewritten = 0;
  std::vector<std::string> marker_uses; // one lease-log write for them all
  struct Record {
    const std::string& cache_dir;
    std::vector<std::string>& markers;
    ~Record() { record_marker_uses(cache_dir, markers); }
  } record{opts.cache_dir, marker_uses};
  for (resolve::NodeId id : ctx.order) {
    if (!reached[id]) continue;
    const TargetResult& r = ctx.results[id];
    const std::string& name = ctx.names[id];
    auto owner = [&] { return opts.journal ? ctx.graph.key(id) : Digest{}; };
    // What was done early (WAIT, FINALLY): pushes even under --no-output.
    totals.outputs.insert(totals.outputs.end(), r.written.begin(), r.written.end());
    // --no-output: no artifacts and no images (reference §4.2, no local output).
    if (opts.no_output) continue;
    if (opts.only_image && id != ctx.graph.root) continue;
    if (!opts.only_image)
      for (const auto& a : r.local_artifacts) {
        auto written = write_artifact(a, ctx.options.cache_dir,
                                      {ctx.options.journal, owner(), &rewritten}, &marker_uses);
        if (!written)
          throw BuildError(
              fmt::format("{}: writing artifact to {}: {}", name, a.shown_dest, written.error()));
        artifacts += written->size();
        for (auto& w : *written)
          totals.outputs.push_back({output::OutputInfo::Kind::artifact,
                                    a.target.empty() ? name : a.target, std::move(w)});
      }
    for (const auto& img : r.images) {
      auto d = write_image(ctx.services.images, img, ctx.options.cache_dir, earthly_labels());
      if (!d) throw BuildError(fmt::format("{}: SAVE IMAGE {}: {}", name, img.names[0], d.error()));
      for (const auto& n : img.names)
        totals.outputs.push_back(
            {output::OutputInfo::Kind::image, img.target.empty() ? name : img.target, n});
    }
  }
  if (ctx.services.profile && artifacts > 0)
    ctx.services.profile->note(
        rewritten == artifacts
            ? fmt::format("outputs: {} written", artifacts)
            : fmt::format("outputs: {} of {} written, the others unchanged", rewritten, artifacts));
}

// The bottom layer of every RUN: the mount points the sandbox binds over
// (/proc, /dev, /etc/hosts, /etc/resolv.conf), so that for images without
// them the sandbox need not create and remove stubs in the step's layer.
std::string stub_layer(store::SnapshotStore& steps) {
  Digest key = Hasher("earth.stub-layer.v1").finish();
  auto dir = steps.ensure(key, [](const std::string& d) -> Result<void> {
    for (const char* sub : {"proc", "dev", "etc"})
      if (auto r = fs::make_dirs(fs::join(d, sub)); !r) return r;
    for (const char* f : {"etc/hosts", "etc/resolv.conf"})
      if (auto r = fs::write_file_atomic(fs::join(d, f), ""); !r) return r;
    return {};
  });
  if (!dir) throw BuildError(dir.error(), ExitCode::internal_error);
  return *dir;
}

// The one dir that answers for every step whose layer is empty (a RUN that
// changed nothing), which the store then records in <cache>/steps-empty
// instead of keeping a step dir each (docs/formats.md, "Empty steps").
void record_empty_steps(store::SnapshotStore& steps, const std::string& cache_dir) {
  Digest key = Hasher("earth.empty-layer.v1").finish();
  auto dir = steps.ensure(key, [](const std::string&) -> Result<void> { return {}; });
  if (!dir) throw BuildError(dir.error(), ExitCode::internal_error);
  auto log = store::EmptySteps::open(cache_dir);
  if (!log) return; // a read-only or odd cache: every step keeps its dir
  steps.record_empty_fills(*dir, *log);
}

} // namespace

std::unique_ptr<Context> open_context(const resolve::Graph& graph, const BuildOptions& options,
                                      BuildServices& services, std::vector<resolve::NodeId> roots) {
  auto steps = store::SnapshotStore::open(options.cache_dir, "steps");
  if (!steps) throw BuildError(steps.error(), ExitCode::internal_error);
  auto ctx =
      std::make_unique<Context>(graph, options, services, std::move(*steps), std::move(roots));
  // The process's own temp dir: what a killed build leaves there (overlay work
  // dirs, private cache dirs) goes when the next earth opens the store.
  auto own_tmp = store::process_temp_dir(options.cache_dir);
  if (!own_tmp) throw BuildError(own_tmp.error(), ExitCode::internal_error);
  ctx->tmp_dir = *own_tmp;
  ctx->mounts_dir = fs::join(options.cache_dir, "mounts");
  for (const auto& d : {ctx->tmp_dir, ctx->mounts_dir})
    if (auto r = fs::make_dirs(d); !r) throw BuildError(r.error(), ExitCode::internal_error);
  ctx->stub_layer = stub_layer(ctx->steps);
  record_empty_steps(ctx->steps, options.cache_dir);
  ctx->dynamic = new_dynamic_builds();
  ctx->slots = std::make_shared<JobSlots>();
  ctx->slots->free = jobs_of(options);
  ctx->stat_cache = StatCache::open(fs::join(options.cache_dir, "stat-cache"));
  return ctx;
}

void run_targets(Context& ctx) {
  schedule(ctx, *ctx.step_log);
}

void wait_for_target(Context& ctx, resolve::NodeId id) {
  Scheduler* s = nullptr;
  {
    std::lock_guard lock(schedulers_mu);
    if (auto it = schedulers.find(&ctx); it != schedulers.end()) s = it->second;
  }
  if (!s) return; // not running: nothing is left to wait for
  SlotReleased waiting;
  s->wait_for(id);
}

SlotReleased::SlotReleased() : scheduler_(tl_scheduler) {
  if (scheduler_) static_cast<Scheduler*>(scheduler_)->release();
  tl_scheduler = nullptr; // what this thread waits on holds no slot of it
}

SlotReleased::~SlotReleased() {
  if (!scheduler_) return;
  static_cast<Scheduler*>(scheduler_)->acquire();
  tl_scheduler = static_cast<Scheduler*>(scheduler_);
}

bool stopping(const Context& ctx) {
  if (ctx.cancelled || exec::runs_interrupted()) return true;
  for (const auto* flag : ctx.outer_stops)
    if (flag->load()) return true;
  return false;
}

std::vector<bool> output_nodes(const Context& ctx) {
  return outputs_reached(ctx);
}

namespace {

std::string error_text(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown error";
  }
}

// Targets that finished (all of them after a success) and step counts.
void count(const Context& ctx, output::BuildTotals& totals) {
  for (resolve::NodeId id : ctx.order) {
    const auto& r = ctx.results[id];
    if (!r.finished || !r.shown) continue; // targets with no step are not counted
    ++totals.targets;
    totals.targets_cached += r.all_cached ? 1 : 0;
  }
  totals.targets += ctx.nested_targets;
  totals.targets_cached += ctx.nested_cached;
  totals.steps_run = ctx.steps_run;
  totals.steps_cached = ctx.steps_cached;
  totals.saved = output::Duration{ctx.saved_ns.load()};
}

} // namespace

// The passes of a build, each timed for --profile: open the cache, run the
// targets, write the outputs.
output::BuildTotals build(const resolve::Graph& graph, const BuildOptions& options,
                          BuildServices& services) {
  Profile none;
  Profile& profile = services.profile ? *services.profile : none;
  auto start = Clock::now();
  // Steps shown per target, for target records (a reused target is shown
  // as its last run was).
  StepLog log(services.status);
  // Everything shown passes the build's redactor, which nested builds share.
  Redactor redact(options.secrets);
  RedactedStatus shown(log, redact);
  BuildServices logged{services.runtime, services.images, shown, services.profile};
  auto ctx = profile.time("open", [&] { return open_context(graph, options, logged); });
  ctx->redact.share(redact);
  ctx->step_log = &log;
  check_supported(*ctx);
  output::BuildTotals totals;
  auto finish = [&](bool success) {
    totals.success = success;
    totals.wall = Clock::now() - start;
    shown.build_finished(totals);
  };
  // No secret value in an error message (a failing step's last lines, a
  // path made of a secret-derived value).
  auto rethrow_redacted = [&] {
    try {
      throw;
    } catch (const Error& e) {
      if (std::string text = ctx->redact(e.what()); text != e.what())
        throw BuildError(text, e.code());
      throw;
    }
  };
  // The unkept steps (--no-cache, LOCALLY) go when the build ends, however
  // it ends: the outputs and images made of them are written by then.
  struct Unkept {
    const std::string& cache_dir;
    ~Unkept() { store::remove_unkept(cache_dir); }
  } unkept{options.cache_dir};
  try {
    profile.time("execute", [&] { schedule(*ctx, log); });
    profile.time("push", [&] { run_pushes(*ctx, totals); });
  } catch (const Error&) {
    (void)ctx->stat_cache->save(); // what was hashed stays known
    count(*ctx, totals);
    totals.targets_failed = 1; // the first failure stops the build
    totals.error = ctx->redact(error_text(std::current_exception()));
    finish(false);
    rethrow_redacted();
  } catch (...) {
    (void)ctx->stat_cache->save();
    count(*ctx, totals);
    totals.targets_failed = 1; // the first failure stops the build
    totals.error = ctx->redact(error_text(std::current_exception()));
    finish(false);
    throw;
  }
  profile.time("index", [&] { (void)ctx->stat_cache->save(); });
  profile.note(fmt::format("files: {} hashed, {} from the stat cache", ctx->stat_cache->reads(),
                           ctx->stat_cache->hits()));
  profile.note(fmt::format("targets: {} reused whole, keys and records {:.2f} ms (all threads)",
                           ctx->targets_reused.load(), double(ctx->key_ns.load()) / 1e6));
  count(*ctx, totals);
  if (options.journal && (ctx->nested_targets > 0 || !totals.notes.empty()))
    options.journal->refuse("targets built at run time, or notes to say");
  try {
    // The step dirs made are recorded (and the target records written)
    // before any output is: a build killed while it writes them reuses
    // every step the next time, and a sync that failed fails the build.
    profile.time("record", [&] {
      if (auto settled = ctx->steps.settle(); !settled)
        throw BuildError("recording the steps' results in the cache: " + settled.error());
    });
    profile.time("export", [&] { write_outputs(*ctx, totals); });
  } catch (...) {
    totals.error = ctx->redact(error_text(std::current_exception()));
    finish(false);
    rethrow_redacted();
  }
  finish(true);
  return totals;
}

} // namespace earth::build
