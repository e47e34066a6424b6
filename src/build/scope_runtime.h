// The variables of a recipe as the engine runs it: ARGs (with the values
// the instance was given), LET/SET, FOR variables, globals and builtins, in
// frames (the target, then one per DO'd function), evaluated statement by
// statement, so IF branches, FOR items and `$( … )` results are what later
// statements see. Lookup is resolve::lookup (Earthly's one precedence rule);
// ENV values come from the image config of the moment (an image's own ENV
// included, as Earthly resets its env vars on FROM).
#pragma once

#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earth/base/error.h"
#include "earth/resolve/expand.h"
#include "earth/resolve/graph.h"

namespace earth::build {

class Redactor;

// Overrides a frame was given: (name, value), later entries win.
using Overrides = std::vector<std::pair<std::string, resolve::Value>>;
void set_override(Overrides& o, const std::string& name, resolve::Value v);

class RuntimeScope {
public:
  // A new ARG scope: a target's recipe, a DO'd function, or (`base`) an
  // Earthfile's base recipe.
  void push(resolve::FileId file, Overrides overrides, bool base = false);
  void pop();
  size_t depth() const { return frames_.size(); }
  resolve::FileId file() const { return frames_.back().file; }
  bool in_base() const { return frames_.back().base; }

  // The value the frame was given for `name`, or nullptr.
  const resolve::Value* override_of(std::string_view name) const;
  // The frame's variables: globals, ARGs, LETs, FOR variables, in order.
  const std::vector<resolve::Binding>& vars() const { return frames_.back().vars; }

  // `name` as the current statement sees it; `env` is the image config's
  // ENV ("K=v"). The pointer is valid until the next lookup or expand.
  const resolve::Value* lookup(std::string_view name, const std::vector<std::string>& env) const;
  // A word that read a secret-derived value (one `redact` knows, see
  // derived_from) and no longer holds it whole (`${x#pre}`) gives a value
  // that is added to `redact`: secret-derived too.
  Result<resolve::Value> expand(std::string_view word, const std::vector<std::string>& env,
                                const resolve::ShellOut& shell_out) const;
  // The redactor that knows the build's secret-derived values (none: no
  // value is tracked).
  void derived_from(Redactor* redact) { redact_ = redact; }
  // Every visible variable but ENVs, once (by the precedence rule): what a
  // RUN gets as environment on top of the image's ENV.
  std::vector<std::pair<std::string, std::string>>
  visible(const std::vector<std::string>& env) const;

  void bind(resolve::Binding b) { frames_.back().vars.push_back(std::move(b)); }
  // ARG redeclared before 0.8: the binding of that name and kind changes.
  void rebind(resolve::Binding b);
  // SET: the latest LET of `name` in the frame; false when there is none.
  bool set_let(std::string_view name, resolve::Value v);
  // The latest binding of `name` (a FOR variable after its body).
  void unbind(std::string_view name);
  // The frame's bindings of `kind` (pass-args and base globals).
  std::vector<resolve::Binding> of_kind(resolve::VarKind kind) const;
  const Overrides& overrides() const { return frames_.back().overrides; }
  // IMPORT aliases of the frame (its Earthfile's base ones and its own):
  // the absolute directory of a local Earthfile.
  void add_import(std::string alias, std::string abs_dir);
  const std::string* import_dir(std::string_view alias) const;
  const std::map<std::string, std::string, std::less<>>& imports() const {
    return frames_.back().imports;
  }

private:
  struct Frame {
    resolve::FileId file = resolve::kNone;
    Overrides overrides;
    std::vector<resolve::Binding> vars;
    std::map<std::string, std::string, std::less<>> imports;
    bool base = false;
  };
  std::vector<Frame> frames_;
  mutable std::deque<resolve::Binding> env_scratch_; // lookup results from `env`
  Redactor* redact_ = nullptr;
};

} // namespace earth::build
