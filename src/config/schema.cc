#include "schema.h"

#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace earth::config {

namespace {

using T = KeySpec::Type;

std::optional<long> to_long(const std::string& s) {
  long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

KeySpec earthly(std::string_view name) {
  return {name, T::any, 0, 0, true};
}

} // namespace

const std::vector<SectionSpec>& sections() {
  static const std::vector<SectionSpec> table = {
      {"global",
       false,
       false,
       {
           {"cache_dir", T::string},
           {"cache_size_mb", T::integer, 0, 1L << 40},
           {"cache_size_pct", T::integer, 0, 100},
           {"jobs", T::integer, 1, 1024},
           {"buildkit_max_parallelism", T::integer, 1, 1024},
           {"secret_provider", T::string},
           // Earthly's, for BuildKit or its cloud: accepted, unused.
           earthly("buildkit_cache_keep_duration_s"),
           earthly("conversion_parallelism"),
           earthly("buildkit_image"),
           earthly("buildkit_additional_args"),
           earthly("buildkit_additional_config"),
           earthly("buildkit_restart_timeout_s"),
           earthly("buildkit_host"),
           earthly("buildkit_scheme"),
           earthly("tlsca"),
           earthly("tlsca_key"),
           earthly("tlscert"),
           earthly("tlskey"),
           earthly("buildkitd_tlscert"),
           earthly("buildkitd_tlskey"),
           earthly("tls_enabled"),
           earthly("local_registry_host"),
           earthly("darwin_proxy_image"),
           earthly("darwin_proxy_wait"),
           earthly("cni_mtu"),
           earthly("ip_tables"),
           earthly("container_frontend"),
           earthly("git_image"),
           earthly("disable_analytics"),
           earthly("disable_log_sharing"),
           earthly("org"),
           earthly("cache_path"),
       }},
      {"registries",
       true,
       false,
       {
           {"mirrors", T::string_list},
           {"insecure", T::boolean},
           {"http", T::boolean},
           {"tls_verify", T::boolean},
           {"username", T::string},
           {"password", T::string},
       }},
      {"pull", false, false, {{"parallel", T::integer, 1, 64}, {"timeout", T::integer, 1, 86400}}},
      {"git", true, true, {}},
  };
  return table;
}

const SectionSpec* find_section(std::string_view name) {
  for (const auto& s : sections())
    if (s.name == name) return &s;
  return nullptr;
}

const KeySpec* find_key(const SectionSpec& s, std::string_view name) {
  for (const auto& k : s.keys)
    if (k.name == name) return &k;
  return nullptr;
}

std::string describe(const KeySpec& k) {
  switch (k.type) {
  case T::string:
    return "a string";
  case T::integer:
    return fmt::format("an integer from {} to {}", k.min, k.max);
  case T::boolean:
    return "true or false";
  case T::string_list:
    return "a list of strings";
  case T::any:
    return "anything (Earthly's key, unused by earth)";
  }
  return "";
}

std::string check_value(const KeySpec& k, const YAML::Node& v) {
  auto wrong = [&] { return "expected " + describe(k); };
  switch (k.type) {
  case T::any:
    return "";
  case T::string:
    return v.IsScalar() ? "" : wrong();
  case T::integer: {
    if (!v.IsScalar()) return wrong();
    auto n = to_long(v.Scalar());
    if (!n || *n < k.min || *n > k.max) return wrong() + ", not '" + v.Scalar() + "'";
    return "";
  }
  case T::boolean: {
    bool b = false;
    if (!v.IsScalar() || !YAML::convert<bool>::decode(v, b))
      return wrong() + (v.IsScalar() ? ", not '" + v.Scalar() + "'" : "");
    return "";
  }
  case T::string_list:
    if (!v.IsSequence()) return wrong();
    for (const auto& e : v)
      if (!e.IsScalar()) return wrong();
    return "";
  }
  return "";
}

} // namespace earth::config
