#include "interrupts.h"

#include <signal.h>

#include "earth/exec/linux_runtime.h"

namespace earth::cli {

namespace {

void on_interrupt(int) {
  exec::interrupt_all_runs();
}

} // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
}

} // namespace earth::cli
