// Named crash points for the kill -9 recovery test (tests/e2e/health_test.sh):
// with EARTH_TEST_KILL_AT=NAME[:N], the N-th (default first) time the
// process passes kill_point(NAME) it sends itself SIGKILL, exactly as an
// OOM killer or a power cut would stop it. Without the variable a kill point
// costs one load of a cached flag.
#pragma once

#include <string_view>

namespace earth {

void kill_point(std::string_view name);

} // namespace earth
