// Scratch directories (overlay work dirs) removed off the critical path: a
// step hands its dir over and goes on; a background thread deletes it. On
// disks mounted with `discard`, each freed directory block makes rmdir wait
// for the device (bench/engine/README.md), so deleting inline would cost a
// RUN miss several milliseconds. The destructor finishes the queue.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace earth::build {

class Trash {
public:
  Trash();
  ~Trash();
  Trash(const Trash&) = delete;
  Trash& operator=(const Trash&) = delete;
  void add(std::string dir);

private:
  void run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool done_ = false;
  std::thread thread_;
};

} // namespace earth::build
