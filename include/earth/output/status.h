// Everything a build shows the user goes through Status (STYLE.md rule 6,
// after ninja's Status): the builder reports events, a printer decides how
// they look. Events may arrive from several threads at once; printers
// serialise them.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace earth::output {

using Duration = std::chrono::nanoseconds;

// One step of a target, as shown: "+build", "./Earthfile:12", "RUN make".
struct StepInfo {
  std::string target; // display name of the target instance ("+build", "./lib+t --X=1")
  std::string where;  // "Earthfile:12:5"
  std::string text;   // the command as written, on one line
};

// One output written after a successful build.
struct OutputInfo {
  enum class Kind : uint8_t { artifact, image, push }; // push: an image sent to its registry
  Kind kind = Kind::artifact;
  std::string target;
  std::string what; // host path written, or image name saved
};

struct BuildTotals {
  uint32_t targets = 0;
  uint32_t targets_cached = 0; // every step of the target was a cache hit
  uint32_t steps_run = 0;
  uint32_t steps_cached = 0;
  Duration wall{0};
  Duration saved{0}; // what the cache hits cost when they last ran
  std::vector<OutputInfo> outputs;
  // Said once at the end, e.g. the pushes not done without --push.
  std::vector<std::string> notes;
  bool success = false;
};

class Status {
public:
  virtual ~Status() = default;
  virtual void target_started(std::string_view target) = 0;
  virtual void target_finished(std::string_view target, bool all_cached, Duration took) = 0;
  virtual void target_failed(std::string_view target) = 0;
  virtual void step_started(const StepInfo& step) = 0;
  virtual void step_cached(const StepInfo& step) = 0;
  virtual void step_finished(const StepInfo& step, Duration took) = 0;
  // One line the step printed (stdout or stderr), without its newline.
  virtual void step_output(const StepInfo& step, std::string_view line) = 0;
  virtual void build_finished(const BuildTotals& totals) = 0;
};

// "plain": for CI logs and pipes: every line prefixed with its target,
// cache hits as *cached*, a summary at the end. Writes to `out` (stderr for
// progress, by earth's convention).
std::unique_ptr<Status> make_plain_status(std::FILE* out, bool verbose);

// Collects events as text lines, for tests.
class RecordingStatus : public Status {
public:
  void target_started(std::string_view target) override;
  void target_finished(std::string_view target, bool all_cached, Duration took) override;
  void target_failed(std::string_view target) override;
  void step_started(const StepInfo& step) override;
  void step_cached(const StepInfo& step) override;
  void step_finished(const StepInfo& step, Duration took) override;
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
