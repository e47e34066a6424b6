// The seccomp filter a RUN command gets: Docker's default profile, as it
// applies to Docker's default capability set (docs/sandbox.md).
#pragma once

#include <linux/filter.h>

#include <vector>

#include "earth/base/error.h"

namespace earth::exec::detail {

// The BPF program (seccomp_rules.cc), compiled at build time and embedded.
// Installing it needs no allocation: sock_fprog{size, data()}.
Result<const std::vector<sock_filter>*> default_seccomp_program();

// The same program in a sealed memfd (read-only, close-on-exec), made once
// per process, for the sandbox's PID 1 to read: its fd and length.
struct SeccompFile {
  int fd = -1;
  size_t length = 0; // instructions
};
Result<SeccompFile> default_seccomp_file();

} // namespace earth::exec::detail
