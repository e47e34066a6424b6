// Generates a monorepo (N targets in N/10 Earthfiles, one per directory) and
// times resolving its root target `+all`, which reaches every target.
// Usage: earth_resolve_bench [--targets N] [--dir DIR] [--keep]
// With --dir, an existing generated repo is reused (for profiling).
// Goal (issue "resolver"): 10,000 targets in < 1 s and < 500 MB, linear growth.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "earth/base/fs.h"
#include "earth/resolve/resolve.h"
#include "earth/syntax/parser.h"

using earth::Result;
namespace fs = earth::fs;

namespace {

constexpr int kPerFile = 10;

double max_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

std::string dir_name(int d) {
  return fmt::format("svc/d{:04}", d);
}

// One Earthfile: a function, ARGs with defaults, FROM/COPY edges to lower
// directories, a BUILD fan-out from its `all` target.
std::string earthfile(int d, int files) {
  std::string out = "VERSION 0.8\n";
  out += fmt::format("ARG --global REGISTRY=registry.example.com/d{}\n", d);
  out += "IMPORT ../../lib AS lib\n\n";
  out += "all:\n";
  for (int t = 1; t < kPerFile; ++t) out += fmt::format("    BUILD +t{} --MODE=release\n", t);
  out += "\n";
  for (int t = 1; t < kPerFile; ++t) {
    out += fmt::format("# t{} is target {} of directory {}.\nt{}:\n", t, t, d, t);
    out += "    ARG MODE=debug\n    ARG VERSION=1.$MODE.0\n";
    if (d > 0 && t % 3 == 0) {
      int dep = (d * 7 + t) % d;
      out += fmt::format("    FROM ../../{}+t{}\n", dir_name(dep), 1 + t % (kPerFile - 1));
    } else {
      out += "    FROM alpine:3.19\n";
    }
    out += "    DO lib+SETUP --PKG=curl\n";
    if (d > 0 && t % 2 == 0) {
      int dep = (d * 13 + t * 5) % d;
      out += fmt::format("    COPY ../../{}+t{}/out/lib.a ./deps/\n", dir_name(dep), t);
    }
    if (t > 1) out += fmt::format("    COPY (+t{}/out/lib.a --MODE=$MODE) ./\n", t - 1);
    out += "    RUN make VERSION=$VERSION\n";
    out += "    SAVE ARTIFACT out/lib.a AS LOCAL ./out/\n";
    out += "    SAVE IMAGE $REGISTRY/t" + std::to_string(t) + ":$VERSION\n\n";
  }
  (void)files;
  return out;
}

void generate(const std::string& root, int targets) {
  int files = targets / kPerFile;
  auto check = [](Result<void> r) {
    if (!r.ok()) throw earth::Error(r.error());
  };
  check(fs::make_dirs(root + "/lib"));
  check(fs::write_file_atomic(root + "/lib/Earthfile",
                              "VERSION 0.8\nSETUP:\n    FUNCTION\n    ARG PKG\n"
                              "    RUN apk add $PKG\n"));
  std::string top = "VERSION 0.8\nall:\n";
  for (int d = 0; d < files; ++d) {
    std::string dir = root + "/" + dir_name(d);
    check(fs::make_dirs(dir));
    check(fs::write_file_atomic(dir + "/Earthfile", earthfile(d, files)));
    top += fmt::format("    BUILD ./{}+all\n", dir_name(d));
  }
  check(fs::write_file_atomic(root + "/Earthfile", top));
}

} // namespace

int main(int argc, char** argv) {
  int targets = 10000;
  std::string dir;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--targets" && i + 1 < argc)
      targets = std::atoi(argv[++i]);
    else if (a == "--dir" && i + 1 < argc)
      dir = argv[++i];
    else if (a == "--keep")
      keep = true;
  }
  try {
    std::unique_ptr<fs::TempDir> tmp;
    if (dir.empty()) {
      tmp = std::make_unique<fs::TempDir>("/tmp", "earth-resolve-bench");
      dir = tmp->path();
      if (keep) tmp->release();
    }
    if (!fs::exists(dir + "/Earthfile")) generate(dir, targets); // --dir: reuse a generated repo
    double rss_before = max_rss_mb();
    earth::resolve::Options o;
    o.project_dir = dir;
    o.git = [](const std::string&) { return earth::resolve::GitInfo{}; };
    double parse_secs = 0; // the parser's share of the resolve time
    o.parse = [&](const earth::syntax::SourceFile& f) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = earth::syntax::parse(f);
      parse_secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return r;
    };
    auto start = std::chrono::steady_clock::now();
    earth::resolve::Graph g = earth::resolve::resolve("+all", o);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    size_t steps = 0;
    for (const auto& n : g.nodes) steps += n.steps.size();
    std::printf("targets=%d earthfiles=%zu nodes=%zu edges=%zu steps=%zu resolve=%.3f s "
                "(parsing %.3f s) peak_rss=%.1f MB (before resolve %.1f MB)\n",
                targets, g.files.size(), g.nodes.size(), g.edges.size(), steps, secs, parse_secs,
                max_rss_mb(), rss_before);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
