#include "earth/base/tokens.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace earth {
namespace {

TEST(Tokens, RoundTripsAnyBytesAndTheWholeInt64Range) {
  std::string bytes("a:b\n5:x\0y", 9);
  TokenWriter w("magic 1");
  w.put(bytes).num(INT64_MIN).num(INT64_MAX).num(0).list({"", "two"});
  std::string text = w.take();
  EXPECT_TRUE(text.starts_with("magic 1\n"));

  TokenReader r(text, "magic 1");
  EXPECT_EQ(r.str(), bytes);
  EXPECT_EQ(r.num(), INT64_MIN);
  EXPECT_EQ(r.num(), INT64_MAX);
  EXPECT_EQ(r.num(), 0);
  EXPECT_EQ(r.list(), (std::vector<std::string>{"", "two"}));
  EXPECT_TRUE(r.done());
}

TEST(Tokens, ATokenOfPartsIsTheirBytesInOrder) {
  TokenWriter w("m");
  w.reserve(64).put({"ab", "", "c:d"}).put({});
  EXPECT_EQ(w.take(), "m\n5:abc:d0:");
}

// A run of tokens cut out of a longer input reads with no magic line.
TEST(Tokens, ABareReaderReadsTokensWithNoMagic) {
  std::string all = earth::TokenWriter("m").put("a").num(7).take();
  auto r = earth::TokenReader::bare(std::string_view(all).substr(2)); // past "m\n"
  EXPECT_EQ(r.get(), "a");
  EXPECT_EQ(r.num(), 7);
  EXPECT_TRUE(r.done());
}

TEST(Tokens, AnotherMagicOrAPrefixOfItIsRefused) {
  EXPECT_THROW(TokenReader("magic 2\n1:a", "magic 1"), TokenError);
  EXPECT_THROW(TokenReader("magic 10\n1:a", "magic 1"), TokenError);
  EXPECT_THROW(TokenReader("magic 1", "magic 1"), TokenError);
}

TEST(Tokens, MalformedInputThrowsInsteadOfMisreading) {
  auto first_num = [](const std::string& body) {
    std::string text = "m\n" + body; // the reader views it: it must outlive the reader
    TokenReader r(text, "m");
    return r.num();
  };
  EXPECT_THROW(first_num("5:12"), TokenError);                   // truncated
  EXPECT_THROW(first_num(":1"), TokenError);                     // no length
  EXPECT_THROW(first_num("x:1"), TokenError);                    // bad length
  EXPECT_THROW(first_num("2:1a"), TokenError);                   // not a number
  EXPECT_THROW(first_num("0:"), TokenError);                     // empty number
  EXPECT_THROW(first_num("1:-"), TokenError);                    // sign only
  EXPECT_THROW(first_num("19:9223372036854775808"), TokenError); // > INT64_MAX
  EXPECT_THROW(first_num("20:99999999999999999999"), TokenError);
  TokenReader r("m\n1:9", "m");
  EXPECT_THROW(r.count(5), TokenError);
}

} // namespace
} // namespace earth
