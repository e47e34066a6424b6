// The tty printer (docs/output.md): a live view redrawn in place. Under it
// all, one frame is one write(2) of: the cursor moved up over the previous
// live area, the lines that scroll away for good (finished targets, -V
// output, a failure's output), then the live area again (one line per
// running target with its step, the last lines of its output, a status
// line), each line cut to the terminal's width and cleared to its end. A
// ticker thread draws a frame every 100ms; events only change the state.
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "format.h"

namespace earth::output {

namespace {

class TtyStatus;
std::mutex g_tty_mu;        // guards g_tty
TtyStatus* g_tty = nullptr; // the live printer, if any
std::atomic<bool> g_lent{false};

using Clock = std::chrono::steady_clock;

constexpr size_t kLiveTail = 3;      // output lines shown under a running step
constexpr size_t kKeptOutput = 2000; // a step's output kept for its failure report
constexpr auto kFrame = std::chrono::milliseconds(100);

struct Running {
  std::string target;
  std::string step; // the current step's command
  bool step_cached = false;
  Clock::time_point started;
  std::deque<std::string> output; // the current step's lines (the last kKeptOutput)
  size_t dropped = 0;             // lines of the current step no longer kept
};

class TtyStatus : public Status {
public:
  TtyStatus(int fd, const PrinterOptions& o)
      : fd_(fd), o_(o), c_(o.colour), start_(Clock::now()), ticker_([this] { tick(); }) {
    std::lock_guard lock(g_tty_mu);
    g_tty = this;
  }
  ~TtyStatus() override {
    {
      std::lock_guard lock(g_tty_mu);
      if (g_tty == this) g_tty = nullptr;
    }
    stop();
    std::lock_guard lock(mu_);
    if (!finished_) draw(false, {});
  }

  void target_queued(std::string_view) override {}
  void target_started(std::string_view target) override {
    std::lock_guard lock(mu_);
    running_.push_back({std::string(target), "", false, Clock::now(), {}, 0});
  }
  void target_finished(std::string_view target, bool all_cached, Duration took) override {
    std::lock_guard lock(mu_);
    erase(target);
    ++(all_cached ? cached_ : built_);
    scroll(fmt::format("{}{}{} {}  {}", all_cached ? c_.cyan : c_.green,
                       all_cached ? glyph("•", "*") : glyph("✔", "v"), c_.reset, name(target),
                       all_cached ? fmt::format("{}cached{}", c_.cyan, c_.reset)
                                  : "done in " + seconds(took)));
  }
  void target_failed(std::string_view target) override {
    std::lock_guard lock(mu_);
    auto r = find(target);
    std::string took = r ? " after " + seconds(Clock::now() - r->started) : "";
    erase(target);
    ++failed_;
    if (std::erase(failed_steps_, target)) return; // step_failed said it all
    scroll(fmt::format("{}{}{} {}  {}failed{}{}", c_.red, glyph("✘", "x"), c_.reset, name(target),
                       c_.red, c_.reset, took));
  }
  void step_started(const StepInfo& s) override { set_step(s, false); }
  void step_cached(const StepInfo& s, Duration) override { set_step(s, true); }
  void step_finished(const StepInfo& s, Duration took) override {
    if (!o_.verbose) return;
    std::lock_guard lock(mu_);
    scroll(fmt::format("{}{}{}    done in {}", c_.dim, prefix(s.target), c_.reset, seconds(took)));
  }
  void step_failed(const StepInfo& s, const StepFailure& f) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> lines = failure_lines(s, f, c_);
    lines.front() = fmt::format("{}{}{} {} {}", c_.red, glyph("✘", "x"), c_.reset, name(s.target),
                                lines.front());
    // The step's whole output (as far as kept), unless -V showed it already.
    if (Running* r = find(s.target); r && !o_.verbose) {
      if (r->dropped) lines.push_back(fmt::format("  | … {} earlier lines", r->dropped));
      for (const auto& l : r->output) lines.push_back("  | " + l);
    }
    for (auto& l : lines) scroll(std::move(l));
    failed_steps_.push_back(s.target);
  }
  void step_output(const StepInfo& s, std::string_view line) override {
    std::lock_guard lock(mu_);
    std::string text = printable(line);
    if (s.raw_output) // RUN --raw-output: every line kept, as printed, above the live view
      scroll(text);
    else if (o_.verbose)
      scroll(prefix(s.target) + text);
    Running* r = find(s.target);
    if (!r) return;
    r->output.push_back(std::move(text));
    if (r->output.size() > kKeptOutput) {
      r->output.pop_front();
      ++r->dropped;
    }
  }
  void build_finished(const BuildTotals& t) override {
    stop();
    std::lock_guard lock(mu_);
    finished_ = true;
    for (const auto& r : running_) // cut short by another target's failure or Ctrl-C
      scroll(fmt::format("{}-{} {}  interrupted after {}", c_.yellow, c_.reset, name(r.target),
                         seconds(Clock::now() - r.started)));
    running_.clear();
    std::vector<std::string> summary{""};
    for (auto& l : summary_lines(t, c_)) summary.push_back(std::move(l));
    draw(false, summary);
  }

private:
  const char* glyph(const char* unicode, const char* ascii) const {
    return o_.unicode ? unicode : ascii;
  }
  std::string name(std::string_view target) const {
    return fmt::format("{}{}{}", c_.for_target(target), target, c_.reset);
  }
  std::string prefix(std::string_view target) const {
    return fmt::format("{}{}{} | ", c_.for_target(target), target_column(target, o_.padding),
                       c_.reset);
  }
  Running* find(std::string_view target) {
    for (auto& r : running_)
      if (r.target == target) return &r;
    return nullptr;
  }
  void erase(std::string_view target) {
    std::erase_if(running_, [&](const Running& r) { return r.target == target; });
  }
  void set_step(const StepInfo& s, bool cached) {
    std::lock_guard lock(mu_);
    if (o_.verbose)
      scroll(prefix(s.target) + (cached ? fmt::format("*{}cached{}* ", c_.cyan, c_.reset) : "") +
             "--> " + s.text);
    Running* r = find(s.target);
    if (!r) {
      running_.push_back({s.target, "", false, Clock::now(), {}, 0});
      r = &running_.back();
    }
    r->step = s.text;
    r->step_cached = cached;
    r->output.clear();
    r->dropped = 0;
  }
  // mu_ held: a line printed above the live area at the next frame.
  void scroll(std::string line) { scrolled_.push_back(std::move(line)); }

  void tick() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, kFrame, [&] { return stopping_; });
      if (stopping_) break;
      ++frame_;
      if (!g_lent) draw(true, {});
    }
  }

public:
  // lend_terminal(true): the screen left without the live area.
  void clear_live_area() {
    std::lock_guard lock(mu_);
    // What runs, the step that takes the terminal among it, stays on screen.
    for (const auto& r : running_)
      if (!r.step.empty()) scroll(fmt::format("{}--> {}", prefix(r.target), r.step));
    draw(false, {});
  }

private:
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
  }

  // mu_ held. `live`: draw the live area (else leave the screen without
  // it, the cursor shown); `tail`: lines printed last.
  void draw(bool live, const std::vector<std::string>& tail) {
    auto [cols, rows] = size();
    std::string out = "\033[?2026h"; // synchronized update, where supported
    if (!cursor_hidden_ && live) {
      out += "\033[?25l";
      cursor_hidden_ = true;
    }
    if (live_lines_) out += fmt::format("\033[{}A\r", live_lines_);
    // Lines above the live area may wrap: only the live area's height is
    // counted for the next frame.
    for (const auto& l : scrolled_) out += l + c_.reset + "\033[K\n";
    scrolled_.clear();
    live_lines_ = 0;
    if (live)
      for (const auto& l : live_area(cols, rows)) {
        out += fit(l, cols - 1) + c_.reset + "\033[K\n";
        ++live_lines_;
      }
    for (const auto& l : tail) out += l + c_.reset + "\033[K\n";
    out += "\033[J";
    if (!live && cursor_hidden_) {
      out += "\033[?25h";
      cursor_hidden_ = false;
    }
    out += "\033[?2026l";
    write_all(out);
  }

  std::vector<std::string> live_area(size_t cols, size_t rows) const {
    static const char* const braille[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
    static const char* const ascii[] = {"|", "/", "-", "\\"};
    const char* spin = o_.unicode ? braille[frame_ % 10] : ascii[frame_ % 4];
    auto now = Clock::now();
    size_t width = 0;
    for (const auto& r : running_) width = std::max(width, display_width(r.target));
    width = std::min<size_t>(width, cols / 3);
    std::vector<std::string> lines;
    size_t room = rows > 2 ? rows - 2 : 1; // the status line and the cursor's line
    // Every running target gets its line before any gets output lines.
    size_t per_target = running_.empty() || running_.size() >= room
                            ? 0
                            : (room - running_.size()) / running_.size();
    size_t shown = 0;
    for (const auto& r : running_) {
      size_t tail = o_.verbose ? 0 : std::min({kLiveTail, r.output.size(), per_target});
      if (lines.size() + 1 + tail > room) break;
      ++shown;
      std::string left = fmt::format("{}{}{} {}{}{}", c_.yellow, spin, c_.reset,
                                     c_.for_target(r.target), fit(r.target, width), c_.reset);
      left += std::string(width - std::min(width, display_width(r.target)), ' ') + "  ";
      std::string right = seconds(now - r.started);
      std::string step = r.step_cached ? "*cached* " + r.step : r.step;
      size_t used = display_width(left) + right.size() + 2;
      size_t room_for_step = cols > used + 1 ? cols - used - 1 : 0;
      step = fit(step, room_for_step);
      lines.push_back(fmt::format("{}{}{}{}", left, step,
                                  std::string(room_for_step - display_width(step) + 1, ' '),
                                  right));
      for (size_t i = r.output.size() - tail; i < r.output.size(); ++i)
        lines.push_back(fmt::format("    {}{}{}", c_.dim, r.output[i], c_.reset));
    }
    std::string status = fmt::format(
        "{}[{}] {} built, {} cached{}, {} running{}", c_.bold, seconds(now - start_), built_,
        cached_, failed_ ? fmt::format(", {} failed", failed_) : "", running_.size(), c_.reset);
    if (shown < running_.size()) status += fmt::format(" ({} not shown)", running_.size() - shown);
    lines.push_back(std::move(status));
    return lines;
  }

  std::pair<size_t, size_t> size() const {
    winsize ws{};
    if (::ioctl(fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10 && ws.ws_row > 2)
      return {ws.ws_col, ws.ws_row};
    return {80, 24};
  }
  void write_all(std::string_view data) const {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return; // the terminal went away: nothing more to show
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  int fd_;
  PrinterOptions o_;
  Colours c_;
  Clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Running> running_;
  std::vector<std::string> scrolled_;
  std::vector<std::string> failed_steps_; // targets whose failure step_failed showed
  size_t live_lines_ = 0;
  size_t frame_ = 0;
  uint32_t built_ = 0, cached_ = 0, failed_ = 0;
  bool stopping_ = false, finished_ = false, cursor_hidden_ = false;
  std::thread ticker_; // last: started once the rest is initialised
};

} // namespace

void lend_terminal(bool lent) {
  g_lent = lent;
  if (!lent) return;
  std::lock_guard lock(g_tty_mu);
  if (g_tty) g_tty->clear_live_area();
}

std::unique_ptr<Status> make_tty_status(int fd, const PrinterOptions& options) {
  return std::make_unique<TtyStatus>(fd, options);
}

} // namespace earth::output
