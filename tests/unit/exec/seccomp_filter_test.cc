#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <cerrno>

#include <cstdint>
#include <cstring>

#include "../../../src/exec/seccomp_filter.h"
#include "../../../src/exec/seccomp_rules.h"

namespace earth::exec::detail {
namespace {

// earth embeds the program earth_seccomp_gen compiled at build time; it must
// be what the rules compile to now, instruction for instruction.
TEST(SeccompFilter, EmbeddedProgramIsTheCompiledRules) {
  auto compiled = compile_default_seccomp();
  ASSERT_TRUE(compiled) << compiled.error();
  auto embedded = default_seccomp_program();
  ASSERT_TRUE(embedded) << embedded.error();
  ASSERT_EQ((*embedded)->size(), compiled->size());
  EXPECT_EQ(
      std::memcmp((*embedded)->data(), compiled->data(), compiled->size() * sizeof(sock_filter)),
      0);
}

TEST(SeccompFilter, FileHoldsTheProgram) {
  auto file = default_seccomp_file();
  ASSERT_TRUE(file) << file.error();
  auto program = default_seccomp_program();
  ASSERT_TRUE(program);
  EXPECT_EQ(file->length, (*program)->size());
  std::vector<sock_filter> read(file->length);
  auto bytes = static_cast<ssize_t>(read.size() * sizeof(sock_filter));
  EXPECT_EQ(::pread(file->fd, read.data(), static_cast<size_t>(bytes), 0), bytes);
  EXPECT_EQ(std::memcmp(read.data(), (*program)->data(), static_cast<size_t>(bytes)), 0);
}

// A classic BPF interpreter for seccomp programs: the action `program`
// returns for `data`, and in `steps` how many instructions it ran.
uint32_t evaluate(const std::vector<sock_filter>& program, const seccomp_data& data,
                  size_t* steps = nullptr) {
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  const auto* bytes = reinterpret_cast<const unsigned char*>(&data);
  size_t ran = 0;
  for (size_t pc = 0; pc < program.size(); ++pc, ++ran) {
    const sock_filter& i = program[pc];
    uint32_t src = BPF_SRC(i.code) == BPF_X ? x : i.k;
    switch (BPF_CLASS(i.code)) {
    case BPF_LD:
      if (BPF_MODE(i.code) == BPF_ABS && BPF_SIZE(i.code) == BPF_W && i.k + 4 <= sizeof data)
        std::memcpy(&a, bytes + i.k, 4);
      else if (BPF_MODE(i.code) == BPF_IMM)
        a = i.k;
      else if (BPF_MODE(i.code) == BPF_MEM && i.k < BPF_MEMWORDS)
        a = mem[i.k];
      else
        ADD_FAILURE() << "unexpected load at " << pc;
      break;
    case BPF_LDX:
      x = BPF_MODE(i.code) == BPF_MEM && i.k < BPF_MEMWORDS ? mem[i.k] : i.k;
      break;
    case BPF_ST:
      if (i.k < BPF_MEMWORDS) mem[i.k] = a;
      break;
    case BPF_STX:
      if (i.k < BPF_MEMWORDS) mem[i.k] = x;
      break;
    case BPF_ALU:
      switch (BPF_OP(i.code)) {
      case BPF_ADD:
        a += src;
        break;
      case BPF_SUB:
        a -= src;
        break;
      case BPF_MUL:
        a *= src;
        break;
      case BPF_DIV:
        a = src ? a / src : 0;
        break;
      case BPF_OR:
        a |= src;
        break;
      case BPF_AND:
        a &= src;
        break;
      case BPF_LSH:
        a <<= (src & 31);
        break;
      case BPF_RSH:
        a >>= (src & 31);
        break;
      case BPF_NEG:
        a = -a;
        break;
      case BPF_XOR:
        a ^= src;
        break;
      default:
        ADD_FAILURE() << "unexpected ALU op at " << pc;
      }
      break;
    case BPF_JMP: {
      if (BPF_OP(i.code) == BPF_JA) {
        pc += i.k;
        break;
      }
      bool taken = false;
      switch (BPF_OP(i.code)) {
      case BPF_JEQ:
        taken = a == src;
        break;
      case BPF_JGT:
        taken = a > src;
        break;
      case BPF_JGE:
        taken = a >= src;
        break;
      case BPF_JSET:
        taken = (a & src) != 0;
        break;
      default:
        ADD_FAILURE() << "unexpected jump at " << pc;
      }
      pc += taken ? i.jt : i.jf;
      break;
    }
    case BPF_RET:
      if (steps) *steps = ran + 1;
      return BPF_RVAL(i.code) == BPF_A ? a : i.k;
    case BPF_MISC:
      if (BPF_MISCOP(i.code) == BPF_TAX)
        x = a;
      else
        a = x;
      break;
    }
  }
  ADD_FAILURE() << "the program ran off its end";
  return 0;
}

// The embedded program (a binary search over system call numbers) decides
// exactly as libseccomp's linear program of the same rules, for every
// system call number of every ABI (and numbers no ABI has), with arguments
// that each conditional rule (socket, personality, clone) tells apart.
TEST(SeccompFilter, EveryNumberGetsWhatTheLinearProgramGives) {
  auto linear = compile_default_seccomp(SeccompLayout::linear);
  ASSERT_TRUE(linear) << linear.error();
  auto embedded = default_seccomp_program();
  ASSERT_TRUE(embedded) << embedded.error();
  const std::vector<sock_filter>& fast = **embedded;
  std::vector<uint32_t> numbers;
  for (uint32_t base : {0u, 0x40000000u})
    for (uint32_t nr = 0; nr < 1200; ++nr) numbers.push_back(base + nr);
  for (uint32_t nr : {0x3fffffffu, 0x7fffffffu, 0x80000000u, 0xbfffffffu, 0xfffffffeu, 0xffffffffu})
    numbers.push_back(nr);
  const uint64_t first_args[] = {0,          2,          40,          0x8,
                                 0x20000,    0x20008,    0xffffffff,  0x7E020000,
                                 0x00020000, 0x10000000, 0x40000000,  (1ull << 32) | 40,
                                 1ull << 32, ~0ull,      0x1200011ull};
  size_t compared = 0, differ = 0, longest_linear = 0, longest_fast = 0;
  for (uint32_t arch : std::initializer_list<uint32_t>{
           AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, 0x12345678u}) {
    for (uint32_t nr : numbers) {
      for (uint64_t arg0 : first_args) {
        seccomp_data data{};
        data.nr = static_cast<int>(nr);
        data.arch = arch;
        data.instruction_pointer = 0x401000;
        data.args[0] = arg0;
        data.args[1] = 0x5;
        size_t slow_steps = 0, fast_steps = 0;
        uint32_t want = evaluate(*linear, data, &slow_steps);
        uint32_t got = evaluate(fast, data, &fast_steps);
        ++compared;
        if (want != got && ++differ <= 10)
          ADD_FAILURE() << "arch " << std::hex << arch << " nr " << nr << " arg0 " << arg0
                        << ": linear " << want << ", embedded " << got;
        if (arch == AUDIT_ARCH_X86_64 && arg0 == 0) {
          longest_linear = std::max(longest_linear, slow_steps);
          longest_fast = std::max(longest_fast, fast_steps);
        }
      }
    }
  }
  EXPECT_EQ(differ, 0u) << "of " << compared;
  // The interpreter tells the actions apart (so equal means equal).
  auto action = [&](int nr, uint64_t arg0) {
    seccomp_data data{};
    data.nr = nr;
    data.arch = AUDIT_ARCH_X86_64;
    data.args[0] = arg0;
    return evaluate(fast, data);
  };
  EXPECT_EQ(action(__NR_read, 0), SECCOMP_RET_ALLOW);
  EXPECT_EQ(action(__NR_mount, 0), SECCOMP_RET_ERRNO | EPERM);
  EXPECT_EQ(action(__NR_clone3, 0), SECCOMP_RET_ERRNO | ENOSYS);
  EXPECT_EQ(action(__NR_socket, 2), SECCOMP_RET_ALLOW);
  EXPECT_EQ(action(__NR_socket, 40), SECCOMP_RET_ERRNO | EPERM);        // AF_VSOCK
  EXPECT_EQ(action(__NR_clone, 0x10000000), SECCOMP_RET_ERRNO | EPERM); // CLONE_NEWUSER
  // What makes it cheaper to install: the kernel runs the filter once per
  // number and ABI to fill its action cache.
  EXPECT_LT(longest_fast * 8, longest_linear) << longest_fast << " vs " << longest_linear;
  // And its length: the kernel checks and compiles every instruction.
  EXPECT_LT(fast.size(), 400u);
}

} // namespace
} // namespace earth::exec::detail
