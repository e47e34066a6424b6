#include "earth/base/digest.h"

#include <gtest/gtest.h>

#include <vector>

using earth::Digest;
using earth::Hasher;

TEST(Digest, KnownSha256) {
  EXPECT_EQ(Digest::of("").hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Digest::of("abc").oci(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, ParseRoundTrip) {
  Digest d = Digest::of("earth");
  EXPECT_EQ(Digest::parse(d.oci()), d);
  EXPECT_EQ(Digest::parse(d.hex()), d);
  EXPECT_FALSE(Digest::parse("sha256:xyz"));
  EXPECT_FALSE(Digest::parse(d.hex().substr(1)));
  EXPECT_FALSE(Digest::parse(std::string(64, 'G')));
}

TEST(Hasher, FieldsAreDelimited) {
  // "ab"+"c" must not collide with "a"+"bc", nor with a different tag.
  Digest a = Hasher("t").add("x", "ab").add("x", "c").finish();
  Digest b = Hasher("t").add("x", "a").add("x", "bc").finish();
  Digest c = Hasher("t").add("y", "ab").add("x", "c").finish();
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a, Hasher("t").add("x", "ab").add("x", "c").finish());
}

TEST(Hasher, TypesAndDomainsDiffer) {
  EXPECT_NE(Hasher("t").add("n", int64_t{1}).finish(), Hasher("t").add("n", "1").finish());
  EXPECT_NE(Hasher("a").finish(), Hasher("b").finish());
}

TEST(Hasher, DebugSinkSeesEveryField) {
  std::vector<std::string> seen;
  Hasher h("t", [&](std::string_view tag, std::string_view v) {
    seen.push_back(std::string(tag) + "=" + std::string(v));
  });
  h.add("cmd", "RUN echo").add("n", int64_t{7}).add("d", Digest::of("x"));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], "cmd=RUN echo");
  EXPECT_EQ(seen[1], "n=7");
  EXPECT_EQ(seen[2], "d=" + Digest::of("x").oci());
}

// A torn or damaged record must not pass its check: any byte changed, a
// byte dropped or a zero byte added gives another checksum.
TEST(Digest, Checksum64TellsDamagedBytesApart) {
  std::string bytes = "a record of 21 bytes.";
  uint64_t sum = earth::checksum64(bytes);
  EXPECT_EQ(earth::checksum64(bytes), sum);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] ^= 0x20;
    EXPECT_NE(earth::checksum64(damaged), sum) << i;
    EXPECT_NE(earth::checksum64(std::string_view(bytes).substr(0, i)), sum) << i;
  }
  EXPECT_NE(earth::checksum64(bytes + '\0'), sum);
  EXPECT_NE(earth::checksum64(""), earth::checksum64(std::string(1, '\0')));
}
