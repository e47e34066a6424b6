// What earth reads before a command runs: the global flags, .env and the
// config file (docs/cli.md#settings).
#pragma once

#include <string>
#include <vector>

#include "earth/config/config.h"

namespace earth::cli {

// --config PATH, --env-file-path PATH and --ssh-auth-sock PATH, taken out of the words before the
// command or target (they may sit among the build flags).
struct Globals {
  std::string config;
  std::string env_file;
  std::string ssh_auth_sock; // --ssh-auth-sock PATH
};
Globals take_globals(std::vector<std::string>& words);
// What the last take_globals found.
const Globals& globals();

// Reads .env (--env-file-path, else $EARTH_ENV_FILE_PATH or
// $EARTHLY_ENV_FILE_PATH, else ./.env): each EARTH_*, EARTHLY_*, NO_COLOR or
// FORCE_COLOR line sets that variable unless the environment already has it.
void load_dotenv(const std::string& flag);

// Reads the config file once (config::config_path order) and points the
// image module at it (EARTH_CONFIG); global.cache_dir becomes the default of
// EARTH_CACHE_DIR. Throws a usage error for a bad file.
void load_settings(const std::string& flag);
// The config read by load_settings (the defaults before).
const config::Config& settings();

} // namespace earth::cli
