#include "earth/exec/runtime.h"

#include <algorithm>

namespace earth::exec {

void FakeRuntime::push_result(RunResult result) {
  std::lock_guard lock(mutex_);
  results_.push_back(std::move(result));
}

void FakeRuntime::push_failure(std::string message) {
  std::lock_guard lock(mutex_);
  results_.push_back(Failure{std::move(message)});
}

void FakeRuntime::set_action(Action action) {
  std::lock_guard lock(mutex_);
  action_ = std::move(action);
}

std::vector<RunSpec> FakeRuntime::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

size_t FakeRuntime::run_count() const {
  std::lock_guard lock(mutex_);
  return runs_.size();
}

void FakeRuntime::hold_runs(bool hold) {
  std::lock_guard lock(mutex_);
  hold_ = hold;
  if (!hold) released_ = std::max(released_, next_ticket_);
  changed_.notify_all();
}

void FakeRuntime::release_one() {
  std::lock_guard lock(mutex_);
  ++released_;
  changed_.notify_all();
}

size_t FakeRuntime::held_count() const {
  std::lock_guard lock(mutex_);
  return held_;
}

bool FakeRuntime::wait_for_held(size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return held_ >= count; });
}

Result<RunResult> FakeRuntime::run(const RunSpec& spec) {
  Result<RunResult> result = RunResult{.exit_status = 0};
  Action action;
  {
    std::unique_lock lock(mutex_);
    runs_.push_back(spec);
    if (!results_.empty()) {
      result = std::move(results_.front());
      results_.pop_front();
    }
    if (hold_) {
      uint64_t ticket = next_ticket_++;
      ++held_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return !hold_ || ticket < released_; });
      --held_;
      changed_.notify_all();
    }
    action = action_;
  }
  if (!action) return result;
  // What the action gives a line sink reaches the stream's byte sink too
  // (with its newline), as the real runtime delivers output to both.
  RunSpec s = spec;
  for (auto [line, bytes] : {std::pair{&s.on_stdout, &spec.on_stdout_bytes},
                             std::pair{&s.on_stderr, &spec.on_stderr_bytes}})
    if (*bytes)
      *line = [inner = *line, bytes](std::string_view l) {
        (*bytes)(std::string(l) + "\n");
        if (inner) inner(l);
      };
  return action(s);
}

} // namespace earth::exec
