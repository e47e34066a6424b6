// RUN --push and SAVE IMAGE --push (push.h).
#include "push.h"

#include <fmt/format.h>

#include "commands.h"
#include "earth/base/fs.h"
#include "earth/exec/linux_runtime.h"
#include "earth/plan/keys.h"
#include "output_tail.h"
#include "outputs.h"
#include "target_run.h"

namespace earth::build {

namespace {

std::map<std::string, std::string> earthly_labels(const BuildOptions& opts) {
  std::map<std::string, std::string> labels{{"dev.earthly.version", opts.version},
                                            {"dev.earthly.built-by", "earth"}};
  if (opts.git_sha)
    if (std::string sha = opts.git_sha(); !sha.empty()) labels["dev.earthly.git-sha"] = sha;
  return labels;
}

void announce(TargetRun& t, const output::StepInfo& si) {
  auto& status = t.ctx().services.status;
  if (!t.result().shown) {
    t.result().shown = true;
    status.target_started(t.name());
  }
  status.step_started(si);
}

// Runs a RUN --push in the sandbox on the layers it had; its changes are
// thrown away with the scratch upper dir.
void run_in_sandbox(TargetRun& t, const syntax::Command& cmd, const exec::RunSpec& proto,
                    StepSecrets& secrets, const output::StepInfo& si) {
  auto& ctx = t.ctx();
  announce(t, si);
  auto scratch = fs::make_temp_dir(ctx.tmp_dir, "push-");
  if (!scratch) t.fail(cmd, scratch.error());
  exec::RunSpec s = proto;
  s.lower_dirs.insert(s.lower_dirs.begin(), ctx.stub_layer);
  s.upper_dir = fs::join(*scratch, "upper");
  s.work_dir = fs::join(*scratch, "work");
  for (const auto& d : {s.upper_dir, s.work_dir})
    if (auto r = fs::make_dirs(d); !r) t.fail(cmd, r.error());
  OutputTail tail(t, si);
  tail.attach(s);
  secrets.add_to_env(s.env);
  if (auto r = secrets.mount(s); !r) t.fail(cmd, r.error());
  auto r = ctx.services.runtime.run(s);
  tail.finish();
  secrets.remove_files();
  ctx.trash.add(*scratch);
  if (!r) t.fail(cmd, ctx.redact(r.error()));
  if (r->interrupted) throw BuildError("interrupted", ExitCode::interrupted);
  if (!r->success()) {
    std::string lines = tail.text();
    t.fail_at(cmd.span, "the command " + describe_failure(*r) + " (RUN --push)",
              lines.empty() ? "" : "its last lines of output:\n" + lines);
  }
  ctx.services.status.step_finished(si, r->duration);
  ++ctx.steps_run;
  t.mark_ran();
}

} // namespace

void defer_run_push(TargetRun& t, const syntax::Command& cmd, exec::RunSpec spec,
                    std::shared_ptr<StepSecrets> secrets, bool raw_output) {
  spec.lower_dirs.insert(spec.lower_dirs.end(), t.env().layers.begin(), t.env().layers.end());
  PushAction p;
  output::StepInfo si = t.info(cmd);
  si.raw_output = raw_output;
  p.what = si.text;
  p.act = [&cmd, spec = std::move(spec), secrets, si](TargetRun& t, output::BuildTotals&) {
    run_in_sandbox(t, cmd, spec, *secrets, si);
  };
  t.result().pushes.push_back(std::move(p));
}

void defer_image_push(TargetRun& t, const syntax::Command& cmd, const ImageOutput& image) {
  PushAction p;
  p.image = true;
  p.what = "SAVE IMAGE --push";
  for (const auto& n : image.names) p.what += " " + n;
  output::StepInfo si = t.info(cmd);
  p.act = [&cmd, image, si](TargetRun& t, output::BuildTotals& totals) {
    auto& ctx = t.ctx();
    announce(t, si);
    auto start = std::chrono::steady_clock::now();
    auto d =
        write_image(ctx.services.images, image, ctx.options.cache_dir, earthly_labels(ctx.options));
    if (!d) t.fail(cmd, fmt::format("SAVE IMAGE {}: {}", image.names[0], d.error()));
    for (const auto& name : image.names) {
      auto pushed = ctx.services.images.push(name);
      if (!pushed) t.fail(cmd, fmt::format("pushing {}: {}", name, ctx.redact(pushed.error())));
      ctx.services.status.step_output(si, fmt::format("pushed {} ({})", name, pushed->oci()));
      totals.outputs.push_back({output::OutputInfo::Kind::push, t.name(), name});
    }
    ctx.services.status.step_finished(si, std::chrono::steady_clock::now() - start);
    ++ctx.steps_run;
    t.mark_ran();
  };
  t.result().pushes.push_back(std::move(p));
}

void write_images_now(TargetRun& t, size_t from) {
  auto& r = t.result();
  auto& ctx = t.ctx();
  const auto& opts = ctx.options;
  if (!t.node().output || opts.no_output || !opts.only_artifact.empty()) return;
  if (opts.only_image && &t.node() != &ctx.graph.nodes[ctx.graph.root]) return;
  for (size_t i = from; i < r.images.size(); ++i) {
    const ImageOutput& img = r.images[i];
    auto d = write_image(ctx.services.images, img, opts.cache_dir, earthly_labels(opts));
    if (!d) t.fail_at({}, fmt::format("SAVE IMAGE {}: {}", img.names[0], d.error()));
    const std::string& by = img.target.empty() ? t.name() : img.target;
    for (const auto& n : img.names) r.written.push_back({output::OutputInfo::Kind::image, by, n});
  }
  r.images.resize(std::min(from, r.images.size()));
}

void push_now(TargetRun& t, size_t from) {
  auto& r = t.result();
  auto& ctx = t.ctx();
  if (!t.node().output || !ctx.options.push || from >= r.pushes.size()) return;
  std::vector<PushAction> now(std::make_move_iterator(r.pushes.begin() + static_cast<long>(from)),
                              std::make_move_iterator(r.pushes.end()));
  r.pushes.resize(from);
  output::BuildTotals totals;
  for (const auto& p : now) {
    if (ctx.cancelled || exec::runs_interrupted())
      throw BuildError("interrupted", ExitCode::interrupted);
    p.act(t, totals);
  }
  r.written.insert(r.written.end(), totals.outputs.begin(), totals.outputs.end());
}

namespace {

void push_target(Context& ctx, resolve::NodeId id, TargetResult& r, output::BuildTotals& totals) {
  if (!ctx.graph.nodes[id].output || r.pushes.empty()) return;
  if (!ctx.options.push) {
    for (const auto& p : r.pushes)
      totals.notes.push_back(fmt::format("{}: {} {} (use earth --push)", ctx.names[id],
                                         p.image ? "did not push:" : "did not run:", p.what));
    return;
  }
  TargetRun t(ctx, id);
  t.result().shown = r.shown;
  try {
    for (const auto& p : r.pushes) {
      if (ctx.cancelled || exec::runs_interrupted())
        throw BuildError("interrupted", ExitCode::interrupted);
      p.act(t, totals);
    }
  } catch (...) {
    ctx.services.status.target_failed(ctx.names[id]);
    throw;
  }
  r.all_cached &= t.result().all_cached;
}

} // namespace

void run_pushes(Context& ctx, output::BuildTotals& totals) {
  // Those of targets built because a run reached them (an IF branch, a
  // reference known at build time) are in the pushes of the target that did.
  for (resolve::NodeId id : ctx.order) push_target(ctx, id, ctx.results[id], totals);
}

} // namespace earth::build
