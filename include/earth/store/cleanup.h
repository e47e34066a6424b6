// Repairs after a crash or a signal. Every temp file or dir a process writes
// lives in its own <cache>/tmp/proc-<pid>-<random>/, whose sibling lock file
// proc-<pid>-<random>.lock it flocks for as long as it lives:
// - SIGINT/SIGTERM remove that dir at once (then the signal's previous
//   disposition applies: the default kills, a handler is called);
// - after a SIGKILL the lock is free, and the next store opened removes the
//   dir, across pid namespaces and regardless of its age.
// Entries of <cache>/tmp that no such lock covers (older earth versions) are
// removed once a day old.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "earth/base/error.h"

namespace earth::store {

// This process's temp dir under <cache_dir>/tmp, created (and its lock taken,
// and the signal handlers installed) on first use; recreated if removed.
Result<std::string> process_temp_dir(const std::string& cache_dir);

// The dir under this process's temp dir that holds its unkept steps
// (SnapshotStore::make_unkept), and their removal at the end of a build.
Result<std::string> unkept_dir(const std::string& cache_dir);
void remove_unkept(const std::string& cache_dir);
// Whether one of `paths` is one of this process's unkept steps (or below one).
bool any_unkept(const std::string& cache_dir, const std::vector<std::string>& paths);

// Removes the temp dirs of dead processes, and other entries of
// <cache_dir>/tmp last modified more than `age` ago; returns how many.
Result<int> remove_stale_temps(const std::string& cache_dir,
                               std::chrono::seconds age = std::chrono::hours(24));

} // namespace earth::store
