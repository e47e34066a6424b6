// The files the sandbox's PID 1 needs from earth, in memory: the
// earth-sandbox-init program (embedded in earth at build time) and the
// seccomp filter. Each is made once per process, as a sealed memfd.
#pragma once

#include <string_view>

#include "earth/base/error.h"

namespace earth::exec::detail {

// A read-only, close-on-exec fd of a sealed memfd holding `bytes`.
Result<int> sealed_memfd(const char* name, std::string_view bytes, bool executable);

// earth-sandbox-init, ready for execveat(fd, "", ..., AT_EMPTY_PATH).
Result<int> sandbox_init_fd();

// The embedded program itself (for tests).
std::string_view sandbox_init_program();

} // namespace earth::exec::detail
