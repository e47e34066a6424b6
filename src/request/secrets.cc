// Collecting the build's secrets from the .secret file, the environment and
// the flags (include/earth/request/secrets.h).
#include "earth/request/secrets.h"

#include <fmt/format.h>

#include <cstdlib>

#include "earth/base/error.h"
#include "earth/base/fs.h"
#include "earth/base/strings.h"

namespace earth::request {

namespace {

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// A double-quoted value from text[i] (just after the quote); i ends after
// the closing quote.
std::string double_quoted(std::string_view text, size_t& i, const std::string& where) {
  std::string v;
  for (; i < text.size() && text[i] != '"'; ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      v += text[i];
      continue;
    }
    char e = text[++i];
    v += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
  }
  if (i == text.size()) throw Error(where + ": a double-quoted value is not closed");
  ++i;
  return v;
}

std::string rest_of_line(std::string_view text, size_t& i) {
  size_t nl = text.find('\n', i);
  std::string_view line = text.substr(i, nl == std::string_view::npos ? text.npos : nl - i);
  i = nl == std::string_view::npos ? text.size() : nl;
  return std::string(line);
}

// One `id=value` of a flag or an environment list.
std::pair<std::string, std::string> split_pair(std::string_view kv) {
  size_t eq = kv.find('=');
  return {std::string(kv.substr(0, eq)),
          eq == std::string_view::npos ? std::string() : std::string(kv.substr(eq + 1))};
}

void check_id(const std::string& id, const std::string& origin) {
  if (id.empty()) throw Error(fmt::format("earth: {}: a secret needs an id (id=value)", origin));
}

std::string read_secret_file(const std::string& id, const std::string& path,
                             const std::string& origin) {
  auto text = fs::read_file(path);
  if (!text)
    throw Error(
        fmt::format("earth: {} {}: cannot read the secret file: {}", origin, id, text.error()));
  return std::move(*text);
}

const char* env_either(const char* earth, const char* earthly) {
  if (const char* v = std::getenv(earth)) return v;
  return std::getenv(earthly);
}

} // namespace

std::vector<std::pair<std::string, std::string>> parse_dotenv(std::string_view text,
                                                              const std::string& origin) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0, line = 1;
  auto skip_blank = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) ++i;
  };
  while (i < text.size()) {
    std::string where = fmt::format("{}:{}", origin, line);
    size_t start = i;
    skip_blank();
    if (i < text.size() && text[i] == '#') rest_of_line(text, i);
    if (i < text.size() && text[i] == '\n') {
      ++i, ++line;
      continue;
    }
    if (i == text.size()) break;
    if (text.substr(i, 7) == "export ") i += 7, skip_blank();
    size_t k = i;
    while (i < text.size() && is_key_char(text[i])) ++i;
    std::string key(text.substr(k, i - k));
    skip_blank();
    if (key.empty() || i == text.size() || (text[i] != '=' && text[i] != ':'))
      throw Error(where + ": expected KEY=value");
    ++i;
    skip_blank();
    std::string value;
    if (i < text.size() && text[i] == '"') {
      ++i;
      value = double_quoted(text, i, where);
      rest_of_line(text, i); // a comment may follow
    } else if (i < text.size() && text[i] == '\'') {
      size_t end = text.find('\'', i + 1);
      if (end == std::string_view::npos)
        throw Error(where + ": a single-quoted value is not closed");
      value = std::string(text.substr(i + 1, end - i - 1));
      i = end + 1;
      rest_of_line(text, i);
    } else {
      value = rest_of_line(text, i);
      if (size_t hash = value.find(" #"); hash != std::string::npos) value.resize(hash);
      value = std::string(trim(value));
    }
    for (size_t j = start; j < i; ++j) line += text[j] == '\n' ? 1 : 0;
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

Secrets collect_secrets(const SecretSources& sources) {
  Secrets out;
  const std::string& file = sources.secret_file;
  if (!file.empty() && fs::exists(file)) {
    auto text = fs::read_file(file);
    if (!text) throw Error("earth: " + text.error());
    for (auto& [id, value] : parse_dotenv(*text, file)) out[id] = std::move(value);
  }
  if (const char* list = env_either("EARTH_SECRETS", "EARTHLY_SECRETS"))
    for (const auto& kv : split(list, ',')) {
      if (trim(kv).empty()) continue;
      auto [id, value] = split_pair(trim(kv));
      check_id(id, "EARTH_SECRETS");
      out[id] = value;
    }
  if (const char* list = env_either("EARTH_SECRET_FILES", "EARTHLY_SECRET_FILES"))
    for (const auto& kv : split(list, ',')) {
      if (trim(kv).empty()) continue;
      auto [id, path] = split_pair(trim(kv));
      check_id(id, "EARTH_SECRET_FILES");
      out[id] = read_secret_file(id, path, "EARTH_SECRET_FILES");
    }
  for (const auto& kv : sources.secret_file_flags) {
    auto [id, path] = split_pair(kv);
    check_id(id, "--secret-file");
    if (kv.find('=') == std::string::npos || path.empty())
      throw Error(fmt::format("earth: --secret-file {}: needs id=path", id));
    out[id] = read_secret_file(id, path, "--secret-file");
  }
  for (const auto& kv : sources.secret_flags) {
    auto [id, value] = split_pair(kv);
    check_id(id, "--secret");
    if (kv.find('=') == std::string::npos) {
      const char* env = std::getenv(id.c_str());
      if (!env)
        throw Error(fmt::format("earth: --secret {}: no value given and no environment variable "
                                "{} to take it from (use --secret {}=VALUE)",
                                id, id, id));
      value = env;
    }
    out[id] = value;
  }
  return out;
}

} // namespace earth::request
