// The secrets of a build (reference §4.2, §4.6): `--secret id[=value]`
// (without a value: the environment variable `id`, as Earthly), `--secret-file
// id=path`, the `.secret` file (dotenv lines), EARTH(LY)_SECRETS ("id=value,…")
// and EARTH(LY)_SECRET_FILES ("id=path,…"). Values are held in memory only;
// messages about them name the id, never the value.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace earth::request {

using Secrets = std::map<std::string, std::string>; // id -> value

struct SecretSources {
  std::vector<std::string> secret_flags;      // --secret / -s values, in order
  std::vector<std::string> secret_file_flags; // --secret-file values, in order
  std::string secret_file = ".secret";        // --secret-file-path; "" reads none
};

// Reads every source; later ones win: `.secret`, then EARTH(LY)_SECRETS and
// EARTH(LY)_SECRET_FILES, then --secret-file and --secret. Throws
// earth::Error on a malformed entry, an unreadable --secret-file, or
// `--secret id` whose environment variable is unset.
Secrets collect_secrets(const SecretSources& sources);

// Parses dotenv text (godotenv's rules, as Earthly reads .secret and .arg):
// `KEY=value` lines, blank and `#` lines skipped, an optional `export `,
// 'single-quoted' values literal, "double-quoted" ones with backslash
// escapes (n, t, r, quote, backslash; they may span lines), unquoted ones
// trimmed and cut at ` #`.
// Throws earth::Error naming `origin` and the line (not its value).
std::vector<std::pair<std::string, std::string>> parse_dotenv(std::string_view text,
                                                              const std::string& origin);

} // namespace earth::request
