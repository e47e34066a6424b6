#include "step_time.h"

#include <fmt/format.h>

#include <charconv>

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
  std::string path = timing_path(cache_dir, key);
  std::string text = fmt::format("{}{}\n", kMagic, took.count());
  if (fs::write_file_atomic(path, text)) return;
  if (fs::make_dirs(fs::dirname(path))) (void)fs::write_file_atomic(path, text);
}

} // namespace earth::build
