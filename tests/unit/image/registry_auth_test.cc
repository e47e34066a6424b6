// The bearer-token dance and index handling, against an in-process fake.
#include <gtest/gtest.h>

#include "earth/base/fs.h"
#include "earth/image/registry.h"
#include "fake_registry.h"
#include "test_image.h"

namespace fs = earth::fs;
using namespace earth::image;

TEST(RegistryAuth, BearerTokenAndPlatformIndex) {
  REQUIRE_BUSYBOX();
  std::string layout = busybox_fixture().layout();
  std::string manifest_hex = busybox_fixture().manifest.substr(7);
  auto manifest_text = fs::read_file(layout + "/blobs/sha256/" + manifest_hex).value();
  Index index{media::oci_index, {}, {}};
  index.manifests.push_back(
      {media::oci_manifest, earth::Digest::of("arm"), 10, Platform{"linux", "arm64", "v8"}, {}});
  index.manifests.push_back({media::oci_manifest,
                             *earth::Digest::parse(manifest_hex),
                             static_cast<int64_t>(manifest_text.size()),
                             Platform{},
                             {}});
  std::string index_text = to_json(index);

  std::mutex mu;
  int token_requests = 0, unauthorized = 0;
  std::string token_query, seen_basic;
  std::string realm_host;
  FakeRegistry reg([&](const std::string& path, const std::map<std::string, std::string>& h) {
    std::lock_guard lock(mu);
    if (path.starts_with("/token?")) {
      ++token_requests;
      token_query = path;
      if (h.count("authorization")) seen_basic = h.at("authorization");
      return FakeResponse{200, R"({"token":"t0k3n"})", {}};
    }
    auto auth = h.find("authorization");
    if (auth == h.end() || auth->second != "Bearer t0k3n") {
      ++unauthorized;
      return FakeResponse{401,
                          "{}",
                          {{"WWW-Authenticate",
                            "Bearer realm=\"http://" + realm_host +
                                "/token\",service=\"fake\",scope=\"repository:team/app:pull\""}}};
    }
    if (path == "/v2/team/app/manifests/v1")
      return FakeResponse{200, index_text, {{"Content-Type", media::oci_index}}};
    if (path == "/v2/team/app/manifests/" + busybox_fixture().manifest)
      return FakeResponse{200, manifest_text, {{"Content-Type", media::oci_manifest}}};
    if (path.starts_with("/v2/team/app/blobs/sha256:")) {
      auto blob = fs::read_file(layout + "/blobs/sha256/" + path.substr(26));
      if (blob) return FakeResponse{200, *blob, {}};
    }
    return FakeResponse{404, "{}", {}};
  });
  realm_host = reg.host();

  fs::TempDir cache("/tmp", "earth-auth-test-");
  auto blobs = earth::store::BlobStore::open(cache.path()).value();
  RegistryClient client(RegistryConfig{}, [](std::string_view host) {
    return std::optional<Credentials>(Credentials{"u", "p"});
  });
  auto ref = Reference::parse(reg.host() + "/team/app:v1").value();
  auto digest = client.pull(ref, blobs);
  ASSERT_TRUE(digest.ok()) << digest.error();
  EXPECT_EQ(digest->oci(), busybox_fixture().manifest); // the amd64 entry of the index
  EXPECT_EQ(token_requests, 1);                         // the token is reused
  EXPECT_EQ(unauthorized, 1);
  EXPECT_NE(token_query.find("scope=repository%3Ateam%2Fapp%3Apull"), std::string::npos)
      << token_query;
  EXPECT_NE(token_query.find("service=fake"), std::string::npos) << token_query;
  EXPECT_EQ(seen_basic, "Basic dTpw"); // u:p
  EXPECT_TRUE(blobs.has(*earth::Digest::parse(busybox_fixture().manifest)));
}

// registries.HOST.username/password of earth's config file are the
// credentials for HOST, ahead of docker's config.json.
TEST(RegistryAuth, CredentialsFromTheConfigFile) {
  std::mutex mu;
  std::string seen_basic, realm_host;
  FakeRegistry reg([&](const std::string& path, const std::map<std::string, std::string>& h) {
    std::lock_guard lock(mu);
    if (path.starts_with("/token?")) {
      if (h.count("authorization")) seen_basic = h.at("authorization");
      return FakeResponse{200, R"({"token":"t0k3n"})", {}};
    }
    return FakeResponse{401,
                        "{}",
                        {{"WWW-Authenticate",
                          "Bearer realm=\"http://" + realm_host + "/token\",service=\"fake\""}}};
  });
  realm_host = reg.host();
  fs::TempDir tmp("/tmp", "earth-auth-config-");
  std::string path = tmp.path() + "/config.yml";
  ASSERT_TRUE(fs::write_file_atomic(path, "registries:\n  \"" + reg.host() +
                                              "\":\n    username: cfg\n    password: pw\n")
                  .ok());
  auto config = load_registry_config(path);
  ASSERT_TRUE(config.ok()) << config.error();
  RegistryClient client(*config);
  auto ref = Reference::parse(reg.host() + "/team/app:v1").value();
  EXPECT_FALSE(client.get_manifest(ref, "v1").ok());
  EXPECT_EQ(seen_basic, "Basic Y2ZnOnB3"); // cfg:pw
}

TEST(RegistryAuth, ManifestDigestMustMatchTheReference) {
  FakeRegistry reg([](const std::string& path, const std::map<std::string, std::string>&) {
    return FakeResponse{200, R"({"schemaVersion":2})", {{"Content-Type", media::oci_manifest}}};
  });
  RegistryClient client(RegistryConfig{}, [](std::string_view) { return std::nullopt; });
  auto ref = Reference::parse(reg.host() + "/x").value();
  auto r = client.get_manifest(ref, earth::Digest::of("something else").oci());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("digest"), std::string::npos) << r.error();
}
