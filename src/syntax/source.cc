#include "earth/syntax/source.h"

#include <algorithm>

namespace earth::syntax {

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') {
      line_starts_.push_back(i + 1);
    } else if (text_[i] == '\r' && (i + 1 >= text_.size() || text_[i + 1] != '\n')) {
      line_starts_.push_back(i + 1); // a lone CR ends a line too
    }
  }
}

std::string_view SourceFile::line(uint32_t line) const {
  if (line == 0 || line > line_starts_.size()) return {};
  size_t begin = line_starts_[line - 1];
  size_t end = line < line_starts_.size() ? line_starts_[line] : text_.size();
  std::string_view s(text_.data() + begin, end - begin);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Position SourceFile::position(size_t offset) const {
  // The parser asks for positions in nearly increasing order: try the line
  // of the previous answer and the next few before a binary search.
  size_t line = 0;
  for (size_t l = last_line_; l < line_starts_.size() && l < last_line_ + 4; ++l) {
    if (line_starts_[l] <= offset &&
        (l + 1 == line_starts_.size() || offset < line_starts_[l + 1])) {
      line = l + 1;
      break;
    }
  }
  if (line == 0) {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    line = static_cast<size_t>(it - line_starts_.begin());
  }
  last_line_ = line - 1;
  return {static_cast<uint32_t>(line), static_cast<uint32_t>(offset - line_starts_[line - 1] + 1)};
}

} // namespace earth::syntax
