#include "format.h"

#include <fmt/format.h>

#include <algorithm>

namespace earth::output {

std::string seconds(Duration d) {
  double s = std::chrono::duration<double>(d).count();
  if (s < 1) return fmt::format("{}ms", static_cast<long>(s * 1000 + 0.5));
  if (s < 60) return fmt::format("{:.1f}s", s);
  long whole = static_cast<long>(s + 0.5);
  return fmt::format("{}m{:02}s", whole / 60, whole % 60);
}

namespace {

bool ascii(std::string_view text) {
  for (char ch : text)
    if (static_cast<unsigned char>(ch) >= 0x80) return false;
  return true;
}

// `text` padded with spaces to `width` columns, on the left (right-aligned)
// or on the right. fmt's width handling decodes UTF-8 (~3 K instructions a
// call): a no-op's replay pads hundreds of lines, nearly always ASCII.
std::string pad(std::string_view text, size_t width, bool left) {
  if (!ascii(text))
    return left ? fmt::format("{:>{}}", text, width) : fmt::format("{:<{}}", text, width);
  std::string out;
  size_t fill = width > text.size() ? width - text.size() : 0;
  out.reserve(text.size() + fill);
  if (left) out.append(fill, ' ');
  out += text;
  if (!left) out.append(fill, ' ');
  return out;
}

} // namespace

std::string target_column(std::string_view target, int padding) {
  if (padding < 0) return std::string(target);
  // Args ("+lib --V=a/b") are never shortened: only the reference's dirs.
  std::string_view ref = target.substr(0, target.find(' '));
  std::string_view args = target.substr(ref.size());
  if (target.size() <= static_cast<size_t>(padding))
    return pad(target, static_cast<size_t>(padding), true);
  std::string name(target);
  {
    std::string shortened;
    size_t start = 0;
    for (size_t slash; (slash = ref.find('/', start)) != std::string_view::npos;
         start = slash + 1) {
      std::string_view part = ref.substr(start, slash - start);
      shortened += part.empty() || part == ".." ? std::string(part) : std::string(1, part[0]);
      shortened += '/';
    }
    name = shortened + std::string(ref.substr(start)) + std::string(args);
  }
  return pad(name, static_cast<size_t>(padding), true);
}

Colours::Colours(bool on) : on_(on) {
  if (!on) return;
  bold = "\033[1m";
  dim = "\033[2m";
  red = "\033[31m";
  green = "\033[32m";
  yellow = "\033[33m";
  cyan = "\033[36m";
  reset = "\033[0m";
}

const char* Colours::for_target(std::string_view target) const {
  static const char* const palette[] = {"\033[34m", "\033[35m", "\033[36m", "\033[33m",
                                        "\033[32m", "\033[94m", "\033[95m", "\033[96m"};
  if (!on_) return "";
  uint32_t h = 2166136261u; // FNV-1a: the same target keeps its colour between runs
  for (unsigned char ch : target) h = (h ^ ch) * 16777619u;
  return palette[h % (sizeof palette / sizeof *palette)];
}

const char* output_kind_name(OutputInfo::Kind kind) {
  switch (kind) {
  case OutputInfo::Kind::image:
    return "image";
  case OutputInfo::Kind::push:
    return "pushed";
  case OutputInfo::Kind::artifact:
    break;
  }
  return "artifact";
}

std::vector<std::string> summary_lines(const BuildTotals& t, const Colours& c) {
  std::vector<std::string> out;
  std::string counts =
      fmt::format("{} built, {} cached", t.targets - t.targets_cached, t.targets_cached);
  if (t.targets_failed) counts += fmt::format(", {} failed", t.targets_failed);
  out.push_back(fmt::format(
      "{}{}{} in {}: {} target{} ({}), {} steps run, {} cached{}", t.success ? c.green : c.red,
      t.success ? "Build succeeded" : "Build failed", c.reset, seconds(t.wall),
      t.targets + t.targets_failed, t.targets + t.targets_failed == 1 ? "" : "s", counts,
      t.steps_run, t.steps_cached,
      t.saved.count() > 0 ? fmt::format(" (the cache saved {})", seconds(t.saved)) : ""));
  size_t width = 0;
  for (const auto& o : t.outputs) width = std::max(width, o.target.size());
  for (const auto& o : t.outputs)
    out.push_back("  " + pad(output_kind_name(o.kind), 8, false) + "  " +
                  pad(o.target, width, false) + "  " + o.what);
  for (const auto& n : t.notes) out.push_back(fmt::format("  note: {}", n));
  return out;
}

std::vector<std::string> failure_lines(const StepInfo& s, const StepFailure& f, const Colours& c) {
  std::vector<std::string> out;
  std::string where = s.line ? fmt::format("{}:{}", s.file, s.line) : s.where;
  out.push_back(fmt::format("{}failed{} at {}: {}", c.red, c.reset, where, s.text));
  out.push_back(fmt::format("  {}", f.message));
  if (!f.hint.empty()) out.push_back(fmt::format("  {}hint:{} {}", c.cyan, c.reset, f.hint));
  return out;
}

namespace {

bool continuation(unsigned char ch) {
  return (ch & 0xC0) == 0x80;
}

// Length of the escape sequence at text[i] ("\033[...m"), or 0.
size_t escape_length(std::string_view text, size_t i) {
  if (text[i] != '\033' || i + 1 >= text.size() || text[i + 1] != '[') return 0;
  size_t j = i + 2;
  while (j < text.size() && !(text[j] >= 0x40 && text[j] <= 0x7e)) ++j;
  return j < text.size() ? j - i + 1 : text.size() - i;
}

} // namespace

size_t display_width(std::string_view text) {
  size_t n = 0;
  for (size_t i = 0; i < text.size();) {
    if (size_t e = escape_length(text, i)) {
      i += e;
      continue;
    }
    if (!continuation(static_cast<unsigned char>(text[i]))) ++n;
    ++i;
  }
  return n;
}

std::string fit(std::string_view text, size_t columns) {
  std::string out;
  size_t n = 0;
  bool cut = false;
  for (size_t i = 0; i < text.size();) {
    if (size_t e = escape_length(text, i)) { // kept: a cut line still resets its colour
      out.append(text.substr(i, e));
      i += e;
      continue;
    }
    if (!continuation(static_cast<unsigned char>(text[i])) && !cut) {
      if (n == columns)
        cut = true;
      else
        ++n;
    }
    if (!cut) out += text[i];
    ++i;
  }
  return out;
}

std::string printable(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (size_t i = 0; i < line.size(); ++i) {
    char ch = line[i];
    if (size_t e = escape_length(line, i)) { // the command's colours and cursor moves
      i += e - 1;
    } else if (ch == '\t') {
      out.append(8 - display_width(out) % 8, ' ');
    } else if (ch == '\r') {
      if (i + 1 < line.size()) out.clear(); // a progress bar redraws: keep its last state
    } else if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
      continue;
    } else {
      out += ch;
    }
  }
  return out;
}

} // namespace earth::output
