// A running command's lines of output: each shown as it comes (secret
// values replaced by ***), the last few kept for the error if it fails.
// Used by RUN in the sandbox, LOCALLY RUN on the host and RUN --push.
#pragma once

#include <fmt/format.h>

#include <deque>
#include <mutex>
#include <string>

#include "earth/exec/runtime.h"
#include "target_run.h"

namespace earth::build {

class OutputTail {
public:
  static constexpr size_t kTailLines = 30;
  OutputTail(TargetRun& t, output::StepInfo si) : t_(t), si_(std::move(si)) {}
  exec::LineSink sink() {
    return [this](std::string_view raw) {
      std::string line = t_.ctx().redact(raw);
      t_.ctx().services.status.step_output(si_, line);
      std::lock_guard lock(mu_);
      lines_.push_back(std::move(line));
      if (lines_.size() > kTailLines) lines_.pop_front();
    };
  }
  std::string text() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& l : lines_) out += "  | " + l + "\n";
    return out;
  }

private:
  TargetRun& t_;
  output::StepInfo si_;
  mutable std::mutex mu_;
  std::deque<std::string> lines_;
};

inline std::string describe_failure(const exec::RunResult& r) {
  if (r.timed_out) return "timed out";
  if (r.signal) return fmt::format("was killed by signal {}", r.signal);
  return fmt::format("exited with status {}", r.exit_status);
}

} // namespace earth::build
