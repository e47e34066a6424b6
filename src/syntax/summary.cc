#include "earth/syntax/summary.h"

#include <algorithm>

namespace earth::syntax {

namespace {

std::string basename_of(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void add_arg(const Command& c, RecipeSummary& out) {
  auto eq = std::find(c.args.begin(), c.args.end(), "=");
  if (eq == c.args.begin()) return;
  ArgDecl a;
  a.name = *(eq - 1);
  for (auto it = c.args.begin(); it != eq - 1; ++it) {
    a.required = a.required || *it == "--required" || *it == "--required=true";
    a.global = a.global || *it == "--global" || *it == "--global=true";
  }
  if (eq != c.args.end() && eq + 1 != c.args.end()) {
    a.has_default = true;
    a.default_value = *(eq + 1);
  }
  a.docs = c.docs;
  for (const auto& existing : out.args)
    if (existing.name == a.name) return;
  out.args.push_back(std::move(a));
}

void add_artifact(const Command& c, RecipeSummary& out) {
  std::vector<std::string> words;
  for (const auto& w : c.args)
    if (!w.starts_with("--")) words.push_back(w);
  if (words.empty()) return;
  ArtifactDecl a;
  auto as = std::find(words.begin(), words.end(), "AS");
  if (as != words.end() && as + 2 <= words.end() - 1 && *(as + 1) == "LOCAL")
    a.local_path = *(as + 2);
  std::string src = words[0];
  std::string dest = (words.size() > 1 && words[1] != "AS") ? words[1] : "";
  if (dest.empty())
    dest = basename_of(src);
  else if (dest.back() == '/')
    dest += basename_of(src);
  if (dest.empty() || dest.front() != '/') dest = "/" + dest;
  a.path = dest;
  out.artifacts.push_back(std::move(a));
}

void add_images(const Command& c, RecipeSummary& out) {
  for (size_t i = 0; i < c.args.size(); ++i) {
    const std::string& w = c.args[i];
    if (w.starts_with("--")) {
      // Flags with a separate value word.
      if ((w == "--cache-from") && i + 1 < c.args.size()) ++i;
      continue;
    }
    out.images.push_back(w);
  }
}

} // namespace

RecipeSummary summarize(const Block& recipe) {
  RecipeSummary out;
  for_each_command(recipe, [&](const Command& c) {
    if (c.name == "ARG")
      add_arg(c, out);
    else if (c.name == "SAVE ARTIFACT")
      add_artifact(c, out);
    else if (c.name == "SAVE IMAGE")
      add_images(c, out);
  });
  return out;
}

} // namespace earth::syntax
