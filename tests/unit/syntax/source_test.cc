#include "earth/syntax/source.h"

#include <gtest/gtest.h>

using earth::syntax::Position;
using earth::syntax::SourceFile;

TEST(SourceFile, LinesWithoutEndings) {
  SourceFile f("Earthfile", "VERSION 0.8\nFROM alpine\n\nbuild:\n");
  EXPECT_EQ(f.line_count(), 5u);
  EXPECT_EQ(f.line(1), "VERSION 0.8");
  EXPECT_EQ(f.line(2), "FROM alpine");
  EXPECT_EQ(f.line(3), "");
  EXPECT_EQ(f.line(4), "build:");
  EXPECT_EQ(f.line(5), "");
}

TEST(SourceFile, OutOfRangeLinesAreEmpty) {
  SourceFile f("Earthfile", "a\nb");
  EXPECT_EQ(f.line(0), "");
  EXPECT_EQ(f.line(3), "");
}

TEST(SourceFile, EmptyTextHasOneEmptyLine) {
  SourceFile f("Earthfile", "");
  EXPECT_EQ(f.line_count(), 1u);
  EXPECT_EQ(f.line(1), "");
  EXPECT_EQ(f.position(0), (Position{1, 1}));
}

TEST(SourceFile, LastLineWithoutNewline) {
  SourceFile f("Earthfile", "a\nbc");
  EXPECT_EQ(f.line_count(), 2u);
  EXPECT_EQ(f.line(2), "bc");
  EXPECT_EQ(f.position(3), (Position{2, 2}));
  EXPECT_EQ(f.position(4), (Position{2, 3})); // end of input
}

TEST(SourceFile, PositionsAreOneBasedBytes) {
  SourceFile f("Earthfile", "ab\ncd\n");
  EXPECT_EQ(f.position(0), (Position{1, 1}));
  EXPECT_EQ(f.position(1), (Position{1, 2}));
  EXPECT_EQ(f.position(2), (Position{1, 3})); // the newline itself
  EXPECT_EQ(f.position(3), (Position{2, 1}));
  EXPECT_EQ(f.position(5), (Position{2, 3}));
}

TEST(SourceFile, CrlfIsOneLineEnding) {
  SourceFile f("Earthfile", "ab\r\ncd\r\n");
  EXPECT_EQ(f.line_count(), 3u);
  EXPECT_EQ(f.line(1), "ab");
  EXPECT_EQ(f.line(2), "cd");
  EXPECT_EQ(f.position(2), (Position{1, 3})); // '\r'
  EXPECT_EQ(f.position(3), (Position{1, 4})); // '\n'
  EXPECT_EQ(f.position(4), (Position{2, 1}));
}

TEST(SourceFile, LoneCrEndsALine) {
  SourceFile f("Earthfile", "ab\rcd\ref");
  EXPECT_EQ(f.line_count(), 3u);
  EXPECT_EQ(f.line(1), "ab");
  EXPECT_EQ(f.line(2), "cd");
  EXPECT_EQ(f.line(3), "ef");
  EXPECT_EQ(f.position(3), (Position{2, 1}));
  EXPECT_EQ(f.position(7), (Position{3, 2}));
}

TEST(SourceFile, MixedLineEndings) {
  SourceFile f("Earthfile", "a\nb\r\nc\rd");
  EXPECT_EQ(f.line_count(), 4u);
  EXPECT_EQ(f.line(2), "b");
  EXPECT_EQ(f.line(3), "c");
  EXPECT_EQ(f.line(4), "d");
  EXPECT_EQ(f.position(7), (Position{4, 1}));
}

TEST(SourceFile, KeepsPathAndText) {
  SourceFile f("dir/Earthfile", "x");
  EXPECT_EQ(f.path(), "dir/Earthfile");
  EXPECT_EQ(f.text(), "x");
}
