// OCI image manifests, indexes and configs, including the Docker v2 schema 2
// media types registries still serve. Parsing never throws: bad JSON is a
// Failure naming what was being read.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "earth/base/digest.h"
#include "earth/base/error.h"

namespace earth::image {

namespace media {
inline constexpr const char* oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* oci_layer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* docker_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* docker_layer = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* docker_foreign_layer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
} // namespace media

bool is_index_media_type(std::string_view media_type);
bool is_manifest_media_type(std::string_view media_type);

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;
};
// The platform earth runs images for: the host's (linux/amd64 on x86-64).
Platform host_platform();

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
};

struct Manifest {
  std::string media_type; // oci_manifest or docker_manifest
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct Index {
  std::string media_type; // oci_index or docker_list
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// The runtime part of an image config (its "config" object).
struct RuntimeConfig {
  std::vector<std::string> env; // "KEY=value", in image order
  std::string working_dir;      // empty means "/"
  std::string user;             // "uid[:gid]" or "name[:group]"; empty means root
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports; // "80/tcp"
  std::vector<std::string> volumes;
  std::string stop_signal;
  std::string healthcheck; // the "Healthcheck" object as JSON text; empty: none
};

struct ImageConfig {
  Platform platform;
  RuntimeConfig config;
  std::vector<Digest> diff_ids;
  nlohmann::json raw; // the whole document, so rewriting keeps unknown fields
};

// Guesses the media type of a manifest-ish JSON document that lacks one
// (OCI layouts may omit it): "manifests" means an index.
std::string sniff_media_type(const nlohmann::json& doc);

Result<Manifest> parse_manifest(std::string_view json);
Result<Index> parse_index(std::string_view json);
Result<ImageConfig> parse_config(std::string_view json);

// Canonical JSON (compact, keys sorted): the bytes whose digest names it.
std::string to_json(const Manifest& m);
std::string to_json(const Index& i);
// `raw` with the typed fields written over it.
std::string to_json(const ImageConfig& c);
nlohmann::json descriptor_json(const Descriptor& d);

// The manifest in `index` for `want`; a Failure lists the platforms offered.
Result<Descriptor> select_platform(const Index& index, const Platform& want = host_platform());

} // namespace earth::image
