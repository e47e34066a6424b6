// Shared helpers for image tests: the busybox fixture, built once per process.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "earth/base/digest.h"
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

// Builds the image with tests/fixtures/make-busybox-image.sh once per build
// tree and script version (ctest runs every test case in its own process),
// in a temp dir renamed into place so concurrent tests never see half of it.
inline const BusyboxFixture& busybox_fixture() {
  static BusyboxFixture f = [] {
    BusyboxFixture b;
    if (!earth::fs::exists("/bin/busybox")) {
      b.error = "/bin/busybox missing (apt install busybox-static)";
      return b;
    }
    std::string script = std::string(EARTH_SOURCE_DIR) + "/tests/fixtures/make-busybox-image.sh";
    auto text = earth::fs::read_file(script);
    if (!text) {
      b.error = text.error();
      return b;
    }
    std::string parent = std::string(EARTH_BINARY_DIR) + "/test-fixtures";
    (void)earth::fs::make_dirs(parent);
    b.dir = parent + "/busybox-" + earth::Digest::of(*text).hex().substr(0, 16);
    if (auto done = earth::fs::read_file(b.dir + "/manifest.txt")) {
      b.manifest = *done;
      return b;
    }
    auto tmp = earth::fs::make_temp_dir(parent, "tmp-busybox-");
    auto r = earth::run_process({script, *tmp});
    if (!r || r->exit_status != 0) {
      b.error = "make-busybox-image.sh failed: " + (r ? r->err : r.error());
      return b;
    }
    (void)earth::fs::write_file_atomic(*tmp + "/manifest.txt", std::string(earth::trim(r->out)));
    if (::rename(tmp->c_str(), b.dir.c_str()) != 0)
      (void)earth::fs::remove_all(*tmp); // lost a race
    b.manifest = earth::fs::read_file(b.dir + "/manifest.txt").value();
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
