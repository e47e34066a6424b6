#include "earth/image/reference.h"

#include <cctype>

namespace earth::image {

namespace {

constexpr std::string_view docker_hub = "docker.io";

bool looks_like_host(std::string_view part) {
  return part.find('.') != std::string_view::npos || part.find(':') != std::string_view::npos ||
         part == "localhost";
}

// Docker's limit on "registry/repository".
constexpr size_t max_name_length = 255;

bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// host[:port], host being dot-separated [A-Za-z0-9-] labels (no leading or
// trailing '-'), or [IPv6][:port].
bool valid_host(std::string_view host) {
  std::string_view name = host, port;
  if (host.starts_with("[")) {
    auto end = host.find(']');
    if (end == std::string_view::npos || end == 1) return false;
    for (char c : host.substr(1, end - 1))
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':') return false;
    if (end + 1 == host.size()) return true;
    if (host[end + 1] != ':') return false;
    port = host.substr(end + 2);
    name = {};
  } else if (auto colon = host.find(':'); colon != std::string_view::npos) {
    name = host.substr(0, colon);
    port = host.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (port.size() > 5) return false;
  for (char c : port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  if (host.starts_with("[")) return true;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    start = end + 1;
  }
  return true;
}

// One path component: [a-z0-9]+ joined by ".", "_", "__" or any run of "-".
bool valid_component(std::string_view part) {
  if (part.empty() || !lower_alnum(part.front()) || !lower_alnum(part.back())) return false;
  for (size_t i = 0; i < part.size();) {
    if (lower_alnum(part[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < part.size() && !lower_alnum(part[j])) ++j;
    std::string_view sep = part.substr(i, j - i);
    if (sep != "." && sep != "_" && sep != "__" && sep.find_first_not_of('-') != sep.npos)
      return false;
    i = j;
  }
  return true;
}

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128 || tag[0] == '.' || tag[0] == '-') return false;
  for (char c : tag)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
      return false;
  return true;
}

bool valid_repository(std::string_view repo) {
  size_t start = 0;
  while (start <= repo.size()) {
    size_t end = repo.find('/', start);
    if (end == std::string_view::npos) end = repo.size();
    if (!valid_component(repo.substr(start, end - start))) return false;
    start = end + 1;
  }
  return true;
}

} // namespace

Result<Reference> Reference::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Failure{"invalid image reference '" + std::string(text) + "': " + std::string(why)};
  };
  Reference ref;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    std::string_view dig = rest.substr(at + 1);
    if (!dig.starts_with("sha256:")) return bad("only sha256 digests are supported");
    ref.digest = Digest::parse(dig);
    if (!ref.digest) return bad("malformed digest");
    rest = rest.substr(0, at);
  }
  if (rest.empty()) return bad("empty name");
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos && looks_like_host(rest.substr(0, slash))) {
    if (!valid_host(rest.substr(0, slash)))
      return bad("'" + std::string(rest.substr(0, slash)) + "' is not a registry host[:port]");
    ref.registry = std::string(rest.substr(0, slash));
    rest = rest.substr(slash + 1);
  } else {
    ref.registry = std::string(docker_hub);
  }
  if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io")
    ref.registry = std::string(docker_hub);
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!valid_tag(ref.tag)) return bad("malformed tag '" + ref.tag + "'");
  } else if (!ref.digest) {
    ref.tag = "latest";
  }
  if (!valid_repository(rest))
    return bad("repository components must be lower-case [a-z0-9] joined by '.', '_', '__' or "
               "'-', separated by '/'");
  ref.repository = std::string(rest);
  if (size_t n = (ref.registry + "/" + ref.repository).size(); n > max_name_length)
    return bad("the name is " + std::to_string(n) + " characters long, more than " +
               std::to_string(max_name_length));
  if (ref.registry == docker_hub && ref.repository.find('/') == std::string::npos)
    ref.repository = "library/" + ref.repository;
  return ref;
}

std::string Reference::str() const {
  std::string out = name();
  if (!tag.empty()) out += ":" + tag;
  if (digest) out += "@" + digest->oci();
  return out;
}

std::string Reference::api_host() const {
  return registry == docker_hub ? "registry-1.docker.io" : registry;
}

std::string Reference::familiar() const {
  std::string out = str();
  if (registry == docker_hub) {
    out = out.substr(docker_hub.size() + 1);
    if (out.starts_with("library/")) out = out.substr(8);
  }
  return out;
}

bool is_loopback_registry(std::string_view host) {
  std::string_view h = host;
  if (h.starts_with("[")) { // [::1]:5000
    auto end = h.find(']');
    return end != std::string_view::npos && h.substr(1, end - 1) == "::1";
  }
  if (auto colon = h.find(':'); colon != std::string_view::npos) h = h.substr(0, colon);
  if (h == "localhost" || h.ends_with(".localhost")) return true;
  if (!h.starts_with("127.")) return false;
  int dots = 0;
  for (char c : h) {
    if (c == '.')
      ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  }
  return dots == 3;
}

} // namespace earth::image
