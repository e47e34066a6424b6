// earth's settings file (~/.earth/config.yml, docs/cli.md#config-file) and
// the .env file: read, checked against the known keys with located errors,
// and edited in place for `earth config KEY VALUE`.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "earth/base/error.h"

namespace earth::config {

struct Config {
  std::string path;                       // the file read; empty: none (defaults)
  std::string cache_dir;                  // global.cache_dir
  std::optional<uint64_t> cache_size_mb;  // global.cache_size_mb
  std::optional<unsigned> cache_size_pct; // global.cache_size_pct
  unsigned jobs = 0;                      // global.jobs (or buildkit_max_parallelism); 0: unset
  std::string secret_provider;            // global.secret_provider: a command, the secret id as $1
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Which file to read: `flag` (--config), else $EARTH_CONFIG, else
// $EARTHLY_CONFIG, else ~/.earth/config.yml, else ~/.earthly/config.yml when
// only that one exists.
std::string config_path(const std::string& flag, const EnvLookup& env);

// Reads and checks the file at `path`; a missing file is the defaults. A
// wrong key or value fails with the file, line and column, a code frame and
// what is allowed there.
Result<Config> load(const std::string& path);
// The same for text already read (`path` names it in messages).
Result<Config> parse(const std::string& path, const std::string& text);

// `earth config KEY VALUE`: `text` with dotted KEY ("global.jobs",
// "registries.docker.io.mirrors") set to the YAML VALUE. The other lines,
// comments included, are kept; missing sections are added. Fails when KEY is
// unknown or VALUE has the wrong type (nothing is changed then).
Result<std::string> set_key(const std::string& path, const std::string& text,
                            const std::string& key, const std::string& value);

// Every settable key, for completion and messages ("global.jobs",
// "registries.HOST.mirrors", ...).
std::vector<std::string> known_keys();

// A .env file: KEY=value lines, `#` comments, quotes kept (reference §4.6).
// A missing file is empty. Fails on a line without '=' (path:line).
Result<std::vector<std::pair<std::string, std::string>>> read_dotenv(const std::string& path);

} // namespace earth::config
