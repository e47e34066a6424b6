// FROM image | +target | scratch: the environment a recipe starts from.
#include <fmt/format.h>

#include "commands.h"
#include "earth/plan/keys.h"
#include "earth/resolve/reference.h"

namespace earth::build {

void from_result(TargetRun& t, const TargetResult& r) {
  t.env() = r.env;
  t.env().started = true;
}

void from_target(TargetRun& t, resolve::NodeId dep) {
  from_result(t, t.ctx().results[dep]);
}

namespace {

void from_image(TargetRun& t, const syntax::Command& cmd, const std::string& ref,
                const std::string& platform) {
  auto rec = t.ctx().services.images.resolve(ref);
  if (!rec) t.fail(cmd, fmt::format("FROM {}: {}", ref, rec.error()));
  EnvState env;
  env.key = plan::KeyBuilder("from-image", Digest{})
                .add("manifest", rec->manifest_digest)
                .add("platform", platform)
                .finish();
  env.base = *rec;
  env.layers = rec->layer_dirs;
  env.own_from = env.layers.size();
  env.config = rec->config;
  env.started = true;
  t.env() = std::move(env);
}

} // namespace

void cmd_from(TargetRun& t, const syntax::Command& cmd) {
  auto words = resolve::join_grouped_words(cmd.args);
  auto f =
      t.flags(cmd, words, {"--platform", "--build-arg"}, {"--allow-privileged", "--pass-args"});
  if (f.next >= words.size()) t.fail(cmd, "FROM needs an image or a target reference");
  auto targets = t.edges(resolve::EdgeKind::from);
  if (!targets.empty() && targets.front()->dynamic) {
    // Known only now: an image, or a target built first.
    std::string text = t.expand(cmd, words[f.next]);
    if (resolve::has_unescaped_plus(text)) {
      auto ref = resolve::parse_target_ref(text);
      if (!ref) t.fail(cmd, ref.error());
      std::vector<std::string> args;
      for (const auto& a : f.all("--build-arg")) args.push_back("--" + a);
      args.insert(args.end(), words.begin() + static_cast<long>(f.next) + 1, words.end());
      return from_result(t, build_dynamic(t, cmd, *ref, f.has("--pass-args"), args)->result);
    }
    targets.clear();
  }
  if (!targets.empty()) {
    if (targets.front()->to == resolve::kNone)
      t.fail(cmd, "FROM " + targets.front()->ref + ": this reference is not supported yet");
    if (auto built = build_reached(t, cmd, *targets.front())) return from_result(t, built->result);
    return from_target(t, targets.front()->to);
  }
  std::string ref = t.expand(cmd, words[f.next]);
  std::string platform = f.last("--platform");
  if (!platform.empty()) platform = t.expand(cmd, platform);
  if (!platform.empty() && platform != "native") {
    auto host = image::host_platform();
    std::string native = host.os + "/" + host.architecture;
    if (platform != native && platform != host.architecture)
      t.fail(cmd, fmt::format("FROM --platform={}: building for another platform than {} is not "
                              "supported yet",
                              platform, native));
    platform.clear(); // the native platform, however it is spelled
  }
  if (ref == "scratch") {
    EnvState env;
    env.key = plan::KeyBuilder("from-scratch", Digest{}).add("platform", platform).finish();
    env.started = true;
    t.env() = std::move(env);
    return;
  }
  from_image(t, cmd, ref, platform);
}

} // namespace earth::build
