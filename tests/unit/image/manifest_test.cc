#include "earth/image/manifest.h"

#include <gtest/gtest.h>

using namespace earth::image;

namespace {

std::string digest(char c) {
  return "sha256:" + std::string(64, c);
}

} // namespace

TEST(Manifest, ParsesDockerSchema2AndRoundTrips) {
  std::string text =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7023,"digest":")" +
      digest('a') + R"("},
    "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":32654,"digest":")" +
      digest('b') + R"("}]})";
  auto m = parse_manifest(text);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->media_type, media::docker_manifest);
  EXPECT_EQ(m->config.size, 7023);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 32654);
  auto again = parse_manifest(to_json(*m));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->layers[0].digest, m->layers[0].digest);
  EXPECT_EQ(to_json(*again), to_json(*m));
}

TEST(Manifest, RejectsBadDocuments) {
  auto v3 = parse_manifest(R"({"schemaVersion":3,"config":{"digest":")" + digest('a') +
                           R"(","size":1},"layers":[]})");
  ASSERT_FALSE(v3.ok());
  EXPECT_EQ(v3.error(), "unsupported image manifest schemaVersion 3");
  EXPECT_FALSE(parse_manifest("not json").ok());
  EXPECT_FALSE(parse_manifest("[]").ok());
  EXPECT_FALSE(parse_manifest(R"({"config":{"digest":"sha256:zz","size":1},"layers":[]})").ok());
  auto r =
      parse_manifest(R"({"config":{"digest":")" + digest('a') + R"(","size":-1},"layers":[]})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("size"), std::string::npos);
  EXPECT_FALSE(
      parse_manifest(R"({"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})")
          .ok());
}

TEST(Manifest, IndexPicksHostPlatform) {
  std::string text =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
    {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1,"digest":")" +
      digest('1') + R"(","platform":{"architecture":"arm","os":"linux","variant":"v7"}},
    {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1,"digest":")" +
      digest('2') + R"(","platform":{"architecture":"amd64","os":"linux"}},
    {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1,"digest":")" +
      digest('3') + R"(","platform":{"architecture":"amd64","os":"windows"}}]})";
  auto idx = parse_index(text);
  ASSERT_TRUE(idx.ok()) << idx.error();
  EXPECT_TRUE(is_index_media_type(idx->media_type));
  auto d = select_platform(*idx, Platform{"linux", "amd64", ""});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->digest.oci(), digest('2'));
  auto none = select_platform(*idx, Platform{"linux", "s390x", ""});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().find("linux/arm/v7"), std::string::npos) << none.error();
}

TEST(Manifest, ConfigKeepsUnknownFields) {
  std::string text = R"({"architecture":"amd64","os":"linux","author":"me",
    "config":{"Env":["PATH=/bin"],"Cmd":["sh"],"WorkingDir":"/w","User":"1000:1000",
              "ExposedPorts":{"80/tcp":{}},"Labels":{"a":"b"},"Healthcheck":{"Test":["NONE"]}},
    "rootfs":{"type":"layers","diff_ids":[")" +
                     digest('c') + R"("]}})";
  auto c = parse_config(text);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->config.env, std::vector<std::string>{"PATH=/bin"});
  EXPECT_EQ(c->config.working_dir, "/w");
  EXPECT_EQ(c->config.user, "1000:1000");
  EXPECT_EQ(c->config.exposed_ports, std::vector<std::string>{"80/tcp"});
  EXPECT_EQ(c->diff_ids.size(), 1u);
  c->config.cmd = {"echo", "hi"};
  c->config.labels.clear();
  auto again = parse_config(to_json(*c)).value();
  EXPECT_EQ(again.config.cmd, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_TRUE(again.config.labels.empty());
  EXPECT_EQ(again.raw["author"], "me");
  EXPECT_TRUE(again.raw["config"].contains("Healthcheck"));
  EXPECT_FALSE(parse_config(R"({"os":"linux"})").ok()); // no rootfs
}
