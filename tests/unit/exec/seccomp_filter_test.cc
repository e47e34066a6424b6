#include <gtest/gtest.h>

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

} // namespace
} // namespace earth::exec::detail
