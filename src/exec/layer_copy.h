// Moving a step's new layer from the memory scratch it was made in (a tmpfs)
// to its place on disk: every file type an overlayfs upper dir holds, with
// owners, modes, times, extended attributes (opaque markers, file
// capabilities) and hard links.
#pragma once

#include <string>

#include "earth/base/error.h"

namespace earth::exec {

// Copies the tree under `from` into `to`, an existing empty directory, which
// also takes `from`'s own owner, mode, times and extended attributes.
Result<void> copy_layer(const std::string& from, const std::string& to);

} // namespace earth::exec
