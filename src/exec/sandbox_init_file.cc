#include "sandbox_init_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string>

// The program's bytes, from the generated sandbox_init_blob.cc (.incbin of
// the earth_sandbox_init target).
extern "C" const char earth_sandbox_init_begin[];
extern "C" const char earth_sandbox_init_end[];

namespace earth::exec::detail {

namespace {

#ifndef MFD_EXEC
constexpr unsigned MFD_EXEC = 0x10U; // Linux 6.3: exec allowed whatever vm.memfd_noexec says
#endif

int create_memfd(const char* name, bool executable) {
  unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  int fd = ::memfd_create(name, flags | (executable ? MFD_EXEC : 0U));
  // Kernels before 6.3 know no MFD_EXEC (and allow exec anyway).
  if (fd < 0 && errno == EINVAL && executable) fd = ::memfd_create(name, flags);
  return fd;
}

} // namespace

Result<int> sealed_memfd(const char* name, std::string_view bytes, bool executable) {
  int fd = create_memfd(name, executable);
  if (fd < 0) return Failure{errno_message(std::string("memfd_create ") + name, errno)};
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return Failure{errno_message(std::string("write ") + name, err)};
    }
    done += static_cast<size_t>(n);
  }
  int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  // Reopened read-only: exec refuses a file someone holds open for writing.
  std::string self = "/proc/self/fd/" + std::to_string(fd);
  int ro = ::fcntl(fd, F_ADD_SEALS, seals) < 0 ? -1 : ::open(self.c_str(), O_RDONLY | O_CLOEXEC);
  int err = errno;
  ::close(fd);
  if (ro < 0) return Failure{errno_message(std::string("seal ") + name, err)};
  return ro;
}

std::string_view sandbox_init_program() {
  return {earth_sandbox_init_begin,
          static_cast<size_t>(earth_sandbox_init_end - earth_sandbox_init_begin)};
}

Result<int> sandbox_init_fd() {
  static std::once_flag once;
  static Result<int> fd = Failure{"earth-sandbox-init: not loaded"};
  std::call_once(once, [] {
    if (sandbox_init_program().size() < 64)
      fd = Failure{"earth-sandbox-init is missing from this earth binary (a broken build)"};
    else
      fd = sealed_memfd("earth-sandbox-init", sandbox_init_program(), true);
  });
  return fd;
}

} // namespace earth::exec::detail
