// The filesystem seam (STYLE.md rule 7, after ninja's DiskInterface): the
// Earthfile loader reads through a Disk, so resolver tests can run on a
// VirtualDisk with no files at all.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "earth/base/digest.h"
#include "earth/base/error.h"

namespace earth {

struct FileStat {
  enum class Kind : uint8_t { missing, file, dir, other };
  Kind kind = Kind::missing;
  // missing: the errno. ENOENT/ENOTDIR: certainly absent; anything else
  // (EACCES…): it could not be checked.
  int error = 0;
  const char* what = ""; // other: "a FIFO", "a socket", "a symbolic link"…
};

class Disk {
public:
  virtual ~Disk() = default;
  // Follows symbolic links.
  virtual FileStat stat(const std::string& path) const = 0;
  // Does not follow a final symbolic link (it is Kind::other).
  virtual FileStat lstat(const std::string& path) const = 0;
  // A regular file's bytes. Never blocks: a FIFO, a device or a directory
  // fails with "PATH: is a FIFO, not a regular file"; a system error with
  // "PATH: strerror".
  virtual Result<std::string> read_file(const std::string& path) const = 0;
  // The names in directory `path` (without "." and ".."), unsorted.
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) const = 0;
  // The SHA-256 of a regular file's bytes (the stat cache's miss path);
  // by default over read_file, streamed by RealDisk.
  virtual Result<Digest> digest_file(const std::string& path) const;
};

// The paths matching `pattern`, whose components may hold `*`, `?` and
// `[…]` (fnmatch(3); a leading dot is matched only by a dot), as glob(3)
// finds them; unsorted. A directory that cannot be listed matches nothing.
std::vector<std::string> glob(const Disk& disk, const std::string& pattern);

// The process's filesystem.
class RealDisk : public Disk {
public:
  FileStat stat(const std::string& path) const override;
  FileStat lstat(const std::string& path) const override;
  Result<std::string> read_file(const std::string& path) const override;
  Result<std::vector<std::string>> list_dir(const std::string& path) const override;
  Result<Digest> digest_file(const std::string& path) const override;
};

// One RealDisk for callers that do not choose a Disk.
const Disk& real_disk();

// An in-memory filesystem for tests: absolute, normalised paths; no links.
class VirtualDisk : public Disk {
public:
  // Adds a file, and its parent directories.
  void add_file(const std::string& path, std::string contents);
  // Adds a directory, and its parents.
  void add_dir(const std::string& path);
  FileStat stat(const std::string& path) const override;
  FileStat lstat(const std::string& path) const override { return stat(path); }
  Result<std::string> read_file(const std::string& path) const override;
  Result<std::vector<std::string>> list_dir(const std::string& path) const override;
  // How many read_file calls succeeded (to prove a file is read once).
  int reads() const { return reads_; }

private:
  std::map<std::string, std::string> files_;
  std::set<std::string> dirs_{"/"};
  mutable int reads_ = 0;
};

} // namespace earth
