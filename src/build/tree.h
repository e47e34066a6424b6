// Copying file trees into a new layer or artifact tree, and digesting the
// build-context files a COPY reads. Sources are LayerViews: a build context
// is a one-layer view, a target's filesystem or artifacts a stack of them.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "earth/base/digest.h"
#include "earth/base/error.h"
#include "earth/base/stat_cache.h"
#include "layer_view.h"

namespace earth::build {

// Copied files get this mtime unless --keep-ts (Earthly: 2020-04-16T12:00:00Z).
inline constexpr int64_t kConstantMtime = 1587038400;

struct CopyOptions {
  bool keep_ts = false;
  bool keep_own = false; // keep the source's owner, else uid/gid below
  uid_t uid = 0;
  gid_t gid = 0;
  std::optional<mode_t> chmod; // replaces the permission bits of every entry
  // Paths (relative to the copy's source root) to leave out; build-context
  // copies pass the .earthlyignore matcher.
  std::function<bool(const std::string& rel)> skip;
  // Where hashing gets regular files' digests (the stat cache); null: read.
  StatCache* digests = nullptr;
};

// Copies the entry at `src` (absolute in `view`, not following a final
// symlink) to host path `dest`, recursively. Existing directories at `dest`
// are merged into; other existing entries are replaced.
Result<void> copy_entry(const LayerView& view, const std::string& src, const std::string& dest,
                        const CopyOptions& opts);

// Creates every missing directory of `dir` under host dir `root` (mode
// 0755, owner root), so that root+dir exists.
Result<void> make_parents(const std::string& root, const std::string& dir);

// The digest of what a copy of `src` would produce, composed as BuildKit
// composes directory digests: each entry's digest covers its type,
// permission bits (mtimes and owners only when the copy keeps them), and
// its size and content, its link target, or its children's names and
// digests. Honours opts.skip. `on_file` (optional) sees each regular
// file's relative path and content digest (--explain, debug keys).
using FileSink = std::function<void(const std::string& rel, const Digest& content)>;
Result<Digest> tree_digest(const LayerView& view, const std::string& src, const CopyOptions& opts,
                           const FileSink& on_file = {});

// Whether `word` has glob characters (* ? [).
// A small file earth wrote itself (a target record, an output marker) in
// one read: open, read, close (no fstat, no read to find the end). A file
// larger than `cap` (at most 4096) takes more reads. nullopt when it cannot
// be opened or read; its reader checks what it got.
std::optional<std::string> read_own_file(const std::string& path, size_t cap = 4096);

bool has_glob(std::string_view word);
// The absolute paths in `view` matching glob `pattern` (absolute), sorted.
std::vector<std::string> glob(const LayerView& view, const std::string& pattern);

// The ignore files of a build context, in the order looked for: only the
// first one found is read.
inline constexpr std::string_view kIgnoreFiles[] = {".earthlyignore", ".earthignore"};

// .earthlyignore / .earthignore patterns of a build context (dockerignore
// syntax: globs, `**`, `!` exceptions). Empty when the context has none.
class IgnoreRules {
public:
  static Result<IgnoreRules> load(const std::string& context_dir);
  // The rules of an ignore file's text.
  static IgnoreRules parse(std::string_view text);
  bool ignored(const std::string& rel) const;
  bool empty() const { return rules_.empty(); }

private:
  struct Rule {
    std::string pattern;
    bool negate = false;
  };
  std::vector<Rule> rules_;
};

} // namespace earth::build
