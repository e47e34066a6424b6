#include "earth/plan/keys.h"

#include <chrono>
#include <random>

namespace earth::plan {

namespace {
thread_local KeyRecorder* installed = nullptr;
} // namespace

KeyRecorder::KeyRecorder() : outer_(installed) {
  installed = this;
}

KeyRecorder::~KeyRecorder() {
  installed = outer_;
}

KeyRecorder* KeyRecorder::current() {
  return installed;
}

// With a recorder installed, the hasher's debug sink appends to this
// builder's record (and still calls `debug`).
static Hasher::DebugSink record_sink(KeyRecorder* rec, size_t index, Hasher::DebugSink debug) {
  if (!rec) return debug;
  return [rec, index, debug = std::move(debug)](std::string_view tag, std::string_view value) {
    rec->records()[index].fields.emplace_back(tag, value);
    if (debug) debug(tag, value);
  };
}

// Starts a record for a new builder; returns its index.
static size_t start_record(KeyRecorder* rec, std::string_view op, const Digest& parent) {
  if (!rec) return 0;
  rec->records().push_back({std::string(op), parent, {}, {}, {}});
  return rec->records().size() - 1;
}

KeyBuilder::KeyBuilder(std::string_view op, const Digest& parent, Hasher::DebugSink debug)
    : recorder_(KeyRecorder::current()), record_(start_record(recorder_, op, parent)),
      hasher_(kStepKeyDomain, record_sink(recorder_, record_, std::move(debug))) {
  hasher_.add("op", op);
  hasher_.add("parent", parent);
}

Digest KeyBuilder::finish() {
  Digest key = hasher_.finish();
  if (recorder_) recorder_->records()[record_].key = key;
  return key;
}

void KeyBuilder::note(std::string_view tag, std::string_view value) {
  if (recorder_) recorder_->records()[record_].notes.emplace_back(tag, value);
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
