// Loading Earthfiles, target instances, dedup, cycles, errors and the
// output rule. The statement walk is in walk.cc.
#include "resolver.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <deque>

#include <fmt/format.h>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/resolve/stdlib.h"

namespace earth::resolve {

namespace {

// An Earthfile directory as written (`~/x`, `../lib`, `/abs`) made absolute:
// `~` is $HOME, a relative path is under `base`.
std::string absolute_dir(std::string path, const std::string& base) {
  if (path.starts_with("~")) {
    const char* home = std::getenv("HOME");
    path = std::string(home ? home : "/") + path.substr(1);
  }
  return fs::normalize(path[0] == '/' ? path : base + "/" + path);
}

} // namespace

const Value* find_override(const Overrides& o, std::string_view name) {
  for (auto it = o.rbegin(); it != o.rend(); ++it)
    if (it->first == name) return &it->second;
  return nullptr;
}

void set_override(Overrides& o, const std::string& name, Value v) {
  for (auto& [k, val] : o)
    if (k == name) {
      val = std::move(v);
      return;
    }
  o.emplace_back(name, std::move(v));
}

Resolver::Resolver(const Options& options, Graph& graph)
    : options_(options), disk_(options.disk ? *options.disk : real_disk()), graph_(graph) {
  std::string dir = options.project_dir.empty() ? "." : options.project_dir;
  if (dir[0] != '/') {
    char buf[4096];
    std::string cwd = getcwd(buf, sizeof buf) ? buf : "/";
    dir = cwd + "/" + dir;
  }
  project_abs_ = fs::normalize(dir);
  parse_ = options.parse ? options.parse : ParseFn(syntax::parse);
}

std::string Resolver::shown_dir(const std::string& abs_dir) const {
  if (abs_dir == project_abs_) return ".";
  if (project_abs_ == "/") return "." + abs_dir;
  if (abs_dir.starts_with(project_abs_ + "/"))
    return "./" + abs_dir.substr(project_abs_.size() + 1);
  return abs_dir;
}

std::string Resolver::canonical(FileId file, const std::string& name) const {
  const std::string& dir = graph_.files[file]->dir;
  return (dir == "." ? std::string() : dir) + "+" + name;
}

std::string Resolver::where(FileId file, const syntax::Span& span) const {
  if (file == kNone) return "command line";
  return fmt::format("{}:{}", graph_.files[file]->path, span.begin.line);
}

std::vector<std::string> Resolver::trace() const {
  std::vector<std::string> lines;
  for (size_t k = stack_.size(); k-- > 0;) {
    bool fn = stack_[k].function;
    std::string line = (fn ? "in function " : "while building ") + stack_[k].name;
    if (k > 0)
      line += fmt::format(", {} {} ({})", fn ? "called from" : "needed by", stack_[k - 1].name,
                          where(stack_[k].file, stack_[k].span));
    lines.push_back(std::move(line));
  }
  // A deep chain keeps its two ends.
  constexpr size_t kKeep = 5;
  if (lines.size() > 2 * kKeep + 1) {
    size_t hidden = lines.size() - 2 * kKeep;
    lines.erase(lines.begin() + kKeep, lines.end() - kKeep);
    lines.insert(lines.begin() + kKeep, fmt::format("… ({} more)", hidden));
  }
  return lines;
}

void Resolver::fail(FileId file, const syntax::Span& span, std::string message,
                    std::vector<syntax::Note> notes) const {
  syntax::Diagnostic d;
  d.message = std::move(message);
  d.notes = std::move(notes);
  d.trace = trace();
  const syntax::SourceFile* source = nullptr;
  if (file != kNone) {
    d.path = graph_.files[file]->path;
    d.span = span;
    source = &graph_.files[file]->source;
  } else {
    d.path = "earth";
  }
  throw DiagnosticError(std::move(d), source);
}

namespace {

// VERSION features that change how a file is read (reference §1.4).
void apply_version_features(LoadedFile& file) {
  if (!file.ast.version || file.ast.version->args.empty()) return;
  const auto& args = file.ast.version->args;
  const std::string& number = args.back();
  auto has = [&](std::string_view flag) {
    return std::find(args.begin(), args.end(), flag) != args.end();
  };
  file.arg_scope_and_set = number >= "0.8" || has("--arg-scope-and-set");
  file.explicit_global = number >= "0.7" || has("--explicit-global");
  file.wildcard_builds = has("--wildcard-builds");
  file.wildcard_copy = has("--wildcard-copy");
}

} // namespace

// A file without VERSION parses (`earth debug ast` shows it) but is not built.
void Resolver::refuse_missing_version(const LoadedFile& file) const {
  syntax::Diagnostic d;
  d.path = file.path;
  d.span = {{1, 1}, {1, 1}};
  d.message = "missing VERSION: an Earthfile to build starts with its VERSION";
  d.notes.push_back({"", {}, "add 'VERSION 0.8' as the first line"});
  d.trace = trace();
  throw DiagnosticError(std::move(d), &file.source);
}

FileId Resolver::load_dir(const std::string& abs_dir, FileId from, const syntax::Span& span,
                          const std::string& shown_ref) {
  if (auto it = file_index_.find(abs_dir); it != file_index_.end()) return it->second;
  std::string shown = shown_dir(abs_dir);
  // The directory is checked only when no Earthfile is found or read in
  // it (the lstat of its Earthfile shows it is one): one stat fewer a file.
  std::string path = syntax::earthfile_in(abs_dir, disk_);
  if (path.empty()) check_dir(abs_dir, from, span, shown_ref);
  if (path.empty())
    fail(from, span,
         fmt::format("no Earthfile in {} (for {}; tried {}/Earthfile and {}/build.earth)", shown,
                     shown_ref, shown, shown));
  std::string display = (shown == "." ? std::string(".") : shown) + "/" + fs::basename(path);
  std::string text = read_earthfile_text(path, display, from, span, shown_ref);
  return add_file(
      abs_dir,
      LoadedFile{shown, display, abs_dir, syntax::SourceFile(display, std::move(text)), {}});
}

// A stdlib package: its embedded Earthfile, shown as stdlib/<name>/Earthfile.
// Its directory does not exist on disk (docs/stdlib.md).
FileId Resolver::load_stdlib(const StdlibPackage& package) {
  std::string key = "stdlib:" + std::string(package.name); // never an absolute dir
  if (auto it = file_index_.find(key); it != file_index_.end()) return it->second;
  std::string dir = "stdlib/" + std::string(package.name);
  std::string display = dir + "/Earthfile";
  return add_file(key, LoadedFile{dir,
                                  display,
                                  "/earth-stdlib/" + std::string(package.name),
                                  syntax::SourceFile(display, std::string(package.earthfile)),
                                  {}});
}

void Resolver::unknown_stdlib_package(const EarthfileRef& ref, FileId from,
                                      const syntax::Span& span) const {
  std::vector<std::string> names;
  for (const auto& p : stdlib_packages()) names.emplace_back(p.name);
  fail(from, span,
       fmt::format("unknown stdlib package '{}' (earth ships: {})",
                   ref.path.substr(ref.path.find('/') + 1), join(names, ", ")));
}

// Parses a file read by the loader and adds it to the graph under `key`.
FileId Resolver::add_file(const std::string& key, LoadedFile loaded) {
  auto file = std::make_unique<LoadedFile>(std::move(loaded));
  syntax::ParseResult parsed = parse_(file->source);
  if (!parsed.ok()) {
    // Every error with its code frame, as `earth debug ast` shows them; the
    // trace once, after the last.
    parsed.diagnostics.back().trace = trace();
    throw DiagnosticError(std::move(parsed.diagnostics), &file->source);
  }
  file->ast = std::move(parsed.earthfile);
  if (!file->ast.version) refuse_missing_version(*file);
  apply_version_features(*file);
  graph_.files.push_back(std::move(file));
  FileId id = static_cast<FileId>(graph_.files.size() - 1);
  file_index_.emplace(key, id);
  return id;
}

// Only a missing directory is "no such directory"; EACCES and the like say so.
void Resolver::check_dir(const std::string& abs_dir, FileId from, const syntax::Span& span,
                         const std::string& shown_ref) {
  FileStat st = disk_.stat(abs_dir);
  if (st.kind == FileStat::Kind::dir) return;
  std::string shown = shown_dir(abs_dir);
  if (st.kind == FileStat::Kind::missing && st.error != ENOENT && st.error != ENOTDIR)
    fail(from, span, fmt::format("{} (for {})", errno_message(shown, st.error), shown_ref));
  fail(from, span, fmt::format("no such directory {} (for {})", shown, shown_ref));
}

std::string Resolver::read_earthfile_text(const std::string& path, const std::string& display,
                                          FileId from, const syntax::Span& span,
                                          const std::string& shown_ref) {
  auto text = syntax::read_earthfile(path, disk_);
  if (!text.ok()) {
    check_dir(fs::dirname(path), from, span, shown_ref); // an unsearchable dir says so
    std::string message = text.error();                  // names the file by its absolute path
    if (message.starts_with(path)) message.replace(0, path.size(), display);
    fail(from, span, fmt::format("{} (for {})", message, shown_ref));
  }
  return std::move(text).value();
}

FileId Resolver::file_of(const EarthfileRef& ref, const Frame& frame, const syntax::Span& span,
                         const std::string& shown_ref) {
  switch (ref.kind) {
  case EarthfileRef::Kind::local_internal:
    return frame.file;
  case EarthfileRef::Kind::remote:
    if (const StdlibPackage* package = stdlib_package_for(ref)) return load_stdlib(*package);
    if (is_stdlib_path(ref)) unknown_stdlib_package(ref, frame.file, span);
    return kNone;
  case EarthfileRef::Kind::alias: {
    auto it = frame.imports.find(ref.path);
    if (it == frame.imports.end()) {
      std::vector<syntax::Note> notes;
      for (const auto& [alias, _] : frame.imports)
        if (edit_distance(alias, ref.path) <= 2)
          notes.push_back({"", {}, fmt::format("did you mean {}?", alias)});
      fail(frame.file, span,
           fmt::format("unknown import alias '{}' in {} (no IMPORT … AS {})", ref.path, shown_ref,
                       ref.path),
           std::move(notes));
    }
    return file_of(it->second, frame, span, shown_ref);
  }
  case EarthfileRef::Kind::local_path:
    break;
  }
  return load_dir(absolute_dir(ref.path, graph_.files[frame.file]->abs_dir), frame.file, span,
                  shown_ref);
}

NodeId Resolver::remote_node(const Reference& ref) {
  std::string canonical = ref.target_string();
  Digest key = Graph::key_of("remote", canonical);
  if (NodeId id = graph_.find(key); id != kNone) return id;
  Node node;
  node.kind = ref.is_function() ? Node::Kind::function : Node::Kind::target;
  node.name = ref.name;
  node.canonical = canonical;
  in_progress_.push_back(false);
  return graph_.add(std::move(node), key);
}

NodeId Resolver::function_node(FileId file, const std::string& name) {
  std::string canonical = this->canonical(file, name);
  Digest key = Graph::key_of("function", canonical);
  if (NodeId id = graph_.find(key); id != kNone) return id;
  Node node;
  node.kind = Node::Kind::function;
  node.file = file;
  node.name = name;
  node.canonical = canonical;
  in_progress_.push_back(false);
  return graph_.add(std::move(node), key);
}

namespace {

std::string display_of(const Node& n) {
  std::string s = n.canonical;
  for (const auto& b : n.args)
    if (b.kind == VarKind::arg || b.kind == VarKind::global)
      s += fmt::format(" --{}={}", b.name, b.value.text);
  if (!n.platform.empty()) s += " (" + n.platform + ")";
  return s;
}

} // namespace

void Resolver::unknown_target(FileId file, const std::string& name, FileId ref_file,
                              const syntax::Span& span) const {
  const auto& ast = graph_.files[file]->ast;
  bool function = name[0] >= 'A' && name[0] <= 'Z';
  std::string best;
  size_t best_d = SIZE_MAX;
  auto consider = [&](const std::string& cand) {
    size_t d = edit_distance(cand, name);
    if (d < best_d) best_d = d, best = cand;
  };
  if (function) {
    for (const auto& f : ast.functions) consider(f.name);
  } else {
    for (const auto& t : ast.targets) consider(t.name);
  }
  std::vector<syntax::Note> notes;
  if (!best.empty() && best_d <= std::max<size_t>(2, name.size() / 3))
    notes.push_back({"", {}, fmt::format("did you mean {}?", canonical(file, best))});
  fail(ref_file, span,
       fmt::format("unknown {} {} in {}", function ? "function" : "target", canonical(file, name),
                   graph_.files[file]->path),
       std::move(notes));
}

namespace {

// Identity (§5.2): the declared ARGs (globals included; a local ARG shadows
// a global of the same name), the platform, and the undeclared overrides that
// flow on to same-file targets.
void set_identity(Walk& w) {
  const Frame& f = w.frames.front();
  for (const auto& b : f.vars) {
    if (b.kind != VarKind::arg && b.kind != VarKind::global) continue;
    auto same = std::find_if(w.node.args.begin(), w.node.args.end(),
                             [&](const Binding& a) { return a.name == b.name; });
    if (same == w.node.args.end())
      w.node.args.push_back(b);
    else if (b.kind == VarKind::arg)
      *same = b;
  }
  for (const auto& [name, value] : f.overrides) w.node.given.push_back({name, value, VarKind::arg});
  if (!w.same_file_refs) return;
  for (const auto& o : f.overrides) {
    bool declared = std::any_of(w.node.args.begin(), w.node.args.end(),
                                [&](const Binding& b) { return b.name == o.first; });
    if (!declared) w.node.passed.push_back({o.first, o.second, VarKind::arg});
  }
}

// A walk of one instance: the node's name and platform, and one frame
// holding the overrides it was given.
Walk new_walk(FileId file, const std::string& name, std::string canonical, Overrides overrides,
              const std::string& platform) {
  Walk w;
  w.node.kind = Node::Kind::target;
  w.node.file = file;
  w.node.name = name;
  w.node.canonical = std::move(canonical);
  w.node.platform = platform;
  Frame frame;
  frame.file = file;
  frame.overrides = std::move(overrides);
  w.frames.push_back(std::move(frame));
  return w;
}

} // namespace

std::string Resolver::cycle_path(NodeId id) const {
  std::string path;
  size_t k = 0;
  while (k < stack_.size() && stack_[k].node != id) ++k;
  for (size_t i = k; i < stack_.size(); ++i) {
    if (i > k) path += " → ";
    path += stack_[i].name;
    if (i > k) path += " (" + where(stack_[i].file, stack_[i].span) + ")";
  }
  return path;
}

NodeId Resolver::instance(FileId file, const std::string& name, Overrides overrides,
                          const std::string& platform, FileId ref_file,
                          const syntax::Span& ref_span) {
  const syntax::Block& recipe = recipe_of(file, name, ref_file, ref_span);
  Walk w = new_walk(file, name, canonical(file, name), std::move(overrides), platform);
  check_depth(w.node.canonical, ref_file, ref_span);
  stack_.push_back({kNone, w.node.canonical, ref_file, ref_span});
  walk_target(w, file, recipe, name == "base");
  set_identity(w);
  return add_instance(w, ref_file, ref_span);
}

const syntax::Block& Resolver::recipe_of(FileId file, const std::string& name, FileId ref_file,
                                         const syntax::Span& ref_span) {
  const auto& ast = graph_.files[file]->ast;
  if (name == "base") return ast.base_recipe;
  const syntax::Target* target = ast.find_target(name);
  if (!target) unknown_target(file, name, ref_file, ref_span);
  return target->recipe;
}

// Pops the instance's stack entry when done.
NodeId Resolver::add_instance(Walk& w, FileId ref_file, const syntax::Span& ref_span) {
  Digest key = Graph::key_of(w.node);
  stack_.back().name = display_of(w.node);
  if (NodeId id = graph_.find(key); id != kNone) {
    if (in_progress_[id]) {
      std::string path = cycle_path(id);
      stack_.pop_back();
      fail(ref_file, ref_span, "dependency cycle: " + path);
    }
    stack_.pop_back();
    return id;
  }
  NodeId id = graph_.add(std::move(w.node), key);
  in_progress_.push_back(true);
  stack_.back().node = id;
  add_edges(id, w.pending);
  in_progress_[id] = false;
  stack_.pop_back();
  return id;
}

// Resolves the targets a new node references (recursively) and records the
// edges, on the node and on the steps that made them.
void Resolver::add_edges(NodeId id, std::vector<PendingEdge>& pending) {
  for (auto& p : pending) {
    NodeId to = edge_target(p);
    Edge e;
    e.kind = p.kind;
    e.from = id;
    e.to = to;
    e.ref = p.ref_text;
    e.artifact = p.ref.artifact;
    e.conditional = p.conditional;
    e.waited = p.waited;
    e.dynamic = p.dynamic;
    e.file = p.file;
    e.span = p.span;
    graph_.edges.push_back(std::move(e));
    EdgeId eid = static_cast<EdgeId>(graph_.edges.size() - 1);
    graph_.nodes[id].out.push_back(eid);
    if (p.step != kNone) graph_.nodes[id].steps[p.step].edges.push_back(eid);
  }
}

// DO and IMPORT edges are fixed when walked; a dynamic one waits for the build.
NodeId Resolver::edge_target(PendingEdge& p) {
  if (p.kind == EdgeKind::do_function || p.kind == EdgeKind::import || p.dynamic) return p.fixed_to;
  if (p.ref.earthfile.kind == EarthfileRef::Kind::remote) return remote_node(p.ref);
  return instance(p.ref_file, p.ref.name, std::move(p.overrides), p.platform, p.file, p.span);
}

// Instances nest on the C++ stack; a target that references itself with
// ever-changing args would recurse forever.
void Resolver::check_depth(const std::string& canonical, FileId ref_file,
                           const syntax::Span& ref_span) const {
  constexpr size_t kMaxDepth = 4000, kMaxSame = 64;
  size_t same = 0;
  for (const auto& e : stack_) same += e.name.starts_with(canonical + " ") || e.name == canonical;
  if (same >= kMaxSame)
    fail(ref_file, ref_span,
         fmt::format("{} is nested in itself {} times with different build args (a recursion "
                     "that never reaches the same instance twice)",
                     canonical, same));
  if (stack_.size() >= kMaxDepth)
    fail(ref_file, ref_span,
         fmt::format("the chain of targets is deeper than {} (at {})", kMaxDepth, canonical));
}

void Resolver::run(const std::string& target) {
  Reference ref = cli_reference(target);
  FileId file = load_ref_file(ref, target);
  Overrides overrides;
  for (const auto& [k, v] : options_.overrides) set_override(overrides, k, Value{v, false});
  NodeId root = instance(file, ref.name, std::move(overrides), options_.platform, kNone, {});
  if (graph_.root == kNone) graph_.root = root;
  graph_.roots.push_back(root);
  mark_outputs(root);
}

// The Earthfile a local reference from the command line names.
FileId Resolver::load_ref_file(const Reference& ref, const std::string& shown) {
  std::string dir =
      ref.earthfile.kind == EarthfileRef::Kind::local_internal ? "." : ref.earthfile.path;
  return load_dir(absolute_dir(dir, project_abs_), kNone, {}, shown);
}

void Resolver::run_instance(const Instance& inst) {
  auto ref = parse_target_ref(inst.canonical);
  if (!ref.ok() || ref->is_function() || ref->earthfile.kind == EarthfileRef::Kind::remote ||
      ref->earthfile.kind == EarthfileRef::Kind::alias)
    fail(kNone, {}, "not a local target instance: " + inst.canonical);
  FileId file = load_ref_file(*ref, inst.canonical);
  Overrides overrides;
  for (const auto& b : inst.given) set_override(overrides, b.name, b.value);
  NodeId root = instance(file, ref->name, std::move(overrides), inst.platform, kNone, {});
  if (graph_.root == kNone) graph_.root = root;
  graph_.roots.push_back(root);
}

// A CLI target: a local target reference, with overrides that are not builtins.
Reference Resolver::cli_reference(const std::string& target) {
  auto ref = parse_target_ref(target);
  if (!ref.ok()) fail(kNone, {}, ref.error());
  if (ref->is_function()) fail(kNone, {}, target + " is a function; functions are used with DO");
  for (const auto& [k, v] : options_.overrides)
    if (is_builtin(k)) fail(kNone, {}, fmt::format("builtin ARG {} cannot be overridden", k));
  if (ref->earthfile.kind == EarthfileRef::Kind::remote)
    fail(kNone, {},
         fmt::format("remote Earthfiles are not supported yet: {} (command line)", target));
  if (ref->earthfile.kind == EarthfileRef::Kind::alias)
    fail(kNone, {}, fmt::format("'{}': import aliases cannot be used on the command line", target));
  return std::move(ref).value();
}

// §5.6: outputs only through an unbroken chain of BUILDs from the CLI target.
void Resolver::mark_outputs(NodeId root) {
  std::deque<NodeId> queue{root};
  graph_.nodes[root].output = true;
  while (!queue.empty()) {
    NodeId n = queue.front();
    queue.pop_front();
    graph_.nodes[n].push = options_.push;
    for (EdgeId e : graph_.nodes[n].out) {
      const Edge& edge = graph_.edges[e];
      if (edge.kind != EdgeKind::build || edge.to == kNone || graph_.nodes[edge.to].output)
        continue;
      graph_.nodes[edge.to].output = true;
      queue.push_back(edge.to);
    }
  }
}

Graph resolve(const std::string& target, const Options& options) {
  Graph graph;
  Resolver r(options, graph);
  r.run(target);
  return graph;
}

Graph resolve_all(const std::vector<std::string>& targets, const Options& options) {
  Graph graph;
  Resolver r(options, graph);
  for (const auto& t : targets) r.run(t);
  return graph;
}

Graph resolve_instances(const std::vector<Instance>& instances, const Options& options) {
  Graph graph;
  Resolver r(options, graph);
  for (const auto& i : instances) r.run_instance(i);
  return graph;
}

} // namespace earth::resolve
