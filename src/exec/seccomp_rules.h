// The seccomp profile's rules, compiled with libseccomp: at build time by
// earth_seccomp_gen into the program earth embeds, and by the unit tests to
// check that embedded program is current.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "earth/base/error.h"

namespace earth::exec::detail {

// How libseccomp lays the program out. `linear` compares the system call
// number with each allowed one in turn (about 1,000 instructions on x86-64
// for three ABIs): the kernel emulates the filter for every system call
// number of each ABI when it is installed (its action cache), so installing
// it cost 1.8-2.2 ms per command on the loaded VM. `binary_tree` (libseccomp's
// optimize level 2) sorts the numbers into a binary search: a few more
// instructions, a tenth of the path per number, 0.4-0.6 ms. The same policy
// (SeccompFilter.EveryNumberGetsWhatTheLinearProgramGives).
enum class SeccompLayout { linear, binary_tree };

// Docker's default profile for the kept capabilities, for this machine's
// architecture (and its 32-bit ones), as a BPF program.
Result<std::vector<sock_filter>>
compile_default_seccomp(SeccompLayout layout = SeccompLayout::binary_tree);

} // namespace earth::exec::detail
