// Ctrl-C, SIGTERM and SIGHUP stop the sandboxed runs in flight (which then
// fail, so the command unwinds and cleans up) instead of killing earth.
#pragma once

namespace earth::cli {

void install_interrupt_handlers();

} // namespace earth::cli
