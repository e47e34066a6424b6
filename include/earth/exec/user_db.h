// Resolving a step's USER ("name:group", "uid:gid", ...) against the
// /etc/passwd and /etc/group of a root filesystem made of layers, the way
// Docker does it.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "earth/base/error.h"

namespace earth::exec {

struct ResolvedUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups; // supplementary groups naming the user in /etc/group
  std::string home = "/";
};

// `user` is "", "uid", "uid:gid", "name", "name:group", "uid:group" or
// "name:gid"; empty means root. Names must exist in the rootfs; a numeric uid
// need not. `lower_dirs` are bottom first; a file is read from the topmost
// layer holding it, with symlinks resolved inside that layer.
Result<ResolvedUser> resolve_user(std::string_view user,
                                  const std::vector<std::string>& lower_dirs);

// Reads `path` (relative to the rootfs) from the topmost layer holding it;
// empty when no layer has it or the topmost one deletes it.
Result<std::string> read_layered_file(const std::vector<std::string>& lower_dirs,
                                      std::string_view path);

} // namespace earth::exec
