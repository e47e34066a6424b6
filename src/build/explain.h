// `earth --explain` and `earth debug keys` (issue 9): the fields of every
// key a target's walk made (plan::KeyRecorder) are kept per target instance
// in <cache>/explain/<instance key hex>, so the next run can say, for each
// step that runs, which input changed since — a file, an ARG value, the
// base image, a dependency — or that there was no cache entry.
#pragma once

#include <cstdio>
#include <string>

#include "context.h"
#include "earth/plan/keys.h"

namespace earth::build {

inline constexpr int kExplainVersion = 2; // 2: secret-derived values as digests

// Prints why each recorded step ran, or that it was reused (--explain),
// then keeps this walk's records for the next run.
void explain_walk(Context& ctx, resolve::NodeId id, const plan::KeyRecorder& rec, bool print);
// --explain for a target reused whole.
void explain_reused(Context& ctx, resolve::NodeId id);
// `earth debug keys`: every key of the walk with its typed fields.
void print_keys(Context& ctx, resolve::NodeId id, plan::KeyRecorder& rec);

} // namespace earth::build
