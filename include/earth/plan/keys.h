// Cache keys (DESIGN.md "Cache keys are content, never time"): a step's key
// is SHA-256 over typed, length-prefixed fields — the op, its expanded
// arguments, the variables in scope, the parent state's key and the digests
// of its inputs — so two different field lists never share a key and keys
// are the same on every machine. A debug sink sees every field
// (`earth debug keys`, --explain).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earth/base/digest.h"

namespace earth::plan {

// Bumped when the meaning of any field changes: old entries then miss.
inline constexpr std::string_view kStepKeyDomain = "earth.step.v1";

// What went into one key: its op, parent, every field as "tag", "value"
// (digests as sha256:…, integers in decimal) and notes that explain it
// without entering it (a COPY's per-file digests), then the key.
struct KeyRecord {
  std::string op;
  Digest parent;
  Digest key;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::pair<std::string, std::string>> notes;
};

// While a KeyRecorder is alive, every KeyBuilder made on its thread records
// its fields into it (`earth debug keys`, `--explain`). Costs nothing when
// none is installed.
class KeyRecorder {
public:
  KeyRecorder();
  ~KeyRecorder();
  KeyRecorder(const KeyRecorder&) = delete;
  KeyRecorder& operator=(const KeyRecorder&) = delete;
  // The recorder installed on this thread, or null.
  static KeyRecorder* current();
  std::vector<KeyRecord>& records() { return records_; }
  // A step that looked its key up (before --no-cache made it unique): where
  // it is, its text, and whether it ran (a miss) or was reused.
  struct Step {
    Digest key;
    std::string where, text;
    bool ran = false;
    std::string why; // why it ran when that is known up front (never stored)
  };
  void step(Step s) { steps_.push_back(std::move(s)); }
  const std::vector<Step>& steps() const { return steps_; }

private:
  std::vector<KeyRecord> records_;
  std::vector<Step> steps_;
  KeyRecorder* outer_;
};

class KeyBuilder {
public:
  // `op` names the command kind ("RUN", "COPY", "from-image" …); `parent`
  // is the key of the state the step starts from (zero for none).
  KeyBuilder(std::string_view op, const Digest& parent, Hasher::DebugSink debug = {});
  KeyBuilder& add(std::string_view tag, std::string_view value);
  KeyBuilder& add(std::string_view tag, int64_t value);
  KeyBuilder& add(std::string_view tag, const Digest& value);
  // A list: its length, then each element.
  KeyBuilder& add_list(std::string_view tag, const std::vector<std::string>& values);
  KeyBuilder& add_pairs(std::string_view tag,
                        const std::vector<std::pair<std::string, std::string>>& pairs);
  Digest finish();
  // Whether fields are being recorded (then note() is worth calling).
  bool recording() const { return recorder_ != nullptr; }
  // Records `tag`, `value` next to the key's fields without hashing it.
  void note(std::string_view tag, std::string_view value);
  // For inputs that hash themselves (file trees).
  Hasher& hasher() { return hasher_; }

private:
  KeyRecorder* recorder_ = nullptr;
  size_t record_ = 0; // index in recorder_->records()
  Hasher hasher_;
};

// A key made unique to this run, for steps that must not be reused
// (--no-cache): later keys chain on it, so they miss too.
Digest unique_key(const Digest& key);

} // namespace earth::plan
