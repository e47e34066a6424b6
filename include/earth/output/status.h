// Everything a build shows the user goes through Status (STYLE.md rule 6,
// after ninja's Status): the builder reports events, a printer decides how
// they look. Events may arrive from several threads at once; printers
// serialise them. The printers and their formats: docs/output.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace earth::output {

using Duration = std::chrono::nanoseconds;

// One step of a target, as shown: "+build", "Earthfile:12:5", "RUN make".
struct StepInfo {
  std::string target; // display name of the target instance ("+build", "./lib+t --X=1")
  std::string where;  // "Earthfile:12:5"
  std::string text;   // the command as written, on one line
  std::string file;   // "Earthfile" (the part of `where` before the line)
  uint32_t line = 0;  // 0: unknown
  // RUN --raw-output: its lines are shown as printed, without the target
  // prefix (plain and tty) and marked "raw" (json).
  bool raw_output = false;
};

// Why a step failed: what the failure report shows (docs/output.md).
struct StepFailure {
  std::string message;           // "the command exited with status 3"
  int exit_status = -1;          // the command's exit status; -1: it did not exit
  std::vector<std::string> tail; // its last lines of output (at most kFailureTail)
  std::string hint;              // "run with -P to allow RUN --privileged"; may be empty
};
inline constexpr size_t kFailureTail = 30;

// One output written after a successful build.
struct OutputInfo {
  enum class Kind : uint8_t { artifact, image, push }; // push: an image sent to its registry
  Kind kind = Kind::artifact;
  std::string target;
  std::string what; // host path written, or image name saved
};

struct BuildTotals {
  uint32_t targets = 0;        // targets that ran a step or reused one
  uint32_t targets_cached = 0; // every step of the target was a cache hit
  uint32_t targets_failed = 0;
  uint32_t steps_run = 0;
  uint32_t steps_cached = 0;
  Duration wall{0};
  Duration saved{0}; // what the cache hits cost when they ran
  std::vector<OutputInfo> outputs;
  // Said once at the end, e.g. the pushes not done without --push.
  std::vector<std::string> notes;
  bool success = false;
  std::string error; // why it failed, as main prints it (without colour)
};

class Status {
public:
  virtual ~Status() = default;
  // A worker took the target: its recipe is being interpreted. A target
  // that never reaches a step (BUILDs or ARGs only) gets no further event.
  virtual void target_queued(std::string_view target) = 0;
  // Its first step is about to be looked up.
  virtual void target_started(std::string_view target) = 0;
  // Every step done; `all_cached`: each one was a cache hit.
  virtual void target_finished(std::string_view target, bool all_cached, Duration took) = 0;
  virtual void target_failed(std::string_view target) = 0;
  virtual void step_started(const StepInfo& step) = 0;
  // A cache hit; `last_took` is how long the step took when it ran (0: not known).
  virtual void step_cached(const StepInfo& step, Duration last_took) = 0;
  virtual void step_finished(const StepInfo& step, Duration took) = 0;
  virtual void step_failed(const StepInfo& step, const StepFailure& failure) = 0;
  // One line the step printed (stdout or stderr), without its newline.
  virtual void step_output(const StepInfo& step, std::string_view line) = 0;
  virtual void build_finished(const BuildTotals& totals) = 0;
  // While held, the events come as a batch (a replay of many): a printer
  // may keep its lines and write them at once when released.
  virtual void hold(bool held) { (void)held; }
};

// How the printers look; decided by the CLI (docs/output.md).
struct PrinterOptions {
  bool colour = false;
  bool verbose = false; // -V: every output line, step times
  int padding = 20;     // target column width (EARTH_TARGET_PADDING); -1: full names, ragged
  bool github = false;  // GitHub Actions groups and ::error annotations (plain only)
  bool unicode = true;  // ✔ ✘ and a braille spinner (tty); ASCII otherwise
  // Time since the build started, for JSON "ms" fields; tests pass a fake.
  std::function<Duration()> elapsed;
};

enum class Progress : uint8_t { automatic, tty, plain, json };
// "auto", "tty", "plain", "json"; false for anything else.
bool parse_progress(std::string_view text, Progress& out);
// Those names, in that order (shell completion).
std::vector<std::string> progress_names();

// "plain": for CI logs and pipes: every line prefixed with its target,
// cache hits as *cached*, a summary at the end. Writes to `out` (stderr for
// progress, by earth's convention).
std::unique_ptr<Status> make_plain_status(std::FILE* out, const PrinterOptions& options);
std::unique_ptr<Status> make_plain_status(std::FILE* out, bool verbose);
// "json": one JSON object per line and event (docs/output.md), to `out`.
std::unique_ptr<Status> make_json_status(std::FILE* out, const PrinterOptions& options);
// "tty": a live view redrawn in place on terminal `fd`, with finished
// targets scrolling above it.
std::unique_ptr<Status> make_tty_status(int fd, const PrinterOptions& options);

// While a command owns earth's terminal (RUN --interactive on a pty), the
// tty printer draws nothing: lend_terminal(true) clears its live area at
// once (lines to scroll wait), lend_terminal(false) lets it draw again.
void lend_terminal(bool lent);

// Collects events as text lines, for tests.
class RecordingStatus : public Status {
public:
  void target_queued(std::string_view target) override;
  void target_started(std::string_view target) override;
  void target_finished(std::string_view target, bool all_cached, Duration took) override;
  void target_failed(std::string_view target) override;
  void step_started(const StepInfo& step) override;
  void step_cached(const StepInfo& step, Duration last_took) override;
  void step_finished(const StepInfo& step, Duration took) override;
  void step_failed(const StepInfo& step, const StepFailure& failure) override;
  void step_output(const StepInfo& step, std::string_view line) override;
  void build_finished(const BuildTotals& totals) override;
  std::vector<std::string> lines() const;
  BuildTotals totals() const;

private:
  void add(std::string line);
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
  BuildTotals totals_;
};

} // namespace earth::output
