#include <cstdio>

#include "mini/strings.h"

int main() {
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "FAIL: %s\n", what);
      ++failures;
    }
  };
  check(mini::split("a,b,,c", ',').size() == 4, "split keeps empty fields");
  check(mini::split("", ',').size() == 1, "split of empty text");
  check(mini::trim("  x y\t") == "x y", "trim");
  check(mini::trim("   ").empty(), "trim of blanks");
  return failures == 0 ? 0 : 1;
}
