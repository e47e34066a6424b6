// The plain printer (docs/output.md): for CI logs and pipes. Every line is
// prefixed with its target; under GitHub Actions each target's lines are
// kept until it ends and printed as one ::group::, so parallel targets do
// not interleave, and a failure becomes an ::error annotation.
#include <fmt/format.h>

#include <map>

#include "format.h"
#include "line_sink.h"

namespace earth::output {

namespace {

class PlainStatus : public Status {
public:
  PlainStatus(std::FILE* out, const PrinterOptions& o)
      : out_(out), o_(o), c_(o.colour), cached_(fmt::format("*{}cached{}* ", c_.cyan, c_.reset)),
        sink_(out) {}

  void target_queued(std::string_view) override {}
  void target_started(std::string_view target) override {
    if (o_.github) emit(fmt::format("{}--> started", prefix(target, false)));
  }
  void target_finished(std::string_view target, bool all_cached, Duration took) override {
    std::string line =
        prefix(target, false) + (all_cached ? cached() + "done" : "done in " + seconds(took));
    std::lock_guard lock(mu_);
    if (!o_.github) return write(line);
    auto& lines = groups_[std::string(target)];
    lines.push_back(std::move(line));
    flush_group(target, all_cached ? "cached" : seconds(took));
  }
  void target_failed(std::string_view target) override {
    std::lock_guard lock(mu_);
    if (o_.github) flush_group(target, "failed");
  }
  void step_started(const StepInfo& s) override {
    add(s.target, prefix(s.target, false) + "--> " + s.text);
  }
  void step_cached(const StepInfo& s, Duration) override {
    add(s.target, prefix(s.target, false) + cached() + "--> " + s.text);
  }
  void step_finished(const StepInfo& s, Duration took) override {
    if (o_.verbose) add(s.target, prefix(s.target, false) + "    done in " + seconds(took));
  }
  void step_failed(const StepInfo& s, const StepFailure& f) override {
    std::string p = prefix(s.target, true);
    for (const auto& l : failure_lines(s, f, c_)) add(s.target, p + l);
    if (!o_.github) return;
    std::lock_guard lock(mu_);
    flush_group(s.target, "failed");
    // An annotation is one line: newlines in it are written %0A.
    std::string text = escape(fmt::format("{}: {}: {}", s.target, s.text, f.message));
    if (!f.hint.empty()) text += "%0Ahint: " + escape(f.hint);
    write(fmt::format("::error file={},line={}::{}", escape(s.file, true), s.line, text));
  }
  void step_output(const StepInfo& s, std::string_view line) override {
    add(s.target, s.raw_output ? std::string(line) : prefix(s.target, false) + std::string(line));
  }
  void hold(bool held) override {
    std::lock_guard lock(mu_);
    sink_.hold(held);
  }
  void build_finished(const BuildTotals& t) override {
    std::lock_guard lock(mu_);
    for (auto& [target, lines] : groups_) // targets cut short by the failure
      if (!lines.empty()) flush_group(target, "interrupted");
    std::string summary = "\n"; // one write for the whole summary
    for (const auto& l : summary_lines(t, c_)) (summary += l) += '\n';
    summary.pop_back();
    write(summary);
  }

private:
  // Concatenated rather than formatted: a no-op's replay prefixes hundreds of lines.
  std::string prefix(std::string_view target, bool failed) const {
    std::string out = c_.for_target(target);
    out += target_column(target, o_.padding);
    out += c_.reset;
    if (failed) out += fmt::format(" *{}failed{}*", c_.red, c_.reset);
    out += " | ";
    return out;
  }
  const std::string& cached() const { return cached_; }

  void add(std::string_view target, std::string line) {
    std::lock_guard lock(mu_);
    if (o_.github)
      groups_[std::string(target)].push_back(std::move(line));
    else
      write(line);
  }
  void emit(const std::string& line) {
    std::lock_guard lock(mu_);
    write(line);
  }
  // mu_ held.
  void write(std::string_view line) { sink_.write(line); }
  void flush_group(std::string_view target, std::string_view how) {
    auto it = groups_.find(std::string(target));
    if (it == groups_.end() || it->second.empty()) return;
    write(fmt::format("::group::{} ({})", target, how));
    for (const auto& l : it->second) write(l);
    write("::endgroup::");
    it->second.clear();
  }
  // GitHub's workflow-command escapes; `property` values escape , and : too.
  static std::string escape(std::string_view text, bool property = false) {
    std::string out;
    for (char ch : text) {
      if (ch == '%')
        out += "%25";
      else if (property && ch == ',')
        out += "%2C";
      else if (property && ch == ':')
        out += "%3A";
      else if (ch == '\n')
        out += "%0A";
      else if (ch == '\r')
        out += "%0D";
      else
        out += ch;
    }
    return out;
  }

  std::FILE* out_;
  PrinterOptions o_;
  Colours c_;
  std::string cached_; // "*cached* "
  std::mutex mu_;
  std::map<std::string, std::vector<std::string>, std::less<>>
      groups_;    // github: lines kept per target
  LineSink sink_; // mu_
};

} // namespace

std::unique_ptr<Status> make_plain_status(std::FILE* out, const PrinterOptions& options) {
  return std::make_unique<PlainStatus>(out, options);
}

std::unique_ptr<Status> make_plain_status(std::FILE* out, bool verbose) {
  PrinterOptions o;
  o.verbose = verbose;
  return make_plain_status(out, o);
}

} // namespace earth::output
