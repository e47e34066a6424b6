// The Runtime interface: how the builder runs one step's command in a root
// filesystem made of image layers plus a fresh writable layer. LinuxRuntime
// (linux_runtime.h) is the real sandbox; FakeRuntime records what it is asked
// to run, so engine tests need neither root nor a kernel feature.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
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

// Receives one line of output, without its newline. Lines longer than 64 KiB
// arrive in pieces.
using LineSink = std::function<void(std::string_view line)>;

struct RunSpec {
  std::vector<std::string> lower_dirs; // read-only layers, bottom first; may be empty
  std::string upper_dir; // existing empty dir: receives every change, the step's new layer
  std::string work_dir;  // existing empty scratch dir on the same filesystem as upper_dir
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
  std::vector<BindMount> mounts;
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
// script runs out, every run succeeds.
class FakeRuntime : public Runtime {
public:
  // Called for every run after it is recorded; may write into spec.upper_dir or
  // call the line sinks. Its result replaces the scripted one.
  using Action = std::function<Result<RunResult>(const RunSpec&)>;

  void push_result(RunResult result) { results_.push_back(std::move(result)); }
  void push_failure(std::string message) { results_.push_back(Failure{std::move(message)}); }
  void set_action(Action action) { action_ = std::move(action); }
  const std::vector<RunSpec>& runs() const { return runs_; }

  Result<RunResult> run(const RunSpec& spec) override;

private:
  std::vector<RunSpec> runs_;
  std::deque<Result<RunResult>> results_;
  Action action_;
};

} // namespace earth::exec
