// The image-name index: canonical image name -> manifest digest, in
// <cache>/images.json (format in docs/formats.md, "Image store"). Every change
// is a read-modify-write under an exclusive flock of <cache>/images.lock,
// written atomically, so concurrent earth processes never lose an update.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "earth/base/digest.h"
#include "earth/base/error.h"

namespace earth::store {

// Told of each rewrite of the index, under the lock every writer takes:
// just before the new file is renamed over `file`, and just after. The
// request journal uses it to tell the build's own writes from others'.
class IndexWatch {
public:
  virtual ~IndexWatch() = default;
  virtual void rewriting(const std::string& file) = 0;
  virtual void rewritten(const std::string& file) = 0;
};

class ImageIndex {
public:
  static constexpr int version = 1;
  explicit ImageIndex(std::string cache_dir);

  // All names. A missing file is an empty index; an unknown version an error.
  // A damaged file (empty, truncated, not JSON) is repaired: the damaged copy
  // is kept as images.json.damaged, the names still readable in it are kept,
  // and a warning on stderr says so.
  Result<std::map<std::string, Digest>> load() const;
  Result<std::optional<Digest>> get(const std::string& name) const;
  // Writes nothing when `name` already names `manifest`.
  Result<void> set(const std::string& name, const Digest& manifest);
  // Returns whether `name` was present.
  Result<bool> remove(const std::string& name);
  // Tells `watch` (nullptr: nobody) of every rewrite from now on.
  void watch(IndexWatch* watch) { watch_ = watch; }

private:
  Result<std::map<std::string, Digest>> repair() const;
  Result<std::map<std::string, Digest>> load_locked(bool* salvaged = nullptr) const;
  Result<void> write_locked(const std::map<std::string, Digest>& names) const;
  std::string file_;
  std::string lock_;
  IndexWatch* watch_ = nullptr;
};

} // namespace earth::store
