// RUN --interactive on a terminal: the command gets a pseudo-terminal of
// its own (as `docker run -it` does), so that it sees a tty (`tty`,
// `test -t 0`, full-screen programs, a shell prompt) and earth's terminal
// is passed through to it byte for byte.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "earth/base/error.h"

namespace earth::build {

class Terminal {
public:
  // True when earth's stdin and stdout are both terminals: then a command
  // gets a pty; else it reads earth's stdin and writes to pipes, as before.
  static bool available();
  // A new pty, its window size that of earth's terminal.
  static Result<std::unique_ptr<Terminal>> open();
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  int slave() const { return slave_; }
  const std::string& path() const { return path_; } // /dev/pts/N

  // Until stop(): earth's terminal in raw mode (restored on stop, exit, a
  // crash or a fatal signal), what is typed sent to the pty, its output
  // written to earth's stdout, window size changes forwarded.
  void start();
  void stop();

private:
  Terminal() = default;
  void pump();

  int master_ = -1, slave_ = -1;
  int wake_[2] = {-1, -1}; // 'w': the window changed; 'q': stop
  std::string path_;
  std::thread pump_;
  bool started_ = false;
};

} // namespace earth::build
