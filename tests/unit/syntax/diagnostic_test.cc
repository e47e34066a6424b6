#include "earth/syntax/diagnostic.h"

#include <gtest/gtest.h>

#include <memory>

using earth::syntax::Diagnostic;
using earth::syntax::Note;
using earth::syntax::SourceFile;
using earth::syntax::Span;

namespace {

Diagnostic error_at(uint32_t line, uint32_t column, std::string message) {
  Diagnostic d;
  d.path = "Earthfile";
  d.span = Span{{line, column}, {line, column}};
  d.message = std::move(message);
  return d;
}

} // namespace

TEST(Diagnostic, CaretUnderTheColumn) {
  SourceFile src("Earthfile", "VERSION 0.8\nbuild:\n    RUN echo \"hi\n");
  EXPECT_EQ(render(error_at(3, 14, "unterminated double quote"), &src),
            "Earthfile:3:14: error: unterminated double quote\n"
            " 3 |     RUN echo \"hi\n"
            "   |              ^\n");
}

TEST(Diagnostic, TabsAreKeptBeforeTheCaret) {
  SourceFile src("Earthfile", "build:\n\t\tRUN x y\n");
  EXPECT_EQ(render(error_at(2, 7, "bad"), &src), "Earthfile:2:7: error: bad\n"
                                                 " 2 | \t\tRUN x y\n"
                                                 "   | \t\t    ^\n");
}

TEST(Diagnostic, SpanOnOneLineIsUnderlined) {
  SourceFile src("Earthfile", "build :\n");
  Diagnostic d = error_at(1, 1, "not a target header");
  d.span.end = {1, 7};
  EXPECT_EQ(render(d, &src), "Earthfile:1:1: error: not a target header\n"
                             " 1 | build :\n"
                             "   | ^^^^^^^\n");
}

TEST(Diagnostic, LineNumberPaddingFollowsTheNumber) {
  std::string text;
  for (int i = 1; i <= 12; ++i) text += "RUN " + std::to_string(i) + "\n";
  SourceFile src("Earthfile", text);
  EXPECT_EQ(render(error_at(12, 5, "x"), &src), "Earthfile:12:5: error: x\n"
                                                " 12 | RUN 12\n"
                                                "    |     ^\n");
}

TEST(Diagnostic, WithoutSourceOnlyTheHeadline) {
  EXPECT_EQ(render(error_at(3, 1, "msg")), "Earthfile:3:1: error: msg\n");
}

TEST(Diagnostic, SourceOfAnotherFileIsNotShown) {
  SourceFile other("other/Earthfile", "RUN x\n");
  EXPECT_EQ(render(error_at(1, 1, "msg"), &other), "Earthfile:1:1: error: msg\n");
}

TEST(Diagnostic, NoLocationMeansPathOnly) {
  Diagnostic d;
  d.path = "Earthfile";
  d.message = "no VERSION";
  EXPECT_EQ(render(d), "Earthfile: error: no VERSION\n");
}

TEST(Diagnostic, Warning) {
  Diagnostic d = error_at(1, 1, "deprecated");
  d.severity = Diagnostic::Severity::warning;
  EXPECT_EQ(render(d), "Earthfile:1:1: warning: deprecated\n");
}

TEST(Diagnostic, NotesWithAndWithoutLocation) {
  SourceFile src("Earthfile", "build:\n    RUN a\nbuild:\n    RUN b\n");
  Diagnostic d = error_at(3, 1, "duplicate target build");
  d.notes.push_back(Note{"", Span{{1, 1}, {1, 5}}, "first defined here"});
  d.notes.push_back(Note{"", Span{}, "target names must be unique"});
  EXPECT_EQ(render(d, &src), "Earthfile:3:1: error: duplicate target build\n"
                             " 3 | build:\n"
                             "   | ^\n"
                             "Earthfile:1:1: note: first defined here\n"
                             " 1 | build:\n"
                             "   | ^^^^^\n"
                             "note: target names must be unique\n");
}

TEST(Diagnostic, NoteInAnotherFileHasNoFrame) {
  SourceFile src("Earthfile", "DO ./lib+F\n");
  Diagnostic d = error_at(1, 1, "bad call");
  d.notes.push_back(Note{"lib/Earthfile", Span{{4, 3}, {4, 3}}, "declared here"});
  EXPECT_EQ(render(d, &src), "Earthfile:1:1: error: bad call\n"
                             " 1 | DO ./lib+F\n"
                             "   | ^\n"
                             "lib/Earthfile:4:3: note: declared here\n");
}

TEST(Diagnostic, TraceComesLastInnermostFirst) {
  Diagnostic d = error_at(2, 5, "no such file");
  d.trace = {"while building +b", "needed by +a"};
  EXPECT_EQ(render(d), "Earthfile:2:5: error: no such file\n"
                       "  while building +b\n"
                       "  needed by +a\n");
}

TEST(Diagnostic, ColorWrapsTheHeadline) {
  std::string out = render(error_at(1, 1, "msg"), nullptr, true);
  EXPECT_NE(out.find("\033["), std::string::npos);
  EXPECT_NE(out.find("msg"), std::string::npos);
}

TEST(Diagnostic, HintBeforeTheTrace) {
  Diagnostic d = error_at(2, 5, "the command exited with status 127");
  d.hint = "is it installed?";
  d.trace = {"while building +b"};
  EXPECT_EQ(render(d), "Earthfile:2:5: error: the command exited with status 127\n"
                       "hint: is it installed?\n"
                       "  while building +b\n");
}

// Rendered when thrown, in both forms: the source may be gone when caught.
TEST(Diagnostic, ErrorKeepsBothRenderings) {
  auto src = std::make_unique<SourceFile>("Earthfile", "VERSION 0.8\nbad: x\n");
  earth::syntax::DiagnosticError e(error_at(2, 6, "bad"), src.get());
  src.reset();
  EXPECT_EQ(std::string(e.what()), e.rendered(false));
  EXPECT_EQ(e.rendered(false), "Earthfile:2:6: error: bad\n 2 | bad: x\n   |      ^");
  EXPECT_NE(e.rendered(true).find("\033["), std::string::npos);
  EXPECT_EQ(e.diagnostic().message, "bad");
}
