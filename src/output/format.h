// Internal to the output module: what the printers share (times, target
// prefixes, colours, the summary).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "earth/output/status.h"

namespace earth::output {

// "840ms" under a second, "12.3s" under a minute, "2m05s" above.
std::string seconds(Duration d);

// The target column: `target` right-aligned to `padding` columns, its
// directories shortened to their first letter when it is longer
// ("./services/api+build" -> "./s/api+build"), as Earthly does. A negative
// padding gives the full name, ragged.
std::string target_column(std::string_view target, int padding);

// ANSI SGR sequences, or empty strings without colour.
struct Colours {
  explicit Colours(bool on);
  const char* bold = "";
  const char* dim = "";
  const char* red = "";
  const char* green = "";
  const char* yellow = "";
  const char* cyan = "";
  const char* reset = "";
  // A stable colour per target name (the prefix colour), or "".
  const char* for_target(std::string_view target) const;

private:
  bool on_;
};

// "artifact", "image" or "pushed": an output's kind as the summary and the
// JSON events name it.
const char* output_kind_name(OutputInfo::Kind kind);
// The end-of-build summary, one entry per line (no newlines).
std::vector<std::string> summary_lines(const BuildTotals& t, const Colours& c);

// The failure report of a step: "Earthfile:6: RUN …", the message, the
// hint (the output tail is the caller's).
std::vector<std::string> failure_lines(const StepInfo& s, const StepFailure& f, const Colours& c);

// Number of terminal columns `text` takes (UTF-8 code points; escape
// sequences count zero), and `text` cut to `columns` of them.
size_t display_width(std::string_view text);
std::string fit(std::string_view text, size_t columns);
// Output lines shown safely: tabs expanded, other control bytes dropped.
std::string printable(std::string_view line);

} // namespace earth::output
