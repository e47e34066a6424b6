// The json printer: one object per event and line (docs/output.md has the
// schema; it is versioned by the "v" field of every object).
#include <nlohmann/json.hpp>

#include "format.h"
#include "line_sink.h"

namespace earth::output {

namespace {

using json = nlohmann::ordered_json;

long long ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

class JsonStatus : public Status {
public:
  JsonStatus(std::FILE* out, const PrinterOptions& o) : out_(out), o_(o) {
    if (!o_.elapsed) {
      auto start = std::chrono::steady_clock::now();
      o_.elapsed = [start] { return std::chrono::steady_clock::now() - start; };
    }
  }

  void target_queued(std::string_view t) override { emit(target("target_queued", t)); }
  void target_started(std::string_view t) override { emit(target("target_started", t)); }
  void target_finished(std::string_view t, bool all_cached, Duration took) override {
    json j = target("target_finished", t);
    j["cached"] = all_cached;
    j["duration_ms"] = ms(took);
    emit(std::move(j));
  }
  void target_failed(std::string_view t) override { emit(target("target_failed", t)); }
  void step_started(const StepInfo& s) override { emit(step("step_started", s)); }
  void step_cached(const StepInfo& s, Duration last_took) override {
    json j = step("step_cached", s);
    j["saved_ms"] = ms(last_took);
    emit(std::move(j));
  }
  void step_finished(const StepInfo& s, Duration took) override {
    json j = step("step_finished", s);
    j["duration_ms"] = ms(took);
    emit(std::move(j));
  }
  void step_failed(const StepInfo& s, const StepFailure& f) override {
    json j = step("step_failed", s);
    j["message"] = f.message;
    j["exit_status"] = f.exit_status >= 0 ? json(f.exit_status) : json(nullptr);
    j["output_tail"] = f.tail;
    j["hint"] = f.hint;
    emit(std::move(j));
  }
  void step_output(const StepInfo& s, std::string_view line) override {
    json j = step("step_output", s);
    j["text"] = line;
    if (s.raw_output) j["raw"] = true;
    emit(std::move(j));
  }
  void hold(bool held) override {
    std::lock_guard lock(mu_);
    sink_.hold(held);
  }
  void build_finished(const BuildTotals& t) override {
    json j = event("build_finished");
    j["success"] = t.success;
    j["duration_ms"] = ms(t.wall);
    j["targets"] = t.targets + t.targets_failed;
    j["targets_cached"] = t.targets_cached;
    j["targets_failed"] = t.targets_failed;
    j["steps_run"] = t.steps_run;
    j["steps_cached"] = t.steps_cached;
    j["saved_ms"] = ms(t.saved);
    json outputs = json::array();
    for (const auto& o : t.outputs)
      outputs.push_back({{"kind", output_kind_name(o.kind)},
                         {"target", o.target},
                         {o.kind == OutputInfo::Kind::artifact ? "path" : "name", o.what}});
    j["outputs"] = std::move(outputs);
    j["notes"] = t.notes;
    j["error"] = t.error;
    emit(std::move(j));
  }

private:
  json event(const char* name) const {
    return json{{"v", 1}, {"event", name}, {"ms", ms(o_.elapsed())}};
  }
  json target(const char* name, std::string_view t) const {
    json j = event(name);
    j["target"] = t;
    return j;
  }
  json step(const char* name, const StepInfo& s) const {
    json j = target(name, s.target);
    j["file"] = s.file;
    j["line"] = s.line;
    j["command"] = s.text;
    return j;
  }
  void emit(json j) {
    // Output lines may hold any bytes: invalid UTF-8 becomes U+FFFD.
    std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
    std::lock_guard lock(mu_);
    sink_.write(text);
  }

  std::FILE* out_;
  PrinterOptions o_;
  std::mutex mu_;
  LineSink sink_{out_}; // mu_
};

} // namespace

std::unique_ptr<Status> make_json_status(std::FILE* out, const PrinterOptions& options) {
  return std::make_unique<JsonStatus>(out, options);
}

} // namespace earth::output
