#include "earth/resolve/stdlib.h"

#include <algorithm>
#include <array>
#include <utility>

#include "stdlib_files.h"

namespace earth::resolve {

namespace {

constexpr std::string_view kPrefix = "stdlib/";

// Earthly lib packages (and the EarthBuild fork's) that an earth package
// stands in for: same function names and arguments (docs/stdlib.md).
constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kEarthlyLib = {{
    {"github.com/earthly/lib/apt", "apt"},
    {"github.com/earthly/lib/rust", "cargo"},
    {"github.com/earthly/lib/ssh", "ssh"},
    {"github.com/earthly/lib/utils/ssh", "ssh"},
    {"github.com/EarthBuild/lib/apt", "apt"},
    {"github.com/EarthBuild/lib/rust", "cargo"},
    {"github.com/EarthBuild/lib/ssh", "ssh"},
    {"github.com/EarthBuild/lib/utils/ssh", "ssh"},
}};

const StdlibPackage* find_package(std::string_view name) {
  auto files = stdlib_files();
  auto it = std::find_if(files.begin(), files.end(),
                         [&](const StdlibPackage& p) { return p.name == name; });
  return it == files.end() ? nullptr : &*it;
}

} // namespace

std::span<const StdlibPackage> stdlib_packages() {
  return stdlib_files();
}

bool is_stdlib_path(const EarthfileRef& ref) {
  return ref.kind == EarthfileRef::Kind::remote && ref.path.starts_with(kPrefix);
}

const StdlibPackage* stdlib_package_for(const EarthfileRef& ref) {
  if (ref.kind != EarthfileRef::Kind::remote) return nullptr;
  std::string_view path = ref.path;
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.starts_with(kPrefix)) return find_package(path.substr(kPrefix.size()));
  for (const auto& [earthly, name] : kEarthlyLib)
    if (path == earthly) return find_package(name);
  return nullptr;
}

} // namespace earth::resolve
