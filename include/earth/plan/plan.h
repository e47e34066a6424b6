// What runs next (STYLE.md rule 6, after ninja's Plan): a ready queue over
// the target instances of a resolved graph. A target is ready when every
// target whose result its steps read (FROM +t, COPY +t/…) has finished; the
// targets it BUILDs run alongside it. Not thread-safe: the builder guards it.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "earth/resolve/graph.h"

namespace earth::plan {

class Plan {
public:
  // Plans `order`: targets of `graph` in a valid build order
  // (Graph::build_order(), computed once by the caller).
  Plan(const resolve::Graph& graph, const std::vector<resolve::NodeId>& order);

  bool more_to_do() const { return finished_ + failed_ < wanted_; }
  bool has_ready() const { return !ready_.empty(); }
  // The next ready target; call only when has_ready().
  resolve::NodeId pop_ready();
  // Marks `node` built: the targets waiting only for it become ready.
  void finished(resolve::NodeId node);
  // Marks `node` failed: nothing that needs it will be started.
  void failed(resolve::NodeId node);
  // The targets whose results `node`'s steps read.
  const std::vector<resolve::NodeId>& inputs(resolve::NodeId node) const { return inputs_[node]; }
  size_t wanted() const { return wanted_; }

private:
  std::vector<std::vector<resolve::NodeId>> inputs_;     // per node
  std::vector<std::vector<resolve::NodeId>> dependents_; // per node
  std::vector<uint32_t> waiting_;                        // unfinished inputs per node
  std::deque<resolve::NodeId> ready_;
  size_t wanted_ = 0, finished_ = 0, failed_ = 0;
};

} // namespace earth::plan
