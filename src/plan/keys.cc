#include "earth/plan/keys.h"

#include <chrono>
#include <random>

namespace earth::plan {

KeyBuilder::KeyBuilder(std::string_view op, const Digest& parent, Hasher::DebugSink debug)
    : hasher_(kStepKeyDomain, std::move(debug)) {
  hasher_.add("op", op);
  hasher_.add("parent", parent);
}

KeyBuilder& KeyBuilder::add(std::string_view tag, std::string_view value) {
  hasher_.add(tag, value);
  return *this;
}

KeyBuilder& KeyBuilder::add(std::string_view tag, int64_t value) {
  hasher_.add(tag, value);
  return *this;
}

KeyBuilder& KeyBuilder::add(std::string_view tag, const Digest& value) {
  hasher_.add(tag, value);
  return *this;
}

KeyBuilder& KeyBuilder::add_list(std::string_view tag, const std::vector<std::string>& values) {
  hasher_.add(tag, static_cast<int64_t>(values.size()));
  for (const auto& v : values) hasher_.add(tag, v);
  return *this;
}

KeyBuilder& KeyBuilder::add_pairs(std::string_view tag,
                                  const std::vector<std::pair<std::string, std::string>>& pairs) {
  hasher_.add(tag, static_cast<int64_t>(pairs.size()));
  for (const auto& [k, v] : pairs) hasher_.add(tag, k).add(tag, v);
  return *this;
}

Digest unique_key(const Digest& key) {
  std::random_device rd;
  Hasher h("earth.unique.v1");
  h.add("key", key);
  h.add("nonce", static_cast<int64_t>(rd()) << 32 | rd());
  h.add("time", static_cast<int64_t>(std::chrono::system_clock::now().time_since_epoch().count()));
  return h.finish();
}

} // namespace earth::plan
