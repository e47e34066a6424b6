// References known only at build time: a BUILD/FROM/COPY whose target or
// build args come from a `$( … )` or a FOR over one (the resolver records a
// dynamic edge and does not walk it). When the statement is reached its
// words are expanded, the reference is resolved by the resolver
// (resolve::resolve, as a command-line target with the overrides it
// receives) into a graph of its own, and that graph is built by a nested
// Context over the same cache and services before the statement goes on.
// Each instance is built once per run however many targets ask, even at
// once (a shared future per instance key); an instance that asks for itself
// through its nested builds is a cycle.
//
// A static reference the scheduler left out (reached only through an IF
// branch or a dynamic FOR: Context::order) goes the same way when a run
// reaches its statement: the node of the run's own graph is built by a
// nested Context rooted at it, once per instance, or never.
#include <fmt/format.h>

#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "commands.h"
#include "earth/base/fs.h"
#include "earth/resolve/reference.h"
#include "earth/resolve/resolve.h"

namespace earth::build {

using Built = std::shared_future<std::shared_ptr<const DynamicTarget>>;

// Every instance asked for in this run, and who waits for whom: the build of
// K waits for J when one of K's targets asks for J (or J is nested in K). A
// wait that closes a loop would never end: it is a cycle.
// A target instance built by one of the run's Contexts (build_instance_once).
struct SharedInstance {
  TargetResult result;
  std::optional<Digest> target_key;
  const resolve::Graph* graph; // whose EdgeIds result.builds holds
};
using SharedFuture = std::shared_future<std::shared_ptr<const SharedInstance>>;

struct DynamicBuilds {
  std::mutex mu;
  std::map<Digest, Built> built;
  std::map<Digest, std::set<Digest>> waits;
  // Every target instance of the run, by key, and the Context building it.
  struct Instance {
    SharedFuture future;
    const Context* owner;
  };
  std::map<Digest, Instance> instances;

  bool reaches(const Digest& from, const Digest& to) const {
    std::vector<Digest> todo{from};
    std::set<Digest> seen;
    while (!todo.empty()) {
      Digest d = todo.back();
      todo.pop_back();
      if (d == to) return true;
      if (!seen.insert(d).second) continue;
      if (auto it = waits.find(d); it != waits.end())
        todo.insert(todo.end(), it->second.begin(), it->second.end());
    }
    return false;
  }
};

std::function<void()>& thread_failure_hook() {
  thread_local std::function<void()> hook;
  return hook;
}

const std::atomic<bool>*& thread_stop_flag() {
  thread_local const std::atomic<bool>* flag = nullptr;
  return flag;
}

namespace {

// The BUILD edges of `id`'s recipe in `graph` (a result taken from a Context
// over another graph: its edges are not this graph's).
std::vector<resolve::EdgeId> every_build(const resolve::Graph& graph, resolve::NodeId id) {
  std::vector<resolve::EdgeId> out;
  for (const auto& step : graph.nodes[id].steps)
    for (resolve::EdgeId e : step.edges)
      if (const auto& edge = graph.edges[e]; edge.kind == resolve::EdgeKind::build && !edge.dynamic)
        out.push_back(e);
  return out;
}

} // namespace

TargetResult build_instance_once(Context& ctx, resolve::NodeId id,
                                 const std::function<TargetResult()>& build) {
  if (!ctx.dynamic) return build();
  Digest key = ctx.graph.key(id);
  auto& builds = *ctx.dynamic;
  std::promise<std::shared_ptr<const SharedInstance>> promise;
  SharedFuture future;
  bool mine = false;
  {
    std::lock_guard lock(builds.mu);
    auto [it, inserted] = builds.instances.try_emplace(key);
    if (inserted) it->second = {promise.get_future().share(), &ctx};
    future = it->second.future;
    mine = inserted;
    // Not finished, and by a Context this one is nested in: the target
    // waits (through the statement that started this build) for this one,
    // a cycle through references known only at build time. Built here
    // again, as it would be without sharing, where the cycle is reported.
    if (!mine && future.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
      for (const Context* c = &ctx; c; c = c->parent)
        if (c == it->second.owner) return build();
  }
  if (mine) {
    try {
      TargetResult r = build();
      promise.set_value(
          std::make_shared<SharedInstance>(SharedInstance{r, ctx.target_keys[id], &ctx.graph}));
      return r;
    } catch (...) {
      promise.set_exception(std::current_exception());
      throw;
    }
  }
  std::shared_ptr<const SharedInstance> done;
  {
    SlotReleased waiting;
    done = future.get();
  }
  TargetResult r = done->result;
  r.shown = false;   // shown (and counted) by the Context that ran it
  r.written.clear(); // written early by it too
  if (done->graph != &ctx.graph) r.builds = every_build(ctx.graph, id);
  ctx.target_keys[id] = done->target_key;
  return r;
}

std::shared_ptr<DynamicBuilds> new_dynamic_builds() {
  return std::make_shared<DynamicBuilds>();
}

namespace {

using resolve::Value;

// The absolute `dir+name` a reference names, relative to the statement's
// Earthfile; aliases and remote references are not supported here yet.
std::string absolute_target(TargetRun& t, const syntax::Command& cmd,
                            const resolve::Reference& ref) {
  const auto& file = *t.ctx().graph.files[t.vars().file()];
  using Kind = resolve::EarthfileRef::Kind;
  switch (ref.earthfile.kind) {
  case Kind::local_internal:
    return file.abs_dir + "+" + ref.name;
  case Kind::local_path: {
    const std::string& p = ref.earthfile.path;
    std::string dir = p.starts_with("/") ? p : fs::join(file.abs_dir, p);
    return fs::normalize(dir) + "+" + ref.name;
  }
  case Kind::alias:
    if (const std::string* dir = t.vars().import_dir(ref.earthfile.path))
      return *dir + "+" + ref.name;
    t.fail(cmd, fmt::format("{}: unknown import alias '{}' (or one of a remote Earthfile, not "
                            "supported yet)",
                            ref.to_string(), ref.earthfile.path));
  default:
    t.fail(cmd, fmt::format("{}: a remote reference known only at build time is not supported yet",
                            ref.to_string()));
  }
}

// What the instance receives (Earthly's rule, as for static references): a
// same-file `+t` gets the caller's overrides; --pass-args the caller's
// globals, ARGs and overrides; then the explicit build args.
Overrides ref_overrides(TargetRun& t, const syntax::Command& cmd, const resolve::Reference& ref,
                        bool pass_args, const std::vector<std::string>& arg_words) {
  auto& vars = t.vars();
  bool same_file = ref.earthfile.kind == resolve::EarthfileRef::Kind::local_internal;
  Overrides o;
  if (pass_args)
    for (resolve::VarKind kind : {resolve::VarKind::global, resolve::VarKind::arg})
      for (auto& b : vars.of_kind(kind)) set_override(o, b.name, std::move(b.value));
  if (same_file || pass_args)
    for (const auto& [k, v] : vars.overrides()) set_override(o, k, v);
  auto flags = resolve::parse_build_arg_flags(arg_words);
  if (!flags) t.fail(cmd, flags.error());
  for (const auto& f : *flags) {
    if (f.value) {
      set_override(o, f.name, Value{t.expand(cmd, *f.value), false});
    } else if (const Value* cur = vars.lookup(f.name, t.env().config.env)) {
      set_override(o, f.name, *cur);
    } else {
      t.fail(cmd, fmt::format("--{} passes the current value of {}, but {} is not set here", f.name,
                              f.name, f.name));
    }
  }
  return o;
}

// A nested build: its graph (when it has one of its own) and its Context,
// kept alive by the pushes it left for later (they run in that context).
struct NestedBuild {
  resolve::Graph graph; // empty when the nested Context is over the run's graph
  std::unique_ptr<Context> ctx;
};

// `inner`, a push of target `id` of a nested build, done in that build's
// context whenever the target that reached it does its pushes.
PushAction nested_push(std::shared_ptr<NestedBuild> nb, resolve::NodeId id, PushAction inner) {
  PushAction p;
  p.what = inner.what;
  p.image = inner.image;
  p.act = [nb = std::move(nb), id, act = std::move(inner.act)](TargetRun& caller,
                                                               output::BuildTotals& totals) {
    Context& ctx = *nb->ctx;
    TargetRun t(ctx, id);
    t.result().shown = ctx.results[id].shown;
    uint32_t before = ctx.steps_run;
    act(t, totals);
    ctx.results[id].shown = t.result().shown;
    caller.ctx().steps_run += ctx.steps_run - before;
    caller.mark_ran();
  };
  return p;
}

// Builds `root` of `graph` (the graph's own root when kNone) in a nested
// Context: it and what it needs unconditionally. `nb` holds the graph when
// it is not the run's.
std::shared_ptr<const DynamicTarget> build_graph(TargetRun& t, std::shared_ptr<NestedBuild> nb,
                                                 const resolve::Graph& graph, resolve::NodeId root,
                                                 const Digest& key) {
  auto& parent = t.ctx();
  nb->ctx = open_context(graph, parent.options, parent.services,
                         root == resolve::kNone ? std::vector<resolve::NodeId>{}
                                                : std::vector<resolve::NodeId>{root});
  Context& ctx = *nb->ctx;
  ctx.redact.share(parent.redact); // one redactor and one provider per build
  ctx.secrets.share(parent.secrets);
  check_supported(ctx);
  ctx.dynamic = parent.dynamic;
  ctx.step_log = parent.step_log;
  ctx.chain = parent.chain;
  ctx.chain.push_back(key);
  ctx.slots = parent.slots; // one -j for the whole build
  ctx.on_failure = thread_failure_hook() ? thread_failure_hook() : parent.on_failure;
  ctx.parent = &parent;
  ctx.outer_stops = parent.outer_stops;
  ctx.outer_stops.push_back(&parent.cancelled);
  if (thread_stop_flag()) ctx.outer_stops.push_back(thread_stop_flag());
  run_targets(ctx);
  parent.steps_run += ctx.steps_run;
  parent.steps_cached += ctx.steps_cached;
  parent.nested_targets += ctx.nested_targets;
  parent.nested_cached += ctx.nested_cached;
  for (resolve::NodeId id : ctx.order)
    if (ctx.results[id].shown) {
      ++parent.nested_targets;
      parent.nested_cached += ctx.results[id].all_cached ? 1 : 0;
    }
  auto out = std::make_shared<DynamicTarget>();
  out->result = ctx.results[ctx.roots.front()];
  std::vector<bool> outputs = output_nodes(ctx);
  for (resolve::NodeId id : ctx.order) {
    if (!outputs[id]) continue;
    auto& r = ctx.results[id];
    for (auto a : r.local_artifacts) {
      if (a.target.empty()) a.target = ctx.names[id];
      out->artifacts.push_back(std::move(a));
    }
    for (auto i : r.images) {
      if (i.target.empty()) i.target = ctx.names[id];
      out->images.push_back(std::move(i));
    }
    for (auto& p : r.pushes) out->pushes->actions.push_back(nested_push(nb, id, std::move(p)));
    r.pushes.clear();
  }
  return out;
}

// Runs `build` for instance `key` once per run (others asking wait for it);
// a wait that closes a loop is a cycle, reported at `cmd` naming `shown`.
std::shared_ptr<const DynamicTarget>
build_once(TargetRun& t, const syntax::Command& cmd, const std::string& shown, const Digest& key,
           const std::function<std::shared_ptr<const DynamicTarget>()>& build);

} // namespace

DynamicBuild prepare_dynamic(TargetRun& t, const syntax::Command& cmd,
                             const resolve::Reference& ref, bool pass_args,
                             const std::vector<std::string>& arg_words) {
  const resolve::Options* base = t.ctx().options.resolve;
  if (!base)
    t.fail(cmd, fmt::format("{}: a reference known only at build time is not supported here",
                            ref.to_string()));
  resolve::Options o = *base;
  o.overrides.clear();
  for (auto& [k, v] : ref_overrides(t, cmd, ref, pass_args, arg_words))
    o.overrides.emplace_back(k, v.text);
  o.platform = t.node().platform;
  auto nb = std::make_shared<NestedBuild>();
  try {
    nb->graph = resolve::resolve(absolute_target(t, cmd, ref), o);
  } catch (const resolve::DiagnosticError& e) {
    t.fail(cmd, fmt::format("{}: {}", ref.to_string(), e.what()));
  }
  Digest key = nb->graph.key(nb->graph.root);
  return [&t, &cmd, shown = ref.to_string(), key, nb] {
    return build_once(t, cmd, shown, key,
                      [&] { return build_graph(t, nb, nb->graph, resolve::kNone, key); });
  };
}

std::shared_ptr<const DynamicTarget> build_dynamic(TargetRun& t, const syntax::Command& cmd,
                                                   const resolve::Reference& ref, bool pass_args,
                                                   const std::vector<std::string>& arg_words) {
  return prepare_dynamic(t, cmd, ref, pass_args, arg_words)();
}

std::shared_ptr<const DynamicTarget> build_reached(TargetRun& t, const syntax::Command& cmd,
                                                   const resolve::Edge& edge) {
  const auto& ctx = t.ctx();
  if (edge.to == resolve::kNone || ctx.scheduled[edge.to]) return nullptr;
  Digest key = ctx.graph.key(edge.to);
  return build_once(t, cmd, edge.ref, key, [&] {
    return build_graph(t, std::make_shared<NestedBuild>(), ctx.graph, edge.to, key);
  });
}

std::shared_ptr<const DynamicTarget> build_base(TargetRun& t, const syntax::Command& cmd,
                                                const std::string& abs_dir,
                                                const Overrides& overrides) {
  const resolve::Options* base = t.ctx().options.resolve;
  if (!base) return nullptr;
  resolve::Options o = *base;
  o.overrides.clear();
  for (const auto& [k, v] : overrides)
    if (!v.dynamic) o.overrides.emplace_back(k, v.text);
  o.platform = t.node().platform;
  std::string target = abs_dir + "+base";
  auto nb = std::make_shared<NestedBuild>();
  try {
    nb->graph = resolve::resolve(target, o);
  } catch (const resolve::DiagnosticError& e) {
    t.fail(cmd, fmt::format("+base: {}", e.what()));
  }
  Digest key = nb->graph.key(nb->graph.root);
  return build_once(t, cmd, "+base", key,
                    [&] { return build_graph(t, nb, nb->graph, resolve::kNone, key); });
}

namespace {

std::shared_ptr<const DynamicTarget>
build_once(TargetRun& t, const syntax::Command& cmd, const std::string& shown, const Digest& key,
           const std::function<std::shared_ptr<const DynamicTarget>()>& build) {
  for (const auto& k : t.ctx().chain)
    if (k == key)
      t.fail(cmd, fmt::format("dependency cycle: {} needs itself (through references known only "
                              "at build time)",
                              shown));

  auto& builds = *t.ctx().dynamic;
  const auto& chain = t.ctx().chain;
  std::promise<std::shared_ptr<const DynamicTarget>> promise;
  Built future;
  bool mine = false, cycle = false;
  {
    std::lock_guard lock(builds.mu);
    auto it = builds.built.find(key);
    if (it == builds.built.end()) {
      future = promise.get_future().share();
      builds.built.emplace(key, future);
      mine = true;
    } else {
      future = it->second;
    }
    bool done = !mine && future.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    if (!chain.empty() && !done) {
      cycle = !mine && builds.reaches(key, chain.back());
      if (!cycle) builds.waits[chain.back()].insert(key);
    }
  }
  if (cycle)
    t.fail(cmd, fmt::format("dependency cycle: {} needs itself (through references known only at "
                            "build time)",
                            shown));
  SlotReleased waiting; // the nested build (or the one who runs it) takes slots
  if (mine) {
    try {
      promise.set_value(build());
    } catch (...) {
      promise.set_exception(std::current_exception());
    }
    std::lock_guard lock(builds.mu);
    builds.waits.erase(key);
  }
  return future.get();
}

} // namespace

} // namespace earth::build
