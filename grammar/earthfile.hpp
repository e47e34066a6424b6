// The Earthfile grammar: the single source of truth of the syntax.
//
// One named struct per rule and no semantics here (STYLE.md rule 3): the
// actions in src/syntax/parser.cc build the AST, and the error messages are
// attached from outside through `error_message<Rule>` in
// src/syntax/parse_errors.h. The rules mirror Earthly's ANTLR lexer modes
// (reference/earthfile.md §3); see grammar/README.md for the conventions.
#pragma once

#include <tao/pegtl.hpp>

namespace earth::grammar {

using namespace tao::pegtl;

// ---------------------------------------------------------------------------
// Lexical layer: whitespace, newlines, comments, line continuations.

struct sp : one<' ', '\t'> {};
struct nl : sor<string<'\r', '\n'>, one<'\n'>, one<'\r'>> {};
struct comment : seq<one<'#'>, star<not_one<'\r', '\n'>>> {};

// `\` + optional blanks + optional comment + newline, then any blank or
// comment-only lines, then the next line's indentation (Earthly's LC).
struct lc_blank : seq<star<sp>, nl> {};
struct lc_comment : seq<star<sp>, comment> {};
struct line_continuation : seq<one<'\\'>, plus<sor<lc_blank, lc_comment>>, star<sp>> {};

// Whitespace between words: starts with a blank, may hold continuations.
struct ws : seq<sp, star<sor<sp, line_continuation>>> {};

// The end of a line: trailing blanks, an optional comment, newline or EOF.
struct line_end : seq<star<sp>, opt<comment>, sor<nl, eof>> {};
// Each alternative consumes input, so analyze() can prove star<> progresses.
struct blank_line : sor<seq<star<sp>, nl>, seq<plus<sp>, eof>> {};
struct comment_line : seq<star<sp>, comment, sor<nl, eof>> {};

// ---------------------------------------------------------------------------
// Atoms: the words of a command, kept as written.

struct escaped : sor<line_continuation, seq<one<'\\'>, any>> {};

struct dq_open : one<'"'> {};
struct dq_close : one<'"'> {};
struct sq_open : one<'\''> {};
struct sq_close : one<'\''> {};
struct shell_out;
struct dq_char : sor<shell_out, seq<one<'\\'>, any>, not_one<'"', '\\'>> {};
struct dq_string : if_must<dq_open, star<dq_char>, dq_close> {};
struct sq_char : sor<seq<one<'\\'>, any>, not_one<'\'', '\\'>> {};
struct sq_string : if_must<sq_open, star<sq_char>, sq_close> {};

// `$( … )`: one atom even with blanks, quotes and nesting inside.
struct shell_char : sor<shell_out, not_one<' ', '\t', '\r', '\n', '\\', '"', '\'', ')'>,
                        seq<one<'\\'>, any>, dq_string, sq_string, ws> {};
struct shell_out : seq<string<'$', '('>, plus<shell_char>, one<')'>> {};

struct regular_char : not_one<' ', '\t', '\r', '\n', '\\', '"', '\''> {};
struct atom_part : sor<shell_out, dq_string, sq_string, escaped, regular_char> {};
// A `#` after whitespace starts a comment, so no word starts with one.
struct atom : seq<not_at<one<'#'>>, plus<atom_part>> {};

// Key-value mode (ARG, ENV, LET, SET, LABEL): `=` is its own token.
struct kv_regular_char : not_one<' ', '\t', '\r', '\n', '\\', '"', '\'', '='> {};
struct kv_atom_part : sor<shell_out, dq_string, sq_string, escaped, kv_regular_char> {};
struct kv_atom : seq<not_at<one<'#'>>, plus<kv_atom_part>> {};

// ---------------------------------------------------------------------------
// Words of ordinary commands.

struct word : atom {};
struct words : list<word, ws> {};
struct args : opt<ws, opt<words>> {};

// ---------------------------------------------------------------------------
// Keywords: upper case, multi-word ones with exactly one space, and followed
// by a blank, a continuation or the end of the line.

struct keyword_end : at<sor<sp, nl, eof, line_continuation>> {};
template <typename Text> struct keyword : seq<Text, keyword_end> {};

// clang-format off
struct kw_from_dockerfile : keyword<TAO_PEGTL_STRING("FROM DOCKERFILE")> {};
struct kw_from : keyword<TAO_PEGTL_STRING("FROM")> {};
struct kw_locally : keyword<TAO_PEGTL_STRING("LOCALLY")> {};
struct kw_copy : keyword<TAO_PEGTL_STRING("COPY")> {};
struct kw_save_artifact : keyword<TAO_PEGTL_STRING("SAVE ARTIFACT")> {};
struct kw_save_image : keyword<TAO_PEGTL_STRING("SAVE IMAGE")> {};
struct kw_run : keyword<TAO_PEGTL_STRING("RUN")> {};
struct kw_expose : keyword<TAO_PEGTL_STRING("EXPOSE")> {};
struct kw_volume : keyword<TAO_PEGTL_STRING("VOLUME")> {};
struct kw_build : keyword<TAO_PEGTL_STRING("BUILD")> {};
struct kw_workdir : keyword<TAO_PEGTL_STRING("WORKDIR")> {};
struct kw_user : keyword<TAO_PEGTL_STRING("USER")> {};
struct kw_cmd : keyword<TAO_PEGTL_STRING("CMD")> {};
struct kw_entrypoint : keyword<TAO_PEGTL_STRING("ENTRYPOINT")> {};
struct kw_git_clone : keyword<TAO_PEGTL_STRING("GIT CLONE")> {};
struct kw_add : keyword<TAO_PEGTL_STRING("ADD")> {};
struct kw_stopsignal : keyword<TAO_PEGTL_STRING("STOPSIGNAL")> {};
struct kw_onbuild : keyword<TAO_PEGTL_STRING("ONBUILD")> {};
struct kw_healthcheck : keyword<TAO_PEGTL_STRING("HEALTHCHECK")> {};
struct kw_shell : keyword<TAO_PEGTL_STRING("SHELL")> {};
struct kw_do : keyword<TAO_PEGTL_STRING("DO")> {};
struct kw_command : keyword<TAO_PEGTL_STRING("COMMAND")> {};
struct kw_function : keyword<TAO_PEGTL_STRING("FUNCTION")> {};
struct kw_import : keyword<TAO_PEGTL_STRING("IMPORT")> {};
struct kw_cache : keyword<TAO_PEGTL_STRING("CACHE")> {};
struct kw_host : keyword<TAO_PEGTL_STRING("HOST")> {};
struct kw_project : keyword<TAO_PEGTL_STRING("PROJECT")> {};
struct kw_version : keyword<TAO_PEGTL_STRING("VERSION")> {};
struct kw_env : keyword<TAO_PEGTL_STRING("ENV")> {};
struct kw_arg : keyword<TAO_PEGTL_STRING("ARG")> {};
struct kw_let : keyword<TAO_PEGTL_STRING("LET")> {};
struct kw_set : keyword<TAO_PEGTL_STRING("SET")> {};
struct kw_label : keyword<TAO_PEGTL_STRING("LABEL")> {};
struct kw_with : keyword<TAO_PEGTL_STRING("WITH")> {};
struct kw_docker : keyword<TAO_PEGTL_STRING("DOCKER")> {};
struct kw_if : keyword<TAO_PEGTL_STRING("IF")> {};
struct kw_else_if : keyword<TAO_PEGTL_STRING("ELSE IF")> {};
struct kw_else : keyword<TAO_PEGTL_STRING("ELSE")> {};
struct kw_for : keyword<TAO_PEGTL_STRING("FOR")> {};
struct kw_wait : keyword<TAO_PEGTL_STRING("WAIT")> {};
struct kw_try : keyword<TAO_PEGTL_STRING("TRY")> {};
struct kw_catch : keyword<TAO_PEGTL_STRING("CATCH")> {};
struct kw_finally : keyword<TAO_PEGTL_STRING("FINALLY")> {};
struct kw_end : keyword<TAO_PEGTL_STRING("END")> {};
// clang-format on

// ---------------------------------------------------------------------------
// Commands. `plain_keyword` takes plain words; `json_keyword` also accepts a
// JSON string array (exec form), decided by the actions.

struct plain_keyword
    : sor<kw_from_dockerfile, kw_from, kw_locally, kw_copy, kw_save_artifact, kw_save_image,
          kw_expose, kw_build, kw_workdir, kw_user, kw_git_clone, kw_add, kw_stopsignal, kw_onbuild,
          kw_healthcheck, kw_shell, kw_do, kw_command, kw_function, kw_import, kw_cache, kw_host> {
};
struct json_keyword : sor<kw_run, kw_cmd, kw_entrypoint, kw_volume> {};
struct plain_command : seq<plain_keyword, args> {};
struct json_command : seq<json_keyword, args> {};

// ARG/LET/SET: flags and key, then `=` and a value whose inner whitespace
// is kept. ENV: a key, an optional `=`, a value.
struct kv_word : kv_atom {};
struct kv_equals : one<'='> {};
struct kv_value : seq<atom_part, star<atom_part>, star<seq<ws, atom>>> {};
struct kv_assignment : seq<opt<star<sp>>, kv_equals, opt<sor<seq<ws, opt<kv_value>>, kv_value>>> {};
struct kv_keyword : sor<kw_arg, kw_let, kw_set> {};
struct kv_command : seq<kv_keyword, opt<ws, list<kv_word, ws>, opt<kv_assignment>>> {};
struct env_value : seq<ws, seq<atom, star<seq<ws, atom>>>> {};
struct env_command : seq<kw_env, opt<ws, kv_word, sor<kv_assignment, opt<env_value>>>> {};
struct label_value : kv_atom {};
struct label_pair : seq<kv_word, star<sp>, kv_equals, star<sp>, label_value> {};
struct label_command : seq<kw_label, star<seq<ws, label_pair>>> {};
struct project_command : seq<kw_project, args> {};

struct command : sor<json_command, kv_command, plain_command, env_command, label_command> {};

// ---------------------------------------------------------------------------
// Blocks: closed by END, not by indentation; their lines may be indented
// or not.

struct statement;
struct header_line;
struct block_closer : seq<star<sp>, sor<kw_end, kw_else_if, kw_else, kw_catch, kw_finally>> {};
struct block_statement_line : seq<star<sp>, statement> {};
struct block_line
    : sor<comment_line, blank_line,
          seq<not_at<eof>, not_at<block_closer>, not_at<header_line>, block_statement_line>> {};
struct block_body : star<block_line> {};
struct end_tail : line_end {};
struct end_line : seq<star<sp>, kw_end, must<end_tail>> {};
struct block_end : must<end_line> {};

struct expression : seq<ws, words> {};
struct if_head : seq<kw_if, must<expression>, must<line_end>> {};
struct else_if_head : seq<star<sp>, kw_else_if, must<expression>, must<line_end>> {};
struct else_head : seq<star<sp>, kw_else, must<line_end>> {};
struct if_statement : seq<if_head, block_body, star<else_if_head, block_body>,
                          opt<else_head, block_body>, block_end> {};

struct for_args : seq<ws, words> {};
struct for_head : seq<kw_for, must<for_args>, must<line_end>> {};
struct for_statement : seq<for_head, block_body, block_end> {};

struct wait_head : seq<kw_wait, args, must<line_end>> {};
struct wait_statement : seq<wait_head, block_body, block_end> {};

struct docker_command : seq<kw_docker, args> {};
struct with_docker : seq<ws, docker_command> {};
struct with_head : seq<kw_with, must<with_docker>, must<line_end>> {};
struct with_statement : seq<with_head, block_body, block_end> {};

struct try_head : seq<kw_try, must<line_end>> {};
struct catch_head : seq<star<sp>, kw_catch, must<line_end>> {};
struct finally_head : seq<star<sp>, kw_finally, must<line_end>> {};
struct try_statement : seq<try_head, block_body, opt<catch_head, block_body>,
                           opt<finally_head, block_body>, block_end> {};

struct command_statement : seq<command, must<line_end>> {};
// What no statement may start with: each raises its own message.
struct stray_closer : sor<kw_end, kw_else_if, kw_else, kw_catch, kw_finally> {};
struct misplaced_version : kw_version {};
struct misplaced_project : kw_project {};
struct unknown_command : plus<not_one<' ', '\t', '\r', '\n'>> {};
struct statement_error : sor<seq<at<stray_closer>, tao::pegtl::raise<stray_closer>>,
                             seq<at<kw_version>, tao::pegtl::raise<misplaced_version>>,
                             seq<at<kw_project>, tao::pegtl::raise<misplaced_project>>,
                             tao::pegtl::raise<unknown_command>> {};
struct statement : sor<if_statement, for_statement, wait_statement, with_statement, try_statement,
                       command_statement, statement_error> {};

// ---------------------------------------------------------------------------
// Recipes, targets and functions.

struct target_name : seq<ascii::lower, star<sor<ascii::alnum, one<'.', '-'>>>> {};
struct function_name : seq<ascii::upper, star<sor<ascii::upper, ascii::digit, one<'.', '_'>>>> {};
struct target_header : seq<target_name, one<':'>> {};
struct function_header : seq<function_name, one<':'>> {};
struct header_line : seq<sor<target_name, function_name>, one<':'>> {};

// A recipe's own lines are indented; a line back at column 1 ends it.
struct recipe_statement_line : seq<plus<sp>, must<statement>> {};
struct recipe_line : sor<comment_line, blank_line, recipe_statement_line> {};
struct header_end : line_end {};
struct target : seq<target_header, must<header_end>, star<recipe_line>> {};
struct function : seq<function_header, must<header_end>, star<recipe_line>> {};

// Anything at the top level that is not a header: each raises its message.
struct bad_header : seq<plus<sor<ascii::alnum, one<'.', '-', '_'>>>, one<':'>> {};
struct spaced_header : seq<target_name, plus<sp>, one<':'>> {};
// The base recipe: unindented statements before the first header.
struct base_statement : sor<seq<project_command, must<line_end>>, statement> {};
struct header_error : sor<seq<at<spaced_header>, tao::pegtl::raise<spaced_header>>,
                          seq<at<bad_header>, tao::pegtl::raise<bad_header>>> {};
struct base_line
    : sor<comment_line, blank_line,
          seq<not_at<eof>, not_at<header_line>, not_at<sp>, sor<header_error, base_statement>>> {};
struct version_line : seq<kw_version, args, must<line_end>> {};

struct unindented_command : sor<plain_keyword, json_keyword, kv_keyword, kw_env, kw_label, kw_if,
                                kw_for, kw_wait, kw_try, kw_with> {};
struct indented_base_line : sp {};
struct top_level_error
    : sor<header_error, seq<at<unindented_command>, tao::pegtl::raise<unindented_command>>,
          seq<at<indented_base_line>, tao::pegtl::raise<indented_base_line>>,
          tao::pegtl::raise<top_level_error>> {};

struct section : sor<target, function> {};
struct section_line : sor<comment_line, blank_line, section> {};
struct earthfile_end : eof {};
struct earthfile : seq<opt<TAO_PEGTL_STRING("\xEF\xBB\xBF")>, star<sor<comment_line, blank_line>>,
                       opt<version_line>, star<base_line>, star<section_line>,
                       sor<earthfile_end, top_level_error>> {};

// Where parsing resumes after an error: the next header, the next line of a
// target's recipe, or the next line of the base recipe.
struct sections : seq<star<section_line>, sor<earthfile_end, top_level_error>> {};
struct recipe_rest : seq<star<recipe_line>, sections> {};
struct base_rest : seq<star<base_line>, sections> {};

} // namespace earth::grammar
