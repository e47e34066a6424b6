// earth_seccomp_gen OUT: writes the seccomp program of seccomp_rules.cc (raw
// sock_filter records) to OUT, at build time, for earth to embed.
#include <cstdio>

#include "seccomp_rules.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: earth_seccomp_gen OUT\n");
    return 2;
  }
  auto program = earth::exec::detail::compile_default_seccomp();
  if (!program) {
    std::fprintf(stderr, "earth_seccomp_gen: %s\n", program.error().c_str());
    return 1;
  }
  std::FILE* out = std::fopen(argv[1], "wb");
  size_t n = out ? std::fwrite(program->data(), sizeof(sock_filter), program->size(), out) : 0;
  if (!out || n != program->size() || std::fclose(out) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  return 0;
}
