// Internal to the resolve module: the resolver's working state. One
// Resolver lives for one resolve() call and fills one Graph.
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "earth/resolve/command_flags.h"
#include "earth/resolve/reference.h"
#include "earth/resolve/resolve.h"
#include "earth/resolve/stdlib.h"

namespace earth::resolve {

using Overrides = std::vector<std::pair<std::string, Value>>; // later entries win
const Value* find_override(const Overrides& o, std::string_view name);
void set_override(Overrides& o, const std::string& name, Value v);

// One ARG scope: a target's recipe, the base recipe, or a DO'd function.
struct Frame {
  FileId file = kNone;
  Overrides overrides;                             // inactive until an ARG declares the name
  std::vector<Binding> vars;                       // active: globals, args, LETs (in order)
  std::map<std::string, EarthfileRef> imports;     // alias -> Earthfile
  std::map<std::string, syntax::Span> import_used; // aliases already given an IMPORT edge
  // The IF branch each ARG/LET name was last declared in (0: outside any IF).
  // A declaration made in a branch that is no longer walked (a sibling
  // branch, or an IF that has ended) may or may not have run.
  std::map<std::string, uint32_t> declared_in;
  bool base = false; // walking a base recipe
};

// An edge found while walking a recipe, resolved once the node exists.
struct PendingEdge {
  EdgeKind kind = EdgeKind::from;
  Reference ref;           // as parsed (relative to `ref_file`)
  std::string ref_text;    // for display
  FileId ref_file = kNone; // the file the reference is relative to
  Overrides overrides;     // what the callee receives
  std::string platform;
  bool conditional = false;
  bool waited = false;
  bool dynamic = false;
  NodeId fixed_to = kNone; // DO: the function node; IMPORT: none
  FileId file = kNone;
  syntax::Span span;
  uint32_t step = kNone;
};

// Everything collected while walking one target instance.
struct Walk {
  Node node;
  std::vector<Frame> frames;
  std::vector<Binding> envs; // ENV persists across DO frames
  std::vector<PendingEdge> pending;
  std::vector<std::string> functions; // the DO stack, for recursion errors
  bool has_env = false;               // after FROM/LOCALLY (or an implicit FROM +base)
  bool locally = false;
  bool same_file_refs = false;
  int conditional = 0;            // > 0 inside IF / dynamic FOR
  int waiting = 0;                // > 0 inside WAIT
  std::vector<uint32_t> branches; // the IF branches being walked, innermost last
  uint32_t next_branch = 0;
  uint32_t depth = 0;    // DO depth
  uint32_t step = kNone; // the step being walked
  // Bumped whenever the visible variables change; a step takes a new scope
  // snapshot only when it differs from the last one taken.
  uint64_t scope_version = 1;
  uint64_t snapshot_version = 0;
};

// The chain of instances being resolved, for traces and cycle paths.
struct StackEntry {
  NodeId node; // kNone while the instance is still being walked
  std::string name;
  FileId file; // where the reference to `node` is (kNone for the CLI)
  syntax::Span span;
  bool function = false; // a DO'd function, inlined into the entry below
};

// Leading flags of FROM/BUILD/COPY/DO/IMPORT/WITH DOCKER, with values.
struct RefFlags {
  std::vector<std::string> platforms;
  std::vector<std::string> build_args; // deprecated --build-arg K=v, as "--K=v"
  std::vector<std::string> loads;      // WITH DOCKER --load
  bool pass_args = false;
  size_t next = 0;
};

using Flags = CommandFlags;

// A FOR's header: the loop variable, the separators and the unexpanded list.
struct ForHeader {
  std::string var;
  std::string seps = " \t\n";
  std::vector<std::string> list;
};

// Resolves CLI targets into one Graph: run() once per target. Everything
// else is the walk's machinery, spread over resolver.cc (loading, instances,
// errors), walk.cc (scoping), walk_refs.cc (references, SAVE, FOR),
// builtins.cc and flags.cc.
class Resolver {
public:
  Resolver(const Options& options, Graph& graph);
  // Resolves `target` and what it needs into the graph, and marks the
  // nodes that produce outputs. Throws DiagnosticError.
  void run(const std::string& target);
  void run_instance(const Instance& inst);
  FileId load_ref_file(const Reference& ref, const std::string& shown);

private:
  // --- loading (resolver.cc)
  FileId load_dir(const std::string& abs_dir, FileId from, const syntax::Span& span,
                  const std::string& shown_ref);
  FileId load_stdlib(const StdlibPackage& package);
  FileId add_file(const std::string& key, LoadedFile loaded);
  [[noreturn]] void unknown_stdlib_package(const EarthfileRef& ref, FileId from,
                                           const syntax::Span& span) const;
  void check_dir(const std::string& abs_dir, FileId from, const syntax::Span& span,
                 const std::string& shown_ref);
  std::string read_earthfile_text(const std::string& path, const std::string& display, FileId from,
                                  const syntax::Span& span, const std::string& shown_ref);
  // The file a reference points to, or kNone for a remote one.
  FileId file_of(const EarthfileRef& ref, const Frame& frame, const syntax::Span& span,
                 const std::string& shown_ref);
  std::string shown_dir(const std::string& abs_dir) const;
  [[noreturn]] void refuse_missing_version(const LoadedFile& file) const;
  std::string canonical(FileId file, const std::string& name) const;

  // --- instances (resolver.cc)
  Reference cli_reference(const std::string& target);
  void mark_outputs(NodeId root);
  NodeId instance(FileId file, const std::string& name, Overrides overrides,
                  const std::string& platform, FileId ref_file, const syntax::Span& ref_span);
  const syntax::Block& recipe_of(FileId file, const std::string& name, FileId ref_file,
                                 const syntax::Span& ref_span);
  // Adds the walked instance (or finds its twin) and resolves its edges.
  NodeId add_instance(Walk& w, FileId ref_file, const syntax::Span& ref_span);
  NodeId remote_node(const Reference& ref);
  void add_edges(NodeId id, std::vector<PendingEdge>& pending);
  NodeId edge_target(PendingEdge& p);
  std::string cycle_path(NodeId id) const;
  void check_depth(const std::string& canonical, FileId ref_file,
                   const syntax::Span& ref_span) const;
  NodeId function_node(FileId file, const std::string& name);

  // --- walking (walk.cc)
  void walk_target(Walk& w, FileId file, const syntax::Block& recipe, bool is_base);
  void walk_block(Walk& w, const syntax::Block& block);
  void walk_if(Walk& w, const syntax::IfStmt& node, const syntax::Span& span);
  void walk_command(Walk& w, const syntax::Command& cmd);
  void add_step(Walk& w, const syntax::Command& cmd);
  void eval_base(Walk& w);
  void cmd_arg(Walk& w, const syntax::Command& cmd);
  ArgDecl parse_arg(Walk& w, const syntax::Command& cmd);
  void check_arg_redeclared(Walk& w, const syntax::Command& cmd, const ArgDecl& d);
  // Whether `name`'s last declaration in the current frame surely ran before
  // this point: it was made outside any IF, or in a branch being walked.
  bool surely_declared(const Walk& w, const std::string& name) const;
  void note_declared(Walk& w, const std::string& name);
  // The file whose VERSION features apply: the target's own file, also
  // inside a function from another file (Earthly takes the caller's
  // features; only the FUNCTION keyword follows the function's file). A base
  // recipe walked for its globals follows its own file.
  const LoadedFile& features(const Walk& w) const;
  VarKind arg_kind(const ArgDecl& d) const;
  Value arg_value(Walk& w, const syntax::Command& cmd, const ArgDecl& d, const Value* existing);
  void old_arg(Walk& w, const syntax::Command& cmd, const ArgDecl& d);
  void cmd_let_set(Walk& w, const syntax::Command& cmd, bool is_set);
  void cmd_env(Walk& w, const syntax::Command& cmd);
  Value expand(Walk& w, const std::string& word, const syntax::Span& span);
  const Value* lookup(Walk& w, std::string_view name);

  // --- references (walk_refs.cc)
  void cmd_from(Walk& w, const syntax::Command& cmd);
  void cmd_build(Walk& w, const syntax::Command& cmd);
  void cmd_from_dockerfile(Walk& w, const syntax::Command& cmd);
  void cmd_copy(Walk& w, const syntax::Command& cmd);
  void cmd_do(Walk& w, const syntax::Command& cmd);
  Reference function_ref(Walk& w, const std::string& word, const syntax::Span& span);
  void check_function_cycle(const Walk& w, const std::string& canon,
                            const syntax::Span& span) const;
  Overrides do_overrides(Walk& w, const Reference& ref, bool pass_args,
                         const std::vector<std::string>& arg_words, const syntax::Span& span);
  void walk_function(Walk& w, FileId fn_file, const syntax::Function& fn, const std::string& canon,
                     Overrides overrides, const syntax::Span& span);
  void cmd_import(Walk& w, const syntax::Command& cmd);
  void cmd_save(Walk& w, const syntax::Command& cmd);
  void cmd_with_docker(Walk& w, const syntax::Command& cmd);
  void add_load_edge(Walk& w, const RefFlags& f, const std::string& raw, const syntax::Span& span);
  void walk_for(Walk& w, const syntax::ForStmt& f, const syntax::Span& span);
  ForHeader parse_for(Walk& w, const syntax::ForStmt& f, const syntax::Span& span);
  std::vector<Value> for_items(Walk& w, const ForHeader& h, const syntax::Span& span);
  // `v`, the expansion of reference word `raw`, made dynamic when it cannot
  // be resolved statically and need not be (see walk_refs.cc).
  Value defer_unresolvable(const Walk& w, const std::string& raw, Value v, bool artifact) const;
  // Adds a reference edge (FROM/BUILD/COPY/LOAD) with its build args.
  void add_ref_edge(Walk& w, EdgeKind kind, const Value& ref_word,
                    const std::vector<std::string>& arg_words, bool artifact, bool pass_args,
                    const std::vector<std::string>& platforms, const syntax::Span& span);
  // Sets the edge's Earthfile (kNone: remote) and its shown reference.
  void locate_ref(Walk& w, PendingEdge& p);
  // A remote (or aliased remote) reference, dealiased; fails unless remote
  // references are allowed.
  Reference remote_ref(Walk& w, const Reference& ref, const syntax::Span& span);
  // `--K=v` / `--K` build-arg words as (name, value), in order; a bare `--K`
  // passes K's current value. Fails on a builtin name or an unset bare name.
  std::vector<std::pair<std::string, Value>>
  build_arg_values(Walk& w, const std::vector<std::string>& words, const syntax::Span& span);
  // The overrides each edge gets: `base`, then the args; a repeated name on
  // BUILD is a matrix (one set per combination).
  std::vector<Overrides> override_combos(Walk& w, EdgeKind kind, const Overrides& base,
                                         const std::vector<std::string>& arg_words,
                                         const syntax::Span& span);
  std::vector<std::string> edge_platforms(Walk& w, const std::vector<std::string>& platforms,
                                          const syntax::Span& span);
  std::vector<std::string> glob_refs(Walk& w, const Reference& ref, EdgeKind kind,
                                     const syntax::Span& span);
  Overrides base_overrides(Walk& w, const Reference& ref, bool pass_args);
  // An alias reference with the alias replaced by what IMPORT named.
  Reference dealias(const Frame& frame, Reference ref) const;
  void note_alias_use(Walk& w, const Reference& ref, const syntax::Span& span);

  // --- flags (flags.cc)
  // Parses leading flags; `valued` lists the flags that take a value. An
  // unknown flag fails.
  Flags parse_flags(FileId file, const syntax::Span& span, const std::string& command,
                    const std::vector<std::string>& words,
                    std::initializer_list<std::string_view> valued,
                    std::initializer_list<std::string_view> boolean) const;
  RefFlags parse_ref_flags(FileId file, const syntax::Span& span, const std::string& command,
                           const std::vector<std::string>& words,
                           std::initializer_list<std::string_view> valued,
                           std::initializer_list<std::string_view> boolean) const;

  // --- builtins (builtins.cc)
  bool is_builtin(std::string_view name) const;
  Value builtin_value(Walk& w, std::string_view name);
  Value git_value(Walk& w, std::string_view suffix);
  const GitInfo& git(FileId file);

  // --- errors (resolver.cc)
  [[noreturn]] void fail(FileId file, const syntax::Span& span, std::string message,
                         std::vector<syntax::Note> notes = {}) const;
  [[noreturn]] void unknown_target(FileId file, const std::string& name, FileId ref_file,
                                   const syntax::Span& span) const;
  std::vector<std::string> trace() const;
  std::string where(FileId file, const syntax::Span& span) const;

  const Options& options_;
  const Disk& disk_;
  Graph& graph_;
  std::string project_abs_;
  std::unordered_map<std::string, FileId> file_index_; // abs dir -> file
  std::unordered_map<std::string, GitInfo> git_cache_;
  std::vector<StackEntry> stack_;
  std::vector<bool> in_progress_; // per node: on the stack
  ParseFn parse_;
};

} // namespace earth::resolve
