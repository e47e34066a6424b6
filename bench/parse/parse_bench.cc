// Parses one Earthfile N times and reports throughput (MB/s) and the peak
// memory the parse adds, relative to the file size (getrusage ru_maxrss).
// Goals (reference/performance.md): >= 30 MB/s and < 20x the file size.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "earth/syntax/parser.h"

namespace {

double max_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) * 1024.0; // Linux reports KiB
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: earth_parse_bench FILE [RUNS]\n");
    return 2;
  }
  int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  std::ifstream in(argv[1], std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  earth::syntax::SourceFile source(argv[1], text.str());
  double mb = static_cast<double>(source.text().size()) / 1e6;
  double rss_before = max_rss_bytes();

  double best = 1e30, total = 0;
  size_t targets = 0;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    earth::syntax::ParseResult r = earth::syntax::parse(source);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!r.ok()) {
      std::fprintf(stderr, "parse failed: %s\n", r.diagnostics[0].message.c_str());
      return 1;
    }
    targets = r.earthfile.targets.size();
    best = std::min(best, s);
    total += s;
  }
  double peak = std::max(0.0, max_rss_bytes() - rss_before);
  double ratio = peak / static_cast<double>(source.text().size());
  std::printf("earthfile: %zu targets, %.2f MB\n", targets, mb);
  std::printf("earth parse: best %.1f MB/s (%.1f ms), mean %.1f MB/s over %d runs\n", mb / best,
              best * 1e3, mb / (total / runs), runs);
  std::printf("earth parse: peak memory %.1f MB = %.1fx the file size\n", peak / 1e6, ratio);
  std::printf("goals: throughput >= 30 MB/s %s, memory < 20x %s\n",
              mb / best >= 30 ? "met" : "NOT MET", ratio < 20 ? "met" : "NOT MET");
  std::printf("best_ms=%.3f\n", best * 1e3);
  return 0;
}
