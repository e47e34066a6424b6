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
  Digest finish() { return hasher_.finish(); }
  // For inputs that hash themselves (file trees).
  Hasher& hasher() { return hasher_; }

private:
  Hasher hasher_;
};

// A key made unique to this run, for steps that must not be reused
// (--no-cache): later keys chain on it, so they miss too.
Digest unique_key(const Digest& key);

} // namespace earth::plan
