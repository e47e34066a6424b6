#include "earth/base/digest.h"

#include <endian.h>

#include <fcntl.h>
// SHA256_Init and friends are deprecated in OpenSSL 3 in favour of EVP, but
// EVP's first fetch initialises the provider machinery and reads
// openssl.cnf: ~1.3 ms of CPU per process, most of a no-op build's start-up
// (issue 9, bench/startup). The low-level calls run the same assembly
// (SHA-NI or AVX2, chosen by OpenSSL's CPU probe at start-up) with no set-up.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace earth {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

} // namespace

std::optional<Digest> Digest::parse(std::string_view text) {
  if (text.starts_with("sha256:")) text.remove_prefix(7);
  if (text.size() != 2 * size) return std::nullopt;
  std::array<uint8_t, size> bytes{};
  for (size_t i = 0; i < size; ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return Digest(bytes);
}

Digest Digest::of(std::string_view data) {
  Sha256 sha;
  sha.update(data);
  return sha.finish();
}

std::string Digest::hex() const {
  static const char digits[] = "0123456789abcdef";
  std::string out(2 * size, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[bytes_[i] >> 4];
    out[2 * i + 1] = digits[bytes_[i] & 15];
  }
  return out;
}

bool Digest::is_zero() const {
  for (auto b : bytes_)
    if (b) return false;
  return true;
}

Sha256::Sha256() : ctx_(new SHA256_CTX) {
  if (!SHA256_Init(static_cast<SHA256_CTX*>(ctx_))) {
    delete static_cast<SHA256_CTX*>(ctx_);
    throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
  }
}

Sha256::~Sha256() {
  delete static_cast<SHA256_CTX*>(ctx_);
}

void Sha256::update(const void* data, size_t len) {
  SHA256_Update(static_cast<SHA256_CTX*>(ctx_), data, len);
}

Digest Sha256::finish() {
  std::array<uint8_t, Digest::size> out{};
  SHA256_Final(out.data(), static_cast<SHA256_CTX*>(ctx_));
  return Digest(out);
}

Hasher::Hasher(std::string_view domain, DebugSink debug) : debug_(std::move(debug)) {
  field("earth-hash-domain", 's', domain);
}

void Hasher::field(std::string_view tag, char type, std::string_view bytes) {
  // tag length, tag, type byte, value length, value: unambiguous framing.
  uint64_t lens[2] = {htole64(tag.size()), htole64(bytes.size())}; // fixed-width little-endian
  // One update per field when it is small (each update call has a fixed
  // cost; the no-op path hashes tens of thousands of fields). The
  // bytes hashed are the same either way.
  char buf[256];
  size_t n = 8 + tag.size() + 1 + 8 + bytes.size();
  if (n <= sizeof buf) {
    char* p = buf;
    std::memcpy(p, &lens[0], 8), p += 8;
    std::memcpy(p, tag.data(), tag.size()), p += tag.size();
    *p++ = type;
    std::memcpy(p, &lens[1], 8), p += 8;
    std::memcpy(p, bytes.data(), bytes.size());
    sha_.update(buf, n);
    return;
  }
  sha_.update(&lens[0], sizeof lens[0]);
  sha_.update(tag);
  sha_.update(&type, 1);
  sha_.update(&lens[1], sizeof lens[1]);
  sha_.update(bytes);
}

Hasher& Hasher::add(std::string_view tag, std::string_view value) {
  field(tag, 's', value);
  if (debug_) debug_(tag, value);
  return *this;
}

Hasher& Hasher::add(std::string_view tag, int64_t value) {
  // Little-endian on every host, so keys are the same on every machine.
  uint64_t le = htole64(static_cast<uint64_t>(value));
  field(tag, 'i', std::string_view(reinterpret_cast<const char*>(&le), sizeof le));
  if (debug_) debug_(tag, std::to_string(value));
  return *this;
}

Hasher& Hasher::add(std::string_view tag, const Digest& value) {
  field(tag, 'd',
        std::string_view(reinterpret_cast<const char*>(value.bytes().data()), Digest::size));
  if (debug_) debug_(tag, value.oci());
  return *this;
}

Digest Hasher::finish() {
  return sha_.finish();
}

std::optional<Digest> digest_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  Sha256 sha;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    sha.update(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return sha.finish();
}

} // namespace earth
