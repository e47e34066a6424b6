#include "earth/exec/user_db.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <optional>

#include "earth/base/fs.h"
#include "earth/base/strings.h"

namespace earth::exec {

namespace {

// openat2 with RESOLVE_IN_ROOT: a layer's symlink such as etc/passwd ->
// /etc/shadow must resolve inside the layer, never on the host.
int open_in_root(int root_fd, std::string_view path) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string p(path);
  return static_cast<int>(::syscall(SYS_openat2, root_fd, p.c_str(), &how, sizeof how));
}

std::optional<uint32_t> parse_id(std::string_view s) {
  uint32_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// One line of /etc/passwd or /etc/group, split on ':'.
std::vector<std::vector<std::string>> parse_db(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& line : split(text, '\n')) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#') continue;
    rows.push_back(split(l, ':'));
  }
  return rows;
}

// Finds a passwd row by name or uid: [name, pw, uid, gid, gecos, home, shell].
const std::vector<std::string>* find_passwd(const std::vector<std::vector<std::string>>& rows,
                                            std::string_view name, std::optional<uint32_t> uid) {
  for (const auto& r : rows) {
    if (r.size() < 4) continue;
    if (uid ? parse_id(r[2]) == uid : r[0] == name) return &r;
  }
  return nullptr;
}

} // namespace

Result<std::string> read_layered_file(const std::vector<std::string>& lower_dirs,
                                      std::string_view path) {
  for (auto it = lower_dirs.rbegin(); it != lower_dirs.rend(); ++it) {
    int root = ::open(it->c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) return Failure{errno_message(*it, errno)};
    int fd = open_in_root(root, path);
    int err = errno;
    ::close(root);
    if (fd < 0) {
      if (err == ENOENT || err == ENOTDIR) continue;
      // ENXIO/ENODEV: a 0/0 char device, the overlayfs whiteout: deleted above.
      if (err == ENXIO || err == ENODEV) return std::string();
      return Failure{errno_message(fs::join(*it, path), err)};
    }
    struct stat st {};
    std::string out;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      char buf[16384];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }
  return std::string();
}

Result<ResolvedUser> resolve_user(std::string_view user,
                                  const std::vector<std::string>& lower_dirs) {
  ResolvedUser out;
  if (user.empty()) {
    out.home = "/root";
    return out;
  }
  size_t colon = user.find(':');
  std::string_view user_part = user.substr(0, colon);
  std::string_view group_part = colon == std::string_view::npos ? "" : user.substr(colon + 1);

  auto passwd = read_layered_file(lower_dirs, "etc/passwd");
  if (!passwd) return Failure{passwd.error()};
  auto users = parse_db(*passwd);
  auto uid = parse_id(user_part);
  const auto* row = find_passwd(users, user_part, uid);
  if (!row && !uid)
    return Failure{"unable to find user " + std::string(user_part) +
                   ": no matching entries in the rootfs's /etc/passwd"};
  std::string name;
  if (row) {
    name = (*row)[0];
    out.uid = parse_id((*row)[2]).value_or(0);
    out.gid = parse_id((*row)[3]).value_or(0);
    if (row->size() > 5 && !(*row)[5].empty()) out.home = (*row)[5];
  } else {
    out.uid = *uid;
  }

  auto group_text = read_layered_file(lower_dirs, "etc/group");
  if (!group_text) return Failure{group_text.error()};
  auto groups = parse_db(*group_text);
  if (!group_part.empty()) {
    auto gid = parse_id(group_part);
    bool found = gid.has_value();
    for (const auto& g : groups)
      if (!found && g.size() >= 3 && g[0] == group_part) {
        gid = parse_id(g[2]);
        found = gid.has_value();
      }
    if (!found)
      return Failure{"unable to find group " + std::string(group_part) +
                     ": no matching entries in the rootfs's /etc/group"};
    out.gid = *gid;
  }
  if (!name.empty()) {
    for (const auto& g : groups) {
      if (g.size() < 4) continue;
      for (const auto& member : split(g[3], ','))
        if (trim(member) == name) {
          if (auto gid = parse_id(g[2]); gid && *gid != out.gid) out.groups.push_back(*gid);
        }
    }
  }
  return out;
}

} // namespace earth::exec
