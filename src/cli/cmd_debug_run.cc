// earth debug run: one command in a sandbox of an image (or a plain
// directory), the way a RUN step would run it. The new layer is thrown away
// unless --upper names a directory to keep it in (which must then be on a
// filesystem overlayfs accepts as upper: ext4, xfs, btrfs, tmpfs).
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
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

constexpr const char* kUsage =
    "[flags] IMAGE|--rootfs DIR [--] CMD...\n"
    "Runs CMD the way a RUN step would; every word after IMAGE (or after --rootfs DIR's\n"
    "flags, or after --) belongs to CMD. Flags: -u|--user USER, -w|--workdir DIR,\n"
    "-e|--env K=V, --hostname NAME, --network host|none, --add-host NAME:ADDR,\n"
    "--mount SRC:DST[:ro], --timeout SECS, --upper DIR (keep the new layer), --privileged";

// Where the throw-away layer goes: $TMPDIR if set, else /dev/shm. A layer
// nobody keeps is best in memory: on disk, each directory the sandbox and
// overlayfs create and remove costs a block allocation and free.
std::string temp_parent() {
  const char* tmp = std::getenv("TMPDIR");
  if (tmp && *tmp) return tmp;
  return ::access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
}

// Scratch dirs are named .earth-run-PID-XXXXXX, so the scratch of a run that
// was SIGKILLed (nothing of earth's could clean it) is removed by the next
// run, once its PID is dead. A reused PID only delays that.
constexpr std::string_view kScratchPrefix = ".earth-run-";

void remove_dead_scratch(const std::string& parent) {
  DIR* dir = ::opendir(parent.c_str());
  if (!dir) return;
  std::vector<std::string> dead;
  while (dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (!name.starts_with(kScratchPrefix)) continue;
    name.remove_prefix(kScratchPrefix.size());
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || end == name.data() || *end != '-' || pid <= 0) continue;
    if (::kill(pid, 0) < 0 && errno == ESRCH) dead.push_back(fs::join(parent, e->d_name));
  }
  ::closedir(dir);
  for (const auto& path : dead) exec::remove_scratch(path);
}

// --timeout SECS: a non-negative number of seconds.
std::chrono::milliseconds parse_timeout(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  double seconds = std::strtod(text.c_str(), &end);
  if (text.empty() || errno != 0 || end != text.c_str() + text.size() || !(seconds >= 0) ||
      seconds > 1e9)
    throw Error("earth debug run: --timeout wants a number of seconds, got '" + text + "'");
  return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

// The flags that take a value; everything else before IMAGE is a boolean.
constexpr std::string_view kValueFlags[] = {
    "--user",    "-u",        "--workdir", "-w",         "--env",    "-e",     "--hostname",
    "--network", "--timeout", "--mount",   "--add-host", "--rootfs", "--upper"};
constexpr std::string_view kBoolFlags[] = {"--privileged"};

bool is_value_flag(std::string_view word) {
  for (auto flag : kValueFlags)
    if (word == flag) return true;
  return false;
}

// `earth debug run` words split in three: earth's flags (before the first
// other word), the IMAGE (absent with --rootfs), and the command, which is
// everything after the IMAGE (or after --rootfs DIR's flags), an optional
// leading `--` removed: the command's own flags are never earth's.
struct Words {
  std::vector<std::string> flags;
  std::string image;
  std::vector<std::string> command;
  bool help = false;
};

Words split_words(std::vector<std::string> words) {
  Words out;
  bool has_rootfs = false;
  size_t i = 0;
  for (; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--" || w.size() < 2 || w[0] != '-') break;
    std::string name = w.substr(0, w.find('='));
    if (name == "--rootfs") has_rootfs = true;
    if (w == "--help" || w == "-h") {
      out.help = true;
    } else if (is_value_flag(w)) {
      if (i + 1 >= words.size()) throw Error(w + " needs a value");
      out.flags.push_back(w);
      out.flags.push_back(words[++i]);
    } else if (w.find('=') != std::string::npos && name.starts_with("--") && is_value_flag(name)) {
      out.flags.push_back(w);
    } else if (std::find(std::begin(kBoolFlags), std::end(kBoolFlags), w) != std::end(kBoolFlags)) {
      out.flags.push_back(w);
    } else {
      throw Error("earth debug run: unknown flag " + w + " (see earth debug run --help)");
    }
  }
  if (i < words.size() && words[i] == "--") ++i;
  if (!has_rootfs && i < words.size()) {
    out.image = words[i++];
    if (i < words.size() && words[i] == "--") ++i;
  }
  out.command.assign(words.begin() + static_cast<long>(i), words.end());
  return out;
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
  if (args.flag("--privileged")) spec.privileged = true;
  if (auto t = args.option("--timeout"); !t.empty()) spec.timeout = parse_timeout(t);
  for (const auto& m : args.options("--mount")) spec.mounts.push_back(parse_mount(m));
  for (const auto& h : args.options("--add-host")) {
    auto colon = h.find(':');
    if (colon == std::string::npos) throw Error("--add-host wants NAME:ADDRESS, got " + h);
    spec.extra_hosts.emplace_back(h.substr(0, colon), h.substr(colon + 1));
  }
  // The command's bytes, exactly, as they come.
  spec.on_stdout_bytes = [](std::string_view bytes) {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    std::fflush(stdout);
  };
  spec.on_stderr_bytes = [](std::string_view bytes) {
    std::fwrite(bytes.data(), 1, bytes.size(), stderr);
  };
  return spec;
}

} // namespace

int cmd_debug_run(Args& all) {
  Words words = split_words(all.rest());
  if (words.help) {
    std::printf("usage: earth debug run %s\n", kUsage);
    return 0;
  }
  Args args(std::move(words.flags));
  std::string rootfs = args.option("--rootfs");
  std::string keep_upper = args.option("--upper");
  exec::RunSpec spec = spec_from_flags(args);
  if (rootfs.empty()) {
    if (words.image.empty()) throw Error("earth debug run: expected IMAGE or --rootfs DIR");
    apply_image(spec, words.image, std::move(words.command));
  } else {
    if (!fs::is_dir(rootfs)) throw Error("earth debug run: no such directory: " + rootfs);
    spec.lower_dirs.push_back(rootfs);
    spec.argv = std::move(words.command);
    if (spec.cwd.empty()) spec.cwd = "/";
  }
  if (spec.argv.empty()) spec.argv = {"/bin/sh"};

  std::string parent = keep_upper.empty() ? temp_parent() : fs::dirname(fs::normalize(keep_upper));
  remove_dead_scratch(parent);
  fs::TempDir scratch(parent, std::string(kScratchPrefix) + std::to_string(::getpid()) + "-");
  spec.work_dir = fs::join(scratch.path(), "work");
  spec.upper_dir = keep_upper.empty() ? fs::join(scratch.path(), "upper") : keep_upper;
  fs::make_dirs(spec.work_dir, 0700).take();
  fs::make_dirs(spec.upper_dir, 0755).take();

  start_work();
  exec::kill_runs_on_signals();
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
