// The seccomp profile's rules, compiled with libseccomp: at build time by
// earth_seccomp_gen into the program earth embeds, and by the unit tests to
// check that embedded program is current.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "earth/base/error.h"

namespace earth::exec::detail {

// How the program is laid out. `linear` (libseccomp's) compares the system
// call number with each allowed one in turn (about 1,000 instructions on
// x86-64 for three ABIs), and the kernel emulates the filter for every
// number of each ABI when it is installed (its action cache): 1.8-2.2 ms
// per command. libseccomp's binary tree (optimize level 2) shortened each
// path but made 1,249 instructions, whose checking and compiling cost
// ~0.33 ms per install. `bitmap` (earth's, compile_bitmap) tests the
// number's bit in a 32-bit word found by a binary search over the ABI's
// dozen words, then compares the few conditional calls: 229 instructions,
// ~0.08 ms. The tests check that it decides as `linear` does, for every
// number of every ABI (SeccompFilter.EveryNumberGetsWhatTheLinearProgramGives).
enum class SeccompLayout { linear, bitmap };

// Docker's default profile for the kept capabilities, for this machine's
// architecture (and its 32-bit ones), as a BPF program.
Result<std::vector<sock_filter>>
compile_default_seccomp(SeccompLayout layout = SeccompLayout::bitmap);

} // namespace earth::exec::detail
