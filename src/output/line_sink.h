// Where a printer's lines go: one fwrite a line (on an unbuffered stream,
// one write(2)), flushed at once; while held (a replay of many events), kept
// and written at once when released. Not thread-safe: the printer's mutex
// guards it.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace earth::output {

class LineSink {
public:
  explicit LineSink(std::FILE* out) : out_(out) {}

  void write(std::string_view line) {
    if (held_) {
      (pending_ += line) += '\n';
      return;
    }
    line_.assign(line);
    line_ += '\n';
    std::fwrite(line_.data(), 1, line_.size(), out_);
    std::fflush(out_);
  }

  void hold(bool held) {
    held_ = held;
    if (held || pending_.empty()) return;
    std::fwrite(pending_.data(), 1, pending_.size(), out_);
    std::fflush(out_);
    pending_.clear();
  }

private:
  std::FILE* out_;
  bool held_ = false;
  std::string line_, pending_;
};

} // namespace earth::output
