// Where a run's overlayfs upper and work dirs live. overlayfs creates and
// removes several directories and files in its work dir at every mount and
// the command's changes land in the upper dir; on a disk that costs inode
// allocations and, with `discard`, a synchronous discard per freed block.
// So unless the caller names a work dir, a run keeps both in memory (a
// tmpfs, /dev/shm) and its layer is copied into RunSpec::upper_dir once the
// command has ended (docs/sandbox.md, "Step scratch").
#pragma once

#include <string>

#include "earth/base/error.h"
#include "earth/exec/runtime.h"

namespace earth::exec {

class Scratch {
public:
  enum class Place { memory_if_usable, disk };
  // The caller's upper and work dirs when it named a work dir; else a fresh
  // memory scratch dir `.earth-step-PID-XXXXXX` holding `upper` and `work`
  // in /dev/shm (or EARTH_STEP_SCRATCH_DIR), or, when the tmpfs is missing
  // or has less than kMinFreeBytes free, or EARTH_STEP_SCRATCH=disk, or
  // `place` is disk, a work dir made next to the upper dir.
  static Result<Scratch> make(const RunSpec& spec, Place place = Place::memory_if_usable);
  Scratch(Scratch&& other) noexcept;
  Scratch& operator=(Scratch&&) = delete;
  ~Scratch();

  const std::string& upper() const { return upper_; }
  const std::string& work() const { return work_; }
  bool in_memory() const { return in_memory_; }

  // A memory scratch whose tmpfs has (almost) no room left: less than
  // kNearlyFullBytes or 1/32 of its size free.
  bool nearly_full() const;
  // Removes whatever this scratch made, copying nothing.
  void discard();

  // After the run: copies a memory layer into spec.upper_dir, then removes
  // whatever this scratch made.
  Result<void> finish(const RunSpec& spec);

  static constexpr unsigned long long kMinFreeBytes = 1ULL << 30;
  static constexpr unsigned long long kNearlyFullBytes = 4ULL << 20;

private:
  Scratch() = default;
  std::string made_; // what this scratch created and removes: a dir, or ""
  std::string upper_, work_;
  bool in_memory_ = false;
};

// Removes memory scratch dirs left by runs whose process is gone (killed
// with SIGKILL, nothing of earth's could clean up). LinuxRuntime calls it
// once per process.
void remove_dead_step_scratch();

} // namespace earth::exec
