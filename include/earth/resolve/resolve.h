// Turns parsed Earthfiles into the target DAG: loads Earthfiles (each parsed
// once), applies IMPORT aliases, evaluates ARG/LET/SET with Earthly 0.8
// scoping, dedups target instances, records edges with their kinds, detects
// cycles and computes which targets produce outputs (reference §5.6).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "earth/base/disk.h"
#include "earth/base/error.h"
#include "earth/resolve/graph.h"
#include "earth/syntax/diagnostic.h"
#include "earth/syntax/parser.h"

namespace earth::resolve {

// A resolution failure (syntax/diagnostic.h).
using DiagnosticError = syntax::DiagnosticError;

// What `git` says about a directory (reference §2.3); empty when not a repo.
struct GitInfo {
  std::string hash, branch, tag, refs, origin_url, commit_timestamp, author_timestamp;
  std::string author_email, author_name, co_authors;
  std::string toplevel; // the repository root
};
using GitProbe = std::function<GitInfo(const std::string& abs_dir)>;
// Runs the git CLI (cached per directory by the resolver).
GitInfo probe_git(const std::string& abs_dir);

using ParseFn = std::function<syntax::ParseResult(const syntax::SourceFile&)>;

struct Options {
  std::string project_dir = "."; // paths are shown relative to it
  // CLI overrides in precedence order (later wins): .arg file, env, --build-arg, flags.
  std::vector<std::pair<std::string, std::string>> overrides;
  std::string platform; // --platform; empty: native
  bool push = false;
  bool ci = false;
  // Remote references become placeholder nodes (for `earth graph`) instead
  // of the "remote Earthfiles are not supported yet" error.
  bool allow_remote = false;
  // A required ARG that is not set gets the dynamic placeholder "<required>"
  // instead of an error (for an overview graph of every target).
  bool placeholder_required = false;
  std::string version = "0.1.0";
  GitProbe git = probe_git; // called at most once per directory, only if needed
  // Where Earthfiles are read from; must outlive the resolve. Default: the
  // real filesystem.
  const Disk* disk = nullptr;
  ParseFn parse;               // default: syntax::parse
  std::string native_platform; // default: from uname
  std::string user_platform;   // default: native
};

// Resolves `target` (a CLI reference such as "+build" or "./lib+t") and
// everything it needs. Throws DiagnosticError on any user error.
Graph resolve(const std::string& target, const Options& options);
// Resolves several CLI targets into one graph (shared instances are one node).
Graph resolve_all(const std::vector<std::string>& targets, const Options& options);

// A target instance as a previous resolution made it: a partial build
// (docs/cache.md#partial-builds) resolves the instances a change reaches,
// each alone, rather than the whole request.
struct Instance {
  std::string canonical;      // "./lib+build" (Node::canonical)
  std::vector<Binding> given; // Node::given, in order
  std::string platform;       // Node::platform
};
// Resolves each instance (with what it needs) into one graph whose roots are
// theirs, in order, marking no outputs (Node::output is the caller's).
// Throws DiagnosticError as `resolve` does.
Graph resolve_instances(const std::vector<Instance>& instances, const Options& options);

// One ARG statement of a target, read statically (for `earth ls -a`).
struct ArgDecl {
  std::string name;
  std::string default_text; // unexpanded; empty when none
  bool has_default = false;
  bool required = false;
  bool global = false;
};
std::vector<ArgDecl> declared_args(const syntax::Block& recipe);

// How one instance of a target is told from another in what users read:
// " --NAME=VALUE" per arg, " (passes --NAME=VALUE…)" for the overrides it
// passes on, " [PLATFORM]"; a value with a space, quote or backslash is
// quoted, so that two instances never read alike.
std::string instance_text(const Node& node);

// Printers for `earth graph` and `earth --dry-run`.
std::string to_dot(const Graph& graph);
std::string to_json(const Graph& graph);
std::string dry_run_text(const Graph& graph);

} // namespace earth::resolve
