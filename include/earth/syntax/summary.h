// What a recipe declares, read straight from the AST without resolving
// anything: its ARGs, artifacts and images. Used by `earth ls -a` and
// `earth doc -l`.
#pragma once

#include <string>
#include <vector>

#include "earth/syntax/ast.h"

namespace earth::syntax {

struct ArgDecl {
  std::string name;
  bool required = false;
  bool global = false;
  bool has_default = false;
  std::string default_value; // as written (quotes kept)
  std::string docs;
};

struct ArtifactDecl {
  std::string path;       // in the artifact environment, e.g. "/app"
  std::string local_path; // AS LOCAL destination, empty if none
};

struct RecipeSummary {
  std::vector<ArgDecl> args;
  std::vector<ArtifactDecl> artifacts;
  std::vector<std::string> images; // SAVE IMAGE names
};

// Walks `recipe` (including IF/FOR/WAIT/TRY/WITH bodies) in order.
RecipeSummary summarize(const Block& recipe);

} // namespace earth::syntax
