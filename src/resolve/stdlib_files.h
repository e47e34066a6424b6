// Internal: the embedded stdlib Earthfiles (generated stdlib_files.cc).
#pragma once

#include "earth/resolve/stdlib.h"

namespace earth::resolve {

// Sorted by name (the generator sorts the directory names).
std::span<const StdlibPackage> stdlib_files();

} // namespace earth::resolve
