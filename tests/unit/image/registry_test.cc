// Pulls from a real docker-registry on 127.0.0.1, seeded by skopeo.
#include "earth/image/registry.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "earth/base/fs.h"
#include "earth/image/image_store.h"
#include "test_image.h"
#include "test_registry.h"

namespace fs = earth::fs;
using namespace earth::image;

namespace {

class RegistryTest : public ::testing::Test {
protected:
  fs::TempDir tmp{"/tmp", "earth-registry-test-"};
  std::string cache = tmp.path() + "/cache";

  void SetUp() override {
    REQUIRE_BUSYBOX();
    for (const char* tool : {"docker-registry", "skopeo"})
      if (!have_program(tool)) GTEST_SKIP() << tool << " is not installed";
    ::setenv("EARTH_CONFIG", (tmp.path() + "/earth.yml").c_str(), 1);
    ::setenv("DOCKER_CONFIG", (tmp.path() + "/docker").c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("EARTH_CONFIG");
    ::unsetenv("DOCKER_CONFIG");
  }
  std::unique_ptr<ImageStore> open_store() { return ImageStore::open(cache).value(); }
  void write_docker_auth(const std::string& host, const std::string& user_pass_b64) {
    ASSERT_TRUE(fs::make_dirs(tmp.path() + "/docker").ok());
    ASSERT_TRUE(fs::write_file_atomic(tmp.path() + "/docker/config.json",
                                      R"({"auths":{")" + host + R"(":{"auth":")" + user_pass_b64 +
                                          R"("}}})")
                    .ok());
  }
};

} // namespace

TEST_F(RegistryTest, PullsOverPlainHttpAndVerifies) {
  TestRegistry reg(tmp.path() + "/reg");
  if (!reg.error().empty()) GTEST_FAIL() << reg.error();
  ASSERT_EQ(reg.push(busybox_fixture().archive(), "busybox:latest"), "");
  auto store = open_store();
  std::string ref = reg.host() + "/busybox:latest";
  auto digest = store->pull(ref);
  ASSERT_TRUE(digest.ok()) << digest.error();
  EXPECT_EQ(digest->oci(), busybox_fixture().manifest);
  ResolveOptions offline;
  offline.pull_if_missing = false;
  auto rec = store->resolve(ref, offline);
  ASSERT_TRUE(rec.ok()) << rec.error();
  EXPECT_TRUE(fs::exists(rec->layer_dirs[0] + "/bin/busybox"));
  // By digest, and a missing tag names the registry's answer.
  EXPECT_TRUE(store->pull(reg.host() + "/busybox@" + busybox_fixture().manifest).ok());
  auto missing = store->pull(reg.host() + "/busybox:nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("MANIFEST_UNKNOWN"), std::string::npos) << missing.error();
}

TEST_F(RegistryTest, ResolvePullsWhenMissing) {
  TestRegistry reg(tmp.path() + "/reg");
  if (!reg.error().empty()) GTEST_FAIL() << reg.error();
  ASSERT_EQ(reg.push(busybox_fixture().archive(), "tools/box:1"), "");
  auto rec = open_store()->resolve(reg.host() + "/tools/box:1");
  ASSERT_TRUE(rec.ok()) << rec.error();
  EXPECT_EQ(rec->manifest_digest.oci(), busybox_fixture().manifest);
  EXPECT_EQ(rec->config.cmd, std::vector<std::string>{"sh"});
}

TEST_F(RegistryTest, RefusesABlobThatDoesNotMatchItsDigest) {
  TestRegistry reg(tmp.path() + "/reg");
  if (!reg.error().empty()) GTEST_FAIL() << reg.error();
  ASSERT_EQ(reg.push(busybox_fixture().archive(), "busybox:latest"), "");
  // Flip the stored layer's bytes behind the registry's back.
  auto m = parse_manifest(fs::read_file(busybox_fixture().layout() + "/blobs/sha256/" +
                                        busybox_fixture().manifest.substr(7))
                              .value())
               .value();
  std::string hex = m.layers[0].digest.hex();
  std::string data =
      reg.data_dir() + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
  auto bytes = fs::read_file(data).value();
  bytes[bytes.size() / 2] ^= 0x55;
  ASSERT_TRUE(fs::write_file_atomic(data, bytes).ok());
  auto store = open_store();
  auto r = store->pull(reg.host() + "/busybox:latest");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("digest mismatch"), std::string::npos) << r.error();
  EXPECT_FALSE(fs::exists(cache + "/blobs/sha256/" + hex));
  EXPECT_FALSE(store->resolve(reg.host() + "/busybox:latest", ResolveOptions{false, false}).ok());
  // Only this process's (empty) temp dir and its lock remain.
  auto leftovers =
      earth::run_process({"sh", "-c", "find " + cache + "/tmp -mindepth 2 | wc -l"}).value();
  EXPECT_EQ(leftovers.out, "0\n");
}

TEST_F(RegistryTest, BasicAuthUsesDockerConfigCredentials) {
  TestRegistry reg(tmp.path() + "/reg", "earth", "s3cret");
  if (!reg.error().empty()) GTEST_FAIL() << reg.error();
  ASSERT_EQ(reg.push(busybox_fixture().archive(), "private/box:1", "earth:s3cret"), "");
  std::string ref = reg.host() + "/private/box:1";
  auto anonymous = open_store()->pull(ref);
  ASSERT_FALSE(anonymous.ok());
  EXPECT_NE(anonymous.error().find("credentials"), std::string::npos) << anonymous.error();
  write_docker_auth(reg.host(), "ZWFydGg6d3Jvbmc="); // earth:wrong
  auto wrong = open_store()->pull(ref);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("401"), std::string::npos) << wrong.error();
  write_docker_auth("http://" + reg.host(), "ZWFydGg6czNjcmV0"); // earth:s3cret
  auto ok = open_store()->pull(ref);
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(ok->oci(), busybox_fixture().manifest);
}

TEST_F(RegistryTest, DockerHubNamesGoThroughAConfiguredMirror) {
  TestRegistry reg(tmp.path() + "/reg");
  if (!reg.error().empty()) GTEST_FAIL() << reg.error();
  ASSERT_EQ(reg.push(busybox_fixture().archive(), "library/busybox:1.36"), "");
  ASSERT_TRUE(fs::write_file_atomic(tmp.path() + "/earth.yml",
                                    "registries:\n  docker.io:\n    mirrors: [\"" + reg.host() +
                                        "\"]\npull:\n  parallel: 2\n")
                  .ok());
  auto store = open_store();
  auto digest = store->pull("busybox:1.36");
  ASSERT_TRUE(digest.ok()) << digest.error();
  EXPECT_EQ(digest->oci(), busybox_fixture().manifest);
  auto names = store->list().value();
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].name, "docker.io/library/busybox:1.36");
}

TEST_F(RegistryTest, PushesWithBasicAuthAndPullsBack) {
  TestRegistry reg(tmp.path() + "/reg", "earth", "s3cret");
  if (!reg.error().empty()) GTEST_FAIL() << reg.error();
  write_docker_auth(reg.host(), "ZWFydGg6czNjcmV0"); // earth:s3cret
  auto store = open_store();
  ASSERT_TRUE(store->import(busybox_fixture().archive()).ok());
  // A committed image: the base's gzip layer plus a new zstd layer.
  auto base = store->resolve("busybox").value();
  std::string upper = tmp.path() + "/upper";
  ASSERT_TRUE(fs::make_dirs(upper).ok());
  ASSERT_TRUE(fs::write_file_atomic(upper + "/pushed.txt", "over the wire\n").ok());
  ASSERT_TRUE(store->commit(base, {upper}, base.config, {"earth-test/pushed:1"}).ok());
  std::string dest = reg.host() + "/team/pushed:1";
  auto digest = store->push("earth-test/pushed:1", dest);
  ASSERT_TRUE(digest.ok()) << digest.error();
  auto inspect = earth::run_process({"skopeo", "inspect", "--tls-verify=false",
                                     "--creds=earth:s3cret", "docker://" + dest})
                     .value();
  ASSERT_EQ(inspect.exit_status, 0) << inspect.err;
  EXPECT_NE(inspect.out.find(digest->oci()), std::string::npos) << inspect.out;
  // Pushing again uploads nothing new and still succeeds.
  EXPECT_TRUE(store->push("earth-test/pushed:1", dest).ok());
  fs::TempDir fresh("/tmp", "earth-push-back-");
  auto other = ImageStore::open(fresh.path()).value();
  auto rec = other->resolve(dest);
  ASSERT_TRUE(rec.ok()) << rec.error();
  EXPECT_EQ(rec->manifest_digest, *digest);
  EXPECT_EQ(fs::read_file(rec->layer_dirs[1] + "/pushed.txt").value(), "over the wire\n");
  write_docker_auth(reg.host(), "ZWFydGg6d3Jvbmc="); // earth:wrong
  EXPECT_FALSE(open_store()->push("busybox", reg.host() + "/team/denied:1").ok());
}

TEST(RegistryConfig, ReadsKeysAndRejectsUnknownOnes) {
  fs::TempDir tmp("/tmp", "earth-regconf-");
  std::string path = tmp.path() + "/config.yml";
  EXPECT_TRUE(load_registry_config(path + ".missing").ok());
  ASSERT_TRUE(fs::write_file_atomic(path, "registries:\n"
                                          "  index.docker.io:\n"
                                          "    mirrors: [mirror.gcr.io, \"http://10.0.0.1:5000\"]\n"
                                          "  my.corp:5000:\n"
                                          "    insecure: true\n"
                                          "    tls_verify: false\n"
                                          "pull:\n  parallel: 5\n")
                  .ok());
  auto c = load_registry_config(path);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->hosts["docker.io"].mirrors.size(), 2u);
  EXPECT_TRUE(c->hosts["my.corp:5000"].insecure);
  EXPECT_FALSE(c->hosts["my.corp:5000"].tls_verify);
  EXPECT_EQ(c->parallel_downloads, 5);
  ASSERT_TRUE(fs::write_file_atomic(path, "registries:\n  x:\n    mirorrs: []\n").ok());
  auto bad = load_registry_config(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("mirorrs"), std::string::npos) << bad.error();
  ASSERT_TRUE(fs::write_file_atomic(path, "registries: [unclosed\n").ok());
  EXPECT_FALSE(load_registry_config(path).ok());
}

TEST(RegistryConfig, DockerCredentials) {
  fs::TempDir tmp("/tmp", "earth-dockercfg-");
  std::string path = tmp.path() + "/config.json";
  ASSERT_TRUE(fs::write_file_atomic(path, R"({"auths":{
      "https://index.docker.io/v1/":{"auth":"aHViOnB3"},
      "ghcr.io":{"auth":"Z2g6dG9rZW46d2l0aDpjb2xvbnM="}}})")
                  .ok());
  auto hub = docker_credentials("docker.io", path);
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->username, "hub");
  EXPECT_EQ(hub->password, "pw");
  auto gh = docker_credentials("ghcr.io", path);
  ASSERT_TRUE(gh);
  EXPECT_EQ(gh->username, "gh");
  EXPECT_EQ(gh->password, "token:with:colons");
  EXPECT_FALSE(docker_credentials("quay.io", path));
  EXPECT_FALSE(docker_credentials("docker.io", tmp.path() + "/missing.json"));
}
