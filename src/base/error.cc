#include "earth/base/error.h"

#include <cstring>

namespace earth {

std::string errno_message(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

} // namespace earth
