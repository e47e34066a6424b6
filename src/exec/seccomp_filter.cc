// The command's seccomp program, compiled from seccomp_rules.cc at build
// time (earth_seccomp_gen) and embedded in earth: nothing to load or compile
// at run time.
#include "seccomp_filter.h"

#include <cstring>
#include <mutex>

#include "sandbox_init_file.h"

// The program's bytes (sock_filter records), from the generated
// seccomp_program_blob.cc.
extern "C" const char earth_seccomp_program_begin[];
extern "C" const char earth_seccomp_program_end[];

namespace earth::exec::detail {

Result<const std::vector<sock_filter>*> default_seccomp_program() {
  static std::once_flag once;
  static Result<std::vector<sock_filter>> program = Failure{"seccomp: not loaded"};
  std::call_once(once, [] {
    auto size = static_cast<size_t>(earth_seccomp_program_end - earth_seccomp_program_begin);
    if (size == 0 || size % sizeof(sock_filter) != 0) {
      program = Failure{"seccomp: the embedded filter is broken (a broken build)"};
      return;
    }
    std::vector<sock_filter> bpf(size / sizeof(sock_filter));
    std::memcpy(bpf.data(), earth_seccomp_program_begin, size);
    program = std::move(bpf);
  });
  if (!program) return Failure{program.error()};
  return &*program;
}

Result<SeccompFile> default_seccomp_file() {
  static std::once_flag once;
  static Result<SeccompFile> file = Failure{"seccomp: not loaded"};
  std::call_once(once, [] {
    auto program = default_seccomp_program();
    if (!program) {
      file = Failure{program.error()};
      return;
    }
    const auto& bpf = **program;
    auto fd = sealed_memfd("earth-seccomp",
                           std::string_view(reinterpret_cast<const char*>(bpf.data()),
                                            bpf.size() * sizeof(sock_filter)),
                           false);
    if (!fd)
      file = Failure{fd.error()};
    else
      file = SeccompFile{*fd, bpf.size()};
  });
  return file;
}

} // namespace earth::exec::detail
