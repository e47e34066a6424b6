// Filesystem helpers. Every write that others may read is atomic: a temp file
// in the same directory, fsync, rename (STYLE.md rule 9).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "earth/base/error.h"

namespace earth::fs {

Result<std::string> read_file(const std::string& path);
// A file's bytes mapped read-only (as git maps its index): no copy and no
// fresh page to zero, where a read into a heap buffer costs ~0.25 ms per
// 200 KB in a fresh process. Only for files that are replaced by a rename
// or appended to, never truncated or rewritten in place: the mapped bytes
// stay those of the file opened. `populate`: fault every page in now (the
// caller reads them all); otherwise pages come in as they are touched.
// A filesystem that cannot map it gets it read into memory; nullopt when
// the file is missing, empty or unreadable.
struct MappedFile {
  std::string_view bytes;
  std::shared_ptr<const void> keep; // the mapping lives while a copy of it does
};
std::optional<MappedFile> map_file(const std::string& path, bool populate);
// Whether an atomic write is also made durable (fsync before the rename).
// Only a file whose loss or truncation by a power cut its reader detects
// and survives (a cache that checks its own bytes) may skip it; such a
// file is also unlinked before the rename, so a reader may find it missing
// for a moment (as after a crash), never torn.
enum class Durable : bool { no, yes };
// Writes `data` to `path` atomically; the parent directory must exist.
Result<void> write_file_atomic(const std::string& path, std::string_view data, int mode = 0644,
                               Durable durable = Durable::yes);
// The same, of `pieces` one after another, written with writev: a large
// file made of parts that lie elsewhere is not copied into one buffer.
Result<void> write_file_atomic(const std::string& path, std::span<const std::string_view> pieces,
                               int mode = 0644, Durable durable = Durable::yes);
// Appends `data` to the existing file `path` with one O_APPEND write (so
// the appends of two processes do not interleave); a reader may see it cut.
Result<void> append_file(const std::string& path, std::string_view data,
                         Durable durable = Durable::yes);
// mkdir -p.
Result<void> make_dirs(const std::string& path, int mode = 0755);
// rm -rf; a missing path is not an error.
Result<void> remove_all(const std::string& path);
bool exists(const std::string& path);
bool is_dir(const std::string& path);
// The process's working directory.
std::string current_dir();
// The names in directory `path` (without "." and ".."), unsorted.
Result<std::vector<std::string>> list_dir(const std::string& path);
// A new, empty directory under `parent` whose name starts with `prefix`.
Result<std::string> make_temp_dir(const std::string& parent, std::string_view prefix);
// "a/b" + "c" -> "a/b/c"; an absolute `b` still nests under `a`.
std::string join(std::string_view a, std::string_view b);
std::string dirname(std::string_view path);
std::string basename(std::string_view path);
// Lexical normalisation: removes ".", empty components and resolves "..".
std::string normalize(std::string_view path);

// A directory deleted on destruction unless release()d.
class TempDir {
public:
  TempDir(const std::string& parent, std::string_view prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string release();

private:
  std::string path_;
};

} // namespace earth::fs
