#include "step_time.h"

#include <fmt/format.h>

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <functional>
#include <thread>

#include "earth/base/fs.h"

namespace earth::build {

namespace {

constexpr std::string_view kMagic = "earth.step-time.v1 ";

std::string timing_path(const std::string& cache_dir, const Digest& key) {
  return fs::join(fs::join(cache_dir, "timings"), key.hex());
}

} // namespace

output::Duration recorded_step_time(const std::string& cache_dir, const Digest& key) {
  auto text = fs::read_file(timing_path(cache_dir, key));
  if (!text || !text->starts_with(kMagic)) return output::Duration{0};
  long long ns = 0;
  const char* begin = text->data() + kMagic.size();
  auto [end, ec] = std::from_chars(begin, text->data() + text->size(), ns);
  if (ec != std::errc{} || ns < 0) return output::Duration{0};
  return output::Duration{ns};
}

void record_step_time(const std::string& cache_dir, const Digest& key, output::Duration took) {
  // Renamed into place but not fsynced: a timing lost or cut by a crash is
  // only a wrong hint in a summary, and a step miss should not wait on the disk.
  std::string path = timing_path(cache_dir, key);
  std::string tmp = fmt::format("{}.tmp-{}-{}", path, ::getpid(),
                                std::hash<std::thread::id>{}(std::this_thread::get_id()));
  std::string text = fmt::format("{}{}\n", kMagic, took.count());
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (std::FILE* f = std::fopen(tmp.c_str(), "w")) {
      bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
      ok = std::fclose(f) == 0 && ok;
      if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) std::remove(tmp.c_str());
      return;
    }
    if (!fs::make_dirs(fs::dirname(path))) return; // first use: make timings/
  }
}

} // namespace earth::build
