// Hostile registries (raw servers on 127.0.0.1): realms and redirects to
// other protocols or to plain-HTTP hosts, trickling transfers, giant headers,
// pulls that fail half-way, and signals during a pull.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "earth/base/fs.h"
#include "earth/base/subprocess.h"
#include "earth/image/image_store.h"
#include "earth/image/registry.h"
#include "earth/store/blob_store.h"
#include "fake_registry.h"
#include "hostile.h"
#include "test_image.h"

namespace fs = earth::fs;
using namespace earth::image;
using namespace std::chrono_literals;

namespace {

std::string response(int status, const std::string& headers, const std::string& body = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         headers + "\r\n" + body;
}

earth::Result<FetchedManifest> get_app(const std::string& host, RegistryConfig config = {}) {
  RegistryClient client(std::move(config), [](std::string_view) { return std::nullopt; });
  return client.get_manifest(Reference::parse(host + "/team/app:1").value(), "1");
}

} // namespace

// A token realm may not point at a file, another protocol or plain HTTP
// elsewhere; neither may a redirect.
TEST(HostileRegistry, RealmsAndRedirectsOnlyHttpsOrLoopback) {
  for (std::string target :
       {"file:///etc/passwd", "dict://127.0.0.1:11211/stats", "http://example.com/token",
        "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/x"}) {
    SCOPED_TRACE(target);
    RawServer realm([&](int fd, const std::string&) {
      RawServer::send_all(
          fd, response(401, "WWW-Authenticate: Bearer realm=\"" + target + "\",service=\"x\"\r\n"));
    });
    auto r = get_app(realm.host());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("refusing to follow '" + target +
                             "': only https, or http to a loopback host, may be followed"),
              std::string::npos)
        << r.error();
    EXPECT_EQ(r.error().find("root:"), std::string::npos);

    RawServer redirect([&](int fd, const std::string&) {
      RawServer::send_all(fd, response(302, "Location: " + target + "\r\n"));
    });
    r = get_app(redirect.host());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("refusing to follow '" + target + "'"), std::string::npos)
        << r.error();
  }
}

// Redirects to a loopback host are followed, without the credentials when
// the host changes.
TEST(HostileRegistry, LoopbackRedirectIsFollowed) {
  std::string seen_auth = "unset";
  FakeRegistry target([&](const std::string&, const std::map<std::string, std::string>& h) {
    seen_auth = h.count("authorization") ? h.at("authorization") : "";
    return FakeResponse{200,
                        R"({"schemaVersion":2,"config":{},"layers":[]})",
                        {{"Content-Type", media::oci_manifest}}};
  });
  RawServer redirect([&](int fd, const std::string&) {
    RawServer::send_all(fd, response(307, "Location: http://" + target.host() + "/m\r\n"));
  });
  auto r = get_app(redirect.host());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(seen_auth, "");
}

// A transfer that trickles forever hits the overall deadline.
TEST(HostileRegistry, TricklingTransferHitsTheDeadline) {
  RawServer trickle([](int fd, const std::string&) {
    std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n"
                       "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n\r\n";
    if (!RawServer::send_all(fd, head)) return;
    for (int i = 0; i < 100; ++i) { // one byte every 100 ms: never "stalled"
      if (!RawServer::send_all(fd, "{")) return;
      std::this_thread::sleep_for(100ms);
    }
  });
  RegistryConfig config;
  config.transfer_timeout = 2s;
  auto start = std::chrono::steady_clock::now();
  auto r = get_app(trickle.host(), config);
  ASSERT_FALSE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
  EXPECT_NE(r.error().find("the transfer did not finish in time"), std::string::npos) << r.error();
}

// A 200 KB response header is a clear error, not "Out of memory".
TEST(HostileRegistry, HugeHeaderIsAClearError) {
  for (size_t line : {size_t(200) << 10, size_t(1) << 10}) {
    RawServer huge([&](int fd, const std::string&) {
      std::string headers;
      if (line > 100000)
        headers = "X-Big: " + std::string(line, 'a') + "\r\n";
      else // many ordinary headers adding up
        for (int i = 0; i < 200; ++i)
          headers += "X-" + std::to_string(i) + ": " + std::string(line, 'a') + "\r\n";
      RawServer::send_all(fd, response(200, headers, "{}"));
    });
    auto r = get_app(huge.host());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().find("Out of memory"), std::string::npos) << r.error();
    EXPECT_TRUE(r.error().find("header is too large") != std::string::npos ||
                r.error().find("headers are larger than 64 KB") != std::string::npos)
        << r.error();
  }
}

// A pull that fails half-way leaves no manifest that would make a by-digest
// reference look local.
TEST(HostileRegistry, FailedPullLeavesNoLocalImage) {
  REQUIRE_BUSYBOX();
  std::string layout = busybox_fixture().layout();
  std::string manifest = busybox_fixture().manifest;
  auto text = fs::read_file(layout + "/blobs/sha256/" + manifest.substr(7)).value();
  auto m = parse_manifest(text).value();
  FakeRegistry reg([&](const std::string& path, const std::map<std::string, std::string>&) {
    if (path.starts_with("/v2/team/app/manifests/"))
      return FakeResponse{200, text, {{"Content-Type", media::oci_manifest}}};
    if (path == "/v2/team/app/blobs/" + m.config.digest.oci())
      return FakeResponse{
          200, fs::read_file(layout + "/blobs/sha256/" + m.config.digest.hex()).value(), {}};
    return FakeResponse{404, "{}", {}}; // every layer
  });
  fs::TempDir cache("/tmp", "earth-hostile-pull-");
  auto store = ImageStore::open(cache.path()).value();
  auto pulled = store->pull(reg.host() + "/team/app:1");
  ASSERT_FALSE(pulled.ok());
  ResolveOptions offline;
  offline.pull_if_missing = false;
  auto d = store->manifest_digest(reg.host() + "/team/app@" + manifest, offline);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().find("is not in the local store"), std::string::npos) << d.error();
  auto blobs = earth::store::BlobStore::open(cache.path()).value();
  EXPECT_FALSE(blobs.has(*earth::Digest::parse(manifest)));
  expect_store_usable(*store, busybox_fixture().archive());
}

namespace {

// Runs `earth image pull` against a server that sends part of a blob and
// then hangs; returns the pid once a temp blob holds some bytes.
pid_t start_hanging_pull(const std::string& cache, const std::string& host) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("EARTH_CACHE_DIR", cache.c_str(), 1);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    std::string earth = std::string(EARTH_BINARY_DIR) + "/earth";
    std::string ref = host + "/team/app:1";
    ::execl(earth.c_str(), "earth", "image", "pull", ref.c_str(), nullptr);
    ::_exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    auto found = earth::run_process(
        {"sh", "-c", "find " + cache + "/tmp -name 'blob-*' -size +0 2>/dev/null"});
    if (found && !found->out.empty()) return pid;
    std::this_thread::sleep_for(50ms);
  }
  return pid;
}

std::string blob_temps(const std::string& cache) {
  return earth::run_process({"sh", "-c", "find " + cache + "/tmp -name 'blob-*'"})->out;
}

} // namespace

// SIGINT/SIGTERM remove what an interrupted pull was writing at once; what a
// SIGKILL leaves is removed when the next store opens.
TEST(HostileRegistry, SignalsDuringPullLeaveNoTemps) {
  if (!fs::exists(std::string(EARTH_BINARY_DIR) + "/earth")) GTEST_SKIP() << "no earth binary";
  std::string config =
      R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
  std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      earth::Digest::of(std::string(1000000, 'x')).oci() + R"(","size":1000000},"layers":[]})";
  RawServer reg([&](int fd, const std::string& head) {
    std::string path = RawServer::path(head);
    if (path.find("/manifests/") != std::string::npos) {
      RawServer::send_all(
          fd,
          response(200, "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n", manifest));
      return;
    }
    if (!RawServer::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" +
                                     std::string(1 << 16, 'x')))
      return;
    for (int i = 0; i < 300 && RawServer::send_all(fd, "x"); ++i) // then hang (30 s at most)
      std::this_thread::sleep_for(100ms);
  });
  for (int sig : {SIGINT, SIGTERM, SIGKILL}) {
    SCOPED_TRACE(sig);
    fs::TempDir cache("/tmp", "earth-hostile-signal-");
    pid_t pid = start_hanging_pull(cache.path(), reg.host());
    ASSERT_NE(blob_temps(cache.path()), "") << "the pull never started writing";
    ::kill(pid, sig);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), sig);
    if (sig == SIGKILL) {
      EXPECT_NE(blob_temps(cache.path()), "");
      ASSERT_TRUE(ImageStore::open(cache.path()).ok()); // the next start cleans up
    }
    EXPECT_EQ(blob_temps(cache.path()), "");
    EXPECT_EQ(earth::run_process({"sh", "-c", "ls " + cache.path() + "/tmp"})->out, "");
  }
}
