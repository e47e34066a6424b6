#include "earth/exec/runtime.h"

namespace earth::exec {

Result<RunResult> FakeRuntime::run(const RunSpec& spec) {
  runs_.push_back(spec);
  Result<RunResult> result = RunResult{.exit_status = 0};
  if (!results_.empty()) {
    result = std::move(results_.front());
    results_.pop_front();
  }
  if (action_) return action_(spec);
  return result;
}

} // namespace earth::exec
