#include "validate.h"

#include <algorithm>
#include <map>
#include <set>

#include "earth/base/strings.h"

namespace earth::syntax {

namespace {

// VERSION feature flags (reference/earthfile.md §1.4).
const std::set<std::string, std::less<>> kFeatureFlags = {"--exec-after-parallel",
                                                          "--parallel-load",
                                                          "--use-registry-for-with-docker",
                                                          "--for-in",
                                                          "--no-implicit-ignore",
                                                          "--referenced-save-only",
                                                          "--require-force-for-unsafe-saves",
                                                          "--use-copy-include-patterns",
                                                          "--check-duplicate-images",
                                                          "--ci-arg",
                                                          "--earthly-git-author-args",
                                                          "--earthly-locally-arg",
                                                          "--earthly-version-arg",
                                                          "--git-commit-author-timestamp",
                                                          "--explicit-global",
                                                          "--new-platform",
                                                          "--no-tar-build-output",
                                                          "--save-artifact-keep-own",
                                                          "--shell-out-anywhere",
                                                          "--use-cache-command",
                                                          "--use-host-command",
                                                          "--use-chmod",
                                                          "--use-no-manifest-list",
                                                          "--use-copy-link",
                                                          "--use-project-secrets",
                                                          "--wait-block",
                                                          "--no-network",
                                                          "--arg-scope-and-set",
                                                          "--use-docker-ignore",
                                                          "--pass-args",
                                                          "--global-cache",
                                                          "--cache-persist-option",
                                                          "--git-refs",
                                                          "--use-visited-upfront-hash-collection",
                                                          "--use-function-keyword",
                                                          "--try",
                                                          "--wildcard-builds",
                                                          "--wildcard-copy",
                                                          "--build-auto-skip",
                                                          "--allow-privileged-from-dockerfile",
                                                          "--run-with-aws",
                                                          "--run-with-aws-oidc",
                                                          "--raw-output",
                                                          "--git-author-email-name-args",
                                                          "--allow-without-earthly-labels",
                                                          "--docker-cache",
                                                          "--earthly-ci-runner-arg",
                                                          "--no-use-registry-for-with-docker"};

const std::set<std::string, std::less<>> kVersions = {"0.6", "0.7", "0.8"};

bool valid_var_name(std::string_view s) {
  if (s.empty()) return false;
  auto head = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!head(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return head(c) || (c >= '0' && c <= '9'); });
}

class Validator {
public:
  Validator(const SourceFile& source, ParseResult& result) : source_(source), result_(result) {}

  void run() {
    const Earthfile& f = result_.earthfile;
    check_version(f);
    walk(f.base_recipe, Where::base);
    check_names(f);
    for (const auto& t : f.targets) walk(t.recipe, Where::target);
    for (const auto& fn : f.functions) check_function(fn);
  }

private:
  enum class Where { base, target, function };

  void error(const Span& span, std::string message, std::vector<Note> notes = {}) {
    Diagnostic d;
    d.path = source_.path();
    d.span = span;
    d.message = std::move(message);
    d.notes = std::move(notes);
    result_.diagnostics.push_back(std::move(d));
  }

  void check_version(const Earthfile& f) {
    // A file without VERSION parses (as `earthly debug ast` reads it); the
    // resolver refuses to build it.
    if (!f.version) return;
    const Version& v = *f.version;
    int numbers = 0;
    for (size_t i = 0; i < v.args.size(); ++i) {
      const std::string& arg = v.args[i];
      const Span& at = i < v.arg_spans.size() ? v.arg_spans[i] : v.span;
      if (arg.starts_with("--")) {
        std::string_view name = std::string_view(arg).substr(0, arg.find('='));
        if (!kFeatureFlags.count(name)) error(at, "unknown VERSION feature flag '" + arg + "'");
      } else if (kVersions.count(arg)) {
        ++numbers;
      } else {
        error(at, "unsupported VERSION '" + arg + "': earth reads 0.6, 0.7 and 0.8");
        ++numbers;
      }
    }
    if (numbers == 0) error(v.span, "VERSION needs a version number, e.g. VERSION 0.8");
    if (numbers > 1) error(v.span, "VERSION takes exactly one version number");
  }

  void check_names(const Earthfile& f) {
    std::map<std::string, const Target*> seen;
    for (const auto& t : f.targets) {
      if (t.name == "base")
        error(t.span, "'base' is reserved for the base recipe and cannot be a target name");
      auto [it, fresh] = seen.emplace(t.name, &t);
      if (!fresh)
        error(t.span, "duplicate target '" + t.name + "'",
              {Note{"", it->second->span, "first defined here"}});
    }
    std::map<std::string, const Function*> functions;
    for (const auto& fn : f.functions) {
      auto [it, fresh] = functions.emplace(fn.name, &fn);
      if (!fresh)
        error(fn.span, "duplicate function '" + fn.name + "'",
              {Note{"", it->second->span, "first defined here"}});
    }
  }

  void check_function(const Function& fn) {
    const Command* first = fn.recipe.empty() ? nullptr : std::get_if<Command>(&fn.recipe[0].node);
    if (!first || (first->name != "FUNCTION" && first->name != "COMMAND")) {
      error(fn.recipe.empty() ? fn.span : fn.recipe[0].span,
            "function '" + fn.name + "' must start with FUNCTION (or COMMAND before VERSION 0.8)" +
                (fn.recipe.empty() ? "" : "; target names are lower case"));
    } else if (!first->args.empty()) {
      error(first->span, first->name + " takes no arguments; declare them with ARG");
    }
    walk(fn.recipe, Where::function, first);
  }

  void walk(const Block& block, Where where, const Command* header = nullptr) {
    for_each_command(block, [&](const Command& c) { check_command(c, where, &c == header); });
  }

  void check_command(const Command& c, Where where, bool function_header) {
    if ((c.name == "FUNCTION" || c.name == "COMMAND") && !function_header) {
      error(c.span, where == Where::function
                        ? c.name + " must be the first statement of the function"
                        : c.name + " is only allowed as the first statement of a function "
                                   "(an UPPER_CASE: recipe)");
    }
    if (c.name == "ARG" || c.name == "LET" || c.name == "SET" || c.name == "ENV")
      check_variable(c, where);
  }

  // ARG/LET/SET/ENV: [flags] KEY [= VALUE]
  void check_variable(const Command& c, Where where) {
    auto eq = std::find(c.args.begin(), c.args.end(), "=");
    size_t key_index = static_cast<size_t>(eq - c.args.begin());
    if (key_index == 0) {
      error(c.span, c.name + " needs a name");
      return;
    }
    --key_index;
    const std::string& key = c.args[key_index];
    const Span& key_span = c.arg_spans.size() > key_index ? c.arg_spans[key_index] : c.span;
    if (!valid_var_name(key))
      error(key_span,
            "invalid " + c.name + " name '" + key + "': names match [a-zA-Z_][a-zA-Z0-9_]*");
    bool has_value = eq != c.args.end();
    if ((c.name == "LET" || c.name == "SET") && !has_value)
      error(c.span, c.name + " needs a value: " + c.name + " " + key + " = value");
    bool required = false, global = false;
    for (size_t i = 0; i < key_index; ++i) {
      const std::string& flag = c.args[i];
      const Span& span = c.arg_spans.size() > i ? c.arg_spans[i] : c.span;
      if (c.name != "ARG") {
        error(span, c.name + " takes no flags ('" + flag + "')");
      } else if (flag == "--required" || flag == "--required=true") {
        required = true;
      } else if (flag == "--global" || flag == "--global=true") {
        global = true;
      } else if (flag != "--required=false" && flag != "--global=false") {
        error(span, "unknown ARG flag '" + flag + "' (ARG takes --required and --global)");
      }
    }
    if (required && has_value)
      error(c.span, "required ARG '" + key + "' cannot have a default value");
    if (global && where != Where::base)
      error(c.span, "ARG --global is only allowed in the base recipe (before the first target)");
  }

  const SourceFile& source_;
  ParseResult& result_;
};

} // namespace

void validate(const SourceFile& source, ParseResult& result) {
  Validator(source, result).run();
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.span.begin.line, a.span.begin.column) <
                            std::tie(b.span.begin.line, b.span.begin.column);
                   });
}

} // namespace earth::syntax
