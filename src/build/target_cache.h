// Target-level reuse (issue 9): a target instance whose whole input — the
// text of the Earthfiles its steps come from, its ARG values and every
// variable snapshot, the keys of the targets it reads (FROM +t, COPY +t/…),
// the digest of its build context when it COPYs from it, and the base images
// it started from — matches a recorded successful run is reused whole: its
// result (environment, artifact tree, outputs) is read from
// <cache>/targets/<key hex> and its steps are not walked. A target that
// cannot be keyed this way (--no-cache, RUN --no-cache/--push, LOCALLY,
// control flow, dynamic references …) always runs step by step, and so do
// the targets that read it.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "context.h"
#include "earth/output/status.h"

namespace earth::build {

inline constexpr std::string_view kTargetKeyDomain = "earth.target.v1";
inline constexpr std::string_view kTargetRecordMagic = "earth-target-record 4";

// A step as a target showed it, and how long it took when it ran (a cache
// hit: its recorded time), so that a reused target reports the time saved.
struct ShownStep {
  output::StepInfo info;
  output::Duration took{0};
};

// The target's input key, or nullopt when it must run step by step.
// Needs the keys of the targets it reads (Context::target_keys). `context`,
// when given, gets the build context dir the key digests (left alone when
// none).
std::optional<Digest> target_key(Context& ctx, resolve::NodeId id, std::string* context = nullptr);

// The records under <cache>/targets/.
class TargetCache {
public:
  explicit TargetCache(std::string dir) : dir_(std::move(dir)) {}
  // The recorded result of `key`, when there is one and everything it
  // points to (step dirs, base images) is still there; `steps` gets the
  // steps it shows, as target `shown_as` shows them. A record is the
  // input's, which several instances may share: it names none.
  std::optional<TargetResult> load(Context& ctx, const Digest& key, const std::string& shown_as,
                                   std::vector<ShownStep>* steps) const;
  // The record of a successful run; nullopt for a target whose state cannot
  // be recorded (CACHE --persist) or whose record would hold a secret or
  // secret-derived value (`redact` knowing them).
  static std::optional<std::string>
  encode(const TargetResult& result, const std::vector<ShownStep>& steps, const Redactor& redact);
  // Writes it, once the step dirs it names are recorded (the caller waits
  // for that); false when it could not be written.
  bool write(const Digest& key, std::string_view record) const;

private:
  std::string dir_;
};

// Per-target lists of the steps shown (step_cached / step_finished), so
// that a reused target is shown as its last run was, every step cached.
class StepLog : public output::Status {
public:
  explicit StepLog(output::Status& inner) : inner_(inner) {}
  std::vector<ShownStep> take(const std::string& target);
  void target_queued(std::string_view target) override { inner_.target_queued(target); }
  void target_started(std::string_view target) override { inner_.target_started(target); }
  void target_finished(std::string_view target, bool all_cached, output::Duration took) override {
    inner_.target_finished(target, all_cached, took);
  }
  void target_failed(std::string_view target) override { inner_.target_failed(target); }
  void step_started(const output::StepInfo& step) override { inner_.step_started(step); }
  void step_cached(const output::StepInfo& step, output::Duration last_took) override;
  void step_finished(const output::StepInfo& step, output::Duration took) override;
  void step_failed(const output::StepInfo& step, const output::StepFailure& failure) override {
    inner_.step_failed(step, failure);
  }
  void step_output(const output::StepInfo& step, std::string_view line) override {
    inner_.step_output(step, line);
  }
  void build_finished(const output::BuildTotals& totals) override { inner_.build_finished(totals); }

private:
  output::Status& inner_;
  std::mutex mu_;
  std::unordered_map<std::string, std::vector<ShownStep>> steps_;
};

} // namespace earth::build
