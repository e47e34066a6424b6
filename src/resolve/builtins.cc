// Builtin ARGs (reference §2.3): target names, run flags, git facts from
// the git CLI (asked at most once per directory, and only when a target
// declares an EARTHLY_GIT_* ARG), and platforms.
#include <sys/utsname.h>

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "earth/base/strings.h"
#include "earth/base/subprocess.h"
#include "earth/resolve/scope.h"
#include "resolver.h"

namespace earth::resolve {

namespace {

constexpr std::array kEarthlyNames = {
    "TARGET",
    "TARGET_NAME",
    "TARGET_PROJECT",
    "TARGET_PROJECT_NO_TAG",
    "TARGET_TAG",
    "TARGET_TAG_DOCKER",
    "CI",
    "PUSH",
    "LOCALLY",
    "VERSION",
    "BUILD_SHA",
    "CI_RUNNER",
    "GIT_HASH",
    "GIT_SHORT_HASH",
    "GIT_BRANCH",
    "GIT_TAG",
    "GIT_REFS",
    "GIT_ORIGIN_URL",
    "GIT_ORIGIN_URL_SCRUBBED",
    "GIT_PROJECT_NAME",
    "GIT_COMMIT_TIMESTAMP",
    "GIT_COMMIT_AUTHOR_TIMESTAMP",
    "GIT_AUTHOR",
    "GIT_CO_AUTHORS",
    "GIT_AUTHOR_EMAIL",
    "GIT_AUTHOR_NAME",
    "SOURCE_DATE_EPOCH",
};

constexpr std::array kPlatformPrefixes = {"TARGET", "NATIVE", "USER"};
constexpr std::array kPlatformSuffixes = {"PLATFORM", "OS", "ARCH", "VARIANT"};

// "EARTH_X" and "EARTHLY_X" both give "X"; anything else gives "".
std::string_view earthly_suffix(std::string_view name) {
  if (name.starts_with("EARTHLY_")) return name.substr(8);
  if (name.starts_with("EARTH_")) return name.substr(6);
  return {};
}

std::string native_platform() {
  struct utsname u {};
  uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "linux/amd64";
  if (m == "aarch64" || m == "arm64") return "linux/arm64";
  if (m.starts_with("armv7")) return "linux/arm/v7";
  return "linux/" + m;
}

std::string platform_part(const std::string& platform, std::string_view suffix) {
  auto parts = split(platform, '/');
  if (suffix == "PLATFORM") return platform;
  if (suffix == "OS") return parts.size() > 0 ? parts[0] : "";
  if (suffix == "ARCH") return parts.size() > 1 ? parts[1] : "";
  return parts.size() > 2 ? parts[2] : "";
}

std::string git_out(const std::string& dir, std::vector<std::string> argv) {
  argv.insert(argv.begin(), "git");
  auto r = run_process(argv, dir);
  if (!r.ok() || r->exit_status != 0) return "";
  std::string s = r->out;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string scrub_url(const std::string& url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  return url.substr(0, scheme + 3) + url.substr(at + 1);
}

// "git@github.com:org/repo.git" or "https://github.com/org/repo" gives
// "github.com/org/repo".
std::string project_of(const std::string& url) {
  std::string u = scrub_url(url);
  if (size_t s = u.find("://"); s != std::string::npos)
    u = u.substr(s + 3);
  else if (size_t at = u.find('@'); at != std::string::npos)
    u = u.substr(at + 1);
  if (size_t c = u.find(':'); c != std::string::npos && u.find('/') > c) u[c] = '/';
  if (u.ends_with(".git")) u.resize(u.size() - 4);
  return u;
}

std::string docker_safe(std::string tag) {
  for (char& c : tag)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) c = '_';
  return tag.empty() ? "latest" : tag;
}

} // namespace

GitInfo probe_git(const std::string& dir) {
  GitInfo g;
  g.hash = git_out(dir, {"rev-parse", "HEAD"});
  if (g.hash.empty()) return g;
  g.toplevel = git_out(dir, {"rev-parse", "--show-toplevel"});
  g.branch = git_out(dir, {"rev-parse", "--abbrev-ref", "HEAD"});
  if (g.branch == "HEAD") g.branch.clear();
  g.tag = git_out(dir, {"describe", "--exact-match", "--tags"});
  g.refs = git_out(dir, {"for-each-ref", "--points-at", "HEAD", "--format=%(refname:short)"});
  for (char& c : g.refs)
    if (c == '\n') c = ',';
  g.origin_url = git_out(dir, {"config", "--get", "remote.origin.url"});
  auto log = split(git_out(dir, {"log", "-1", "--format=%ct%n%at%n%ae%n%an"}), '\n');
  if (log.size() >= 4) {
    g.commit_timestamp = log[0];
    g.author_timestamp = log[1];
    g.author_email = log[2];
    g.author_name = log[3];
  }
  g.co_authors = git_out(
      dir, {"log", "-1", "--format=%(trailers:key=Co-authored-by,valueonly,separator=%x20)"});
  return g;
}

bool Resolver::is_builtin(std::string_view name) const {
  return is_builtin_arg(name);
}

bool is_builtin_arg(std::string_view name) {
  std::string_view s = earthly_suffix(name);
  if (!s.empty())
    return std::find(kEarthlyNames.begin(), kEarthlyNames.end(), s) != kEarthlyNames.end();
  for (const char* p : kPlatformPrefixes)
    if (name.starts_with(p))
      for (const char* x : kPlatformSuffixes)
        if (name.substr(std::string_view(p).size()) == x) return true;
  return false;
}

const GitInfo& Resolver::git(FileId file) {
  const std::string& dir = graph_.files[file]->abs_dir;
  auto it = git_cache_.find(dir);
  if (it != git_cache_.end()) return it->second;
  // Git facts are the same for every directory of one repository.
  for (const auto& [probed, info] : git_cache_)
    if (!info.toplevel.empty() && (dir == info.toplevel || dir.starts_with(info.toplevel + "/")))
      return git_cache_.emplace(dir, info).first->second;
  return git_cache_.emplace(dir, options_.git(dir)).first->second;
}

Value Resolver::builtin_value(Walk& w, std::string_view name) {
  std::string native =
      options_.native_platform.empty() ? native_platform() : options_.native_platform;
  std::string user = options_.user_platform.empty() ? native : options_.user_platform;
  for (const char* p : kPlatformPrefixes) {
    std::string_view prefix = p;
    if (!name.starts_with(prefix)) continue;
    std::string_view suffix = name.substr(prefix.size());
    std::string platform = prefix == "NATIVE"        ? native
                           : prefix == "USER"        ? user
                           : w.locally               ? user
                           : w.node.platform.empty() ? native
                                                     : w.node.platform;
    return {platform_part(platform, suffix), false};
  }
  std::string_view s = earthly_suffix(name);
  auto b = [](bool v) { return Value{v ? "true" : "false", false}; };
  if (s == "CI") return b(options_.ci);
  if (s == "PUSH") return b(options_.push);
  if (s == "LOCALLY") return b(w.locally);
  if (s == "CI_RUNNER") return b(false);
  if (s == "VERSION") return {options_.version, false};
  if (s == "TARGET_NAME") return {w.node.name, false};
  return git_value(w, s);
}

// The builtins that need git facts: target identity and EARTHLY_GIT_*.
Value Resolver::git_value(Walk& w, std::string_view s) {
  FileId file = w.node.file;
  const GitInfo& g = git(file);
  const std::string& dir = graph_.files[file]->abs_dir;
  std::string tag = !g.tag.empty() ? g.tag : !g.branch.empty() ? g.branch : g.hash;
  std::string project_no_tag = graph_.files[file]->dir;
  if (!g.origin_url.empty()) {
    project_no_tag = project_of(g.origin_url);
    if (!g.toplevel.empty() && dir.size() > g.toplevel.size() && dir.starts_with(g.toplevel + "/"))
      project_no_tag += dir.substr(g.toplevel.size());
  }
  std::string project =
      tag.empty() || g.origin_url.empty() ? project_no_tag : project_no_tag + ":" + tag;
  if (s == "TARGET")
    return {g.origin_url.empty() ? w.node.canonical : project + "+" + w.node.name, false};
  if (s == "TARGET_PROJECT") return {project, false};
  if (s == "TARGET_PROJECT_NO_TAG") return {project_no_tag, false};
  if (s == "TARGET_TAG") return {tag, false};
  if (s == "TARGET_TAG_DOCKER") return {docker_safe(tag), false};
  if (s == "GIT_HASH" || s == "BUILD_SHA") return {g.hash, false};
  if (s == "GIT_SHORT_HASH") return {g.hash.substr(0, 8), false};
  if (s == "GIT_BRANCH") return {g.branch, false};
  if (s == "GIT_TAG") return {g.tag, false};
  if (s == "GIT_REFS") return {g.refs, false};
  if (s == "GIT_ORIGIN_URL") return {g.origin_url, false};
  if (s == "GIT_ORIGIN_URL_SCRUBBED") return {scrub_url(g.origin_url), false};
  if (s == "GIT_PROJECT_NAME") {
    std::string p = project_of(g.origin_url);
    size_t slash = p.find('/');
    return {slash == std::string::npos ? "" : p.substr(slash + 1), false};
  }
  if (s == "GIT_COMMIT_TIMESTAMP") return {g.commit_timestamp, false};
  if (s == "GIT_COMMIT_AUTHOR_TIMESTAMP") return {g.author_timestamp, false};
  if (s == "GIT_AUTHOR") return {g.author_email, false};
  if (s == "GIT_AUTHOR_EMAIL") return {g.author_email, false};
  if (s == "GIT_AUTHOR_NAME") return {g.author_name, false};
  if (s == "GIT_CO_AUTHORS") return {g.co_authors, false};
  if (s == "SOURCE_DATE_EPOCH")
    return {g.commit_timestamp.empty() ? "0" : g.commit_timestamp, false};
  return {};
}

} // namespace earth::resolve
