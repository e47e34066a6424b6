// Test helper shared by the store's tests: a step dir made by another
// process that exits without checking the size limit (as a killed one
// would), so its lease log holds bytes no size total counts.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "earth/base/digest.h"
#include "earth/base/fs.h"
#include "earth/store/snapshots.h"

namespace earth::store::testing {

// A step dir of `kb` KiB named by `name`'s digest, made by a child
// process; its log says it used the step at `when` (seconds).
inline Digest dead_step(const std::string& cache, const std::string& name, int64_t when, int kb) {
  Digest key = Digest::of(name);
  pid_t pid = ::fork();
  if (pid == 0) {
    auto steps = SnapshotStore::open(cache, "steps");
    auto r = steps->ensure(key, [&](const std::string& d) -> Result<void> {
      return fs::write_file_atomic(fs::join(d, "f"), std::string(size_t(kb) * 1024, 'x'));
    });
    ::_exit(r.ok() && steps->settle().ok() ? 0 : 1); // recorded before it goes
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_EQ(status, 0);
  auto logs = fs::list_dir(cache + "/leases").value();
  for (const auto& n : logs) {
    std::string log = cache + "/leases/" + n;
    if (fs::read_file(log).value().find(key.hex()) == std::string::npos) continue;
    struct timespec t[2] = {{when, 0}, {when, 0}};
    ::utimensat(AT_FDCWD, log.c_str(), t, 0);
  }
  return key;
}

} // namespace earth::store::testing
