// libFuzzer target for the reference parser and the shell-word expander:
// any input must parse or fail cleanly, and whatever parses must print to a
// string that parses back to the same reference.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "earth/resolve/expand.h"
#include "earth/resolve/reference.h"

namespace {

using namespace earth::resolve;
using earth::Result;

void check_round_trip(const Result<Reference>& r, bool artifact) {
  if (!r.ok()) return;
  std::string printed = r.value().to_string();
  auto again = artifact ? parse_artifact_ref(printed) : parse_target_ref(printed);
  if (!again.ok() || !(again.value() == r.value())) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  check_round_trip(parse_target_ref(text), false);
  check_round_trip(parse_artifact_ref(text), true);
  if (auto e = parse_earthfile_ref(text); e.ok()) {
    auto alias = default_import_alias(e.value());
    (void)alias;
  }
  auto words = split_words(text);
  auto joined = join_grouped_words(words);
  for (const auto& w : joined)
    if (auto g = split_grouped_ref(w)) (void)parse_build_arg_flags(g->args);
  (void)parse_build_arg_flags(words);
  Value v{"value", false};
  auto expanded = expand_word(
      text, [&](std::string_view name) -> const Value* { return name.size() % 2 ? &v : nullptr; });
  (void)expanded;
  (void)has_shell_out(text);
  return 0;
}
