// earth's stdlib: Earthfiles of FUNCTIONs shipped inside the binary (the
// files under stdlib/ in the source tree, embedded at build time) and reached
// with `IMPORT stdlib/<package>`, as Earthly's `github.com/earthly/lib` is
// (docs/stdlib.md). Earthly's spellings of the packages earth has a
// compatible version of map to them.
#pragma once

#include <span>
#include <string_view>

#include "earth/resolve/reference.h"

namespace earth::resolve {

struct StdlibPackage {
  std::string_view name;      // "apt": IMPORT stdlib/apt
  std::string_view earthfile; // the Earthfile's text
};

// Every package, sorted by name.
std::span<const StdlibPackage> stdlib_packages();

// The package a (remote-looking) Earthfile reference names: `stdlib/apt`,
// or an Earthly lib path that maps to one (`github.com/earthly/lib/apt`);
// nullptr otherwise. A tag (`:v3.0.3`) is ignored: the stdlib is the one
// this binary ships.
const StdlibPackage* stdlib_package_for(const EarthfileRef& ref);

// Whether `ref` is spelled `stdlib/…` (known package or not).
bool is_stdlib_path(const EarthfileRef& ref);

} // namespace earth::resolve
