// The push phase (reference §4.1, §5.6): after every target succeeded and
// before local outputs are written, `RUN --push` commands run and `SAVE
// IMAGE --push` images go to their registries, in build order and recipe
// order, for the CLI target and the targets it reaches through BUILD. They
// act only with `earth --push`; without it each is listed as not done.
// Nothing here is ever cached.
#pragma once

#include "context.h"

namespace earth::build {

void run_pushes(Context& ctx, output::BuildTotals& totals);

} // namespace earth::build
