// The grammar must be free of PEG pitfalls (STYLE.md rule 3): no rule that
// can loop without consuming input, no unreachable alternatives.
//
// The grammar comes first: it names PEGTL's `raise` unqualified, which
// <csignal>'s ::raise (pulled in by gtest) would make ambiguous.
#include "grammar/earthfile.hpp"

#include <tao/pegtl/contrib/analyze.hpp>

#include <gtest/gtest.h>

TEST(Grammar, AnalyzeFindsNoIssues) {
  size_t issues = tao::pegtl::analyze<earth::grammar::earthfile>(1);
  EXPECT_EQ(issues, 0u);
}
