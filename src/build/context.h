// Internal to the build module: what one build shares between its worker
// threads, and the state a target's recipe carries from step to step.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "earth/base/digest.h"
#include "earth/base/stat_cache.h"
#include "earth/build/build.h"
#include "earth/image/image_store.h"
#include "earth/output/status.h"
#include "earth/store/snapshots.h"
#include "earth/syntax/ast.h"
#include "secrets.h"
#include "trash.h"

namespace earth::build {

class TargetRun;

// A CACHE directory: mounted into every later RUN of the target.
struct CacheDir {
  std::string target;    // absolute path inside the sandbox
  std::string host_dir;  // <cache>/mounts/<id digest>
  std::string lock_path; // <host_dir>.lock: serialises `locked` users, marks a `private` one busy
  std::string sharing;   // locked | shared | private
  const syntax::Command* persist = nullptr; // CACHE --persist: copied into the image at the end
};

// The build environment at one point of a recipe: a filesystem made of
// layers and an image config.
struct EnvState {
  Digest key;                      // identity of everything below (zero: no FROM yet)
  image::ImageRecord base;         // the FROM image (zero manifest digest: scratch)
  std::vector<std::string> layers; // layer dirs, bottom first: the base's, then the steps'
  size_t own_from = 0;             // layers[own_from..] were made by build steps
  image::RuntimeConfig config;
  std::vector<std::pair<std::string, std::string>> hosts; // HOST name address
  std::vector<CacheDir> caches;
  Digest persisted;     // the key right after the last CACHE --persist layer
  bool started = false; // a FROM (or implicit FROM +base) happened
  bool locally = false; // after LOCALLY: steps run on the host (locally.h)
};

// The artifact tree of a target: SAVE ARTIFACT results stacked in order.
struct ArtifactState {
  Digest key; // identity of the tree (chained over the SAVE ARTIFACT keys)
  std::vector<std::string> layers;
};

// `SAVE ARTIFACT … AS LOCAL`: written after a successful build.
struct ArtifactOutput {
  std::vector<std::string> paths; // absolute paths in the artifact tree
  std::string host_dest;          // absolute host path as written ("…/dist/" keeps its slash)
  std::string shown_dest;         // as written in the Earthfile
  bool glob = false;              // several sources: the dest is a directory
  ArtifactState tree;             // the tree as of that step
  std::string target;             // who saved it, when a nested build did (shown)
};

// `SAVE IMAGE name…`: committed to the local image store after the build.
struct ImageOutput {
  std::vector<std::string> names;
  EnvState env;
  bool earthly_labels = true; // add dev.earthly.* labels when written
  std::string target;         // who saved it, when a nested build did (shown)
};

// `RUN --push` / `SAVE IMAGE --push`: done with `earth --push` after every
// target succeeded, in build order and recipe order, or at the END of the
// WAIT they are in (push.h).
struct PushAction {
  std::string what; // "RUN --push ./deploy.sh", "SAVE IMAGE --push reg/app:1"
  bool image = false;
  // Does it; gets a TargetRun of the target (for located errors and
  // events) and the totals (for what was pushed). Throws on failure.
  std::function<void(TargetRun&, output::BuildTotals&)> act;
};

// What a run of a base recipe (`+base`) leaves for the targets of its
// Earthfile: its globals and IMPORT aliases (cmd_vars.cc, enter_frame).
struct BaseFrame {
  std::vector<resolve::Binding> globals;
  std::map<std::string, std::string, std::less<>> imports;
};

struct TargetResult {
  EnvState env;
  std::shared_ptr<const BaseFrame> base_frame; // set by a run of a base recipe
  ArtifactState artifacts;
  std::vector<ArtifactOutput> local_artifacts;
  std::vector<ImageOutput> images;
  std::vector<output::OutputInfo> written; // outputs written early (WAIT, TRY/FINALLY)
  std::vector<resolve::EdgeId> builds;     // BUILD edges of the statements run
  std::vector<PushAction> pushes;          // its own, then those of targets built at a statement
  bool all_cached = true;
  bool finished = false; // the recipe ran to its end
  bool shown = false;    // a step was reported (target_started was sent)
};

// The job slots of a build (-j), shared by its nested builds: a worker
// runs a target holding one; a worker that waits (for a target another
// worker builds, a nested build, a WAIT's BUILDs) gives its slot back while
// it waits (SlotReleased), and its Scheduler starts another worker if none
// is idle. `mu` and `cv` guard the Schedulers' plans too.
struct JobSlots {
  std::mutex mu;
  std::condition_variable cv;
  unsigned free = 1;
};

// While it lives, the calling worker's slot is free for others (nothing
// when the thread holds none: a thread a WAIT started). engine.cc.
class SlotReleased {
public:
  SlotReleased();
  ~SlotReleased();
  SlotReleased(const SlotReleased&) = delete;
  SlotReleased& operator=(const SlotReleased&) = delete;

private:
  void* scheduler_; // the thread's Scheduler, or null
};

struct DynamicBuilds; // dynamic.cc
std::shared_ptr<DynamicBuilds> new_dynamic_builds();

class StepLog;

struct Context {
  // `roots`: the targets this context builds (empty: the graph's roots).
  Context(const resolve::Graph& g, const BuildOptions& o, BuildServices& s, store::SnapshotStore st,
          std::vector<resolve::NodeId> roots = {});
  const resolve::Graph& graph;
  const std::vector<resolve::NodeId> roots;
  // What the scheduler builds, dependencies first: the targets reachable
  // from `roots` through edges that surely happen. One reached only through
  // an IF branch or a dynamic FOR is built when a run reaches its statement
  // (build_reached, dynamic.cc), or never.
  const std::vector<resolve::NodeId> order;
  std::vector<bool> scheduled;          // per node: in `order`
  const std::vector<std::string> names; // per node: how it is shown
  const BuildOptions& options;
  BuildServices& services;
  store::SnapshotStore steps; // <cache>/steps: step layers and artifact trees by key
  std::string tmp_dir;        // <cache>/tmp/proc-<pid>-<n>: this process's (store/cleanup.h)
  std::string mounts_dir;     // <cache>/mounts
  // Per node; complete before Plan::finished(node), read-only afterwards.
  std::vector<TargetResult> results;
  Redactor redact;        // secret values -> *** in every line shown
  SecretStore secrets;    // RUN --secret values: given, or from the secret provider
  std::string stub_layer; // below every RUN: mount points the sandbox needs (empty files)
  Trash trash;            // overlay work dirs, deleted in the background
  std::unique_ptr<StatCache> stat_cache; // <cache>/stat-cache: file digests by stat
  // Target-level reuse (target_cache.h): per node, its input key once known
  // (nullopt: it runs step by step, and so do the targets reading it).
  std::vector<std::optional<Digest>> target_keys;
  std::mutex memo_mu;                                      // guards the three memos below
  std::unordered_map<std::string, Digest> context_digests; // build context dir -> digest
  std::unordered_map<std::string, std::optional<image::ImageRecord>> images_seen;
  // Cache dirs a target record pointed to, leased by this process and seen
  // present: a lease keeps them until it exits (TargetCache::load).
  std::unordered_set<std::string> dirs_present;
  std::atomic<uint32_t> targets_reused{0};
  std::atomic<int64_t> key_ns{0}; // time spent computing target keys and reading records
  std::atomic<bool> cancelled{false};
  std::atomic<uint32_t> steps_run{0}, steps_cached{0};
  std::atomic<int64_t> saved_ns{0}; // what the cache hits took when they ran
  // References known only at build time (dynamic.cc): built once per
  // instance for the whole run (shared with nested builds); `chain` holds
  // the instances whose nested builds this one is inside, for cycles.
  std::shared_ptr<DynamicBuilds> dynamic; // set by open_context
  std::shared_ptr<JobSlots> slots;        // set by open_context; nested builds share the parent's
  // The steps each target showed, for its target record (target_cache.h):
  // the build's, shared with nested builds. Set by build().
  StepLog* step_log = nullptr;

  std::vector<Digest> chain;
  // Called when this context's first target fails, before the others'
  // sandboxes are stopped: a WAIT learns which of its BUILDs failed first.
  // A nested build takes the hook of the thread that starts it
  // (thread_failure_hook), else its parent's.
  std::function<void()> on_failure;
  std::atomic<uint32_t> nested_targets{0}, nested_cached{0}; // built by nested Contexts
  // Flags that stop this context's steps too (stopping()): a nested build's
  // parents' `cancelled`, and the WAIT whose BUILD started it, set when a
  // sibling BUILD fails (build_graph: thread_stop_flag).
  std::vector<const std::atomic<bool>*> outer_stops;
  const Context* parent = nullptr; // of a nested build: the Context it was started in
};

// No step of `ctx` may start, and running ones (sandboxes, LOCALLY host
// processes, shell-outs) stop: a target of it or of a parent failed, a
// sibling BUILD of its WAIT failed, or earth was interrupted. engine.cc.
bool stopping(const Context& ctx);

// engine.cc, for builds inside a build (dynamic.cc): a Context over the
// options' cache; every target of its graph run (first failure rethrown, no
// output written); which nodes output (the BUILD chains that ran).
std::unique_ptr<Context> open_context(const resolve::Graph& graph, const BuildOptions& options,
                                      BuildServices& services,
                                      std::vector<resolve::NodeId> roots = {});
void run_targets(Context& ctx);
// Blocks until target `id` of `ctx` (scheduled: in ctx.order) has finished,
// giving the caller's job slot back meanwhile; throws when the build failed.
void wait_for_target(Context& ctx, resolve::NodeId id);
std::vector<bool> output_nodes(const Context& ctx);
// dynamic.cc: the on_failure a nested build started on this thread gets.
std::function<void()>& thread_failure_hook();
// dynamic.cc: a flag a nested build started on this thread stops on too
// (outer_stops): its WAIT's.
const std::atomic<bool>*& thread_stop_flag();
// dynamic.cc: target `id` of `ctx` built once per build, whichever of the
// build's Contexts (the run's, nested ones over its graph or over a graph of
// their own) reaches its instance first: that one runs `build`; the others
// wait for it (their job slot given back) and get its result as nothing of
// theirs (not shown, not counted), so a `+base` a nested build needs again
// is not run again. One unfinished in a Context `ctx` is nested in (a cycle
// through references known only at build time) is built again.
TargetResult build_instance_once(Context& ctx, resolve::NodeId id,
                                 const std::function<TargetResult()>& build);

// The names target instances are shown with, per node: "+build",
// "./lib+t", and "+lib --V=two" where instances of one target differ.
std::vector<std::string> display_names(const resolve::Graph& graph);

} // namespace earth::build
