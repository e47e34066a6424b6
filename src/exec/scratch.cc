#include "scratch.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "earth/base/fs.h"
#include "earth/exec/linux_runtime.h"
#include "layer_copy.h"

namespace earth::exec {

namespace {

constexpr const char* kDefaultMemoryParent = "/dev/shm";
constexpr std::string_view kPrefix = ".earth-step-";
constexpr long kTmpfsMagic = 0x01021994;

// EARTH_STEP_SCRATCH_DIR names another tmpfs than /dev/shm (tests use a
// tiny one); a named one is used whatever its free space.
const char* named_memory_parent() {
  const char* named = std::getenv("EARTH_STEP_SCRATCH_DIR");
  return named && *named ? named : nullptr;
}

std::string memory_parent() {
  const char* named = named_memory_parent();
  return named ? named : kDefaultMemoryParent;
}

// overlayfs marks opaque dirs with an xattr in the upper dir: trusted.* as
// root, user.* rootless (tmpfs has user xattrs since Linux 6.6). Without
// them a layer would lose its opaque dirs, so the memory is not used then.
bool holds_overlay_xattrs(const std::string& parent) {
  auto probe = fs::make_temp_dir(parent, std::string(kPrefix) + "probe-");
  if (!probe) return false;
  const char* name = ::geteuid() == 0 ? "trusted.earth-probe" : "user.earth-probe";
  bool ok = ::setxattr(probe->c_str(), name, "y", 1, 0) == 0;
  ::rmdir(probe->c_str());
  return ok;
}

bool memory_holds_overlay_xattrs(const std::string& parent) {
  if (parent != kDefaultMemoryParent) return holds_overlay_xattrs(parent);
  static const bool holds = holds_overlay_xattrs(kDefaultMemoryParent); // probed once
  return holds;
}

unsigned long long free_bytes(const struct statfs& fs) {
  return static_cast<unsigned long long>(fs.f_bavail) * static_cast<unsigned long long>(fs.f_bsize);
}

bool memory_usable(const std::string& parent) {
  // EARTH_STEP_SCRATCH=disk: for steps whose layers outgrow the memory.
  if (const char* choice = std::getenv("EARTH_STEP_SCRATCH");
      choice && std::string_view(choice) == "disk")
    return false;
  struct statfs fs {};
  if (::statfs(parent.c_str(), &fs) != 0 || fs.f_type != kTmpfsMagic) return false;
  if (::access(parent.c_str(), W_OK | X_OK) != 0) return false;
  if (!named_memory_parent() && free_bytes(fs) < Scratch::kMinFreeBytes) return false;
  return memory_holds_overlay_xattrs(parent);
}

} // namespace

Result<Scratch> Scratch::make(const RunSpec& spec, Place place) {
  Scratch s;
  if (!spec.work_dir.empty()) {
    s.upper_ = spec.upper_dir;
    s.work_ = spec.work_dir;
    return s;
  }
  const std::string parent = memory_parent();
  if (place == Place::disk || !memory_usable(parent)) {
    // On the upper dir's filesystem, as overlayfs requires.
    auto work = fs::make_temp_dir(fs::dirname(fs::normalize(spec.upper_dir)), ".earth-work-");
    if (!work) return Failure{"sandbox: " + work.error()};
    s.made_ = s.work_ = *work;
    s.upper_ = spec.upper_dir;
    return s;
  }
  auto dir = fs::make_temp_dir(parent, std::string(kPrefix) + std::to_string(::getpid()) + "-");
  if (!dir) return Failure{"sandbox: " + dir.error()};
  s.made_ = *dir;
  s.in_memory_ = true;
  s.upper_ = fs::join(*dir, "upper");
  s.work_ = fs::join(*dir, "work");
  // The upper dir's root is the rootfs's "/": it takes the owner and mode
  // of the caller's upper dir, as it would have on disk.
  struct stat st {};
  if (::stat(spec.upper_dir.c_str(), &st) != 0 || ::mkdir(s.upper_.c_str(), 0700) != 0 ||
      ::mkdir(s.work_.c_str(), 0700) != 0 || ::chown(s.upper_.c_str(), st.st_uid, st.st_gid) != 0 ||
      ::chmod(s.upper_.c_str(), st.st_mode & 07777) != 0)
    return Failure{errno_message("sandbox: step scratch in " + *dir, errno)};
  return s;
}

Scratch::Scratch(Scratch&& other) noexcept
    : made_(std::move(other.made_)), upper_(std::move(other.upper_)), work_(std::move(other.work_)),
      in_memory_(other.in_memory_) {
  other.made_.clear();
}

Scratch::~Scratch() {
  if (!made_.empty()) remove_scratch(made_);
}

bool Scratch::nearly_full() const {
  struct statfs fs {};
  if (!in_memory_ || ::statfs(made_.c_str(), &fs) != 0) return false;
  return free_bytes(fs) < kNearlyFullBytes || static_cast<unsigned long long>(fs.f_bavail) <
                                                  static_cast<unsigned long long>(fs.f_blocks) / 32;
}

void Scratch::discard() {
  if (!made_.empty()) remove_scratch(made_);
  made_.clear();
}

Result<void> Scratch::finish(const RunSpec& spec) {
  Result<void> r;
  if (in_memory_) r = copy_layer(upper_, spec.upper_dir);
  if (!made_.empty()) remove_scratch(made_);
  made_.clear();
  return r;
}

void remove_dead_step_scratch() {
  const std::string parent = memory_parent();
  DIR* dir = ::opendir(parent.c_str());
  if (!dir) return;
  std::vector<std::string> dead;
  while (dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (!name.starts_with(kPrefix)) continue;
    name.remove_prefix(kPrefix.size());
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || end == name.data() || *end != '-' || pid <= 0) continue;
    if (::kill(pid, 0) < 0 && errno == ESRCH) dead.push_back(fs::join(parent, e->d_name));
  }
  ::closedir(dir);
  for (const auto& path : dead) remove_scratch(path);
}

} // namespace earth::exec
