// Pass timing for `--profile` (STYLE.md rule 2, after mold's Timer): the
// driver runs each pass through a Profile, which records how long it took;
// printing is free when nobody asked.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace earth {

class Profile {
public:
  using Clock = std::chrono::steady_clock;

  // Runs `pass` and records its wall time under `name`.
  template <typename F> auto time(std::string name, F&& pass) {
    auto start = Clock::now();
    struct Record {
      Profile& p;
      std::string name;
      Clock::time_point start;
      ~Record() { p.add(std::move(name), Clock::now() - start); }
    } record{*this, std::move(name), start};
    return pass();
  }
  void add(std::string name, Clock::duration took) { passes_.emplace_back(std::move(name), took); }
  // A line printed after the passes ("files: 3 hashed, 120 from the stat cache").
  void note(std::string line) { notes_.push_back(std::move(line)); }
  // "pass  12.3 ms" lines, in the order the passes ran, and the total.
  void print(std::FILE* out) const {
    Clock::duration total{};
    for (const auto& [name, took] : passes_) {
      std::fprintf(out, "  %-10s %8.2f ms\n", name.c_str(),
                   std::chrono::duration<double, std::milli>(took).count());
      total += took;
    }
    std::fprintf(out, "  %-10s %8.2f ms\n", "total",
                 std::chrono::duration<double, std::milli>(total).count());
    for (const auto& n : notes_) std::fprintf(out, "  %s\n", n.c_str());
  }

private:
  std::vector<std::pair<std::string, Clock::duration>> passes_;
  std::vector<std::string> notes_;
};

} // namespace earth
