// The target DAG (STYLE.md rule 5): plain structs owned by one `Graph`,
// with indices between them. A node is a target *instance*: a canonical
// target, the values of the ARGs it declares, and a platform (reference §5.2).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "earth/base/digest.h"
#include "earth/resolve/expand.h"
#include "earth/syntax/ast.h"
#include "earth/syntax/source.h"

namespace earth::resolve {

using NodeId = uint32_t;
using EdgeId = uint32_t;
using FileId = uint32_t;
inline constexpr uint32_t kNone = UINT32_MAX; // no node / no file

// One Earthfile, read and parsed once per run.
struct LoadedFile {
  std::string dir;     // as shown: "." or "./lib" (relative to the project dir)
  std::string path;    // as shown: "./Earthfile", "./lib/Earthfile"
  std::string abs_dir; // absolute directory, for the loader's cache
  syntax::SourceFile source;
  syntax::Earthfile ast;
  // VERSION features that change ARG scoping (reference §1.4).
  bool arg_scope_and_set = true; // 0.8: LET/SET, no redeclaring, local ARGs shadow globals
  bool explicit_global = true;   // 0.7: base ARGs are global only with --global
  bool wildcard_builds = false;  // VERSION --wildcard-builds: BUILD ./svc/*+t
  bool wildcard_copy = false;    // VERSION --wildcard-copy: COPY ./svc/*+t/file
};

enum class VarKind : uint8_t { arg, global, let, env, builtin };

// One variable in scope at some point of a recipe.
struct Binding {
  std::string name;
  Value value;
  VarKind kind = VarKind::arg;
};

enum class EdgeKind : uint8_t { from, build, copy, load, do_function, import };
const char* edge_kind_name(EdgeKind kind);

struct Edge {
  EdgeKind kind = EdgeKind::from;
  NodeId from = kNone;
  NodeId to = kNone;        // kNone for IMPORT and for a dynamic reference
  std::string ref;          // the reference after expansion, as written ("./lib+build")
  std::string artifact;     // COPY: the artifact path ("/out/*")
  bool conditional = false; // inside IF (or a dynamic FOR): may not happen
  bool waited = false;      // a BUILD inside WAIT: done (outputs, pushes) by its END
  bool dynamic = false;     // the reference holds a $( … ): resolved at build time
  FileId file = kNone;      // where the statement is
  syntax::Span span;
};

// One command of a target as the engine will run it: the command, where
// it is, and the variables in scope just before it (after DO inlining).
struct Step {
  const syntax::Command* command = nullptr;
  FileId file = kNone;
  uint32_t depth = 0;        // 0: the target's own recipe; n: inside n DOs
  uint32_t scope = kNone;    // Node::scopes index: the visible variables
  std::vector<EdgeId> edges; // edges this command creates
};

// What a target saves for the host: an artifact AS LOCAL, or an image
// (SAVE IMAGE). Produced only when its node is an output (§5.6).
struct LocalOutput {
  enum class Kind : uint8_t { artifact, image };
  Kind kind = Kind::artifact;
  std::string source;              // artifact: the path in the target ("/x"); may be empty
  std::string local_dest;          // artifact: the host path after AS LOCAL; may be empty
  std::vector<std::string> images; // image: its names, in order
  bool push = false;               // image: SAVE IMAGE --push
  FileId file = kNone;             // where the SAVE command is
  syntax::Span span;
};

struct Node {
  enum class Kind : uint8_t { target, function };
  Kind kind = Kind::target;
  FileId file = kNone;
  std::string name;            // "build"
  std::string canonical;       // "./lib+build"
  std::vector<Binding> args;   // declared ARGs (and globals) with their values: the identity
  std::vector<Binding> passed; // undeclared overrides passed on to same-file targets
  // Every override the instance was given (CLI or caller), in order (later
  // wins): the engine evaluates the ARG statements again at run time.
  std::vector<Binding> given;
  std::string platform;    // empty: the native platform
  std::vector<EdgeId> out; // in statement order
  std::vector<Step> steps;
  // Variable snapshots, in declaration order, shared by consecutive steps.
  std::vector<std::vector<Binding>> scopes;
  std::vector<LocalOutput> local_outputs; // in statement order
  bool output = false;                    // reached from the CLI target by BUILDs only (§5.6)
  bool push = false;                      // `output` and the run has --push
};

class Graph {
public:
  std::vector<std::unique_ptr<LoadedFile>> files; // stable addresses: steps point into ASTs
  std::vector<Node> nodes;
  std::vector<Edge> edges;
  NodeId root = kNone;       // the first CLI target
  std::vector<NodeId> roots; // every CLI target (earth graph without a target: all of them)

  // Every target node reachable from the roots, dependencies first (a valid
  // build order); functions are left out.
  std::vector<NodeId> build_order() const;
  // The instance key (§5.2): a Hasher digest over typed, length-prefixed
  // fields (canonical target, platform, each arg's name, value and
  // dynamic flag), so no two different instances share a key.
  static Digest key_of(const Node& node);
  // The key of a node identified by its canonical name alone: kind
  // "function", or "remote" for a placeholder of a remote target.
  static Digest key_of(std::string_view kind, std::string_view canonical);
  NodeId find(const Digest& key) const;
  NodeId add(Node node, const Digest& key);
  // The key node `id` was added with (key_of, not computed again).
  const Digest& key(NodeId id) const { return keys_[id]; }

private:
  std::unordered_map<Digest, NodeId> index_;
  std::vector<Digest> keys_; // per node
};

} // namespace earth::resolve
