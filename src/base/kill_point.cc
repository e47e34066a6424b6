#include "earth/base/kill_point.h"

#include <csignal>
#include <cstdlib>
#include <mutex>
#include <string>

namespace earth {

namespace {

struct Target {
  std::string name; // empty: no kill point armed
  long nth = 1;
};

const Target& target() {
  static const Target t = [] {
    Target r;
    const char* env = std::getenv("EARTH_TEST_KILL_AT");
    if (!env || !*env) return r;
    std::string s = env;
    size_t colon = s.rfind(':');
    r.name = s.substr(0, colon);
    if (colon != std::string::npos)
      r.nth = std::max(1L, std::strtol(s.c_str() + colon + 1, nullptr, 10));
    return r;
  }();
  return t;
}

} // namespace

void kill_point(std::string_view name) {
  const Target& t = target();
  if (t.name.empty() || name != t.name) return;
  static std::mutex mu;
  static long passed = 0;
  std::lock_guard lock(mu);
  if (++passed == t.nth) ::raise(SIGKILL);
}

} // namespace earth
