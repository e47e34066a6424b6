// Length-prefixed tokens ("5:hello") after a magic line: the on-disk
// encoding of target records and request journals (docs/formats.md). Each
// token is a decimal byte count, a colon and that many bytes, so a value
// may hold any byte; a reader parses in one pass without copying.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace earth {

class TokenWriter {
public:
  // `magic`: the first line, without its newline.
  explicit TokenWriter(std::string_view magic);
  TokenWriter& put(std::string_view v);
  // One token whose bytes are `parts`, one after another (no joined copy).
  TokenWriter& put(std::initializer_list<std::string_view> parts);
  TokenWriter& num(int64_t v);
  TokenWriter& list(const std::vector<std::string>& vs);
  // A token's head alone ("5:"): its `size` bytes are the caller's to
  // write next (a token too large to copy, written from where it lies).
  TokenWriter& head(size_t size);
  // Tokens encoded already (a copy of another writer's output), verbatim.
  TokenWriter& raw(std::string_view tokens) {
    out_ += tokens;
    return *this;
  }
  // Room for `bytes` more: one buffer for a large output.
  TokenWriter& reserve(size_t bytes) {
    out_.reserve(out_.size() + bytes);
    return *this;
  }
  // The bytes so far; the writer goes on empty (no magic line again).
  std::string take() { return std::exchange(out_, {}); }

private:
  std::string out_;
};

// A malformed, truncated or foreign input throws TokenError: callers treat
// it as "no such record".
class TokenError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class TokenReader {
public:
  // Throws TokenError unless `in` starts with the line `magic`.
  TokenReader(std::string_view in, std::string_view magic);
  // Tokens with no magic line before them (a run cut out of a longer input).
  static TokenReader bare(std::string_view in);
  std::string_view get();
  std::string str() { return std::string(get()); }
  int64_t num();
  // A count of items that follow, at most `max`.
  size_t count(size_t max = size_t(1) << 24);
  std::vector<std::string> list();
  bool done() const { return pos_ == in_.size(); }
  size_t pos() const { return pos_; } // the offset of the next token

private:
  explicit TokenReader(std::string_view in) : in_(in) {}
  std::string_view in_;
  size_t pos_ = 0;
};

} // namespace earth
