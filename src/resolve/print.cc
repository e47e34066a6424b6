// Printers for `earth graph` (DOT, JSON) and `earth --dry-run` (text).
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "earth/resolve/resolve.h"

namespace earth::resolve {

namespace {

std::string value_text(const Value& v) {
  return v.dynamic ? v.text + " (dynamic)" : v.text;
}

// A value as one word on one line: in double quotes, with C's escapes,
// when it is empty or holds a blank, a quote or a backslash.
std::string quoted(const std::string& v) {
  if (!v.empty() && v.find_first_of(" \t\n\r\"'\\") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '\n' || c == '\r' || c == '\t') {
      out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// With `dynamic`, a value a command gave is marked so.
std::string args_text(const Node& n, bool dynamic) {
  std::string s;
  for (const auto& b : n.args)
    s += fmt::format(" --{}={}{}", b.name, quoted(b.value.text),
                     dynamic && b.value.dynamic ? " (dynamic)" : "");
  if (!n.passed.empty()) {
    s += " (passes";
    for (const auto& b : n.passed) s += fmt::format(" --{}={}", b.name, quoted(b.value.text));
    s += ")";
  }
  if (!n.platform.empty()) s += " [" + n.platform + "]";
  return s;
}

std::string node_text(const Graph& g, NodeId id) {
  const Node& n = g.nodes[id];
  std::string s = n.canonical + args_text(n, true);
  if (n.file == kNone && n.kind == Node::Kind::target) s += " (remote, not fetched)";
  return s;
}

std::string location(const Graph& g, const Edge& e) {
  if (e.file == kNone) return "";
  return fmt::format("{}:{}", g.files[e.file]->path, e.span.begin.line);
}

std::string edge_text(const Graph& g, const Edge& e) {
  std::string s = edge_kind_name(e.kind);
  s += ' ';
  if (e.kind == EdgeKind::import || e.to == kNone) {
    s += e.ref;
  } else {
    s += node_text(g, e.to);
    if (!e.artifact.empty()) s += " " + e.artifact;
  }
  if (e.dynamic) s += " (dynamic: resolved at build time)";
  if (e.conditional) s += " (conditional)";
  return s + "  (" + location(g, e) + ")";
}

// One display line per thing saved: "artifact /x AS LOCAL ./x",
// "image app:latest (push)".
std::vector<std::string> output_lines(const LocalOutput& o) {
  if (o.kind == LocalOutput::Kind::artifact)
    return {fmt::format("artifact {} AS LOCAL {}", o.source, o.local_dest)};
  std::vector<std::string> lines;
  for (const auto& name : o.images)
    lines.push_back(fmt::format("image {}{}", name, o.push ? " (push)" : ""));
  return lines;
}

std::vector<std::string> output_lines(const Node& n) {
  std::vector<std::string> lines;
  for (const auto& o : n.local_outputs) {
    auto more = output_lines(o);
    lines.insert(lines.end(), more.begin(), more.end());
  }
  return lines;
}

std::string dot_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

} // namespace

std::string instance_text(const Node& node) {
  return args_text(node, false);
}

std::string dry_run_text(const Graph& g) {
  auto order = g.build_order();
  std::string out = fmt::format("{} target instance{} would be built, in this order:\n",
                                order.size(), order.size() == 1 ? "" : "s");
  size_t k = 0;
  for (NodeId id : order) {
    const Node& n = g.nodes[id];
    out += fmt::format("{:>3}. {}{}\n", ++k, node_text(g, id),
                       n.output ? (n.push ? "  [output, push]" : "  [output]") : "");
    for (EdgeId e : n.out) out += "       " + edge_text(g, g.edges[e]) + "\n";
    for (const auto& o : output_lines(n))
      out += fmt::format("       saves {}{}\n", o,
                         n.output ? "" : " (not output: not reached by BUILD)");
  }
  return out;
}

std::string to_json(const Graph& g) {
  nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
  for (NodeId id = 0; id < g.nodes.size(); ++id) {
    const Node& n = g.nodes[id];
    nlohmann::ordered_json j;
    j["id"] = id;
    j["kind"] = n.kind == Node::Kind::function ? "function" : n.file == kNone ? "remote" : "target";
    j["ref"] = n.canonical;
    if (n.file != kNone) j["earthfile"] = g.files[n.file]->path;
    nlohmann::ordered_json args = nlohmann::ordered_json::object();
    for (const auto& b : n.args) {
      if (b.value.dynamic)
        args[b.name] = {{"dynamic", b.value.text}};
      else
        args[b.name] = b.value.text;
    }
    j["args"] = args;
    if (!n.passed.empty()) {
      nlohmann::ordered_json passed = nlohmann::ordered_json::object();
      for (const auto& b : n.passed) passed[b.name] = b.value.text;
      j["passes"] = passed;
    }
    if (!n.platform.empty()) j["platform"] = n.platform;
    if (n.kind == Node::Kind::target) {
      j["output"] = n.output;
      if (n.push) j["push"] = true;
      if (!n.local_outputs.empty()) j["saves"] = output_lines(n);
    }
    nodes.push_back(std::move(j));
  }
  nlohmann::ordered_json edges = nlohmann::ordered_json::array();
  for (const auto& e : g.edges) {
    nlohmann::ordered_json j;
    j["from"] = e.from;
    if (e.to != kNone) j["to"] = e.to;
    j["kind"] = edge_kind_name(e.kind);
    j["ref"] = e.ref;
    if (!e.artifact.empty()) j["artifact"] = e.artifact;
    if (e.conditional) j["conditional"] = true;
    if (e.dynamic) j["dynamic"] = true;
    j["location"] = location(g, e);
    edges.push_back(std::move(j));
  }
  nlohmann::ordered_json root;
  root["root"] = g.root;
  root["roots"] = g.roots;
  root["nodes"] = std::move(nodes);
  root["edges"] = std::move(edges);
  return root.dump(2) + "\n";
}

std::string to_dot(const Graph& g) {
  std::string out = "digraph earth {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n";
  for (NodeId id = 0; id < g.nodes.size(); ++id) {
    const Node& n = g.nodes[id];
    std::string label = dot_escape(n.canonical);
    for (const auto& b : n.args) label += "\\n--" + dot_escape(b.name + "=" + value_text(b.value));
    if (!n.platform.empty()) label += "\\n[" + dot_escape(n.platform) + "]";
    std::string style = n.kind == Node::Kind::function ? "shape=component"
                        : n.file == kNone              ? "style=dashed"
                        : n.output                     ? "style=bold"
                                                       : "";
    out += fmt::format("  n{} [label=\"{}\"{}{}];\n", id, label, style.empty() ? "" : ", ", style);
  }
  size_t imports = 0;
  for (const auto& e : g.edges) {
    std::string label = edge_kind_name(e.kind);
    if (!e.artifact.empty()) label += " " + dot_escape(e.artifact);
    std::string attrs = fmt::format("label=\"{}\"", label);
    if (e.kind == EdgeKind::copy || e.kind == EdgeKind::load) attrs += ", style=dashed";
    if (e.kind == EdgeKind::do_function || e.kind == EdgeKind::import || e.conditional)
      attrs += ", style=dotted";
    if (e.kind == EdgeKind::build) attrs += ", penwidth=2";
    std::string to;
    if (e.to != kNone) {
      to = fmt::format("n{}", e.to);
    } else {
      to = fmt::format("x{}", imports++);
      out += fmt::format("  {} [label=\"{}\", shape=note];\n", to, dot_escape(e.ref));
    }
    out += fmt::format("  n{} -> {} [{}];\n", e.from, to, attrs);
  }
  return out + "}\n";
}

} // namespace earth::resolve
