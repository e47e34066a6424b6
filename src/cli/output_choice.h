// The CLI's output decisions, made in one place (docs/output.md): colour
// (NO_COLOR, FORCE_COLOR, a terminal), which progress printer (the
// request's --progress, a terminal), and how targets are shown
// (EARTH_TARGET_PADDING, EARTH_FULL_TARGET, GITHUB_ACTIONS).
#pragma once

#include <memory>
#include <string>

#include "earth/output/status.h"

namespace earth::cli {

// Whether text written to `fd` gets ANSI colours.
bool colour_for(int fd);

struct OutputRequest {
  // BuildRequest::progress: --progress, else EARTH_PROGRESS/EARTHLY_PROGRESS
  // as the flag table reads every flag's variables (request/flags.cc), which
  // is the only place they are read; empty: auto.
  std::string progress;
  bool verbose = false; // -V
  bool github = false;  // --github-annotations (GITHUB_ACTIONS=true turns it on too)
};

// The progress mode `text` names (empty: auto); a usage error (exit 2)
// naming the flag for any other value. The driver checks it before any work.
output::Progress progress_of(const std::string& text);

// The printer a build reports to.
std::unique_ptr<output::Status> make_status(const OutputRequest& request);

} // namespace earth::cli
