// A running command's lines of output: each stream redacted as a stream
// (RedactedLines: no secret value escapes, however its bytes arrive) and
// shown line by line, the last few lines kept for the error if it fails.
// Used by RUN in the sandbox, LOCALLY RUN on the host, RUN --push, and the
// stderr of `$( … )` and IF conditions.
#pragma once

#include <fmt/format.h>

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "earth/exec/runtime.h"
#include "secrets.h"
#include "target_run.h"

namespace earth::build {

class OutputTail {
public:
  static constexpr size_t kTailLines = 30;
  OutputTail(TargetRun& t, output::StepInfo si)
      : t_(t), si_(std::move(si)), out_(t.ctx().redact, [this](auto l) { show(l); }),
        err_(t.ctx().redact, [this](auto l) { show(l); }) {}
  OutputTail(const OutputTail&) = delete;
  OutputTail& operator=(const OutputTail&) = delete;

  // The command's stdout and stderr go here (call finish() after it ran).
  // Its line sinks do nothing: the runtime still splits lines, to watch
  // them for "No space left on device" (linux_runtime.cc).
  void attach(exec::RunSpec& spec, bool with_stdout = true) {
    if (with_stdout) {
      spec.on_stdout_bytes = stdout_sink();
      spec.on_stdout = [](std::string_view) {};
    }
    spec.on_stderr_bytes = stderr_sink();
    spec.on_stderr = [](std::string_view) {};
  }
  exec::ByteSink stdout_sink() {
    return [this](std::string_view b) { out_.add(b); };
  }
  exec::ByteSink stderr_sink() {
    return [this](std::string_view b) { err_.add(b); };
  }
  // Shows what the streams still hold: the command has ended.
  void finish() {
    out_.finish();
    err_.finish();
  }

  std::vector<std::string> lines() const {
    std::lock_guard lock(mu_);
    return {lines_.begin(), lines_.end()};
  }
  std::string text() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& l : lines_) out += "  | " + l + "\n";
    return out;
  }

private:
  void show(std::string_view line) {
    t_.ctx().services.status.step_output(si_, line);
    std::lock_guard lock(mu_);
    lines_.emplace_back(line);
    if (lines_.size() > kTailLines) lines_.pop_front();
  }

  TargetRun& t_;
  output::StepInfo si_;
  mutable std::mutex mu_;
  std::deque<std::string> lines_;
  RedactedLines out_, err_;
};

inline std::string describe_failure(const exec::RunResult& r) {
  if (r.timed_out) return "timed out";
  if (r.signal) return fmt::format("was killed by signal {}", r.signal);
  return fmt::format("exited with status {}", r.exit_status);
}

} // namespace earth::build
