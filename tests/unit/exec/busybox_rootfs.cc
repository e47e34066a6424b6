#include "busybox_rootfs.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/base/subprocess.h"

namespace earth::exec::testing {

void make_busybox_rootfs(const std::string& dir) {
  for (const char* sub : {"bin", "etc", "root", "home/user", "tmp"})
    fs::make_dirs(fs::join(dir, sub)).take();
  ::chmod(fs::join(dir, "tmp").c_str(), 01777);
  auto binary = fs::read_file("/bin/busybox").take();
  fs::write_file_atomic(fs::join(dir, "bin/busybox"), binary, 0755).take();
  auto list = run_process({"/bin/busybox", "--list"}).take();
  for (const auto& applet : split(list.out, '\n')) {
    if (applet.empty() || applet == "busybox") continue;
    ::symlink("busybox", fs::join(dir, "bin/" + applet).c_str());
  }
  fs::write_file_atomic(fs::join(dir, "etc/passwd"),
                        "root:x:0:0:root:/root:/bin/sh\n"
                        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                        "user:x:1000:1000:user:/home/user:/bin/sh\n")
      .take();
  fs::write_file_atomic(fs::join(dir, "etc/group"),
                        "root:x:0:\nwheel:x:10:user\nnogroup:x:65534:\nuser:x:1000:\n")
      .take();
}

int count_processes(const std::string& marker) {
  int count = 0;
  DIR* proc = ::opendir("/proc");
  while (dirent* e = proc ? ::readdir(proc) : nullptr) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    auto cmdline = fs::read_file(std::string("/proc/") + e->d_name + "/cmdline");
    if (!cmdline) continue;
    for (auto& c : *cmdline)
      if (c == '\0') c = ' ';
    if (cmdline->find(marker) != std::string::npos) ++count;
  }
  if (proc) ::closedir(proc);
  return count;
}

int count_mounts(const std::string& path) {
  int count = 0;
  for (const auto& line : split(fs::read_file("/proc/self/mountinfo").take(), '\n'))
    if (line.find(path) != std::string::npos) ++count;
  return count;
}

Captured run_captured(Runtime& runtime, const std::string& scratch, RunSpec spec) {
  static std::atomic<int> counter{0};
  std::string dir = fs::join(scratch, "run" + std::to_string(counter++));
  Captured c;
  c.upper = fs::join(dir, "upper");
  if (spec.upper_dir.empty()) spec.upper_dir = c.upper;
  fs::make_dirs(spec.upper_dir).take();
  if (!spec.work_dir.empty()) fs::make_dirs(spec.work_dir).take();
  auto tee = [](LineSink next, std::vector<std::string>& lines) -> LineSink {
    return [next = std::move(next), &lines](std::string_view l) {
      lines.emplace_back(l);
      if (next) next(l);
    };
  };
  spec.on_stdout = tee(std::move(spec.on_stdout), c.out);
  spec.on_stderr = tee(std::move(spec.on_stderr), c.err);
  c.result = runtime.run(spec);
  return c;
}

} // namespace earth::exec::testing
