// Shared helpers for image tests: the busybox fixture, built once per process.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/base/subprocess.h"

struct BusyboxFixture {
  std::string dir;      // holds layout/ and busybox.tar
  std::string manifest; // "sha256:..."
  std::string error;    // why it could not be built
  std::string archive() const { return dir + "/busybox.tar"; }
  std::string layout() const { return dir + "/layout"; }
};

// Builds the image with tests/fixtures/make-busybox-image.sh, once.
inline const BusyboxFixture& busybox_fixture() {
  static BusyboxFixture f = [] {
    BusyboxFixture b;
    static earth::fs::TempDir dir("/tmp", "earth-busybox-");
    b.dir = dir.path();
    if (!earth::fs::exists("/bin/busybox")) {
      b.error = "/bin/busybox missing (apt install busybox-static)";
      return b;
    }
    auto r = earth::run_process(
        {std::string(EARTH_SOURCE_DIR) + "/tests/fixtures/make-busybox-image.sh", b.dir});
    if (!r || r->exit_status != 0)
      b.error = "make-busybox-image.sh failed: " + (r ? r->err : r.error());
    else
      b.manifest = std::string(earth::trim(r->out));
    return b;
  }();
  return f;
}

#define REQUIRE_BUSYBOX()                                                                          \
  do {                                                                                             \
    if (!busybox_fixture().error.empty()) GTEST_SKIP() << busybox_fixture().error;                 \
  } while (0)

inline bool have_program(const std::string& name) {
  auto r = earth::run_process({"sh", "-c", "command -v " + name});
  return r && r->exit_status == 0;
}
