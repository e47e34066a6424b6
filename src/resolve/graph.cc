#include "earth/resolve/graph.h"

namespace earth::resolve {

const char* edge_kind_name(EdgeKind kind) {
  switch (kind) {
  case EdgeKind::from:
    return "FROM";
  case EdgeKind::build:
    return "BUILD";
  case EdgeKind::copy:
    return "COPY";
  case EdgeKind::load:
    return "LOAD";
  case EdgeKind::do_function:
    return "DO";
  case EdgeKind::import:
    return "IMPORT";
  }
  return "?";
}

namespace {

constexpr std::string_view kKeyDomain = "earth.resolve.instance.v1";

void add_bindings(Hasher& h, std::string_view list, const std::vector<Binding>& bindings) {
  h.add(list, static_cast<int64_t>(bindings.size()));
  for (const auto& b : bindings) {
    h.add("name", b.name);
    h.add("value", b.value.text);
    h.add("dynamic", int64_t{b.value.dynamic});
  }
}

} // namespace

Digest Graph::key_of(const Node& node) {
  Hasher h(kKeyDomain);
  h.add("kind", "target");
  h.add("canonical", node.canonical);
  h.add("platform", node.platform);
  add_bindings(h, "args", node.args);
  add_bindings(h, "passed", node.passed);
  return h.finish();
}

Digest Graph::key_of(std::string_view kind, std::string_view canonical) {
  Hasher h(kKeyDomain);
  h.add("kind", kind);
  h.add("canonical", canonical);
  return h.finish();
}

NodeId Graph::find(const Digest& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? kNone : it->second;
}

NodeId Graph::add(Node node, const Digest& key) {
  nodes.push_back(std::move(node));
  NodeId id = static_cast<NodeId>(nodes.size() - 1);
  index_.emplace(key, id);
  keys_.push_back(key);
  return id;
}

std::vector<NodeId> Graph::build_order() const {
  std::vector<NodeId> order;
  std::vector<uint8_t> state(nodes.size(), 0); // 0 new, 1 open, 2 done
  // Iterative post-order DFS: deep chains must not overflow the stack.
  std::vector<std::pair<NodeId, size_t>> stack;
  std::vector<NodeId> starts = roots;
  if (starts.empty() && root != kNone) starts.push_back(root);
  for (NodeId start : starts) {
    if (state[start]) continue;
    stack.push_back({start, 0});
    state[start] = 1;
    while (!stack.empty()) {
      auto& [n, i] = stack.back();
      if (i < nodes[n].out.size()) {
        NodeId to = edges[nodes[n].out[i++]].to;
        if (to != kNone && state[to] == 0 && nodes[to].kind == Node::Kind::target) {
          state[to] = 1;
          stack.push_back({to, 0});
        }
        continue;
      }
      state[n] = 2;
      order.push_back(n);
      stack.pop_back();
    }
  }
  return order;
}

} // namespace earth::resolve
