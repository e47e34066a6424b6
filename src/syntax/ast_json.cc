#include "earth/syntax/ast_json.h"

#include <utility>

namespace earth::syntax {

namespace {

using Json = nlohmann::ordered_json;

struct Dumper {
  bool source_map;

  void locate(Json& j, const Span& s) const {
    if (!source_map) return;
    // Earthly (ANTLR) counts columns from 0; lines from 1.
    j["sourceLocation"] = {{"startLine", s.begin.line},
                           {"startColumn", s.begin.column ? s.begin.column - 1 : 0},
                           {"endLine", s.end.line},
                           {"endColumn", s.end.column ? s.end.column - 1 : 0}};
  }

  Json command(const Command& c) const {
    Json j;
    j["name"] = c.name;
    if (!c.docs.empty()) j["docs"] = c.docs;
    j["args"] = c.args;
    if (c.exec_mode) j["execMode"] = true;
    locate(j, c.span);
    return j;
  }

  // An empty body is `null`, as Go's nil slice in Earthly's own output.
  Json block(const Block& b) const {
    if (b.empty()) return nullptr;
    Json arr = Json::array();
    for (const auto& s : b) arr.push_back(statement(s));
    return arr;
  }

  Json branch(const Branch& b, const char* body_key) const {
    Json j;
    j["expression"] = b.expression;
    if (b.exec_mode) j["execMode"] = true;
    j[body_key] = block(b.body);
    return j;
  }

  Json statement(const Statement& s) const {
    Json j;
    std::visit(
        [&](const auto& n) {
          using T = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<T, Command>) {
            j["command"] = command(n);
          } else if constexpr (std::is_same_v<T, WithStmt>) {
            Json w;
            w["command"] = command(n.command);
            w["body"] = block(n.body);
            locate(w, s.span);
            j["with"] = std::move(w);
          } else if constexpr (std::is_same_v<T, IfStmt>) {
            Json i = branch(n.if_branch, "ifBody");
            if (!n.else_ifs.empty()) {
              Json arr = Json::array();
              for (const auto& e : n.else_ifs) {
                Json ej = branch(e, "body");
                locate(ej, e.span);
                arr.push_back(std::move(ej));
              }
              i["elseIf"] = std::move(arr);
            }
            if (n.else_body) i["elseBody"] = block(*n.else_body);
            locate(i, s.span);
            j["if"] = std::move(i);
          } else if constexpr (std::is_same_v<T, TryStmt>) {
            Json t;
            t["tryBody"] = block(n.try_body);
            if (n.catch_body) t["catchBody"] = block(*n.catch_body);
            if (n.finally_body) t["finallyBody"] = block(*n.finally_body);
            locate(t, s.span);
            j["try"] = std::move(t);
          } else if constexpr (std::is_same_v<T, ForStmt>) {
            Json f;
            f["args"] = n.args;
            f["body"] = block(n.body);
            locate(f, s.span);
            j["for"] = std::move(f);
          } else if constexpr (std::is_same_v<T, WaitStmt>) {
            Json w;
            w["args"] = n.args;
            w["body"] = block(n.body);
            locate(w, s.span);
            j["wait"] = std::move(w);
          }
        },
        s.node);
    locate(j, s.span);
    return j;
  }
};

} // namespace

nlohmann::ordered_json to_json(const Earthfile& file, bool source_map) {
  Dumper d{source_map};
  Json j;
  if (file.version) {
    Json v;
    v["args"] = file.version->args;
    d.locate(v, file.version->span);
    j["version"] = std::move(v);
  }
  j["baseRecipe"] = d.block(file.base_recipe);
  if (!file.targets.empty()) {
    Json arr = Json::array();
    for (const auto& t : file.targets) {
      Json tj;
      tj["name"] = t.name;
      if (!t.docs.empty()) tj["docs"] = t.docs;
      tj["recipe"] = d.block(t.recipe);
      d.locate(tj, t.span);
      arr.push_back(std::move(tj));
    }
    j["targets"] = std::move(arr);
  }
  if (!file.functions.empty()) {
    Json arr = Json::array();
    for (const auto& f : file.functions) {
      Json fj;
      fj["name"] = f.name;
      fj["recipe"] = d.block(f.recipe);
      d.locate(fj, f.span);
      arr.push_back(std::move(fj));
    }
    j["functions"] = std::move(arr);
  }
  if (source_map && !file.path.empty()) j["sourceLocation"] = {{"file", file.path}};
  return j;
}

} // namespace earth::syntax
