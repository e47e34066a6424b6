// The statements that reference other targets and functions: FROM, BUILD,
// COPY, DO, IMPORT, WITH DOCKER --load; plus SAVE (local outputs) and FOR.
#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "resolver.h"

namespace earth::resolve {

namespace {

using syntax::Command;
using syntax::Span;

std::vector<std::string> words_from(const std::vector<std::string>& words, size_t i) {
  return {words.begin() + static_cast<long>(std::min(i, words.size())), words.end()};
}

// An edge made by the statement being walked (its file, step and span).
PendingEdge new_edge(const Walk& w, EdgeKind kind, const Span& span) {
  PendingEdge p;
  p.kind = kind;
  p.file = w.frames.back().file;
  p.span = span;
  p.step = w.step;
  p.conditional = w.conditional > 0;
  p.waited = kind == EdgeKind::build && w.waiting > 0;
  return p;
}

// `SAVE ARTIFACT [flags] src… [dest] AS LOCAL dest` (expanded words); only
// AS LOCAL reaches the host. The engine checks the word counts.
std::optional<LocalOutput> save_artifact_output(const std::vector<std::string>& words) {
  size_t as = std::find(words.begin(), words.end(), "AS") - words.begin();
  if (as + 1 >= words.size() || words[as + 1] != "LOCAL") return std::nullopt;
  LocalOutput out;
  out.kind = LocalOutput::Kind::artifact;
  for (size_t i = 0; i < as && out.source.empty(); ++i)
    if (!words[i].starts_with("--")) out.source = words[i];
  if (as + 2 < words.size()) out.local_dest = words[as + 2];
  return out;
}

// `SAVE IMAGE [--push] [--cache-from x] name…` (expanded words).
std::optional<LocalOutput> save_image_output(const std::vector<std::string>& words) {
  LocalOutput out;
  out.kind = LocalOutput::Kind::image;
  out.push = std::find(words.begin(), words.end(), "--push") != words.end();
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] == "--cache-from")
      ++i;
    else if (!words[i].starts_with("--"))
      out.images.push_back(words[i]);
  }
  if (out.images.empty()) return std::nullopt;
  return out;
}

// Escapes an already expanded word so that expanding it again (as build-arg
// values are) gives it back unchanged.
std::string escape_expanded(std::string_view word) {
  std::string out;
  for (char c : word) {
    if (c == '$' || c == '\\' || c == '"' || c == '\'') out += '\\';
    out += c;
  }
  return out;
}

std::string unquote(std::string s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
    return s.substr(1, s.size() - 2);
  return s;
}

// `img=+t` / `img=(+t --K=v)` without the image name.
std::string strip_load_image(std::string load) {
  size_t eq = load.find('=');
  size_t paren = load.find('(');
  size_t plus = load.find('+');
  if (eq != std::string::npos && eq < std::min(paren, plus)) load = load.substr(eq + 1);
  return load;
}

bool is_wildcard(const Reference& ref) {
  return ref.earthfile.kind == EarthfileRef::Kind::local_path &&
         ref.earthfile.path.find_first_of("*?[") != std::string::npos;
}

} // namespace

Reference Resolver::dealias(const Frame& frame, Reference ref) const {
  if (ref.earthfile.kind != EarthfileRef::Kind::alias) return ref;
  if (auto it = frame.imports.find(ref.earthfile.path); it != frame.imports.end())
    ref.earthfile = it->second;
  return ref;
}

// What a referenced target receives before its explicit args (Earthly's
// prepOverridingVars): a reference without an Earthfile part (`+t`, `./+t`)
// gets the caller's overrides; `--pass-args` gives the caller's globals, then its ARGs,
// then its overrides (later wins).
Overrides Resolver::base_overrides(Walk& w, const Reference& ref, bool pass_args) {
  const Frame& frame = w.frames.back();
  bool same_file =
      ref.earthfile.kind == EarthfileRef::Kind::local_internal ||
      (ref.earthfile.kind == EarthfileRef::Kind::local_path && ref.earthfile.path == "./");
  if ((same_file || pass_args) && w.frames.size() == 1) w.same_file_refs = true;
  if (!pass_args) return same_file ? frame.overrides : Overrides{};
  Overrides out;
  for (VarKind kind : {VarKind::global, VarKind::arg})
    for (const auto& b : frame.vars)
      if (b.kind == kind) set_override(out, b.name, b.value);
  for (const auto& [k, v] : frame.overrides) set_override(out, k, v);
  return out;
}

// `./services/*+build`: one reference per matching directory that holds an
// Earthfile (gates --wildcard-builds / --wildcard-copy), in sorted order.
std::vector<std::string> Resolver::glob_refs(Walk& w, const Reference& ref, EdgeKind kind,
                                             const Span& span) {
  FileId file = w.frames.back().file;
  const LoadedFile& lf = *graph_.files[file];
  bool build = kind == EdgeKind::build;
  if (build ? !lf.wildcard_builds : !lf.wildcard_copy)
    fail(file, span,
         fmt::format("{} needs VERSION {} (a wildcard in the Earthfile path)", ref.to_string(),
                     build ? "--wildcard-builds" : "--wildcard-copy"));
  if (kind != EdgeKind::build && kind != EdgeKind::copy)
    fail(file, span, fmt::format("{}: wildcards work only in BUILD and COPY", ref.to_string()));
  std::string pattern =
      ref.earthfile.path[0] == '/' ? ref.earthfile.path : lf.abs_dir + "/" + ref.earthfile.path;
  std::vector<std::string> out;
  for (const auto& match : glob(disk_, pattern)) {
    std::string dir = fs::normalize(match);
    auto exists = [&](const char* name) {
      return disk_.lstat(dir + "/" + name).kind != FileStat::Kind::missing;
    };
    if (!exists("Earthfile") && !exists("build.earth")) continue;
    std::string rel =
        dir.starts_with(lf.abs_dir + "/") ? "./" + dir.substr(lf.abs_dir.size() + 1) : dir;
    Reference one = ref;
    one.earthfile.path = rel;
    out.push_back(one.to_string());
  }
  if (out.empty())
    fail(file, span,
         fmt::format("{}: no directory with an Earthfile matches {}", ref.to_string(),
                     ref.earthfile.path));
  std::sort(out.begin(), out.end());
  return out;
}

void Resolver::note_alias_use(Walk& w, const Reference& ref, const Span& span) {
  if (ref.earthfile.kind != EarthfileRef::Kind::alias) return;
  Frame& frame = w.frames.back();
  if (frame.import_used.count(ref.earthfile.path)) return;
  frame.import_used.emplace(ref.earthfile.path, span);
  auto it = frame.imports.find(ref.earthfile.path);
  if (it == frame.imports.end()) return;
  PendingEdge p = new_edge(w, EdgeKind::import, span);
  std::string shown = it->second.kind == EarthfileRef::Kind::local_path && it->second.path[0] == '/'
                          ? shown_dir(it->second.path)
                          : it->second.to_string();
  p.ref_text = shown + " AS " + ref.earthfile.path;
  w.pending.push_back(std::move(p));
}

std::vector<std::pair<std::string, Value>>
Resolver::build_arg_values(Walk& w, const std::vector<std::string>& words, const Span& span) {
  FileId file = w.frames.back().file;
  auto flags = parse_build_arg_flags(words);
  if (!flags.ok()) fail(file, span, flags.error());
  std::vector<std::pair<std::string, Value>> out;
  for (const auto& flag : *flags) {
    if (is_builtin(flag.name))
      fail(file, span, fmt::format("builtin ARG {} cannot be overridden", flag.name));
    if (flag.value) {
      out.emplace_back(flag.name, expand(w, *flag.value, span));
    } else if (const Value* cur = lookup(w, flag.name)) {
      out.emplace_back(flag.name, *cur);
    } else {
      fail(file, span,
           fmt::format("--{} passes the current value of {}, but {} is not set here", flag.name,
                       flag.name, flag.name));
    }
  }
  return out;
}

// Inside an IF, a reference that comes from a variable and does not parse
// (`BUILD $T` with T empty, `--load img=$IMG` with IMG an image name) is left
// to the build: only a run that takes the branch may fail on it.
Value Resolver::defer_unresolvable(const Walk& w, const std::string& raw, Value v,
                                   bool artifact) const {
  if (v.dynamic || w.conditional == 0 || raw.find('$') == std::string::npos) return v;
  bool ok = artifact ? parse_artifact_ref(v.text).ok() : parse_target_ref(v.text).ok();
  if (!ok) v.dynamic = true;
  return v;
}

void Resolver::add_ref_edge(Walk& w, EdgeKind kind, const Value& ref_word,
                            const std::vector<std::string>& arg_words, bool artifact,
                            bool pass_args, const std::vector<std::string>& platforms,
                            const Span& span) {
  FileId file = w.frames.back().file;
  PendingEdge p = new_edge(w, kind, span);
  p.ref_text = ref_word.text;
  if (ref_word.dynamic) {
    p.dynamic = true;
    w.pending.push_back(std::move(p));
    return;
  }
  auto parsed = artifact ? parse_artifact_ref(ref_word.text) : parse_target_ref(ref_word.text);
  if (!parsed.ok()) fail(file, span, parsed.error());
  p.ref = std::move(parsed).value();
  if (is_wildcard(p.ref)) {
    for (const auto& ref : glob_refs(w, p.ref, kind, span))
      add_ref_edge(w, kind, Value{ref, false}, arg_words, artifact, pass_args, platforms, span);
    return;
  }
  locate_ref(w, p);
  // As in Earthly, only `+t` passes overrides on implicitly, even when a path
  // or an alias names this same file.
  Overrides base = base_overrides(w, p.ref, pass_args);
  std::vector<Overrides> combos = override_combos(w, kind, base, arg_words, span);
  // A build arg from a `$( … )` makes the instance known only at build time.
  for (const auto& c : combos)
    for (const auto& [name, v] : c)
      if (v.dynamic) {
        p.dynamic = true;
        if (!arg_words.empty()) p.ref_text += " " + join(arg_words, " ");
        w.pending.push_back(std::move(p));
        return;
      }
  for (const auto& pl : edge_platforms(w, platforms, span))
    for (const auto& c : combos) {
      PendingEdge e = p;
      e.overrides = c;
      e.platform = pl;
      w.pending.push_back(std::move(e));
    }
}

void Resolver::locate_ref(Walk& w, PendingEdge& p) {
  p.ref_text = p.ref.to_string();
  if (p.ref.is_function())
    fail(p.file, p.span,
         fmt::format("{} is a function; functions are called with DO", p.ref.target_string()));
  p.ref_file = file_of(p.ref.earthfile, w.frames.back(), p.span, p.ref_text);
  if (p.ref_file == kNone) {
    p.ref = remote_ref(w, p.ref, p.span);
    p.ref_text = p.ref.to_string();
  }
  note_alias_use(w, p.ref, p.span);
}

Reference Resolver::remote_ref(Walk& w, const Reference& ref, const Span& span) {
  note_alias_use(w, ref, span);
  Reference remote = dealias(w.frames.back(), ref);
  if (!options_.allow_remote)
    fail(w.frames.back().file, span,
         fmt::format("remote Earthfiles are not supported yet: {}", remote.to_string()));
  return remote;
}

std::vector<Overrides> Resolver::override_combos(Walk& w, EdgeKind kind, const Overrides& base,
                                                 const std::vector<std::string>& arg_words,
                                                 const Span& span) {
  // Values per name, in order; a repeated name on BUILD is a matrix.
  std::vector<std::pair<std::string, std::vector<Value>>> values;
  for (auto& [name, v] : build_arg_values(w, arg_words, span)) {
    auto it =
        std::find_if(values.begin(), values.end(), [&](const auto& e) { return e.first == name; });
    if (it == values.end())
      values.push_back({name, {std::move(v)}});
    else if (kind == EdgeKind::build)
      it->second.push_back(std::move(v));
    else
      it->second = {std::move(v)};
  }
  std::vector<Overrides> combos{base};
  for (const auto& [name, vals] : values) {
    std::vector<Overrides> next;
    for (const auto& c : combos)
      for (const auto& v : vals) {
        Overrides o = c;
        set_override(o, name, v);
        next.push_back(std::move(o));
      }
    combos = std::move(next);
  }
  return combos;
}

// The expanded --platform values, or the node's own platform.
std::vector<std::string>
Resolver::edge_platforms(Walk& w, const std::vector<std::string>& platforms, const Span& span) {
  std::vector<std::string> out;
  for (const auto& pl : platforms) out.push_back(expand(w, pl, span).text);
  if (out.empty()) out.push_back(w.node.platform);
  return out;
}

void Resolver::cmd_from(Walk& w, const Command& cmd) {
  FileId file = w.frames.back().file;
  auto words = join_grouped_words(cmd.args);
  RefFlags f = parse_ref_flags(file, cmd.span, "FROM", words, {"--platform", "--build-arg"},
                               {"--allow-privileged", "--pass-args"});
  if (f.next >= words.size()) fail(file, cmd.span, "FROM needs an image or a target reference");
  w.has_env = true;
  w.locally = false;
  Value ref = expand(w, words[f.next], cmd.span);
  // An image, unless it names a target: `FROM alpine:$(cat v)` is an image,
  // `FROM $(cat t)` may be either and is left to the build.
  bool whole_shell_out = ref.dynamic && ref.text.starts_with("$(");
  if (!whole_shell_out && !has_unescaped_plus(ref.text)) return;
  ref = defer_unresolvable(w, words[f.next], std::move(ref), false);
  auto args = f.build_args;
  auto rest = words_from(words, f.next + 1);
  args.insert(args.end(), rest.begin(), rest.end());
  add_ref_edge(w, EdgeKind::from, ref, args, false, f.pass_args, f.platforms, cmd.span);
}

// FROM DOCKERFILE: a context or a -f Dockerfile that is an artifact makes a
// COPY edge.
void Resolver::cmd_from_dockerfile(Walk& w, const Command& cmd) {
  w.has_env = true;
  w.locally = false;
  std::vector<std::string> artifacts;
  std::vector<std::string> platforms;
  const auto& words = cmd.args;
  size_t i = 0;
  for (; i < words.size() && words[i].starts_with("-"); ++i) {
    std::string name = words[i].substr(0, words[i].find('='));
    bool inline_value = words[i].find('=') != std::string::npos;
    if (name == "--allow-privileged") continue;
    std::string value = inline_value           ? words[i].substr(words[i].find('=') + 1)
                        : i + 1 < words.size() ? words[++i]
                                               : "";
    if (name == "-f") artifacts.push_back(value);
    if (name == "--platform") platforms.push_back(value);
  }
  if (i < words.size()) artifacts.push_back(words[i]);
  for (const auto& a : artifacts) {
    Value v = expand(w, a, cmd.span);
    if (!v.dynamic && !has_unescaped_plus(v.text)) continue;
    add_ref_edge(w, EdgeKind::copy, v, {}, true, false, platforms, cmd.span);
  }
}

void Resolver::cmd_build(Walk& w, const Command& cmd) {
  FileId file = w.frames.back().file;
  auto words = join_grouped_words(cmd.args);
  RefFlags f = parse_ref_flags(file, cmd.span, "BUILD", words, {"--platform", "--build-arg"},
                               {"--allow-privileged", "--pass-args", "--auto-skip"});
  if (f.next >= words.size()) fail(file, cmd.span, "BUILD needs a target reference");
  Value ref = defer_unresolvable(w, words[f.next], expand(w, words[f.next], cmd.span), false);
  if (!ref.dynamic && !has_unescaped_plus(ref.text))
    fail(file, cmd.span,
         fmt::format("BUILD needs a target reference (like +build), not '{}'", ref.text));
  auto args = f.build_args;
  auto rest = words_from(words, f.next + 1);
  args.insert(args.end(), rest.begin(), rest.end());
  add_ref_edge(w, EdgeKind::build, ref, args, false, f.pass_args, f.platforms, cmd.span);
}

void Resolver::cmd_copy(Walk& w, const Command& cmd) {
  FileId file = w.frames.back().file;
  auto words = join_grouped_words(cmd.args);
  RefFlags f = parse_ref_flags(file, cmd.span, "COPY", words,
                               {"--chmod", "--chown", "--platform", "--build-arg"},
                               {"--dir", "--keep-ts", "--keep-own", "--if-exists",
                                "--symlink-no-follow", "--allow-privileged", "--pass-args"});
  if (words.size() < f.next + 2)
    fail(file, cmd.span, "COPY needs at least one source and a destination");
  for (size_t i = f.next; i + 1 < words.size(); ++i) {
    if (auto group = split_grouped_ref(words[i])) {
      Value ref = expand(w, group->ref, cmd.span);
      auto args = f.build_args;
      args.insert(args.end(), group->args.begin(), group->args.end());
      add_ref_edge(w, EdgeKind::copy, ref, args, true, f.pass_args, f.platforms, cmd.span);
      continue;
    }
    Value src = expand(w, words[i], cmd.span);
    if (!has_unescaped_plus(src.text)) continue; // a host path
    if (!split_grouped_ref(src.text)) src = defer_unresolvable(w, words[i], std::move(src), true);
    auto args = f.build_args;
    // A variable holding `(+t/path --K=v)`: read after expansion.
    if (auto group = src.dynamic ? std::nullopt : split_grouped_ref(src.text)) {
      src = Value{group->ref, false};
      for (const auto& a : group->args) args.push_back(escape_expanded(a));
    }
    add_ref_edge(w, EdgeKind::copy, src, args, true, f.pass_args, f.platforms, cmd.span);
  }
}

void Resolver::cmd_do(Walk& w, const Command& cmd) {
  FileId file = w.frames.back().file;
  auto words = join_grouped_words(cmd.args);
  RefFlags f =
      parse_ref_flags(file, cmd.span, "DO", words, {}, {"--allow-privileged", "--pass-args"});
  if (f.next >= words.size()) fail(file, cmd.span, "DO needs a function reference");
  Reference ref = function_ref(w, words[f.next], cmd.span);
  FileId fn_file = file_of(ref.earthfile, w.frames.back(), cmd.span, ref.to_string());
  PendingEdge edge = new_edge(w, EdgeKind::do_function, cmd.span);
  edge.ref = ref;
  edge.ref_text = ref.to_string();
  if (fn_file == kNone) {
    Reference remote = remote_ref(w, ref, cmd.span);
    edge.ref_text = remote.to_string();
    edge.fixed_to = remote_node(remote);
    w.pending.push_back(std::move(edge));
    return;
  }
  note_alias_use(w, ref, cmd.span);
  const syntax::Function* fn = graph_.files[fn_file]->ast.find_function(ref.name);
  if (!fn) unknown_target(fn_file, ref.name, file, cmd.span);
  std::string canon = canonical(fn_file, ref.name);
  check_function_cycle(w, canon, cmd.span);
  edge.fixed_to = function_node(fn_file, ref.name);
  w.pending.push_back(std::move(edge));
  Overrides overrides = do_overrides(w, ref, f.pass_args, words_from(words, f.next + 1), cmd.span);
  walk_function(w, fn_file, *fn, canon, std::move(overrides), cmd.span);
}

// The reference a DO names: a function (UPPER_CASE), known statically.
Reference Resolver::function_ref(Walk& w, const std::string& word, const Span& span) {
  FileId file = w.frames.back().file;
  Value v = expand(w, word, span);
  if (v.dynamic) fail(file, span, "DO cannot call a function named by $(…)");
  auto parsed = parse_target_ref(v.text);
  if (!parsed.ok()) fail(file, span, parsed.error());
  if (!parsed->is_function())
    fail(file, span,
         fmt::format("DO needs a function (an UPPER_CASE name); {} is a target, use BUILD or FROM",
                     parsed->target_string()));
  return std::move(parsed).value();
}

void Resolver::check_function_cycle(const Walk& w, const std::string& canon,
                                    const Span& span) const {
  if (std::find(w.functions.begin(), w.functions.end(), canon) == w.functions.end()) return;
  fail(w.frames.back().file, span,
       fmt::format("function cycle: {} → {}", join(w.functions, " → "), canon));
}

// A function's scope is fresh: only the explicit args (and --pass-args).
Overrides Resolver::do_overrides(Walk& w, const Reference& ref, bool pass_args,
                                 const std::vector<std::string>& arg_words, const Span& span) {
  Overrides overrides;
  Reference other = ref;
  other.earthfile.kind = EarthfileRef::Kind::remote; // never implicit passing into a DO
  if (pass_args) overrides = base_overrides(w, other, true);
  for (auto& [name, v] : build_arg_values(w, arg_words, span))
    set_override(overrides, name, std::move(v));
  return overrides;
}

// Inlines the function's recipe in a frame of its own, which also gets the
// globals and imports of the function's Earthfile.
void Resolver::walk_function(Walk& w, FileId fn_file, const syntax::Function& fn,
                             const std::string& canon, Overrides overrides, const Span& span) {
  FileId file = w.frames.back().file;
  Frame frame;
  frame.file = fn_file;
  frame.overrides = std::move(overrides);
  w.frames.push_back(std::move(frame));
  eval_base(w);
  ++w.scope_version;
  w.functions.push_back(canon);
  ++w.depth;
  stack_.push_back({kNone, canon, file, span, true});
  walk_block(w, fn.recipe);
  stack_.pop_back();
  --w.depth;
  w.functions.pop_back();
  w.frames.pop_back();
  ++w.scope_version;
}

void Resolver::cmd_import(Walk& w, const Command& cmd) {
  FileId file = w.frames.back().file;
  RefFlags f = parse_ref_flags(file, cmd.span, "IMPORT", cmd.args, {},
                               {"--allow-privileged", "--pass-args"});
  auto rest = words_from(cmd.args, f.next);
  if (rest.empty()) fail(file, cmd.span, "IMPORT needs an Earthfile reference");
  Value v = expand(w, rest[0], cmd.span);
  auto ref = parse_earthfile_ref(v.text);
  if (!ref.ok()) fail(file, cmd.span, ref.error());
  if (ref->kind == EarthfileRef::Kind::alias || ref->kind == EarthfileRef::Kind::local_internal)
    fail(file, cmd.span,
         fmt::format("IMPORT needs a path (./dir) or a remote reference, not '{}'", v.text));
  std::string alias;
  if (rest.size() == 3 && rest[1] == "AS") {
    alias = rest[2];
  } else if (rest.size() == 1) {
    auto a = default_import_alias(*ref);
    if (!a.ok()) fail(file, cmd.span, a.error());
    alias = std::move(a).value();
  } else {
    fail(file, cmd.span, "IMPORT syntax: IMPORT <earthfile-ref> [AS <alias>]");
  }
  Frame& frame = w.frames.back();
  if (frame.imports.count(alias))
    fail(file, cmd.span, fmt::format("import alias '{}' is already defined", alias));
  // A local path is relative to this file's directory: store it absolute.
  EarthfileRef stored = *ref;
  if (stored.kind == EarthfileRef::Kind::local_path && stored.path[0] == '.')
    stored.path = fs::normalize(graph_.files[file]->abs_dir + "/" + stored.path);
  frame.imports.emplace(alias, std::move(stored));
}

void Resolver::cmd_save(Walk& w, const Command& cmd) {
  std::vector<std::string> words;
  for (const auto& a : cmd.args) words.push_back(expand(w, a, cmd.span).text);
  std::optional<LocalOutput> out =
      cmd.name == "SAVE ARTIFACT" ? save_artifact_output(words) : save_image_output(words);
  if (!out) return;
  out->file = w.frames.back().file;
  out->span = cmd.span;
  w.node.local_outputs.push_back(std::move(*out));
}

void Resolver::cmd_with_docker(Walk& w, const Command& cmd) {
  FileId file = w.frames.back().file;
  auto words = join_grouped_words(cmd.args);
  RefFlags f = parse_ref_flags(
      file, cmd.span, "WITH DOCKER", words,
      {"--pull", "--load", "--compose", "--service", "--platform", "--cache-id", "--build-arg"},
      {"--allow-privileged", "--pass-args"});
  for (const std::string& raw : f.loads) add_load_edge(w, f, raw, cmd.span);
}

// `--load [image=]ref` / `[image=](ref --K=v…)`. A value that is not such a
// group as written is expanded first and then read (as Earthly does), so
// `--load img=$VAR` works when VAR holds `(./client+t --A=1)`.
void Resolver::add_load_edge(Walk& w, const RefFlags& f, const std::string& raw, const Span& span) {
  std::vector<std::string> args = f.build_args;
  auto add = [&](Value ref) {
    add_ref_edge(w, EdgeKind::load, ref, args, false, f.pass_args, f.platforms, span);
  };
  std::string load = strip_load_image(unquote(raw));
  if (auto group = split_grouped_ref(load)) {
    args.insert(args.end(), group->args.begin(), group->args.end());
    return add(expand(w, group->ref, span));
  }
  Value expanded = expand(w, raw, span);
  if (expanded.dynamic) return add(std::move(expanded));
  load = strip_load_image(expanded.text);
  if (auto group = split_grouped_ref(load)) {
    for (const auto& a : group->args) args.push_back(escape_expanded(a));
    return add(defer_unresolvable(w, raw, Value{group->ref, false}, false));
  }
  add(defer_unresolvable(w, raw, Value{load, false}, false));
}

void Resolver::walk_for(Walk& w, const syntax::ForStmt& node, const Span& span) {
  if (!w.has_env)
    fail(w.frames.back().file, span,
         "FOR needs a FROM or LOCALLY first: its list is evaluated in the build environment");
  ForHeader h = parse_for(w, node, span);
  bool dynamic =
      std::any_of(h.list.begin(), h.list.end(), [](const auto& s) { return has_shell_out(s); });
  std::vector<Value> items;
  if (dynamic) {
    items.push_back({join(h.list, " "), true}); // walked once, conditionally
    ++w.conditional;
  } else {
    items = for_items(w, h, span);
  }
  for (auto& item : items) {
    w.frames.back().vars.push_back({h.var, std::move(item), VarKind::arg});
    ++w.scope_version;
    size_t mark = w.frames.back().vars.size() - 1;
    walk_block(w, node.body);
    auto& vars = w.frames.back().vars;
    vars.erase(vars.begin() + static_cast<long>(mark));
    ++w.scope_version;
  }
  if (dynamic) --w.conditional;
}

// `FOR [--sep <chars>] [--secret|--mount x] <variable> IN <words>`.
ForHeader Resolver::parse_for(Walk& w, const syntax::ForStmt& node, const Span& span) {
  ForHeader h;
  size_t i = 0;
  for (; i < node.args.size() && node.args[i].starts_with("--"); ++i) {
    const std::string& a = node.args[i];
    if (a == "--sep" && i + 1 < node.args.size())
      h.seps = expand(w, node.args[++i], span).text;
    else if (a.starts_with("--sep="))
      h.seps = expand(w, a.substr(6), span).text;
    else if ((a == "--secret" || a == "--mount") && i + 1 < node.args.size())
      ++i;
  }
  if (i + 1 >= node.args.size() || node.args[i + 1] != "IN")
    fail(w.frames.back().file, span, "FOR syntax: FOR [--sep <chars>] <variable> IN <expression>");
  h.var = node.args[i];
  h.list = words_from(node.args, i + 2);
  return h;
}

// A static list: the expanded words, split at the separators.
std::vector<Value> Resolver::for_items(Walk& w, const ForHeader& h, const Span& span) {
  std::string text;
  for (const auto& word : h.list) text += expand(w, word, span).text + " ";
  std::vector<Value> items;
  size_t b = 0;
  while (b < text.size()) {
    size_t e = text.find_first_of(h.seps + " ", b);
    if (e == std::string::npos) e = text.size();
    if (e > b) items.push_back({text.substr(b, e - b), false});
    b = e + 1;
  }
  return items;
}

} // namespace earth::resolve
