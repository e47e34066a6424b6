#include "layer_stubs.h"

#include "earth/exec/linux_runtime.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>

#include "earth/base/fs.h"

namespace earth::exec {

namespace {

bool in_any_layer(const std::vector<std::string>& lower_dirs, const std::string& rel) {
  struct stat st {};
  for (const auto& dir : lower_dirs)
    if (::lstat(fs::join(dir, rel).c_str(), &st) == 0) return true;
  return false;
}

// An opaque directory hides the lower layers' contents: removing it, even
// empty, would make them reappear.
bool is_opaque(const std::string& path) {
  char v;
  return ::lgetxattr(path.c_str(), "trusted.overlay.opaque", &v, 1) > 0 ||
         ::lgetxattr(path.c_str(), "user.overlay.opaque", &v, 1) > 0;
}

bool remove_if_empty(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return false;
  if (S_ISREG(st.st_mode)) return st.st_size == 0 && ::unlink(path.c_str()) == 0;
  return S_ISDIR(st.st_mode) && !is_opaque(path) && ::rmdir(path.c_str()) == 0;
}

} // namespace

std::vector<std::string> find_missing_mount_points(const std::vector<std::string>& lower_dirs,
                                                   const std::vector<std::string>& bind_targets) {
  std::vector<std::string> candidates = {"proc", "dev", "etc/hosts", "etc/resolv.conf"};
  for (const auto& t : bind_targets) candidates.push_back(fs::normalize(t).substr(1));
  std::vector<std::string> missing;
  for (const auto& c : candidates)
    if (!c.empty() && !in_any_layer(lower_dirs, c)) missing.push_back(c);
  return missing;
}

void remove_mount_stubs(const std::string& upper_dir, const std::vector<std::string>& stubs) {
  for (const auto& stub : stubs) {
    if (!remove_if_empty(fs::join(upper_dir, stub))) continue;
    for (std::string dir = fs::dirname(stub); dir != "." && dir != "/"; dir = fs::dirname(dir))
      if (!remove_if_empty(fs::join(upper_dir, dir))) break;
  }
}

// rm -rf that first makes each directory searchable: overlayfs leaves its
// work dirs with mode 000, which their (non-root) owner cannot list.
void remove_scratch(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    ::unlink(path.c_str());
    return;
  }
  ::chmod(path.c_str(), 0700);
  std::vector<std::string> names;
  if (DIR* dir = ::opendir(path.c_str())) {
    while (dirent* e = ::readdir(dir))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        names.emplace_back(e->d_name);
    ::closedir(dir);
  }
  for (const auto& name : names) remove_scratch(fs::join(path, name));
  ::rmdir(path.c_str());
}

void clear_work_dir(const std::string& work_dir) {
  remove_scratch(fs::join(work_dir, "work"));
  remove_scratch(fs::join(work_dir, "index"));
  remove_scratch(fs::normalize(work_dir) + ".empty");
}

} // namespace earth::exec
