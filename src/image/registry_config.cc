// earth's registry settings (YAML) and docker's credential file.
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base64.h"
#include "earth/base/fs.h"
#include "earth/image/registry.h"

namespace earth::image {

std::string default_config_path() {
  if (const char* p = std::getenv("EARTH_CONFIG"); p && *p) return p;
  const char* home = std::getenv("HOME");
  return fs::join(home && *home ? home : "/", ".earth/config.yml");
}

namespace {

Result<RegistryHostConfig> parse_host(const YAML::Node& node, const std::string& where) {
  RegistryHostConfig h;
  if (!node.IsMap()) return Failure{where + ": expected a mapping"};
  for (const auto& kv : node) {
    auto key = kv.first.as<std::string>();
    if (key == "mirrors") {
      if (!kv.second.IsSequence()) return Failure{where + ".mirrors: expected a list"};
      for (const auto& m : kv.second) h.mirrors.push_back(m.as<std::string>());
    } else if (key == "insecure" || key == "http") {
      h.insecure = kv.second.as<bool>();
    } else if (key == "tls_verify") {
      h.tls_verify = kv.second.as<bool>();
    } else if (key == "username") {
      h.username = kv.second.as<std::string>();
    } else if (key == "password") {
      h.password = kv.second.as<std::string>();
    } else {
      return Failure{where + ": unknown key '" + key +
                     "' (mirrors, insecure, tls_verify, username, password)"};
    }
  }
  return h;
}

} // namespace

Result<RegistryConfig> load_registry_config(const std::string& path) {
  RegistryConfig config;
  if (!fs::exists(path)) return config;
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root || root.IsNull()) return config;
    if (auto regs = root["registries"]) {
      if (!regs.IsMap()) return Failure{path + ": registries: expected a mapping of host names"};
      for (const auto& kv : regs) {
        auto host = kv.first.as<std::string>();
        auto h = parse_host(kv.second, path + ": registries." + host);
        if (!h) return Failure{h.error()};
        if (host == "index.docker.io" || host == "registry-1.docker.io") host = "docker.io";
        config.hosts[host] = *h;
      }
    }
    if (auto pull = root["pull"]; pull && pull["parallel"])
      config.parallel_downloads = std::max(1, pull["parallel"].as<int>());
    if (auto pull = root["pull"]; pull && pull["timeout"])
      config.transfer_timeout = std::chrono::seconds(std::max(1, pull["timeout"].as<int>()));
  } catch (const YAML::Exception& e) {
    return Failure{path + ": " + e.what()};
  }
  return config;
}

namespace {

// "https://index.docker.io/v1/" -> "docker.io"; "http://h:5000/x" -> "h:5000".
std::string auth_key_host(std::string key) {
  if (auto p = key.find("://"); p != std::string::npos) key = key.substr(p + 3);
  if (auto p = key.find('/'); p != std::string::npos) key = key.substr(0, p);
  if (key == "index.docker.io" || key == "registry-1.docker.io") key = "docker.io";
  return key;
}

} // namespace

std::optional<Credentials> docker_credentials(std::string_view registry, const std::string& path) {
  std::string file = path;
  if (file.empty()) {
    if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d)
      file = fs::join(d, "config.json");
    else if (const char* home = std::getenv("HOME"); home && *home)
      file = fs::join(home, ".docker/config.json");
    else
      return std::nullopt;
  }
  auto text = fs::read_file(file);
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("auths") || !j["auths"].is_object())
    return std::nullopt;
  std::string want = auth_key_host(std::string(registry));
  for (const auto& [key, entry] : j["auths"].items()) {
    if (auth_key_host(key) != want || !entry.is_object()) continue;
    if (entry.contains("auth") && entry["auth"].is_string()) {
      auto decoded = base64_decode(entry["auth"].get<std::string>());
      if (!decoded) continue;
      auto colon = decoded->find(':');
      if (colon == std::string::npos) continue;
      return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
    }
    if (entry.contains("username") && entry.contains("password"))
      return Credentials{entry.value("username", ""), entry.value("password", "")};
  }
  return std::nullopt;
}

} // namespace earth::image
