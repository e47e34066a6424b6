// Source files and spans. Lines and columns are 1-based; a column counts
// bytes. Every AST node and every diagnostic carries a Span.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace earth::syntax {

struct Position {
  uint32_t line = 0;
  uint32_t column = 0;
  friend bool operator==(const Position&, const Position&) = default;
};

// [begin, end]: `end` is the position of the last character, as Earthly's
// source maps report it.
struct Span {
  Position begin;
  Position end;
  friend bool operator==(const Span&, const Span&) = default;
};

// The text of one Earthfile with an index of its line starts.
class SourceFile {
public:
  SourceFile(std::string path, std::string text);
  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }
  // The text of line `line` (1-based) without its line ending.
  std::string_view line(uint32_t line) const;
  uint32_t line_count() const { return static_cast<uint32_t>(line_starts_.size()); }
  Position position(size_t offset) const;

private:
  std::string path_;
  std::string text_;
  std::vector<size_t> line_starts_;
  mutable size_t last_line_ = 0; // a lookup hint, not state
};

} // namespace earth::syntax
