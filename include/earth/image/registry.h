// The registry client (OCI distribution protocol over libcurl): resolving a
// tag to a manifest digest and pulling an image's blobs, with anonymous bearer
// tokens, basic auth, ~/.docker/config.json credentials, mirrors and plain-HTTP
// registries from earth's config file (docs/images.md).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "earth/base/digest.h"
#include "earth/base/error.h"
#include "earth/image/manifest.h"
#include "earth/image/reference.h"
#include "earth/store/blob_store.h"

namespace earth::image {

struct RegistryHostConfig {
  // Tried in order before the registry itself: "host[:port]" or a URL
  // "http://host:port" / "https://host".
  std::vector<std::string> mirrors;
  bool insecure = false;  // plain HTTP (loopback registries always are)
  bool tls_verify = true; // false: accept any certificate
  // Credentials from the config file; when empty, ~/.docker/config.json's.
  std::string username, password;
};

struct RegistryConfig {
  std::map<std::string, RegistryHostConfig> hosts; // by registry name, "docker.io"
  int parallel_downloads = 3;
  // The longest one transfer (a blob, a manifest, a token) may take in all,
  // however steadily it trickles ("pull: timeout:" in the config file).
  std::chrono::seconds transfer_timeout = std::chrono::hours(1);
};

// $EARTH_CONFIG, else ~/.earth/config.yml.
std::string default_config_path();
// Reads the "registries" and "pull" keys of earth's YAML config; a missing
// file is the default config.
Result<RegistryConfig> load_registry_config(const std::string& path);

struct Credentials {
  std::string username;
  std::string password;
};
// Finds `registry` in the "auths" of a docker config.json ($DOCKER_CONFIG/
// config.json, else ~/.docker/config.json when `path` is empty).
std::optional<Credentials> docker_credentials(std::string_view registry,
                                              const std::string& path = {});

struct FetchedManifest {
  Digest digest; // SHA-256 of `body`, checked against what was asked for
  std::string media_type;
  std::string body;
};

class RegistryClient {
public:
  using CredentialLookup = std::function<std::optional<Credentials>(std::string_view host)>;
  // `creds` defaults to docker_credentials().
  explicit RegistryClient(RegistryConfig config, CredentialLookup creds = {});
  ~RegistryClient();

  // GETs a manifest or index by tag or digest ("latest", "sha256:...").
  Result<FetchedManifest> get_manifest(const Reference& ref, const std::string& reference);
  // Downloads one blob into `blobs` (verified against `desc`), unless present.
  Result<void> fetch_blob(const Reference& ref, const Descriptor& desc, store::BlobStore& blobs);
  // Fetches the manifest for the host platform, its config and its layers
  // (several at once), and returns the platform manifest's digest.
  Result<Digest> pull(const Reference& ref, store::BlobStore& blobs);

  // Uploads the image whose manifest is `manifest` (with its config and
  // layers, each skipped when the registry has it) and tags it `dest`.
  // Mirrors are never pushed to.
  Result<void> push(const Reference& dest, const Digest& manifest, store::BlobStore& blobs);
  Result<void> push_blob(const Reference& dest, const Descriptor& desc, store::BlobStore& blobs);

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

} // namespace earth::image
