// Mount points the sandbox must create in the rootfs (/proc, /dev,
// /etc/hosts, /etc/resolv.conf, bind targets) land in the upper dir, which
// is the step's new layer. These helpers find which ones the image lacks and
// remove them from the layer after the run, so a RUN's layer holds only what
// the command changed.
#pragma once

#include <string>
#include <vector>

namespace earth::exec {

// The mount points (relative, e.g. "etc/hosts") that no lower dir holds.
std::vector<std::string> find_missing_mount_points(const std::vector<std::string>& lower_dirs,
                                                   const std::vector<std::string>& bind_targets);

// Removes each stub from `upper_dir` if it is still an empty file or an empty
// directory, then its parents while they are empty and not opaque.
void remove_mount_stubs(const std::string& upper_dir, const std::vector<std::string>& stubs);

// Removes what overlayfs left in a run's work dir (the dir itself stays) and
// the empty lower dir made for a run without layers (`<work_dir>.empty`).
void clear_work_dir(const std::string& work_dir);

} // namespace earth::exec
