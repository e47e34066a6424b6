// Interprets one target instance's recipe, in order: each statement is
// dispatched on its command kind to a handler (commands.h) that computes
// the step's key, reuses a stored result or runs the step, and updates the
// target's EnvState. Runs on one worker thread; reads the results of the
// targets it depends on, which the Plan guarantees are finished.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "context.h"
#include "earth/output/status.h"
#include "earth/resolve/command_flags.h"
#include "earth/resolve/graph.h"
#include "earth/syntax/ast.h"
#include "scope_runtime.h"

namespace earth::build {

struct WaitGroup; // cmd_control.cc

class TargetRun {
public:
  TargetRun(Context& ctx, resolve::NodeId id);
  // Runs the recipe; throws BuildError (located) when a step fails.
  TargetResult run();

  // --- for command handlers
  Context& ctx() { return ctx_; }
  const resolve::Node& node() const { return node_; }
  const resolve::LoadedFile& file() const;
  EnvState& env() { return result_.env; }
  TargetResult& result() { return result_; }
  const std::string& name() const { return name_; }

  // The variables as the recipe runs (scope_runtime.h).
  RuntimeScope& vars() { return vars_; }
  // The environment a RUN gets: the image's ENV, then every visible ARG/LET.
  std::vector<std::string> run_env() const;
  // The current command's static step (edges), or nullptr.
  const resolve::Step* step() const { return step_; }
  // The targets the current command references, in statement order.
  std::vector<const resolve::Edge*> edges(resolve::EdgeKind kind) const;

  // Expands `word` with the current variables; a `$( … )` runs in the
  // build environment (shellout.cc). Fails located on bad syntax.
  std::string expand(const syntax::Command& cmd, const std::string& word);
  [[noreturn]] void fail(const syntax::Command& cmd, const std::string& message) const;
  // `detail` (e.g. the command's last output lines) follows the code frame.
  [[noreturn]] void fail_at(const syntax::Span& span, const std::string& message,
                            const std::string& detail = {}, const std::string& hint = {}) const;
  // The command's flags, or a located error.
  resolve::CommandFlags flags(const syntax::Command& cmd, const std::vector<std::string>& words,
                              std::initializer_list<std::string_view> valued,
                              std::initializer_list<std::string_view> boolean);
  output::StepInfo info(const syntax::Command& cmd) const;

  // A step that makes a directory (a layer or an artifact tree): reuses the
  // stored dir of `key` when there is one (reported as cached), else calls
  // `fill` on an empty dir and stores it. `key` is made unique first when
  // the cache is off for this step (--no-cache), or when it stands on or
  // `reads_unkept` a step no build keeps (keyed on a unique key): such a
  // step is made unkept (SnapshotStore::make_unkept). Returns the dir.
  using Fill = std::function<Result<void>(const std::string& dir)>;
  std::string make_dir(const syntax::Command& cmd, Digest& key, const Fill& fill,
                       bool reads_unkept = false);
  // A step that runs on every build and stores nothing (a shell-out that
  // could read a secret): shown, counted and reported as make_dir's that
  // missed; `why` is what --explain says.
  void run_unstored(const syntax::Command& cmd, const Digest& key, std::string why,
                    const std::function<Result<void>()>& run);
  // Whether this step must not be reused (CLI --no-cache, an earlier RUN
  // --no-cache in this target, or LOCALLY); `no_cache_from_here` starts the
  // second.
  bool cache_off() const { return ctx_.options.no_cache || no_cache_rest_ || result_.env.locally; }
  void no_cache_from_here() { no_cache_rest_ = true; }
  // Whether the environment stands on a step no build keeps (FROM +t, t
  // after a RUN --no-cache): what is made on it has a key chained on a
  // unique one, which no build reads again, so it is not kept either.
  bool on_unkept() const;
  // Whether one of `layers` (an artifact tree COPY reads) is unkept: what
  // is copied out of it is keyed on a unique key, and is not kept either.
  bool unkept_among(const std::vector<std::string>& layers) const;
  // What a failing `fill` knows beyond its message (exit status, output
  // tail, hint): reported with the failure by make_dir.
  void note_failure(output::StepFailure f) { failure_ = std::move(f); }
  // Reports a step that ran without a dir (config steps are never shown).
  void mark_ran() { result_.all_cached = false; }

  // An absolute path inside the target's filesystem: `p` relative to WORKDIR.
  std::string in_workdir(const std::string& p) const;

  // Runs statements in order (control statements: cmd_control.cc).
  void run_block(const syntax::Block& block);
  // TRY: while the guard lives, a RUN that fails leaves its filesystem
  // changes (keep_failed_upper) for FINALLY to save artifacts from.
  struct KeepFailed {
    TargetRun& t;
    bool previous;
    ~KeepFailed() { t.keep_failed_ = previous; }
  };
  KeepFailed keep_failed_layer() { return {*this, std::exchange(keep_failed_, true)}; }
  bool keeping_failed() const { return keep_failed_; }
  void set_failed_layer(std::string dir) { failed_layer_ = std::move(dir); }
  std::string take_failed_layer() { return std::exchange(failed_layer_, {}); }
  // DO: the function's statements are steps `depth` DOs deep.
  void enter_function() { ++depth_; }
  void leave_function() { --depth_; }
  // The innermost WAIT being run, whose END joins the BUILDs started in it.
  WaitGroup*& wait_group() { return wait_group_; }

private:
  void run_command(const syntax::Command& cmd);
  void find_step(const syntax::Command& cmd);
  void implicit_base();
  [[noreturn]] void step_failed(const syntax::Command& cmd, const output::StepInfo& si,
                                const std::string& error);

  Context& ctx_;
  resolve::NodeId id_;
  const resolve::Node& node_;
  std::string name_;
  TargetResult result_;
  const resolve::Step* step_ = nullptr;
  size_t next_step_ = 0; // where the next command's step is searched from
  bool no_cache_rest_ = false;
  output::StepFailure failure_; // see note_failure
  RuntimeScope vars_;
  uint32_t depth_ = 0; // DO depth of the running statements
  bool keep_failed_ = false;
  std::string failed_layer_;
  WaitGroup* wait_group_ = nullptr;
};

} // namespace earth::build
