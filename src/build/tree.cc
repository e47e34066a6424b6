#include "tree.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "earth/base/fs.h"
#include "earth/base/strings.h"

namespace earth::build {

namespace {

std::string fmt_uid_gid(uid_t uid, gid_t gid) {
  return std::to_string(uid) + ":" + std::to_string(gid);
}

Result<void> copy_file_data(const std::string& from, const std::string& to, mode_t mode) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Failure{errno_message("open " + from, errno)};
  ::unlink(to.c_str());
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return Failure{errno_message("create " + to, err)};
  }
  Result<void> result;
  for (;;) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP))
      n = ::sendfile(out, in, nullptr, 1 << 30);
    if (n == 0) break;
    if (n < 0) {
      result = Failure{errno_message("copy " + from + " to " + to, errno)};
      break;
    }
  }
  ::close(in);
  if (::close(out) != 0 && result.ok()) result = Failure{errno_message("write " + to, errno)};
  return result;
}

void set_times(const std::string& path, const struct stat& st, const CopyOptions& opts) {
  struct timespec ts[2];
  if (opts.keep_ts) {
    ts[0] = st.st_atim;
    ts[1] = st.st_mtim;
  } else {
    ts[0] = ts[1] = {kConstantMtime, 0};
  }
  ::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

Result<void> set_owner(const std::string& path, const struct stat& st, const CopyOptions& opts) {
  uid_t uid = opts.keep_own ? st.st_uid : opts.uid;
  gid_t gid = opts.keep_own ? st.st_gid : opts.gid;
  if (::lchown(path.c_str(), uid, gid) != 0 && errno != EPERM)
    return Failure{errno_message("chown " + path, errno)};
  return {};
}

mode_t perm_of(const struct stat& st, const CopyOptions& opts) {
  return opts.chmod ? *opts.chmod : (st.st_mode & 07777);
}

Result<void> copy_rec(const LayerView& view, const std::string& src, const std::string& rel,
                      const std::string& dest, const CopyOptions& opts) {
  if (opts.skip && !rel.empty() && opts.skip(rel)) return {};
  auto e = view.find(src);
  if (!e) return Failure{"no such file or directory: " + src};
  const struct stat& st = e->st;
  if (S_ISDIR(st.st_mode)) {
    struct stat existing;
    if (::lstat(dest.c_str(), &existing) == 0 && !S_ISDIR(existing.st_mode)) ::unlink(dest.c_str());
    if (::mkdir(dest.c_str(), 0700) != 0 && errno != EEXIST)
      return Failure{errno_message("mkdir " + dest, errno)};
    for (const auto& name : view.list(src))
      if (auto r =
              copy_rec(view, fs::join(src, name), fs::join(rel, name), dest + "/" + name, opts);
          !r)
        return r;
    if (auto r = set_owner(dest, st, opts); !r) return r;
    ::chmod(dest.c_str(), perm_of(st, opts));
    set_times(dest, st, opts);
    return {};
  }
  if (S_ISREG(st.st_mode)) {
    if (auto r = copy_file_data(e->host, dest, 0600); !r) return r;
    if (auto r = set_owner(dest, st, opts); !r) return r;
    ::chmod(dest.c_str(), perm_of(st, opts));
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(e->host.c_str(), target.data(), target.size());
    if (n < 0) return Failure{errno_message("readlink " + e->host, errno)};
    target.resize(static_cast<size_t>(n));
    ::unlink(dest.c_str());
    if (::symlink(target.c_str(), dest.c_str()) != 0)
      return Failure{errno_message("symlink " + dest, errno)};
    if (auto r = set_owner(dest, st, opts); !r) return r;
  } else {
    return {}; // devices, FIFOs and sockets are not copied
  }
  set_times(dest, st, opts);
  return {};
}

Result<Digest> tree_rec(const LayerView& view, const std::string& src, const std::string& rel,
                        const CopyOptions& opts, const FileSink& on_file) {
  auto e = view.find(src);
  if (!e) return Failure{"no such file or directory: " + src};
  const struct stat& st = e->st;
  Hasher h("earth.tree.v1");
  h.add("type", static_cast<int64_t>(st.st_mode & S_IFMT));
  h.add("perm", static_cast<int64_t>(perm_of(st, opts)));
  if (opts.keep_own) h.add("owner", fmt_uid_gid(st.st_uid, st.st_gid));
  if (opts.keep_ts)
    h.add("mtime", static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
  if (S_ISREG(st.st_mode)) {
    Result<Digest> d = opts.digests ? opts.digests->digest(e->host, StatKey::of(st))
                                    : real_disk().digest_file(e->host);
    if (!d) return Failure{"read " + e->host + ": cannot read the file"};
    h.add("size", static_cast<int64_t>(st.st_size));
    h.add("content", *d);
    if (on_file) on_file(rel, *d);
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(e->host.c_str(), target.data(), target.size());
    target.resize(n < 0 ? 0 : static_cast<size_t>(n));
    h.add("link", target);
  } else if (S_ISDIR(st.st_mode)) {
    for (const auto& name : view.list(src)) {
      std::string child_rel = fs::join(rel, name);
      if (opts.skip && opts.skip(child_rel)) continue;
      auto d = tree_rec(view, fs::join(src, name), child_rel, opts, on_file);
      if (!d) return d;
      h.add("name", name).add("entry", *d);
    }
  }
  return h.finish();
}

bool match_path(const std::string& pattern, const std::string& rel) {
  if (::fnmatch(pattern.c_str(), rel.c_str(), FNM_PATHNAME) == 0) return true;
  // `**` matches any number of directories.
  if (pattern.find("**") == std::string::npos) return false;
  std::string flat = pattern;
  for (size_t p; (p = flat.find("**/")) != std::string::npos;) flat.replace(p, 3, "*");
  for (size_t p; (p = flat.find("**")) != std::string::npos;) flat.replace(p, 2, "*");
  return ::fnmatch(flat.c_str(), rel.c_str(), 0) == 0;
}

} // namespace

Result<void> copy_entry(const LayerView& view, const std::string& src, const std::string& dest,
                        const CopyOptions& opts) {
  return copy_rec(view, src, "", dest, opts);
}

Result<void> make_parents(const std::string& root, const std::string& dir) {
  std::string path = root;
  for (const auto& c : split(fs::normalize(dir), '/')) {
    if (c.empty()) continue;
    path += "/" + c;
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
      return Failure{errno_message("mkdir " + path, errno)};
  }
  return {};
}

Result<Digest> tree_digest(const LayerView& view, const std::string& src, const CopyOptions& opts,
                           const FileSink& on_file) {
  return tree_rec(view, src, "", opts, on_file);
}

std::optional<std::string> read_own_file(const std::string& path, size_t cap) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  // A stack buffer for the first read: a string of `cap` zeroed bytes per
  // record cost more than the read.
  char first[4096];
  std::string out;
  size_t want = std::min(cap, sizeof first);
  char* at = first;
  for (;;) {
    ssize_t n = ::read(fd, at, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (at == first)
      out.assign(first, size_t(n));
    else
      out.resize(out.size() - want + size_t(n));
    // A short read of a regular file is its end; a full one may not be.
    if (size_t(n) < want) break;
    want = std::max<size_t>(out.size(), 4096);
    out.resize(out.size() + want);
    at = out.data() + out.size() - want;
  }
  ::close(fd);
  return out;
}

bool has_glob(std::string_view word) {
  return word.find_first_of("*?[") != std::string_view::npos;
}

std::vector<std::string> glob(const LayerView& view, const std::string& pattern) {
  std::vector<std::string> found{"/"};
  for (const auto& part : split(fs::normalize(pattern), '/')) {
    if (part.empty()) continue;
    std::vector<std::string> next;
    for (const auto& dir : found) {
      if (!has_glob(part)) {
        if (view.find(fs::join(dir, part))) next.push_back(fs::join(dir, part));
        continue;
      }
      for (const auto& name : view.list(dir))
        if (::fnmatch(part.c_str(), name.c_str(), 0) == 0) next.push_back(fs::join(dir, name));
    }
    found = std::move(next);
  }
  std::sort(found.begin(), found.end());
  return found;
}

Result<IgnoreRules> IgnoreRules::load(const std::string& context_dir) {
  for (std::string_view name : kIgnoreFiles) {
    std::string path = fs::join(context_dir, std::string(name));
    if (!fs::exists(path)) continue;
    auto text = fs::read_file(path);
    if (!text) return Failure{text.error()};
    return parse(*text);
  }
  return IgnoreRules{};
}

IgnoreRules IgnoreRules::parse(std::string_view text) {
  IgnoreRules rules;
  for (auto line : split(text, '\n')) {
    line = trim(line);
    if (line.empty() || line.starts_with("#")) continue;
    Rule r;
    if (line.starts_with("!")) r.negate = true, line = trim(line.substr(1));
    r.pattern = fs::normalize(line);
    while (r.pattern.starts_with("/")) r.pattern.erase(0, 1);
    if (!r.pattern.empty()) rules.rules_.push_back(std::move(r));
  }
  return rules;
}

bool IgnoreRules::ignored(const std::string& rel) const {
  bool out = false;
  for (const auto& r : rules_) {
    // A pattern matching a parent directory covers everything below it.
    bool hit = false;
    for (size_t end = rel.find('/'); !hit; end = rel.find('/', end + 1)) {
      hit = match_path(r.pattern, rel.substr(0, end));
      if (end == std::string::npos) break;
    }
    if (hit) out = !r.negate;
  }
  return out;
}

} // namespace earth::build
