#include "settings.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "earth/base/error.h"
#include "earth/request/build_request.h"
#include "earth/request/flags.h"

namespace earth::cli {

namespace {

Globals& current_globals() {
  static Globals g;
  return g;
}

config::Config& current() {
  static config::Config c;
  return c;
}

bool is_setting(const std::string& name) {
  return name.starts_with("EARTH_") || name.starts_with("EARTHLY_") || name == "NO_COLOR" ||
         name == "FORCE_COLOR";
}

// `--name value` / `--name=value` at words[i]: takes it out, returns the value.
bool take(std::vector<std::string>& words, size_t i, std::string_view name, std::string& out) {
  const std::string& w = words[i];
  if (w.starts_with(std::string(name) + "=")) {
    out = w.substr(name.size() + 1);
    words.erase(words.begin() + static_cast<long>(i));
    return true;
  }
  if (w != name) return false;
  if (i + 1 >= words.size()) throw Error("earth: " + std::string(name) + " needs a value");
  out = words[i + 1];
  words.erase(words.begin() + static_cast<long>(i), words.begin() + static_cast<long>(i) + 2);
  return true;
}

} // namespace

Globals take_globals(std::vector<std::string>& words) {
  Globals g;
  for (size_t i = 0; i < words.size();) {
    const std::string& w = words[i];
    if (!w.starts_with("-") || w == "--") break;
    if (take(words, i, "--config", g.config) || take(words, i, "--env-file-path", g.env_file) ||
        take(words, i, "--ssh-auth-sock", g.ssh_auth_sock))
      continue;
    const auto* f = request::find_build_flag(w.substr(0, w.find('=')));
    bool takes_next = f && f->kind == request::FlagSpec::Kind::valued &&
                      w.find('=') == std::string::npos && f->name != "--artifact";
    size_t n = takes_next ? 2 : 1;
    if (f && f->global) { // Earthly's, ignored: out of the way of the command
      words.erase(words.begin() + static_cast<long>(i),
                  words.begin() + static_cast<long>(std::min(i + n, words.size())));
      continue;
    }
    i += n;
  }
  return current_globals() = g;
}

const Globals& globals() {
  return current_globals();
}

void load_dotenv(const std::string& flag) {
  std::string path = flag;
  for (const char* name : {"EARTH_ENV_FILE_PATH", "EARTHLY_ENV_FILE_PATH"})
    if (const char* v = std::getenv(name); path.empty() && v && *v) path = v;
  if (path.empty()) path = ".env";
  auto vars = config::read_dotenv(path);
  if (!vars) throw Error(vars.error(), ExitCode::usage_error);
  for (const auto& [name, value] : *vars) {
    if (is_setting(name))
      ::setenv(name.c_str(), value.c_str(), 0);
    else
      std::fprintf(stderr,
                   "earth: warning: %s: %s is not an earth setting (EARTH_*, EARTHLY_*, NO_COLOR, "
                   "FORCE_COLOR); build args go in .arg\n",
                   path.c_str(), name.c_str());
  }
}

void load_settings(const std::string& flag) {
  std::string path = config::config_path(flag, request::process_env);
  auto c = config::load(path);
  if (!c) throw Error(c.error(), ExitCode::usage_error);
  current() = *c;
  ::setenv("EARTH_CONFIG", path.c_str(), 1);
  std::string cache = c->cache_dir;
  if (const char* home = std::getenv("HOME"); cache.starts_with("~/") && home)
    cache = std::string(home) + cache.substr(1);
  if (!cache.empty()) ::setenv("EARTH_CACHE_DIR", cache.c_str(), 0);
}

const config::Config& settings() {
  return current();
}

} // namespace earth::cli
