#include "earth/store/cleanup.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <ctime>

#include "earth/base/fs.h"

namespace earth::store {

Result<int> remove_stale_temps(const std::string& cache_dir, std::chrono::seconds age) {
  std::string tmp = fs::join(cache_dir, "tmp");
  DIR* d = ::opendir(tmp.c_str());
  if (!d) {
    if (errno == ENOENT) return 0;
    return Failure{errno_message(tmp, errno)};
  }
  std::time_t cutoff = std::time(nullptr) - static_cast<std::time_t>(age.count());
  std::vector<std::string> doomed;
  while (dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    std::string path = fs::join(tmp, name);
    if (::lstat(path.c_str(), &st) == 0 && st.st_mtime < cutoff) doomed.push_back(path);
  }
  ::closedir(d);
  int removed = 0;
  for (const auto& path : doomed)
    if (fs::remove_all(path)) ++removed;
  return removed;
}

} // namespace earth::store
