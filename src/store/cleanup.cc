#include "earth/store/cleanup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <random>

#include "earth/base/fs.h"
#include "earth/store/file_lock.h"

namespace earth::store {

namespace {

constexpr std::string_view proc_prefix = "proc-";
constexpr std::string_view lock_suffix = ".lock";

// What the signal handler removes: fixed storage, written before `slots` is
// bumped, so the handler reads only complete paths.
constexpr int max_slots = 8;
char slot_paths[max_slots][PATH_MAX];
std::atomic<int> slots{0};
pid_t owner_pid = 0;
struct sigaction previous[2];

// Removes a tree with async-signal-safe calls only (no malloc, no stdio).
void remove_tree_at(int dirfd, const char* name) {
  if (::unlinkat(dirfd, name, 0) == 0 || (errno != EISDIR && errno != EPERM)) return;
  int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  alignas(8) char buf[1024];
  for (bool removed = true; removed;) { // deleting while reading: read again until clean
    removed = false;
    ::lseek(fd, 0, SEEK_SET);
    for (long n; (n = ::syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0;) {
      for (long off = 0; off < n;) {
        struct Dirent64 {
          ino64_t ino;
          off64_t off;
          unsigned short reclen;
          unsigned char type;
          char name[];
        };
        auto* de = reinterpret_cast<Dirent64*>(buf + off);
        off += de->reclen;
        if (std::strcmp(de->name, ".") == 0 || std::strcmp(de->name, "..") == 0) continue;
        remove_tree_at(fd, de->name);
        removed = true;
      }
    }
  }
  ::close(fd);
  ::unlinkat(dirfd, name, AT_REMOVEDIR);
}

void on_signal(int sig, siginfo_t* info, void* ctx) {
  int saved = errno;
  if (::getpid() == owner_pid) { // not in a forked child that has not exec'ed yet
    for (int i = 0, n = slots.load(); i < n; ++i) {
      remove_tree_at(AT_FDCWD, slot_paths[i]);
      char lock[PATH_MAX + 8];
      size_t len = std::strlen(slot_paths[i]);
      std::memcpy(lock, slot_paths[i], len);
      std::memcpy(lock + len, ".lock", 6);
      ::unlink(lock); // still held until exit: no other process reuses the name
    }
  }
  struct sigaction& prev = previous[sig == SIGINT ? 0 : 1];
  if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction) {
    prev.sa_sigaction(sig, info, ctx);
  } else if (prev.sa_handler == SIG_DFL) {
    ::sigaction(sig, &prev, nullptr);
    ::raise(sig); // delivered, and fatal, when this handler returns
  } else if (prev.sa_handler != SIG_IGN) {
    prev.sa_handler(sig);
  }
  errno = saved;
}

void install_handlers() {
  owner_pid = ::getpid();
  const int sigs[2] = {SIGINT, SIGTERM};
  for (int i = 0; i < 2; ++i) {
    struct sigaction sa {};
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sigs[i], nullptr, &previous[i]);
    if (!(previous[i].sa_flags & SA_SIGINFO) && previous[i].sa_handler == SIG_IGN)
      continue; // an ignored signal stays ignored (nohup)
    ::sigaction(sigs[i], &sa, nullptr);
  }
}

struct Owned {
  std::string dir;
  FileLock lock;
};

// Takes the lock under a temp name first, so no other process's cleanup can
// see an unlocked proc-*.lock that is about to be used.
Result<Owned> make_owned(const std::string& tmp) {
  std::string base = std::string(proc_prefix) + std::to_string(::getpid()) + "-" +
                     std::to_string(std::random_device{}());
  std::string lock_path = fs::join(tmp, base + std::string(lock_suffix));
  std::string fresh = lock_path + ".new";
  auto lock = FileLock::acquire(fresh);
  if (!lock) return Failure{lock.error()};
  if (::rename(fresh.c_str(), lock_path.c_str()) != 0) {
    ::unlink(fresh.c_str());
    return Failure{errno_message(lock_path, errno)};
  }
  return Owned{fs::join(tmp, base), std::move(*lock)};
}

// The temp dir this process owns under each cache's tmp/.
std::mutex owned_mu;
std::map<std::string, Owned>* owned = new std::map<std::string, Owned>; // never freed:
// the locks must outlive static destructors of other threads' objects
pid_t owned_by = 0;

} // namespace

Result<std::string> process_temp_dir(const std::string& cache_dir) {
  std::lock_guard guard(owned_mu);
  if (owned_by != ::getpid()) { // a forked child owns nothing of its parent's
    owned->clear();
    owned_by = ::getpid();
  }
  std::string tmp = fs::join(cache_dir, "tmp");
  auto it = owned->find(tmp);
  if (it == owned->end()) {
    if (auto r = fs::make_dirs(tmp); !r) return Failure{r.error()};
    auto o = make_owned(tmp);
    if (!o) return Failure{o.error()};
    int slot = slots.load();
    if (slot < max_slots && o->dir.size() < PATH_MAX) {
      std::memcpy(slot_paths[slot], o->dir.c_str(), o->dir.size() + 1);
      if (slot == 0) install_handlers();
      slots.store(slot + 1);
    }
    it = owned->emplace(tmp, std::move(*o)).first;
  }
  if (!fs::is_dir(it->second.dir))
    if (auto r = fs::make_dirs(it->second.dir, 0700); !r) return Failure{r.error()};
  return it->second.dir;
}

Result<std::string> unkept_dir(const std::string& cache_dir) {
  auto own = process_temp_dir(cache_dir);
  if (!own) return own;
  std::string dir = fs::join(*own, "unkept");
  if (auto r = fs::make_dirs(dir, 0700); !r) return Failure{r.error()};
  return dir;
}

namespace {

// This process's unkept dir under `cache_dir`, "" when it owns no temp dir
// there (none is made to answer).
std::string owned_unkept(const std::string& cache_dir) {
  std::lock_guard guard(owned_mu);
  auto it = owned_by == ::getpid() ? owned->find(fs::join(cache_dir, "tmp")) : owned->end();
  return it == owned->end() ? std::string() : fs::join(it->second.dir, "unkept");
}

} // namespace

void remove_unkept(const std::string& cache_dir) {
  // Not made (nor made again after a signal removed it) to be emptied.
  if (std::string dir = owned_unkept(cache_dir); !dir.empty()) (void)fs::remove_all(dir);
}

bool any_unkept(const std::string& cache_dir, const std::vector<std::string>& paths) {
  std::string dir = owned_unkept(cache_dir);
  return !dir.empty() && std::any_of(paths.begin(), paths.end(), [&](const std::string& p) {
    return p.size() > dir.size() && p.starts_with(dir) && p[dir.size()] == '/';
  });
}

Result<int> remove_stale_temps(const std::string& cache_dir, std::chrono::seconds age) {
  std::string tmp = fs::join(cache_dir, "tmp");
  DIR* d = ::opendir(tmp.c_str());
  if (!d) {
    if (errno == ENOENT) return 0;
    return Failure{errno_message(tmp, errno)};
  }
  std::time_t cutoff = std::time(nullptr) - static_cast<std::time_t>(age.count());
  std::vector<std::string> names;
  while (dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  int removed = 0;
  auto covered = [&](const std::string& name) { // a proc dir or lock: never by age
    return name.starts_with(proc_prefix) &&
           (name.ends_with(lock_suffix) || !name.ends_with(".new")) &&
           fs::exists(
               fs::join(tmp, name.ends_with(lock_suffix) ? name : name + std::string(lock_suffix)));
  };
  for (const auto& name : names) {
    std::string path = fs::join(tmp, name);
    if (name.starts_with(proc_prefix) && name.ends_with(lock_suffix)) {
      auto lock = FileLock::try_acquire(path);
      if (!lock) continue; // its owner lives
      std::string dir = path.substr(0, path.size() - lock_suffix.size());
      if (fs::exists(dir) && fs::remove_all(dir)) ++removed;
      ::unlink(path.c_str()); // the dir first: a dir without its lock is aged out
      continue;
    }
    if (covered(name)) continue;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && st.st_mtime < cutoff && fs::remove_all(path)) ++removed;
  }
  return removed;
}

} // namespace earth::store
