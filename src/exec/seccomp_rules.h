// The seccomp profile's rules, compiled with libseccomp: at build time by
// earth_seccomp_gen into the program earth embeds, and by the unit tests to
// check that embedded program is current.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "earth/base/error.h"

namespace earth::exec::detail {

// Docker's default profile for the kept capabilities, for this machine's
// architecture (and its 32-bit ones), as a BPF program.
Result<std::vector<sock_filter>> compile_default_seccomp();

} // namespace earth::exec::detail
