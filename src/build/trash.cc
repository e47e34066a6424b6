#include "trash.h"

#include "earth/exec/linux_runtime.h"

namespace earth::build {

Trash::Trash() : thread_([this] { run(); }) {}

Trash::~Trash() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Trash::add(std::string dir) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(dir));
  }
  cv_.notify_one();
}

void Trash::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return done_ || !queue_.empty(); });
    if (queue_.empty()) return; // done and drained
    std::string dir = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    exec::remove_scratch(dir);
    lock.lock();
  }
}

} // namespace earth::build
