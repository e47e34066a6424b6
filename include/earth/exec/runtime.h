// The Runtime interface: how the builder runs one step's command in a root
// filesystem made of image layers plus a fresh writable layer. LinuxRuntime
// (linux_runtime.h) is the real sandbox; FakeRuntime records what it is asked
// to run, so engine tests need neither root nor a kernel feature.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earth/base/error.h"

namespace earth::exec {

enum class Network {
  host, // the host's network namespace (RUN's default)
  none, // a private namespace with only loopback (RUN --network=none)
};

// A host path made visible inside the sandbox: cache mounts, secrets, SSH
// sockets. The target is created in the rootfs when missing and removed from
// the new layer again afterwards.
struct BindMount {
  std::string source; // host path, a directory or a file
  std::string target; // absolute path inside the sandbox
  bool read_only = false;
};

// A tmpfs made inside the sandbox (RUN --mount type=tmpfs): mode 1777,
// nosuid, nodev. What is written there never reaches the new layer.
struct TmpfsMount {
  std::string target;      // absolute path inside the sandbox, created when missing
  uint64_t size_bytes = 0; // 0: the kernel's default (half of RAM)
};

// Receives one line of output, without its newline. Lines longer than 64 KiB
// arrive in pieces.
using LineSink = std::function<void(std::string_view line)>;
// Receives output bytes exactly as the command wrote them, in chunks.
using ByteSink = std::function<void(std::string_view bytes)>;

struct RunSpec {
  std::vector<std::string> lower_dirs; // read-only layers, bottom first; may be empty
  std::string upper_dir; // existing empty dir: receives every change, the step's new layer
  // An existing empty scratch dir on upper_dir's filesystem, where overlayfs
  // works on upper_dir directly; or empty: the runtime makes the layer in
  // memory and copies it into upper_dir at the end (docs/sandbox.md, "Step
  // scratch"), which spares the disk overlayfs's per-run inodes.
  std::string work_dir;
  std::vector<std::string> argv;
  std::vector<std::string> env; // "NAME=value"; PATH gets the usual default when missing
  std::string cwd = "/";        // created (as root) when missing
  // "", "uid", "uid:gid", "name" or "name:group"; names are looked up in the
  // rootfs's /etc/passwd and /etc/group. Empty means root.
  std::string user;
  std::string hostname = "earth";
  Network network = Network::host;
  std::vector<std::pair<std::string, std::string>> extra_hosts; // (name, address)
  std::chrono::milliseconds timeout{0};                         // 0: no limit
  LineSink on_stdout;
  LineSink on_stderr;
  // Byte-exact output (earth debug run); each is called alongside the line
  // sink of the same stream when both are set.
  ByteSink on_stdout_bytes;
  ByteSink on_stderr_bytes;
  // An fd of earth's the command reads as its stdin (RUN --interactive:
  // earth's terminal); -1: /dev/null.
  int stdin_fd = -1;
  // RUN --interactive on a terminal: stdin_fd is the slave of a pty earth
  // made, and this its host path (/dev/pts/N). It is then also the
  // command's stdout, stderr and controlling terminal, and is at the same
  // path in the sandbox (ttyname() finds it); the output sinks get nothing.
  std::string terminal;
  std::vector<BindMount> mounts; // nodev, unless privileged
  std::vector<TmpfsMount> tmpfs; // mounted after `mounts`, parents before children
  // RUN --privileged: the command keeps every capability, with no seccomp
  // filter, no_new_privs, masked or read-only /proc paths (docs/sandbox.md).
  bool privileged = false;
};

struct RunResult {
  int exit_status = -1; // exit code, or 128+signal when killed
  int signal = 0;       // the signal that ended the command, 0 if it exited
  bool timed_out = false;
  bool interrupted = false; // killed by interrupt_all_runs() (SIGINT/SIGTERM)
  std::chrono::nanoseconds duration{0};
  bool success() const { return exit_status == 0 && !timed_out && !interrupted; }
};

class Runtime {
public:
  virtual ~Runtime() = default;
  // Runs spec.argv to completion. A command that fails or is killed is a
  // RunResult; a Failure means the sandbox could not be set up or the
  // command could not be started (e.g. "exec gcc: No such file or directory").
  virtual Result<RunResult> run(const RunSpec& spec) = 0;
};

// Records every RunSpec and answers with scripted results, in order; when the
// script runs out, every run succeeds. Thread-safe: the engine may call run()
// from several threads while a test scripts and inspects it.
//
// Holding lets a test drive concurrency: while hold_runs(true) is on, each
// run() is recorded and then waits, before its action, until released;
// release_one() lets the oldest held run go (or, when none waits yet, the
// next one to arrive), hold_runs(false) lets every run go. A test typically
// holds, starts the build on a thread, wait_for_held(2) to see two steps in
// flight at once, then releases them.
class FakeRuntime : public Runtime {
public:
  // Called for every run after it is recorded (and released, when held); may
  // write into spec.upper_dir or call the sinks (a line given to a line sink
  // reaches that stream's byte sink too, as with the real runtime). Its result replaces the
  // scripted one. It runs without the runtime's lock held, possibly on
  // several threads at once.
  using Action = std::function<Result<RunResult>(const RunSpec&)>;

  void push_result(RunResult result);
  void push_failure(std::string message);
  void set_action(Action action);
  // A copy of every spec recorded so far, in the order run() was called.
  std::vector<RunSpec> runs() const;
  size_t run_count() const;

  void hold_runs(bool hold);
  void release_one();
  // Runs waiting to be released now.
  size_t held_count() const;
  // Waits until at least `count` runs are held; false on timeout.
  bool wait_for_held(size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  Result<RunResult> run(const RunSpec& spec) override;

private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<RunSpec> runs_;
  std::deque<Result<RunResult>> results_;
  Action action_;
  bool hold_ = false;
  uint64_t next_ticket_ = 0; // held runs, in arrival order
  uint64_t released_ = 0;    // tickets below this may go
  size_t held_ = 0;
};

} // namespace earth::exec
