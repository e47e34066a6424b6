// The request journal's wiring in the CLI (docs/cache.md#the-request-journal):
// the journal's name from the request, the fast path that answers an
// unchanged request from it, and the recording of a new one by the full path.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "earth/base/profile.h"
#include "earth/build/journal.h"
#include "earth/output/status.h"
#include "earth/request/build_request.h"

namespace earth::cli {

class RequestJournal {
public:
  using Clock = std::chrono::steady_clock;
  // `debug_keys`: `earth debug keys`, which never takes the fast path.
  RequestJournal(const request::BuildRequest& req, const std::string& cache_dir, bool debug_keys);

  // The fast path: when the journal of this request holds, shows its
  // events on a printer made for `req` and returns true. Notes the outcome
  // in `profile`.
  bool replay(const request::BuildRequest& req, Profile& profile);

  // The full path: a recorder (null when this request is never journaled),
  // fed the request's own files; `req`'s resolver options are wrapped so
  // that what the resolver reads is recorded too.
  build::JournalRecorder* record(request::BuildRequest& req);
  // Wraps the build's printer (keeps the events a journal replays).
  output::Status& events(output::Status& inner);
  // After a successful build: writes the journal, or removes the stale one
  // when the build cannot be journaled.
  void finish(Profile& profile);

private:
  std::string cache_dir_, path_; // <cache>/journals/<key name>; empty: not journaled
  std::string key_;              // RequestKey::bytes()
  int64_t started_ns_ = 0;       // CLOCK_REALTIME at the start of the request
  Clock::time_point started_ = Clock::now();
  std::unique_ptr<build::JournalRecorder> recorder_;
  std::unique_ptr<build::RecordingDisk> disk_;
  std::unique_ptr<build::EventRecorder> events_;
};

} // namespace earth::cli
