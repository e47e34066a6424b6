#include "layer_view.h"

#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/image/layer.h"

namespace earth::build {

bool is_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

namespace {

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  for (auto& c : split(fs::normalize(path), '/'))
    if (!c.empty() && c != ".") out.push_back(c);
  return out;
}

} // namespace

std::vector<size_t> LayerView::stack_of(std::string_view path, std::optional<Entry>* entry) const {
  std::vector<size_t> stack;
  for (size_t i = layers_.size(); i-- > 0;) stack.push_back(i);
  std::string rel;
  std::vector<std::string> parts = components(path);
  if (parts.empty()) {
    // The root: every layer contributes down to the first opaque one.
    std::vector<size_t> out;
    for (size_t i : stack) {
      out.push_back(i);
      if (image::is_opaque_dir(layers_[i])) break;
    }
    if (entry && !out.empty()) {
      Entry e{layers_[out.front()], {}};
      if (::lstat(e.host.c_str(), &e.st) == 0) *entry = e;
    }
    return out;
  }
  for (size_t n = 0; n < parts.size(); ++n) {
    rel += "/" + parts[n];
    std::vector<size_t> next;
    for (size_t i : stack) {
      std::string host = layers_[i] + rel;
      struct stat st;
      if (::lstat(host.c_str(), &st) != 0) continue;
      if (is_whiteout(st)) break;
      if (!S_ISDIR(st.st_mode)) {
        if (next.empty() && n + 1 == parts.size()) {
          if (entry) *entry = Entry{host, st};
          return {i};
        }
        break; // a non-directory hides what is below it
      }
      next.push_back(i);
      if (image::is_opaque_dir(host)) break;
    }
    stack = std::move(next);
    if (stack.empty()) return {};
  }
  if (entry) {
    Entry e{layers_[stack.front()] + rel, {}};
    if (::lstat(e.host.c_str(), &e.st) == 0) *entry = e;
  }
  return stack;
}

std::optional<LayerView::Entry> LayerView::find(std::string_view path) const {
  std::optional<Entry> e;
  stack_of(path, &e);
  return e;
}

Result<LayerView::Resolved> LayerView::resolve(std::string_view path, bool follow_last) const {
  std::vector<std::string> todo = components(path);
  std::reverse(todo.begin(), todo.end());
  std::string done; // resolved so far, "" is the root
  int hops = 0;
  std::optional<Entry> last;
  while (!todo.empty()) {
    std::string c = std::move(todo.back());
    todo.pop_back();
    if (c == "..") {
      done = fs::dirname(done.empty() ? "/" : done);
      if (done == "/") done.clear();
      continue;
    }
    std::string candidate = done + "/" + c;
    last = find(candidate);
    bool is_last = todo.empty();
    if (last && S_ISLNK(last->st.st_mode) && (!is_last || follow_last)) {
      if (++hops > 40) return Failure{"too many levels of symbolic links in " + std::string(path)};
      std::string target(static_cast<size_t>(last->st.st_size) + 1, '\0');
      ssize_t n = ::readlink(last->host.c_str(), target.data(), target.size());
      if (n < 0) return Failure{errno_message("readlink " + last->host, errno)};
      target.resize(static_cast<size_t>(n));
      if (target.starts_with("/")) done.clear();
      auto parts = components(target);
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(*it);
      last.reset();
      continue;
    }
    done = candidate;
  }
  if (done.empty()) {
    done = "/";
    last = find("/");
  }
  return Resolved{done, last};
}

std::vector<std::string> LayerView::list(std::string_view dir) const {
  std::optional<Entry> e;
  std::vector<size_t> stack = stack_of(dir, &e);
  if (!e || !S_ISDIR(e->st.st_mode)) return {};
  std::string rel = fs::normalize(dir);
  if (rel == "/") rel.clear();
  std::set<std::string> seen, hidden;
  std::vector<std::string> names;
  for (size_t i : stack) {
    std::string host = layers_[i] + rel;
    auto entries = fs::list_dir(host);
    if (!entries) continue;
    for (const auto& name : *entries) {
      if (seen.count(name) || hidden.count(name)) continue;
      struct stat st;
      if (::lstat((host + "/" + name).c_str(), &st) != 0) continue;
      if (is_whiteout(st)) {
        hidden.insert(name);
        continue;
      }
      seen.insert(name);
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace earth::build
