#include "earth/output/status.h"

#include <fmt/format.h>

namespace earth::output {

namespace {

struct ProgressName {
  std::string_view name;
  Progress progress;
};
constexpr ProgressName kProgressNames[] = {{"auto", Progress::automatic},
                                           {"tty", Progress::tty},
                                           {"plain", Progress::plain},
                                           {"json", Progress::json}};

} // namespace

bool parse_progress(std::string_view text, Progress& out) {
  for (const auto& p : kProgressNames)
    if (text == p.name) {
      out = p.progress;
      return true;
    }
  return false;
}

std::vector<std::string> progress_names() {
  std::vector<std::string> out;
  for (const auto& p : kProgressNames) out.emplace_back(p.name);
  return out;
}

void RecordingStatus::add(std::string line) {
  std::lock_guard lock(mu_);
  lines_.push_back(std::move(line));
}
void RecordingStatus::target_queued(std::string_view t) {
  add(fmt::format("queued {}", t));
}
void RecordingStatus::target_started(std::string_view t) {
  add(fmt::format("start {}", t));
}
void RecordingStatus::target_finished(std::string_view t, bool all_cached, Duration) {
  add(fmt::format("{} {}", all_cached ? "cached" : "done", t));
}
void RecordingStatus::target_failed(std::string_view t) {
  add(fmt::format("failed {}", t));
}
void RecordingStatus::step_started(const StepInfo& s) {
  add(fmt::format("run {} {}", s.target, s.text));
}
void RecordingStatus::step_cached(const StepInfo& s, Duration) {
  add(fmt::format("hit {} {}", s.target, s.text));
}
void RecordingStatus::step_finished(const StepInfo&, Duration) {}
void RecordingStatus::step_failed(const StepInfo& s, const StepFailure& f) {
  add(fmt::format("step-failed {} {}: {} (status {}, {} lines){}", s.target, s.text, f.message,
                  f.exit_status, f.tail.size(), f.hint.empty() ? "" : " hint: " + f.hint));
}
void RecordingStatus::step_output(const StepInfo& s, std::string_view line) {
  add(fmt::format("out{} {} {}", s.raw_output ? " raw" : "", s.target, line));
}
void RecordingStatus::build_finished(const BuildTotals& t) {
  std::lock_guard lock(mu_);
  totals_ = t;
}
std::vector<std::string> RecordingStatus::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}
BuildTotals RecordingStatus::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

} // namespace earth::output
