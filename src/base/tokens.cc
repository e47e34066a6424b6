// Length-prefixed tokens (include/earth/base/tokens.h).
#include "earth/base/tokens.h"

#include <charconv>
#include <cstdint>

namespace earth {

TokenWriter::TokenWriter(std::string_view magic) : out_(magic) {
  out_ += '\n';
}

TokenWriter& TokenWriter::put(std::string_view v) {
  return put({v});
}

TokenWriter& TokenWriter::put(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (auto p : parts) size += p.size();
  head(size);
  for (auto p : parts) out_ += p;
  return *this;
}

TokenWriter& TokenWriter::head(size_t size) {
  char len[24];
  auto end = std::to_chars(len, len + sizeof len, size).ptr;
  *end++ = ':';
  out_.append(len, end);
  return *this;
}

TokenWriter& TokenWriter::num(int64_t v) {
  char text[24];
  return put(std::string_view(text, std::to_chars(text, text + sizeof text, v).ptr));
}

TokenWriter& TokenWriter::list(const std::vector<std::string>& vs) {
  num(int64_t(vs.size()));
  for (const auto& v : vs) put(v);
  return *this;
}

TokenReader::TokenReader(std::string_view in, std::string_view magic) : in_(in) {
  if (!in_.starts_with(magic) || in_.size() == magic.size() || in_[magic.size()] != '\n')
    throw TokenError("another magic or version");
  pos_ = magic.size() + 1;
}

TokenReader TokenReader::bare(std::string_view in) {
  return TokenReader(in);
}

std::string_view TokenReader::get() {
  size_t colon = in_.find(':', pos_);
  if (colon == std::string_view::npos || colon == pos_ || colon - pos_ > 9)
    throw TokenError("bad token");
  size_t len = 0;
  for (size_t i = pos_; i < colon; ++i) {
    if (in_[i] < '0' || in_[i] > '9') throw TokenError("bad length");
    len = len * 10 + size_t(in_[i] - '0');
  }
  if (in_.size() - colon - 1 < len) throw TokenError("truncated");
  pos_ = colon + 1 + len;
  return in_.substr(colon + 1, len);
}

int64_t TokenReader::num() {
  std::string_view v = get();
  bool neg = !v.empty() && v[0] == '-';
  // Any int64 (a uint64 such as an inode number is stored as its int64 bits).
  if (v.size() == size_t(neg) || v.size() - neg > 19) throw TokenError("bad number");
  uint64_t n = 0;
  for (size_t i = neg; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') throw TokenError("bad number");
    n = n * 10 + uint64_t(v[i] - '0');
  }
  constexpr uint64_t kMax = uint64_t(INT64_MAX);
  if (n > kMax + (neg ? 1 : 0)) throw TokenError("bad number");
  return neg ? int64_t(0 - n) : int64_t(n);
}

size_t TokenReader::count(size_t max) {
  int64_t n = num();
  if (n < 0 || size_t(n) > max) throw TokenError("bad count");
  return size_t(n);
}

std::vector<std::string> TokenReader::list() {
  std::vector<std::string> out(count());
  for (auto& v : out) v = str();
  return out;
}

} // namespace earth
