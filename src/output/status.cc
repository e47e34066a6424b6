#include "earth/output/status.h"

#include <fmt/format.h>

#include <algorithm>

namespace earth::output {

namespace {

// "840ms" under a second, "12.3s" above.
std::string seconds(Duration d) {
  double s = std::chrono::duration<double>(d).count();
  if (s < 1) return fmt::format("{}ms", static_cast<long>(s * 1000 + 0.5));
  return fmt::format("{:.1f}s", s);
}

class PlainStatus : public Status {
public:
  PlainStatus(std::FILE* out, bool verbose) : out_(out), verbose_(verbose) {}

  void target_started(std::string_view target) override { print(target, "--> started"); }
  void target_finished(std::string_view target, bool all_cached, Duration took) override {
    print(target, all_cached ? "*cached* done" : "done in " + seconds(took));
  }
  void target_failed(std::string_view target) override { print(target, "*failed*"); }
  void step_started(const StepInfo& s) override { print(s.target, "--> " + s.text); }
  void step_cached(const StepInfo& s) override { print(s.target, "*cached* " + s.text); }
  void step_finished(const StepInfo& s, Duration took) override {
    if (verbose_) print(s.target, "    done in " + seconds(took));
  }
  void step_output(const StepInfo& s, std::string_view line) override { print(s.target, line); }
  void build_finished(const BuildTotals& t) override {
    std::lock_guard lock(mu_);
    fmt::print(out_, "\n{} in {}: {} targets ({} cached), {} steps run, {} cached{}\n",
               t.success ? "Build succeeded" : "Build failed", seconds(t.wall), t.targets,
               t.targets_cached, t.steps_run, t.steps_cached,
               t.saved.count() > 0 ? fmt::format(" (saved {})", seconds(t.saved)) : "");
    for (const auto& o : t.outputs)
      fmt::print(out_, "  {} {:<8} {}\n",
                 o.kind == OutputInfo::Kind::image  ? "image   "
                 : o.kind == OutputInfo::Kind::push ? "pushed  "
                                                    : "artifact",
                 o.target, o.what);
    for (const auto& n : t.notes) fmt::print(out_, "  note: {}\n", n);
    std::fflush(out_);
  }

private:
  void print(std::string_view target, std::string_view text) {
    std::lock_guard lock(mu_);
    width_ = std::max(width_, target.size());
    fmt::print(out_, "{:<{}} | {}\n", target, width_, text);
    std::fflush(out_);
  }
  std::FILE* out_;
  bool verbose_;
  std::mutex mu_;
  size_t width_ = 8;
};

} // namespace

std::unique_ptr<Status> make_plain_status(std::FILE* out, bool verbose) {
  return std::make_unique<PlainStatus>(out, verbose);
}

void RecordingStatus::add(std::string line) {
  std::lock_guard lock(mu_);
  lines_.push_back(std::move(line));
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
void RecordingStatus::step_cached(const StepInfo& s) {
  add(fmt::format("hit {} {}", s.target, s.text));
}
void RecordingStatus::step_finished(const StepInfo&, Duration) {}
void RecordingStatus::step_output(const StepInfo& s, std::string_view line) {
  add(fmt::format("out {} {}", s.target, line));
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
