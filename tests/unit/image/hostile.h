// Builders for the hostile-input tests: OCI layouts with chosen (bad) layers
// and descriptors, and a raw TCP server whose handler writes whatever bytes
// it likes (trickles, giant headers, redirects elsewhere).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "earth/base/digest.h"
#include "earth/base/fs.h"
#include "earth/image/image_store.h"
#include "earth/image/layer.h"
#include "earth/image/manifest.h"

struct LayoutSpec {
  std::vector<std::string> layers; // layer blob files, bottom first
  std::string name;                // io.containerd.image.name; empty: none
  // Runs before the config and manifest are written.
  std::function<void(earth::image::Manifest&, earth::image::ImageConfig&)> tweak;
  // Runs on the index entry before index.json is written.
  std::function<void(earth::image::Descriptor&)> tweak_entry;
};

struct BuiltLayout {
  std::string dir;
  earth::Digest manifest;
  earth::Digest config;
  std::vector<earth::Digest> layers;
};

inline std::string put_layout_blob(const std::string& dir, const std::string& data) {
  auto d = earth::Digest::of(data);
  (void)earth::fs::write_file_atomic(dir + "/blobs/sha256/" + d.hex(), data);
  return d.oci();
}

// Writes an OCI layout dir at `dir`; layer diff_ids are computed (a layer
// that cannot be decompressed gets the digest of nothing).
inline BuiltLayout write_layout(const std::string& dir, const LayoutSpec& spec) {
  using namespace earth::image;
  (void)earth::fs::make_dirs(dir + "/blobs/sha256");
  BuiltLayout out{dir, {}, {}, {}};
  Manifest m{media::oci_manifest, {}, {}, {}};
  ImageConfig c{host_platform(), {}, {}, nlohmann::json::object()};
  for (const auto& file : spec.layers) {
    auto data = earth::fs::read_file(file).value();
    auto d = *earth::Digest::parse(put_layout_blob(dir, data));
    auto diff = read_uncompressed(file);
    m.layers.push_back(
        {media::oci_layer_gzip, d, static_cast<int64_t>(data.size()), std::nullopt, {}});
    c.diff_ids.push_back(diff ? *diff : earth::Digest::of(""));
    out.layers.push_back(d);
  }
  if (spec.tweak) spec.tweak(m, c);
  std::string config = to_json(c);
  out.config = *earth::Digest::parse(put_layout_blob(dir, config));
  m.config = {media::oci_config, out.config, static_cast<int64_t>(config.size()), std::nullopt, {}};
  std::string manifest = to_json(m);
  out.manifest = *earth::Digest::parse(put_layout_blob(dir, manifest));
  Descriptor entry{
      media::oci_manifest, out.manifest, static_cast<int64_t>(manifest.size()), std::nullopt, {}};
  if (!spec.name.empty()) entry.annotations["io.containerd.image.name"] = spec.name;
  if (spec.tweak_entry) spec.tweak_entry(entry);
  Index idx{media::oci_index, {entry}, {}};
  (void)earth::fs::write_file_atomic(dir + "/index.json", to_json(idx));
  (void)earth::fs::write_file_atomic(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  return out;
}

// A TCP server on 127.0.0.1; each connection runs `handler(fd, request head)`
// on its own thread. Handlers should stop when stopping() turns true.
class RawServer {
public:
  using Handler = std::function<void(int fd, const std::string& head)>;
  explicit RawServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 16);
    accept_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::lock_guard lock(mu_);
        if (stop_) {
          ::close(c);
          return;
        }
        conns_.emplace_back([this, c] {
          std::string head;
          char buf[4096];
          while (head.find("\r\n\r\n") == std::string::npos) {
            ssize_t n = ::read(c, buf, sizeof buf);
            if (n <= 0) break;
            head.append(buf, static_cast<size_t>(n));
          }
          if (!head.empty()) handler_(c, head);
          ::close(c);
        });
      }
    });
  }
  ~RawServer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    accept_.join();
    for (auto& t : conns_) t.join();
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  bool stopping() const { return stop_; }
  // The request path of a request head: "GET /v2/x HTTP/1.1" -> "/v2/x".
  static std::string path(const std::string& head) {
    auto sp = head.find(' ');
    return head.substr(sp + 1, head.find(' ', sp + 1) - sp - 1);
  }
  static bool send_all(int fd, const std::string& data) {
    for (size_t done = 0; done < data.size();) {
      ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

private:
  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::thread accept_;
  std::vector<std::thread> conns_;
};

// What every hostile test ends with: the store still lists, imports and
// resolves (offline) the busybox fixture.
inline void expect_store_usable(earth::image::ImageStore& store, const std::string& archive) {
  auto listed = store.list();
  ASSERT_TRUE(listed.ok()) << listed.error();
  auto imported = store.import(archive);
  ASSERT_TRUE(imported.ok()) << imported.error();
  earth::image::ResolveOptions offline;
  offline.pull_if_missing = false;
  auto rec = store.resolve("busybox", offline);
  ASSERT_TRUE(rec.ok()) << rec.error();
  EXPECT_TRUE(earth::fs::exists(rec->layer_dirs.at(0) + "/bin/busybox"));
}
