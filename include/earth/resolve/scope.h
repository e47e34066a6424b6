// The variables visible at one point of a recipe, and how a name is looked
// up in them: one rule shared by the resolver (while it walks) and the engine
// (expanding a step's arguments from its scope snapshot, Node::scopes).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earth/base/error.h"
#include "earth/resolve/expand.h"
#include "earth/resolve/graph.h"

namespace earth::resolve {

// Earthly 0.8 precedence: a LET, then an ARG (or declared builtin), then an
// ENV, then a global ARG. Within one kind the latest binding wins. `vars` are
// the frame's ARGs/LETs/globals, `envs` the ENVs (either may hold both).
const Value* lookup(const std::vector<Binding>& vars, const std::vector<Binding>& envs,
                    std::string_view name);
// The same over one scope snapshot (Node::scopes), which holds both.
const Value* lookup(const std::vector<Binding>& scope, std::string_view name);

// Expands one word of a command with the variables of `scope`.
Result<Value> expand_in(const std::vector<Binding>& scope, std::string_view word);

// The name and value of an ARG/LET/SET/ENV statement's words from index `i`:
// ["X","=","v"], ["X=v"], ["X"], ["X","v"] (ENV).
struct KeyValue {
  std::string name;
  std::optional<std::string> value;
};
KeyValue split_key_value(const std::vector<std::string>& words, size_t i);

// Whether `name` is a builtin ARG (reference §2.3: EARTHLY_*/EARTH_*
// names, TARGET/NATIVE/USER platform parts): declared, never overridden.
bool is_builtin_arg(std::string_view name);

// Every visible variable once (by the precedence above), in first-binding
// order: what a RUN gets as environment besides the image's ENV.
std::vector<std::pair<std::string, std::string>> visible_vars(const std::vector<Binding>& scope);

} // namespace earth::resolve
