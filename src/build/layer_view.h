// A read-only view of a stack of layer directories with overlayfs's rules
// (whiteouts as char 0/0 devices, opaque dirs by xattr), read without
// mounting anything: how the builder looks into a target's filesystem for
// SAVE ARTIFACT, COPY destinations and artifact trees, with no sandbox.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earth/base/error.h"

namespace earth::build {

class LayerView {
public:
  // `layers`: host directories, bottom first. A single plain directory (a
  // build context) is a view too.
  explicit LayerView(std::vector<std::string> layers) : layers_(std::move(layers)) {}

  struct Entry {
    std::string host; // the host path of the topmost copy
    struct stat st;
  };
  // The entry at absolute `path` without following symlinks in it; nullopt
  // when absent (or whited out).
  std::optional<Entry> find(std::string_view path) const;
  // The entry after following symlinks (inside the view, never outside it)
  // in every component, the last one only when `follow_last`. Returns the
  // resolved absolute path (which may not exist) and the entry if it does.
  struct Resolved {
    std::string path;
    std::optional<Entry> entry;
  };
  Result<Resolved> resolve(std::string_view path, bool follow_last = true) const;
  // The names in directory `dir` (absolute), sorted, whiteouts removed.
  std::vector<std::string> list(std::string_view dir) const;
  bool empty() const { return layers_.empty(); }

private:
  // Layers (top first) in which `path` is a directory that contributes to
  // the merged directory; for a non-directory, the one layer holding it.
  std::vector<size_t> stack_of(std::string_view path, std::optional<Entry>* entry) const;
  std::vector<std::string> layers_;
};

bool is_whiteout(const struct stat& st);

} // namespace earth::build
