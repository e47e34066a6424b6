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

std::string Graph::key_of(const Node& node) {
  std::string key = node.canonical;
  key += '\n';
  key += node.platform;
  for (const auto* list : {&node.args, &node.passed})
    for (const auto& b : *list) {
      key += '\n';
      key += b.name;
      key += b.value.dynamic ? "=$" : "=";
      key += b.value.text;
    }
  return key;
}

NodeId Graph::find(const std::string& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? kNone : it->second;
}

NodeId Graph::add(Node node, std::string key) {
  nodes.push_back(std::move(node));
  NodeId id = static_cast<NodeId>(nodes.size() - 1);
  index_.emplace(std::move(key), id);
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
