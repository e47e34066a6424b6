// The request journal's wiring in the CLI (docs/cache.md#the-request-journal):
// the journal's name from the request, the fast path that answers an
// unchanged request from it, and the recording of a new one by the full path.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "earth/base/fs.h"
#include "earth/base/profile.h"
#include "earth/build/journal.h"
#include "earth/output/status.h"
#include "earth/request/build_request.h"
#include "earth/resolve/resolve.h"

namespace earth::cli {

class RequestJournal {
public:
  using Clock = std::chrono::steady_clock;
  // `debug_keys`: `earth debug keys`, which never takes the fast path.
  RequestJournal(const request::BuildRequest& req, const std::string& cache_dir, bool debug_keys);

  // The fast path: when the journal of this request holds, shows its
  // events on a printer made for `req` and returns true. Notes the outcome
  // in `profile`. A miss whose changed paths all belong to targets keeps
  // what a partial build of the targets they reach needs.
  bool replay(const request::BuildRequest& req, Profile& profile);
  // After `record`: a partial build's graph (docs/cache.md#partial-builds),
  // the target instances the change reaches resolved alone, each shown and
  // output as the whole build did; nullopt (the full path) when there is
  // none or they resolve to other instances.
  std::optional<resolve::Graph> resolve_partial(const resolve::Options& options, Profile& profile);
  // For BuildOptions::names: empty unless the graph is a partial build's.
  const std::map<Digest, std::string>& partial_names() const { return names_; }

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
  bool verbose_ = false;         // -V: a replay shows each cached step
  int64_t started_ns_ = 0;       // CLOCK_REALTIME at the start of the request
  Clock::time_point started_ = Clock::now();
  std::unique_ptr<build::JournalRecorder> recorder_;
  std::unique_ptr<build::RecordingDisk> disk_;
  std::unique_ptr<build::EventRecorder> events_;
  // A miss a partial build can answer: the journal, the targets reached.
  // Decoded without its paths and events: they stay in text_, which the
  // recorder reads until finish().
  std::optional<build::Journal> previous_;
  fs::MappedFile text_;
  std::vector<uint32_t> reached_;
  // A partial build: what it shows of the journal, its instances' names.
  std::optional<build::JournalPart> kept_;
  bool carried_ = false; // kept_ went to the event recorder
  std::map<Digest, std::string> names_;
};

} // namespace earth::cli
