// earth_sandbox_run [--loop N] [--scratch DIR] ROOTFS CMD...: runs CMD in a
// LinuxRuntime sandbox with ROOTFS as the only layer and a throw-away upper
// dir under DIR (default $TMPDIR or /tmp).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "earth/base/fs.h"
#include "earth/exec/linux_runtime.h"

int main(int argc, char** argv) {
  int loops = 0;
  const char* tmp = std::getenv("TMPDIR");
  std::string scratch_parent = tmp && *tmp ? tmp : "/tmp";
  int i = 1;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    if (std::strcmp(argv[i], "--loop") == 0)
      loops = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--scratch") == 0)
      scratch_parent = argv[i + 1];
    else
      break;
  }
  if (argc - i < 2) {
    std::fprintf(stderr, "usage: earth_sandbox_run [--loop N] [--scratch DIR] ROOTFS CMD...\n");
    return 2;
  }
  using namespace earth;
  exec::LinuxRuntime runtime;
  exec::RunSpec spec;
  spec.lower_dirs = {argv[i]};
  spec.argv.assign(argv + i + 1, argv + argc);
  spec.on_stdout = [](std::string_view l) { std::printf("%.*s\n", int(l.size()), l.data()); };
  fs::TempDir scratch(scratch_parent, ".earth-bench-");
  int status = 0;
  auto start = std::chrono::steady_clock::now();
  for (int n = 0; n < (loops ? loops : 1); ++n) {
    // What a build step needs: a fresh upper dir (its layer) and a work dir.
    spec.upper_dir = fs::join(scratch.path(), "upper" + std::to_string(n));
    spec.work_dir = fs::join(scratch.path(), "work" + std::to_string(n));
    fs::make_dirs(spec.upper_dir).take();
    fs::make_dirs(spec.work_dir).take();
    auto r = runtime.run(spec);
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().c_str());
      return 2;
    }
    status = r->exit_status;
  }
  if (loops) {
    auto total =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
    std::printf("%d runs, %.3f ms per run\n", loops, total.count() / loops);
  }
  return status;
}
