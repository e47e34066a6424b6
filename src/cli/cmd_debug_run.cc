// earth debug run: one command in a sandbox of an image (or a plain
// directory), the way a RUN step would run it. The new layer is thrown away
// unless --upper names a directory to keep it in (which must then be on a
// filesystem overlayfs accepts as upper: ext4, xfs, btrfs, tmpfs).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "earth/base/error.h"
#include "earth/base/fs.h"
#include "earth/cli/commands.h"
#include "earth/exec/linux_runtime.h"
#include "earth/image/image_store.h"

namespace earth::cli {

namespace {

void on_interrupt(int) {
  exec::interrupt_all_runs();
}

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
}

// Where the throw-away layer goes: $TMPDIR if set, else /dev/shm. A layer
// nobody keeps is best in memory: on disk, each directory the sandbox and
// overlayfs create and remove costs a block allocation and free.
std::string temp_parent() {
  const char* tmp = std::getenv("TMPDIR");
  if (tmp && *tmp) return tmp;
  return ::access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
}

// "SRC:DST" or "SRC:DST:ro".
exec::BindMount parse_mount(const std::string& text) {
  auto first = text.find(':');
  if (first == std::string::npos) throw Error("--mount wants SRC:DST[:ro], got " + text);
  exec::BindMount m;
  m.source = text.substr(0, first);
  m.target = text.substr(first + 1);
  if (m.target.ends_with(":ro")) {
    m.target.resize(m.target.size() - 3);
    m.read_only = true;
  }
  return m;
}

// The image's layers, env, workdir, user and command, as `docker run` takes
// them: CMD... replaces the image's Cmd and follows its Entrypoint.
void apply_image(exec::RunSpec& spec, const std::string& ref, std::vector<std::string> command) {
  auto store = image::ImageStore::open(image::ImageStore::default_cache_dir()).take();
  auto record = store->resolve(ref).take();
  const auto& config = record.config;
  spec.lower_dirs = record.layer_dirs;
  spec.env.insert(spec.env.begin(), config.env.begin(), config.env.end());
  if (spec.cwd.empty()) spec.cwd = config.working_dir.empty() ? "/" : config.working_dir;
  if (spec.user.empty()) spec.user = config.user;
  spec.argv = config.entrypoint;
  const auto& tail = command.empty() ? config.cmd : command;
  spec.argv.insert(spec.argv.end(), tail.begin(), tail.end());
}

exec::RunSpec spec_from_flags(Args& args) {
  exec::RunSpec spec;
  spec.user = args.option("--user", "-u");
  spec.cwd = args.option("--workdir", "-w");
  spec.env = args.options("--env", "-e");
  if (auto host = args.option("--hostname"); !host.empty()) spec.hostname = host;
  std::string network = args.option("--network");
  if (network == "none")
    spec.network = exec::Network::none;
  else if (!network.empty() && network != "host" && network != "default")
    throw Error("--network must be host or none, got " + network);
  if (auto t = args.option("--timeout"); !t.empty())
    spec.timeout = std::chrono::milliseconds(static_cast<long>(std::stod(t) * 1000));
  for (const auto& m : args.options("--mount")) spec.mounts.push_back(parse_mount(m));
  for (const auto& h : args.options("--add-host")) {
    auto colon = h.find(':');
    if (colon == std::string::npos) throw Error("--add-host wants NAME:ADDRESS, got " + h);
    spec.extra_hosts.emplace_back(h.substr(0, colon), h.substr(colon + 1));
  }
  spec.on_stdout = [](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  };
  spec.on_stderr = [](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fputc('\n', stderr);
  };
  return spec;
}

} // namespace

int cmd_debug_run(Args& args) {
  std::string rootfs = args.option("--rootfs");
  std::string keep_upper = args.option("--upper");
  exec::RunSpec spec = spec_from_flags(args);
  auto rest = args.positional("debug run");
  if (rootfs.empty()) {
    if (rest.empty()) throw Error("earth debug run: expected IMAGE or --rootfs DIR");
    apply_image(spec, rest.front(), {rest.begin() + 1, rest.end()});
  } else {
    if (!fs::is_dir(rootfs)) throw Error("earth debug run: no such directory: " + rootfs);
    spec.lower_dirs.push_back(rootfs);
    spec.argv = rest;
    if (spec.cwd.empty()) spec.cwd = "/";
  }
  if (spec.argv.empty()) spec.argv = {"/bin/sh"};

  std::string parent = keep_upper.empty() ? temp_parent() : fs::dirname(fs::normalize(keep_upper));
  fs::TempDir scratch(parent, ".earth-run-");
  spec.work_dir = fs::join(scratch.path(), "work");
  spec.upper_dir = keep_upper.empty() ? fs::join(scratch.path(), "upper") : keep_upper;
  fs::make_dirs(spec.work_dir, 0700).take();
  fs::make_dirs(spec.upper_dir, 0755).take();

  install_interrupt_handlers();
  exec::LinuxRuntime runtime;
  auto ran = runtime.run(spec);
  // The throw-away layer may hold directories its owner cannot list.
  if (keep_upper.empty()) exec::remove_scratch(spec.upper_dir);
  auto result = std::move(ran).take();
  if (result.interrupted) return static_cast<int>(ExitCode::interrupted);
  if (result.timed_out) {
    std::fprintf(stderr, "earth debug run: timed out\n");
    return 124;
  }
  return result.exit_status;
}

} // namespace earth::cli
