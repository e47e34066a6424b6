#include "earth/plan/plan.h"

#include <algorithm>

namespace earth::plan {

using resolve::EdgeKind;
using resolve::NodeId;

Plan::Plan(const resolve::Graph& graph, const std::vector<NodeId>& order)
    : inputs_(graph.nodes.size()), dependents_(graph.nodes.size()),
      waiting_(graph.nodes.size(), 0) {
  std::vector<bool> wanted(graph.nodes.size(), false);
  for (NodeId id : order) wanted[id] = true;
  wanted_ = order.size();
  for (NodeId id : order) {
    for (resolve::EdgeId e : graph.nodes[id].out) {
      const auto& edge = graph.edges[e];
      if (edge.kind != EdgeKind::from && edge.kind != EdgeKind::copy) continue;
      if (edge.to == resolve::kNone || !wanted[edge.to]) continue;
      auto& in = inputs_[id];
      if (std::find(in.begin(), in.end(), edge.to) != in.end()) continue;
      in.push_back(edge.to);
      dependents_[edge.to].push_back(id);
      ++waiting_[id];
    }
  }
  for (NodeId id : order)
    if (waiting_[id] == 0) ready_.push_back(id);
}

NodeId Plan::pop_ready() {
  NodeId id = ready_.front();
  ready_.pop_front();
  return id;
}

void Plan::finished(NodeId node) {
  ++finished_;
  for (NodeId d : dependents_[node])
    if (--waiting_[d] == 0) ready_.push_back(d);
}

void Plan::failed(NodeId node) {
  // Everything downstream can never start: count it as failed too.
  std::vector<NodeId> stack{node};
  std::vector<bool> seen(inputs_.size(), false);
  while (!stack.empty()) {
    NodeId n = stack.back();
    stack.pop_back();
    if (seen[n]) continue;
    seen[n] = true;
    ++failed_;
    for (NodeId d : dependents_[n]) stack.push_back(d);
  }
}

} // namespace earth::plan
