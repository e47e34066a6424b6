// RUN --interactive on a pty (terminal.h). One session at a time owns
// earth's terminal; its saved modes are global so that signal handlers
// (async-signal-safe: tcsetattr, write, sigaction, raise) can restore them.
#include "terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>

#include "earth/base/strings.h"
#include "earth/output/status.h"

namespace earth::build {

namespace {

std::mutex g_session; // one session owns earth's terminal
struct termios g_saved;
std::atomic<bool> g_raw{false};
std::atomic<int> g_wake{-1}; // the running session's wake pipe (SIGWINCH)

constexpr int kRestoreOn[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
constexpr int kCrashes[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
struct sigaction g_previous[sizeof kRestoreOn / sizeof kRestoreOn[0]];
struct sigaction g_previous_winch;

void restore_modes() {
  if (g_raw.exchange(false)) ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
}

// SIGINT, SIGTERM, SIGHUP, SIGQUIT while the terminal is raw: its modes
// back, then what was there before (earth's interrupt handler, or death).
void on_signal(int sig, siginfo_t* info, void* ctx) {
  int saved = errno;
  restore_modes();
  for (size_t i = 0; i < std::size(kRestoreOn); ++i) {
    if (kRestoreOn[i] != sig) continue;
    struct sigaction& prev = g_previous[i];
    if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction) {
      prev.sa_sigaction(sig, info, ctx);
    } else if (prev.sa_handler == SIG_DFL) {
      ::sigaction(sig, &prev, nullptr);
      ::raise(sig);
    } else if (prev.sa_handler != SIG_IGN) {
      prev.sa_handler(sig);
    }
  }
  errno = saved;
}

// A crash: the terminal's modes back, then the default action.
void on_crash(int sig) {
  restore_modes();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void on_winch(int) {
  int saved = errno;
  char w = 'w';
  if (int fd = g_wake.load(); fd >= 0) (void)!::write(fd, &w, 1);
  errno = saved;
}

void install_crash_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::atexit(restore_modes);
    for (int sig : kCrashes) {
      struct sigaction sa {};
      sa.sa_handler = on_crash;
      sa.sa_flags = SA_RESETHAND | SA_NODEFER;
      sigemptyset(&sa.sa_mask);
      struct sigaction prev {};
      ::sigaction(sig, nullptr, &prev);
      if (prev.sa_handler == SIG_DFL) ::sigaction(sig, &sa, nullptr);
    }
  });
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

void copy_window_size(int to) {
  struct winsize ws {};
  if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

} // namespace

bool Terminal::available() {
  return ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
}

Result<std::unique_ptr<Terminal>> Terminal::open() {
  std::unique_ptr<Terminal> t(new Terminal);
  t->master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (t->master_ < 0) return Failure{errno_message("open a pseudo-terminal (/dev/ptmx)", errno)};
  char name[128];
  if (::grantpt(t->master_) != 0 || ::unlockpt(t->master_) != 0 ||
      ::ptsname_r(t->master_, name, sizeof name) != 0)
    return Failure{errno_message("set up a pseudo-terminal", errno)};
  t->path_ = name;
  t->slave_ = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (t->slave_ < 0) return Failure{errno_message("open " + t->path_, errno)};
  // The command's terminal starts as earth's is: size and modes (not raw).
  struct termios modes;
  if (::tcgetattr(STDIN_FILENO, &modes) == 0) ::tcsetattr(t->slave_, TCSANOW, &modes);
  copy_window_size(t->master_);
  if (::pipe2(t->wake_, O_CLOEXEC | O_NONBLOCK) != 0) return Failure{errno_message("pipe", errno)};
  return t;
}

Terminal::~Terminal() {
  stop();
  for (int fd : {master_, slave_, wake_[0], wake_[1]})
    if (fd >= 0) ::close(fd);
}

void Terminal::start() {
  g_session.lock();
  started_ = true;
  install_crash_handlers();
  output::lend_terminal(true); // the live view off the screen, before raw mode
  if (::tcgetattr(STDIN_FILENO, &g_saved) == 0) {
    struct termios raw = g_saved;
    ::cfmakeraw(&raw);
    g_raw = true;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }
  struct sigaction sa {};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < std::size(kRestoreOn); ++i)
    ::sigaction(kRestoreOn[i], &sa, &g_previous[i]);
  g_wake = wake_[1];
  struct sigaction winch {};
  winch.sa_handler = on_winch;
  winch.sa_flags = SA_RESTART;
  sigemptyset(&winch.sa_mask);
  ::sigaction(SIGWINCH, &winch, &g_previous_winch);
  copy_window_size(master_); // a resize since open(), before the handler, is not lost
  pump_ = std::thread([this] { pump(); });
}

void Terminal::stop() {
  if (!started_) return;
  started_ = false;
  char q = 'q';
  (void)!::write(wake_[1], &q, 1);
  if (pump_.joinable()) pump_.join();
  ::sigaction(SIGWINCH, &g_previous_winch, nullptr);
  g_wake = -1;
  for (size_t i = 0; i < std::size(kRestoreOn); ++i)
    ::sigaction(kRestoreOn[i], &g_previous[i], nullptr);
  restore_modes();
  output::lend_terminal(false);
  g_session.unlock();
}

// Earth's stdin to the pty, the pty's output to earth's stdout, until 'q'
// (then what the pty still holds is written out).
void Terminal::pump() {
  pollfd fds[3] = {{STDIN_FILENO, POLLIN, 0}, {master_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
  char buf[16384];
  for (;;) {
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[2].revents & POLLIN) {
      char c[64];
      ssize_t n = ::read(wake_[0], c, sizeof c);
      bool quit = false;
      for (ssize_t i = 0; i < n; ++i) {
        if (c[i] == 'w') copy_window_size(master_);
        if (c[i] == 'q') quit = true;
      }
      if (quit) break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n > 0)
        write_all(master_, buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR)
        fds[0].fd = -1; // earth's input ended: the command reads no more of it
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(master_, buf, sizeof buf);
      if (n > 0)
        write_all(STDOUT_FILENO, buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR)
        fds[1].fd = -1;
    }
  }
  // The command has ended: its last output.
  pollfd out{master_, POLLIN, 0};
  while (::poll(&out, 1, 0) > 0 && (out.revents & POLLIN)) {
    ssize_t n = ::read(master_, buf, sizeof buf);
    if (n <= 0) break;
    write_all(STDOUT_FILENO, buf, static_cast<size_t>(n));
  }
}

} // namespace earth::build
