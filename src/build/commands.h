// The engine's command handlers, one file per group (STYLE.md rule 14):
// each reads its command from the current step of `t` and updates t.env().
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>

#include "target_run.h"

namespace earth::build {

// cmd_from.cc
void cmd_from(TargetRun& t, const syntax::Command& cmd);
void from_target(TargetRun& t, resolve::NodeId dep);
// cmd_run.cc
void cmd_run(TargetRun& t, const syntax::Command& cmd);
// The environment of a RUN: the image's ENV, then every ARG/LET in scope.
std::vector<std::string> run_env(TargetRun& t, const syntax::Command& cmd);
// locally.cc: LOCALLY, and the commands after it, which run on the host.
void cmd_locally(TargetRun& t, const syntax::Command& cmd);
// Fails (located) for a command LOCALLY does not allow (CACHE, HOST, …).
void check_locally(TargetRun& t, const syntax::Command& cmd);
void run_locally(TargetRun& t, const syntax::Command& cmd, const resolve::CommandFlags& f,
                 const std::vector<std::string>& words);
// COPY after LOCALLY: `copy` writes onto the host; shown as a step, never cached.
void copy_to_host(TargetRun& t, const syntax::Command& cmd,
                  const std::function<Result<void>()>& copy);
// push.cc: RUN --push, kept for the push phase (after the build succeeded).
class StepSecrets;
void defer_run_push(TargetRun& t, const syntax::Command& cmd, exec::RunSpec spec,
                    std::shared_ptr<StepSecrets> secrets);
// push.cc: SAVE IMAGE --push: the image is committed and pushed in the push phase.
void defer_image_push(TargetRun& t, const syntax::Command& cmd, const ImageOutput& image);
// cmd_copy.cc
void cmd_copy(TargetRun& t, const syntax::Command& cmd);
// cmd_save.cc
void cmd_save_artifact(TargetRun& t, const syntax::Command& cmd);
void cmd_save_image(TargetRun& t, const syntax::Command& cmd);
// cmd_config.cc: ENV, WORKDIR, USER, ENTRYPOINT, CMD, EXPOSE, LABEL, VOLUME,
// HEALTHCHECK, HOST, CACHE, and ARG/LET/SET (values come from the resolver).
void cmd_config(TargetRun& t, const syntax::Command& cmd);
// CACHE --persist (0.8): before SAVE IMAGE and at the end of the recipe, the
// contents of each persisted cache dir become a layer at its path, so the
// image (and targets that FROM this one) keep them.
void persist_caches(TargetRun& t);
// The host dir of a cache (CACHE or RUN --mount=type=cache) at `target`:
// global with an `id`, else private to the target instance and path; `mode`
// (octal text, may be empty) is applied to it.
CacheDir cache_dir(TargetRun& t, const syntax::Command& cmd, const std::string& target,
                   const std::string& id, const std::string& sharing, const std::string& mode);
// `text` as permission bits ("0755"), or a located error naming `flag`.
mode_t octal_mode(TargetRun& t, const syntax::Command& cmd, std::string_view flag,
                  const std::string& text);

} // namespace earth::build
