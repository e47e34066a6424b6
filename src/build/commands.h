// The engine's command handlers, one file per group (STYLE.md rule 14):
// each reads its command from the current step of `t` and updates t.env().
#pragma once

#include <sys/types.h>

#include "target_run.h"

namespace earth::build {

// cmd_from.cc
void cmd_from(TargetRun& t, const syntax::Command& cmd);
void from_target(TargetRun& t, resolve::NodeId dep);
// cmd_run.cc
void cmd_run(TargetRun& t, const syntax::Command& cmd);
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
