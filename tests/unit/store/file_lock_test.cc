#include "earth/store/file_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "earth/base/fs.h"

namespace fs = earth::fs;
using earth::store::FileLock;

TEST(FileLock, ExclusiveExcludesOtherProcesses) {
  fs::TempDir dir("/tmp", "earth-lock-test-");
  std::string path = dir.path() + "/x.lock";
  auto held = FileLock::acquire(path);
  ASSERT_TRUE(held.ok()) << held.error();
  pid_t pid = ::fork();
  if (pid == 0) {
    auto r = FileLock::try_acquire(path);
    ::_exit(!r.ok() && r.error().find("held by another") != std::string::npos ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  { FileLock released = std::move(held.value()); } // destroyed: released
  EXPECT_TRUE(FileLock::try_acquire(path).ok());
}

TEST(FileLock, SharedLocksCoexist) {
  fs::TempDir dir("/tmp", "earth-lock-test-");
  std::string path = dir.path() + "/s.lock";
  auto a = FileLock::acquire(path, FileLock::Mode::shared);
  auto b = FileLock::try_acquire(path, FileLock::Mode::shared);
  EXPECT_TRUE(a.ok());
  EXPECT_TRUE(b.ok());
  EXPECT_FALSE(FileLock::try_acquire(path, FileLock::Mode::exclusive).ok());
  EXPECT_FALSE(FileLock::acquire(dir.path() + "/no/such/dir/x.lock").ok());
}
