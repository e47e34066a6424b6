// --explain and debug keys: records of each walk's keys, and the difference
// between two walks of one target instance, said in the user's terms.
#include "explain.h"

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "earth/base/fs.h"

namespace earth::build {

namespace {

using nlohmann::json;
using Fields = std::vector<std::pair<std::string, std::string>>;

std::mutex print_mu; // one target's lines together

// Per instance (`+t --V=2`), and per target whatever its ARGs (the last
// instance built), so that a run with another ARG value is explained too.
std::string record_path(const Context& ctx, resolve::NodeId id, bool instance) {
  const auto& node = ctx.graph.nodes[id];
  Digest d =
      instance ? ctx.graph.key(id) : resolve::Graph::key_of("target-any-args", node.canonical);
  return fs::join(fs::join(ctx.options.cache_dir, "explain"), d.hex());
}

constexpr std::string_view kSecretMark = "<secret ";

// A field's value as records keep and debug keys prints it: one holding a
// secret or secret-derived value becomes `<secret HEX>`, HEX a digest of
// it (so a later walk can still say it changed, never what it was); an
// env entry keeps its name (`NAME=<secret HEX>`).
std::string kept(const Redactor& redact, const std::string& tag, const std::string& v) {
  if (!redact.found_in(v)) return v;
  size_t eq = tag == "env" ? v.find('=') : std::string::npos;
  std::string head = eq == std::string::npos ? "" : v.substr(0, eq + 1);
  if (redact.found_in(head)) head.clear();
  Digest d = Hasher("earth.explain-secret.v1").add("value", v).finish();
  return head + std::string(kSecretMark) + d.hex().substr(0, 16) + ">";
}

Fields kept(const Redactor& redact, const Fields& fields) {
  Fields out;
  out.reserve(fields.size());
  for (const auto& [tag, v] : fields) out.emplace_back(tag, kept(redact, tag, v));
  return out;
}

// The saved form of a walk: each step (key, where, text, ran) and each key
// record (op, parent, key, fields, notes), no secret in any of them.
json to_json(const plan::KeyRecorder& rec, const Redactor& redact) {
  json steps = json::array(), records = json::array();
  for (const auto& s : rec.steps())
    steps.push_back({{"key", s.key.hex()}, {"where", redact(s.where)}, {"text", redact(s.text)}});
  for (const auto& r : const_cast<plan::KeyRecorder&>(rec).records())
    if (!r.key.is_zero()) // a builder that was never finished made no key
      records.push_back({{"op", r.op},
                         {"parent", r.parent.hex()},
                         {"key", r.key.hex()},
                         {"fields", kept(redact, r.fields)},
                         {"notes", kept(redact, r.notes)}});
  return {{"version", kExplainVersion}, {"steps", steps}, {"records", records}};
}

struct Walk {
  struct Step {
    std::string key, where, text;
  };
  struct Record {
    std::string op, parent, key;
    Fields fields, notes;
  };
  std::vector<Step> steps;
  std::vector<Record> records;
  const Record* find(const std::string& key) const {
    for (const auto& r : records)
      if (r.key == key) return &r;
    return nullptr;
  }
};

Walk from_json(const json& j) {
  Walk w;
  for (const auto& s : j.at("steps")) w.steps.push_back({s.at("key"), s.at("where"), s.at("text")});
  for (const auto& r : j.at("records"))
    w.records.push_back({r.at("op"), r.at("parent"), r.at("key"), r.at("fields"), r.at("notes")});
  return w;
}

std::optional<Walk> load_walk(const std::string& path) {
  auto text = fs::read_file(path);
  if (!text) return std::nullopt;
  try {
    json j = json::parse(*text);
    if (j.at("version") != kExplainVersion) return std::nullopt;
    return from_json(j);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Written without fsync: a lost record only makes the next explanation
// vaguer ("no earlier run recorded").
void save_walk(const std::string& path, const json& j) {
  (void)fs::make_dirs(fs::dirname(path));
  (void)fs::write_file_atomic(path, j.dump(), 0644, fs::Durable::no);
}

std::string short_digest(const std::string& v) {
  return v.starts_with("sha256:") ? v.substr(7, 12) : v;
}

// NAME=value lists (RUN's env) as a map.
std::map<std::string, std::string> env_map(const Fields& fields) {
  std::map<std::string, std::string> m;
  for (const auto& [tag, v] : fields)
    if (tag == "env") {
      size_t eq = v.find('=');
      if (eq != std::string::npos) m[v.substr(0, eq)] = v.substr(eq + 1);
    }
  return m;
}

// "path sha256:…" notes as a map.
std::map<std::string, std::string> file_map(const Fields& notes) {
  std::map<std::string, std::string> m;
  for (const auto& [tag, v] : notes)
    if (tag == "file") {
      size_t sp = v.rfind(' ');
      m[v.substr(0, sp)] = sp == std::string::npos ? "" : v.substr(sp + 1);
    }
  return m;
}

bool secret(const std::string& v) {
  return v.find(kSecretMark) != std::string::npos;
}

void diff_maps(const std::map<std::string, std::string>& was,
               const std::map<std::string, std::string>& now, const char* what, bool values,
               std::vector<std::string>& out) {
  for (const auto& [k, v] : now) {
    auto it = was.find(k);
    if (it == was.end())
      out.push_back(fmt::format("{} {} is new", what, k));
    else if (it->second != v)
      out.push_back(values && !secret(it->second) && !secret(v)
                        ? fmt::format("{} {} changed: '{}' -> '{}'", what, k, it->second, v)
                        : fmt::format("{} {} changed", what, k));
  }
  for (const auto& [k, v] : was)
    if (!now.count(k)) out.push_back(fmt::format("{} {} is gone", what, k));
}

// Why the state a step starts from (its parent) changed.
std::string parent_reason(const Walk& now, const Walk::Record& r, const Walk& was,
                          const Walk::Record& p) {
  const auto* np = now.find(r.parent);
  const auto* pp = was.find(p.parent);
  if (np && np->op == "from-image") {
    std::string m_now, m_was;
    for (const auto& [t, v] : np->fields)
      if (t == "manifest") m_now = v;
    if (pp)
      for (const auto& [t, v] : pp->fields)
        if (t == "manifest") m_was = v;
    if (!m_was.empty() && m_now != m_was)
      return fmt::format("the FROM image changed: {} -> {}", short_digest(m_was),
                         short_digest(m_now));
    return "the FROM image changed";
  }
  for (const auto& s : now.steps)
    if (s.key == r.parent) return fmt::format("the step before it changed ({})", s.text);
  if (np) return fmt::format("an earlier {} changed", np->op);
  return "the state it starts from changed (what its FROM gives, or a command before it)";
}

std::string why(const Walk& now, const Walk::Step& step, const std::optional<Walk>& was,
                size_t index, bool cache_off) {
  if (cache_off) return "--no-cache";
  if (!was) return "no cache entry (no earlier run of this target recorded)";
  const auto* r = now.find(step.key);
  const Walk::Step* ps = index < was->steps.size() ? &was->steps[index] : nullptr;
  if (!r || !ps) return "no cache entry (a step the earlier run did not have)";
  if (ps->key == step.key) return "no cache entry (the stored result is gone)";
  const auto* p = was->find(ps->key);
  if (!p) return "no cache entry";
  if (p->op != r->op) return fmt::format("the command changed (was: {})", ps->text);
  std::vector<std::string> reasons;
  diff_maps(file_map(p->notes), file_map(r->notes), "file", false, reasons);
  diff_maps(env_map(p->fields), env_map(r->fields), "variable", true, reasons);
  // Other fields, compared per tag (lists as a whole).
  auto by_tag = [](const Fields& fields) {
    std::map<std::string, std::vector<std::string>> m;
    for (const auto& [tag, v] : fields)
      if (tag != "env" && tag != "parent" && tag != "tree") m[tag].push_back(v);
    return m;
  };
  auto was_tags = by_tag(p->fields), now_tags = by_tag(r->fields);
  auto joined = [](const std::vector<std::string>& vs) {
    std::string out;
    for (size_t i = 0; i < vs.size(); ++i) out += (i ? " " : "") + vs[i];
    return out;
  };
  for (const auto& [tag, vs] : now_tags) {
    auto it = was_tags.find(tag);
    std::vector<std::string> old = it == was_tags.end() ? std::vector<std::string>{} : it->second;
    if (old == vs) continue;
    if (tag == "artifact-of")
      reasons.push_back("the artifact it copies changed (its target's result changed)");
    else if (tag == "manifest")
      reasons.push_back(fmt::format("the image digest changed: {} -> {}", short_digest(joined(old)),
                                    short_digest(joined(vs))));
    else if (secret(joined(old)) || secret(joined(vs)))
      reasons.push_back(fmt::format("{} changed (a secret-derived value)", tag));
    else
      reasons.push_back(fmt::format("{} changed: '{}' -> '{}'", tag, joined(old), joined(vs)));
  }
  for (const auto& [tag, vs] : was_tags)
    if (!now_tags.count(tag)) reasons.push_back(fmt::format("{} is gone", tag));
  if (reasons.empty() && r->fields.size() != p->fields.size())
    reasons.push_back("its arguments changed");
  if (reasons.empty() && r->parent != p->parent)
    reasons.push_back(parent_reason(now, *r, *was, *p));
  if (reasons.empty()) return "no cache entry";
  std::string out;
  for (size_t i = 0; i < reasons.size() && i < 4; ++i) out += (i ? "; " : "") + reasons[i];
  if (reasons.size() > 4) out += fmt::format("; and {} more", reasons.size() - 4);
  return out;
}

} // namespace

void explain_walk(Context& ctx, resolve::NodeId id, const plan::KeyRecorder& rec, bool print) {
  std::string path = record_path(ctx, id, true), any = record_path(ctx, id, false);
  json j = to_json(rec, ctx.redact);
  if (print) {
    std::optional<Walk> was = load_walk(path);
    if (!was) was = load_walk(any);
    Walk now = from_json(j);
    std::lock_guard lock(print_mu);
    for (size_t i = 0; i < rec.steps().size(); ++i) {
      const auto& s = rec.steps()[i];
      std::string reason = !s.ran           ? "reused (cache hit)"
                           : !s.why.empty() ? s.why
                                            : why(now, now.steps[i], was, i, ctx.options.no_cache);
      // text and where are redacted already, reason is made of kept fields
      std::string line = fmt::format("explain {}: {} ({}): {}\n", ctx.redact(ctx.names[id]),
                                     now.steps[i].text, now.steps[i].where, reason);
      std::fputs(line.c_str(), stderr);
    }
  }
  save_walk(path, j);
  save_walk(any, j);
}

void explain_reused(Context& ctx, resolve::NodeId id) {
  std::lock_guard lock(print_mu);
  std::string line = fmt::format("explain {}: reused whole (its input key is unchanged)\n",
                                 ctx.redact(ctx.names[id]));
  std::fputs(line.c_str(), stderr);
}

void print_keys(Context& ctx, resolve::NodeId id, plan::KeyRecorder& rec) {
  std::string out = ctx.redact(ctx.names[id]) + "\n";
  for (const auto& r : rec.records()) {
    if (r.key.is_zero()) continue;
    out += fmt::format("  {} {}\n", r.op, r.key.oci());
    for (const auto& [tag, v] : r.fields)
      out += fmt::format("    {} = {}\n", tag, kept(ctx.redact, tag, v));
    for (const auto& [tag, v] : r.notes)
      out += fmt::format("    ({} {})\n", tag, kept(ctx.redact, tag, v));
  }
  std::lock_guard lock(print_mu);
  std::fputs(out.c_str(), stdout);
}

} // namespace earth::build
