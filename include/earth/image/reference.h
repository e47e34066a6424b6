// Image references with Docker's defaults: "busybox" is
// docker.io/library/busybox:latest, served by registry-1.docker.io.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "earth/base/digest.h"
#include "earth/base/error.h"

namespace earth::image {

struct Reference {
  std::string registry;   // "docker.io", "ghcr.io", "localhost:5000"
  std::string repository; // "library/busybox"
  std::string tag;        // "latest" unless a digest alone was given
  std::optional<Digest> digest;

  // Parses "name[:tag][@sha256:hex]" with an optional registry host first.
  static Result<Reference> parse(std::string_view text);

  // The canonical spelling, used as the name in the image index:
  // "docker.io/library/busybox:latest", "host:5000/x@sha256:...".
  std::string str() const;
  // "docker.io/library/busybox" (no tag or digest).
  std::string name() const { return registry + "/" + repository; }
  // What to ask the registry for: the digest when known, else the tag.
  std::string reference() const { return digest ? digest->oci() : tag; }
  // The host serving the registry API: registry-1.docker.io for docker.io.
  std::string api_host() const;
  // A short spelling for humans: "busybox:latest", "ghcr.io/a/b:1".
  std::string familiar() const;
};

// localhost, *.localhost, 127.0.0.0/8 and ::1 registries default to plain HTTP.
bool is_loopback_registry(std::string_view host);

} // namespace earth::image
