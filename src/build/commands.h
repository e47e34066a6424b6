// The engine's command handlers, one file per group (STYLE.md rule 14):
// each reads its command from the current step of `t` and updates t.env().
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "earth/resolve/reference.h"
#include "earth/store/file_lock.h"
#include "target_run.h"

namespace earth::build {

// cmd_from.cc
void cmd_from(TargetRun& t, const syntax::Command& cmd);
void from_target(TargetRun& t, resolve::NodeId dep);
void from_result(TargetRun& t, const TargetResult& r);
// cmd_run.cc
void cmd_run(TargetRun& t, const syntax::Command& cmd);
// `--mount` and `--secret` specs (unexpanded) of an IF/FOR, as RUN reads
// them, added to `spec`: what enters the key, the secrets to give the run
// (StepSecrets::add_to_env, mount) and the cache mounts (take_cache_locks).
struct ProbeMounts {
  std::vector<std::string> key_specs;
  std::shared_ptr<StepSecrets> secrets;
  std::vector<CacheDir> caches;
};
// Takes the locks of the cache mounts of a run, as RUN does: a `locked`
// cache waits for its lock; a `private` one held by another run is replaced
// in `s` by a fresh empty dir (added to `scratch`); `shared` takes none.
Result<std::vector<store::FileLock>> take_cache_locks(TargetRun& t, exec::RunSpec& s,
                                                      const std::vector<CacheDir>& caches,
                                                      std::vector<std::string>& scratch);
ProbeMounts add_run_mounts(TargetRun& t, const syntax::Command& cmd,
                           const std::vector<std::string>& mounts,
                           const std::vector<std::string>& secrets, exec::RunSpec& spec);
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
// `raw_output`: RUN --raw-output (output::StepInfo::raw_output).
void defer_run_push(TargetRun& t, const syntax::Command& cmd, exec::RunSpec spec,
                    std::shared_ptr<StepSecrets> secrets, bool raw_output = false);
// push.cc: SAVE IMAGE --push: the image is committed and pushed in the push phase.
void defer_image_push(TargetRun& t, const syntax::Command& cmd, const ImageOutput& image);
// push.cc, for WAIT's END: the SAVE IMAGEs since `from` committed to the
// local store now, and the pushes since `from` done now (with `earth
// --push`), when the target outputs; they are not done again after the build.
void write_images_now(TargetRun& t, size_t from);
void push_now(TargetRun& t, size_t from);
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
// cmd_vars.cc: ARG, LET, SET as the recipe runs; the target's first frame
// (the overrides it was given, its Earthfile's globals).
void cmd_arg(TargetRun& t, const syntax::Command& cmd);
void cmd_let_set(TargetRun& t, const syntax::Command& cmd);
void cmd_import(TargetRun& t, const syntax::Command& cmd);
void enter_target(TargetRun& t);
// A new frame for `file` (a DO'd function's) with its Earthfile's globals:
// the base recipe's ARG/LET/SET statements evaluated again, or, when one
// runs a `$( … )`, taken from a run of the base recipe (keep_base_frame),
// which ran it in the base recipe's own environment.
void enter_frame(TargetRun& t, resolve::FileId file, Overrides overrides);
// At the end of a base recipe's run: its globals and imports, for enter_frame.
void keep_base_frame(TargetRun& t);
// cmd_control.cc: IF, FOR, WAIT, TRY blocks and DO.
void run_control(TargetRun& t, const syntax::IfStmt& s, const syntax::Span& span);
void run_control(TargetRun& t, const syntax::ForStmt& s, const syntax::Span& span);
void run_control(TargetRun& t, const syntax::WaitStmt& s, const syntax::Span& span);
void run_control(TargetRun& t, const syntax::TryStmt& s, const syntax::Span& span);
void cmd_do(TargetRun& t, const syntax::Command& cmd);
// BUILD: records the edges it takes (only those output, §5.6); builds a
// reference known only at build time now.
void note_build(TargetRun& t, const syntax::Command& cmd);
// dynamic.cc: a reference known only at build time (expanded), resolved and
// built before the statement goes on, once per instance per run; its result
// and the outputs of its BUILD chain.
struct DynamicTarget {
  TargetResult result;
  std::vector<ArtifactOutput> artifacts;
  std::vector<ImageOutput> images;
  // The pushes of its BUILD chain (each done in the nested build's own
  // context), taken by the first statement that reaches the instance: a
  // push is done once however many targets BUILD it.
  struct Pushes {
    std::mutex mu;
    std::vector<PushAction> actions;
  };
  std::shared_ptr<Pushes> pushes = std::make_shared<Pushes>();
  std::vector<PushAction> take_pushes() const {
    std::lock_guard lock(pushes->mu);
    return std::exchange(pushes->actions, {});
  }
};
// The same in two halves: the words expanded and the reference resolved
// now (on the target's thread), the build when the result is called (a
// WAIT's BUILD: on a thread of its own).
using DynamicBuild = std::function<std::shared_ptr<const DynamicTarget>()>;
DynamicBuild prepare_dynamic(TargetRun& t, const syntax::Command& cmd,
                             const resolve::Reference& ref, bool pass_args,
                             const std::vector<std::string>& arg_words);
std::shared_ptr<const DynamicTarget> build_dynamic(TargetRun& t, const syntax::Command& cmd,
                                                   const resolve::Reference& ref, bool pass_args,
                                                   const std::vector<std::string>& arg_words);
// A static reference to a target the scheduler left out (reached only
// through IF or a dynamic FOR), now reached: built like a dynamic one. Null
// when the target was scheduled (its result is in ctx.results).
std::shared_ptr<const DynamicTarget> build_reached(TargetRun& t, const syntax::Command& cmd,
                                                   const resolve::Edge& edge);
// The base recipe of the Earthfile in `abs_dir` run with `overrides` (as
// Earthly's implicit FROM +base of every target), once per instance; `cmd`
// locates a cycle. Null when the build has no resolver options.
std::shared_ptr<const DynamicTarget> build_base(TargetRun& t, const syntax::Command& cmd,
                                                const std::string& abs_dir,
                                                const Overrides& overrides);
// cmd_control.cc: stopping(t.ctx()), or a BUILD of a WAIT the target is in
// failed: no step of it starts, running ones stop.
bool stopping(TargetRun& t);
// Before anything runs: a located error for the first command of the build
// the engine cannot run yet (WITH DOCKER, GIT CLONE, FROM DOCKERFILE).
void check_supported(const Context& ctx);
// A failed RUN's upper dir inside TRY: moved aside (the step's dir is left
// empty) as the filesystem FINALLY sees.
void keep_failed_upper(TargetRun& t, const std::string& upper);
// shellout.cc: `$( … )` in `cmd`'s words: `command` run with /bin/sh -c in
// the target's current environment, cached like a RUN; its stdout.
// A command run in the current environment whose changes are dropped (an
// IF condition, a shell-out), with its flags: cached like a RUN.
struct Probe {
  std::vector<std::string> argv;
  bool privileged = false;
  std::vector<std::string> mounts;  // --mount specs, unexpanded
  std::vector<std::string> secrets; // --secret specs, unexpanded
};
// `with` gives the flags (FOR --privileged, --mount).
std::string shell_out(TargetRun& t, const syntax::Command& cmd, const std::string& command,
                      Probe with = {});
// The exit status of `p`.
int probe_status(TargetRun& t, const syntax::Command& shown, const Probe& p);

// `text` as permission bits ("0755"), or a located error naming `flag`.
mode_t octal_mode(TargetRun& t, const syntax::Command& cmd, std::string_view flag,
                  const std::string& text);

} // namespace earth::build
