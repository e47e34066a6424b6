// Redactor and RedactedLines: a secret value never reaches a shown line,
// however the command's output is cut into reads.
#include "../../../src/build/secrets.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace earth::build {
namespace {

Redactor with(std::map<std::string, std::string> secrets) {
  return Redactor(secrets);
}

// The lines `redact` shows for `chunks`, given to RedactedLines one by one.
std::vector<std::string> shown(const Redactor& redact, const std::vector<std::string>& chunks) {
  std::vector<std::string> lines;
  RedactedLines stream(redact, [&](std::string_view l) { lines.emplace_back(l); });
  for (const auto& c : chunks) stream.add(c);
  stream.finish();
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(RedactorTest, ReplacesEveryValueLongestFirst) {
  auto r = with({{"a", "hunter2"}, {"b", "hunter2-long"}, {"c", "xy"}});
  EXPECT_EQ(r("say hunter2-long, hunter2 and xyxy"), "say ***, *** and ******");
  EXPECT_EQ(r("nothing here"), "nothing here");
  EXPECT_EQ(r(""), "");
}

TEST(RedactorTest, ReadyHoldsOnlyWhatCouldStartASecret) {
  auto r = with({{"a", "hunter2"}});
  EXPECT_EQ(r.ready("plain text\n"), 11u);
  EXPECT_EQ(r.ready("abc\nhun"), 4u);       // "hun" may become hunter2
  EXPECT_EQ(r.ready("abc hunter2 x"), 13u); // a whole value goes out
  EXPECT_EQ(r.ready("hunter"), 0u);
  EXPECT_EQ(with({}).ready("anything"), 8u); // no secrets: no wait
}

TEST(RedactedLinesTest, SecretSplitBetweenReads) {
  auto r = with({{"a", "hunter2"}});
  EXPECT_EQ(joined(shown(r, {"the token is hun", "ter2!\nnext line\n"})),
            "the token is ***!\nnext line\n");
  EXPECT_EQ(joined(shown(r, {"h", "u", "n", "t", "e", "r", "2", "\n"})), "***\n");
  // the start of a secret that never completes is shown at the end
  EXPECT_EQ(joined(shown(r, {"ends with hunt"})), "ends with hunt\n");
}

TEST(RedactedLinesTest, SecretStraddlingTheLinePieceBoundary) {
  auto r = with({{"a", "hunter2"}});
  // A line longer than a piece: the secret sits across the 64 KiB mark,
  // and arrives in reads that cut it there too.
  std::string before(RedactedLines::kMaxLine - 3, 'a');
  std::vector<std::string> lines = shown(r, {before + "hun", "ter2 tail\n"});
  std::string all;
  for (const auto& l : lines) all += l;
  EXPECT_EQ(all.find("hun"), std::string::npos);
  EXPECT_EQ(all, before + "*** tail");
  for (const auto& l : lines) EXPECT_LE(l.size(), RedactedLines::kMaxLine);
}

TEST(RedactedLinesTest, SecretInALineLongerThanAPiece) {
  auto r = with({{"a", "hunter2"}});
  std::string a(100000, 'a'), b(100000, 'b');
  // in one read, and in reads of 4 KiB
  std::string text = a + "hunter2" + b + "\n";
  std::vector<std::string> small;
  for (size_t i = 0; i < text.size(); i += 4096) small.push_back(text.substr(i, 4096));
  for (const auto& chunks : {std::vector<std::string>{text}, small}) {
    std::vector<std::string> lines = shown(r, chunks);
    ASSERT_GE(lines.size(), 3u); // in pieces of at most 64 KiB
    std::string all;
    for (const auto& l : lines) all += l;
    EXPECT_EQ(all, a + "***" + b);
  }
}

TEST(RedactedLinesTest, SecretSpanningLines) {
  auto r = with({{"key", "-----BEGIN\nsecret body\n-----END"}});
  EXPECT_EQ(joined(shown(r, {"x -----BEGIN\nsecret ", "body\n-----END y\nz\n"})), "x *** y\nz\n");
}

TEST(RedactedLinesTest, LinesAsTheyCome) {
  auto r = with({{"a", "hunter2"}});
  std::vector<std::string> lines;
  RedactedLines stream(r, [&](std::string_view l) { lines.emplace_back(l); });
  stream.add("one\ntwo\nthr");
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"})); // no wait for more
  stream.add("ee\n");
  EXPECT_EQ(lines.back(), "three");
  stream.add("no newline");
  stream.finish();
  EXPECT_EQ(lines.back(), "no newline");
}

TEST(RedactorTest, DerivedValuesAreAddedAndShared) {
  auto r = with({{"a", "hunter2"}});
  EXPECT_TRUE(r.found_in("x hunter2 y"));
  EXPECT_FALSE(r.found_in("hunter"));
  r.add("  \n"); // whitespace only: hides nothing, not added
  EXPECT_EQ(r("a  \nb"), "a  \nb");
  Redactor nested;
  EXPECT_TRUE(nested.empty());
  nested.share(r);
  nested.add("derived-1");
  EXPECT_EQ(r("derived-1 hunter2"), "*** ***") << "a nested build's values reach the build's";
  EXPECT_FALSE(nested.empty());
}

TEST(RedactedStatusTest, EverythingShownIsRedacted) {
  auto r = with({{"a", "hunter2"}});
  output::RecordingStatus rec;
  RedactedStatus status(rec, r);
  output::StepInfo si{"+t --v=hunter2", "Earthfile:3:3", "COPY hunter2 .", "Earthfile", 3};
  status.target_started(si.target);
  status.step_started(si);
  status.step_output(si, "out hunter2");
  output::StepFailure f{"no such file hunter2", 1, {"tail hunter2"}, "hint hunter2"};
  status.step_failed(si, f);
  output::BuildTotals t;
  t.error = "error hunter2";
  t.notes = {"note hunter2"};
  status.build_finished(t);
  std::string all;
  for (const auto& l : rec.lines()) all += l + "\n";
  all += rec.totals().error;
  EXPECT_EQ(all.find("hunter2"), std::string::npos) << all;
  EXPECT_NE(all.find("out ***"), std::string::npos) << all;
}

} // namespace
} // namespace earth::build
