#include "earth/image/reference.h"

#include <gtest/gtest.h>

using earth::image::Reference;

TEST(Reference, DockerHubDefaults) {
  auto r = Reference::parse("busybox").value();
  EXPECT_EQ(r.registry, "docker.io");
  EXPECT_EQ(r.repository, "library/busybox");
  EXPECT_EQ(r.tag, "latest");
  EXPECT_EQ(r.str(), "docker.io/library/busybox:latest");
  EXPECT_EQ(r.api_host(), "registry-1.docker.io");
  EXPECT_EQ(r.familiar(), "busybox:latest");
  EXPECT_EQ(Reference::parse("user/app:1.2").value().str(), "docker.io/user/app:1.2");
  EXPECT_EQ(Reference::parse("index.docker.io/library/alpine:3").value().str(),
            "docker.io/library/alpine:3");
  EXPECT_EQ(Reference::parse("docker.io/alpine").value().repository, "library/alpine");
}

TEST(Reference, RegistriesPortsAndDigests) {
  auto r = Reference::parse("localhost:5000/x:y").value();
  EXPECT_EQ(r.registry, "localhost:5000");
  EXPECT_EQ(r.repository, "x");
  EXPECT_EQ(r.tag, "y");
  EXPECT_EQ(r.api_host(), "localhost:5000");
  r = Reference::parse("ghcr.io/org/team/app").value();
  EXPECT_EQ(r.registry, "ghcr.io");
  EXPECT_EQ(r.repository, "org/team/app");
  std::string hex(64, 'a');
  r = Reference::parse("127.0.0.1:5000/busybox@sha256:" + hex).value();
  EXPECT_EQ(r.tag, "");
  ASSERT_TRUE(r.digest);
  EXPECT_EQ(r.reference(), "sha256:" + hex);
  EXPECT_EQ(r.str(), "127.0.0.1:5000/busybox@sha256:" + hex);
  r = Reference::parse("alpine:3.19@sha256:" + hex).value();
  EXPECT_EQ(r.tag, "3.19");
  EXPECT_EQ(r.str(), "docker.io/library/alpine:3.19@sha256:" + hex);
  EXPECT_EQ(Reference::parse("localhost/app").value().registry, "localhost");
}

TEST(Reference, RejectsMalformed) {
  for (const char* bad : {"", "Upper/case", "x@sha256:abc", "x@md5:", "x:", "x:-bad", "a//b",
                          "/abs", "x:tag with space"}) {
    auto r = Reference::parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.error().find("invalid image reference"), std::string::npos);
    }
  }
}

// Docker's grammar: path components are [a-z0-9] runs joined by ".", "_",
// "__" or dashes; hosts are DNS labels with an optional port; at most 255
// characters of name.
TEST(Reference, FollowsDockersGrammar) {
  for (const char* good : {"a__b", "a---b", "a.b_c", "my-registry.io:5000/a/b-c:v1.0_x",
                           "[::1]:5000/x", "localhost/a", "A.example.com/x"})
    EXPECT_TRUE(Reference::parse(good).ok()) << good << ": " << Reference::parse(good).error();
  for (const char* bad :
       {"../../etc:x", "../x", "a/../b", "a/./b", "./a", "a_", "-a", "a..b", "a___b", "a._b",
        ".host:5000/x", "host-:1/x", "host:port/x", "host:123456/x", "[zz]:1/x", "ok:bad tag!"}) {
    auto r = Reference::parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.error().find("invalid image reference"), std::string::npos);
    }
  }
  EXPECT_TRUE(Reference::parse(std::string(245, 'a')).ok()); // docker.io/ + 245 = 255
  auto r = Reference::parse(std::string(246, 'a'));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("256 characters long, more than 255"), std::string::npos) << r.error();
}

TEST(Reference, LoopbackRegistries) {
  using earth::image::is_loopback_registry;
  EXPECT_TRUE(is_loopback_registry("localhost"));
  EXPECT_TRUE(is_loopback_registry("localhost:5000"));
  EXPECT_TRUE(is_loopback_registry("127.0.0.1:5000"));
  EXPECT_TRUE(is_loopback_registry("127.1.2.3"));
  EXPECT_TRUE(is_loopback_registry("[::1]:5000"));
  EXPECT_FALSE(is_loopback_registry("127.example.com"));
  EXPECT_FALSE(is_loopback_registry("docker.io"));
  EXPECT_FALSE(is_loopback_registry("10.0.0.1:5000"));
}
