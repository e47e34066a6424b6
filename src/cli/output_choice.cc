#include "output_choice.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "earth/base/error.h"

namespace earth::cli {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Earthly's reading of a switch: set, and not "", "0", "false" or "FALSE".
bool env_on(const char* name) {
  std::string v = env(name);
  return !v.empty() && v != "0" && v != "false" && v != "FALSE";
}

// EARTH_X, else EARTHLY_X.
std::string env_either(const std::string& suffix) {
  std::string v = env(("EARTH_" + suffix).c_str());
  return v.empty() ? env(("EARTHLY_" + suffix).c_str()) : v;
}

bool is_terminal(int fd) {
  return ::isatty(fd) && env("TERM") != "dumb";
}

// The locale's character set is UTF-8 (or no locale is set at all).
bool unicode_locale() {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    std::string v = env(name);
    if (v.empty()) continue;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    return v.find("utf-8") != std::string::npos || v.find("utf8") != std::string::npos;
  }
  return true;
}

int padding() {
  if (env_on("EARTH_FULL_TARGET") || env_on("EARTHLY_FULL_TARGET")) return -1;
  std::string v = env_either("TARGET_PADDING");
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end || n < -1 || n > 200) return 20; // Earthly ignores a bad value too
  return static_cast<int>(n);
}

} // namespace

bool colour_for(int fd) {
  if (!env("NO_COLOR").empty()) return false; // no-color.org: any non-empty value
  if (env_on("FORCE_COLOR")) return true;
  return is_terminal(fd);
}

output::Progress progress_of(const std::string& text) {
  output::Progress progress = output::Progress::automatic;
  if (!text.empty() && !output::parse_progress(text, progress))
    throw Error("earth: --progress must be auto, tty, plain or json, not '" + text + "'",
                ExitCode::usage_error);
  return progress;
}

std::unique_ptr<output::Status> make_status(const OutputRequest& request) {
  output::Progress progress = progress_of(request.progress);
  if (progress == output::Progress::automatic)
    progress = is_terminal(2) ? output::Progress::tty : output::Progress::plain;
  output::PrinterOptions o;
  o.verbose = request.verbose;
  o.padding = padding();
  o.github = request.github || env("GITHUB_ACTIONS") == "true";
  o.unicode = unicode_locale();
  switch (progress) {
  case output::Progress::json:
    return output::make_json_status(stdout, o);
  case output::Progress::tty:
    o.colour = env("NO_COLOR").empty(); // the live view is for a terminal
    return output::make_tty_status(2, o);
  default:
    o.colour = colour_for(2);
    return output::make_plain_status(stderr, o);
  }
}

} // namespace earth::cli
