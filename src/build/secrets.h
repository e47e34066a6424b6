// Secrets in the engine (docs/language.md "Secrets"): `RUN --secret NAME=id`
// (an environment variable of the step) and `RUN --mount type=secret,id=…,
// target=…` (a read-only file on a tmpfs). A step's key holds the ids and
// where they go, never the values, so a new value reuses the cached step
// (Earthly's rule); every line earth shows passes through the Redactor.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earth/base/error.h"
#include "earth/exec/runtime.h"
#include "earth/syntax/ast.h"

namespace earth::build {

class TargetRun;

// Replaces every secret value in a text with ***: left to right, the
// longest value at a position first. Thread-safe: values a secret provider
// returns during the build are added as they arrive.
class Redactor {
public:
  Redactor() = default;
  explicit Redactor(const std::map<std::string, std::string>& secrets);
  std::string operator()(std::string_view text) const;
  void add(const std::string& value);
  // For output still coming (`text` is what has arrived): how much of it
  // can be redacted and shown now. What is left is a tail that could be
  // the start of a secret the next bytes complete; no secret that starts in
  // the prefix ends after it.
  size_t ready(std::string_view text) const;

private:
  // Calls `match(begin, end)` for each value found, in order (lock held).
  void scan(std::string_view text, const std::function<void(size_t, size_t)>& match) const;

  mutable std::mutex mu_;
  std::vector<std::string> values_; // longest first, so a value inside another goes with it
};

// One stream of a command's output (its stdout or its stderr), redacted as
// a stream and then split into lines for `sink`: a secret split between
// two reads, or between the pieces of a line longer than kMaxLine, or
// spanning lines, is still replaced. Only bytes that could start a secret
// wait for the next ones; a line longer than kMaxLine goes out in pieces.
class RedactedLines {
public:
  static constexpr size_t kMaxLine = 64 * 1024;
  RedactedLines(const Redactor& redact, exec::LineSink sink)
      : redact_(redact), sink_(std::move(sink)) {}
  void add(std::string_view bytes);
  // At the end of the stream: what is left, as a last line.
  void finish();

private:
  void emit(bool all);

  const Redactor& redact_;
  exec::LineSink sink_;
  std::string raw_;  // arrived, not yet redacted (could start a secret)
  std::string text_; // redacted, not yet a whole line
};

// The build's secrets: those given (request/secrets.h), then, for an id
// not given, what the config file's `global.secret_provider` command prints
// when called with the id as its argument (asked once per id per build;
// one trailing newline dropped). Every value reaches the Redactor.
class SecretStore {
public:
  SecretStore(const std::map<std::string, std::string>& given, std::string provider,
              Redactor& redact)
      : values_(given), provider_(std::move(provider)), redact_(redact) {}
  // The value of `id`; nullopt when neither given nor provided. A provider
  // that cannot run or fails is an error naming the id, never the value.
  Result<std::optional<std::string>> get(const std::string& id);

private:
  std::mutex mu_;
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> asked_; // ids the provider was asked for
  std::string provider_;
  Redactor& redact_;
};

// The secrets one RUN (or LOCALLY RUN) asked for.
class StepSecrets {
public:
  StepSecrets() = default;
  StepSecrets(const StepSecrets&) = delete;
  StepSecrets& operator=(const StepSecrets&) = delete;
  ~StepSecrets();

  // `--secret NAME=id` or `--secret id` (NAME = id), already expanded; an
  // empty id (`--secret NAME=`) switches it off. A missing secret is a
  // located error naming its id.
  void add_env(TargetRun& t, const syntax::Command& cmd, const std::string& spec);
  // `--mount type=secret,id=…,target=…[,mode=…][,uid=…][,gid=…]`: `target`
  // is absolute; `uid`/`gid` are numbers (owner of the file, default root).
  void add_file(TargetRun& t, const syntax::Command& cmd, const std::string& id,
                const std::string& target, mode_t mode, const std::string& uid = "0",
                const std::string& gid = "0");
  // RUN --aws: the host's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
  // AWS_SESSION_TOKEN (redacted), AWS_REGION, AWS_DEFAULT_REGION and
  // AWS_PROFILE as variables, and its credentials and config files
  // ($AWS_SHARED_CREDENTIALS_FILE, $AWS_CONFIG_FILE, else ~/.aws/…) as
  // secret files at /root/.aws/ (their key values redacted). Only "aws"
  // enters the key. None of these is a located error.
  void add_aws(TargetRun& t, const syntax::Command& cmd);
  // What enters the step's key: ids, variable names, targets and modes.
  const std::vector<std::string>& key_specs() const { return key_specs_; }
  bool empty() const { return env_.empty() && files_.empty(); }
  // A variable that is no secret and enters no key, given with them
  // (SSH_AUTH_SOCK for an ssh agent socket: its path is the same whether
  // the step forwards the agent or not, and Earthly does not key it).
  void add_plain_env(std::string name, std::string value) {
    plain_env_.emplace_back(std::move(name), std::move(value));
  }
  // `NAME=value` entries, replacing variables of the same name in `env`.
  void add_to_env(std::vector<std::string>& env) const;
  // Writes the files into a fresh directory on a tmpfs (mode 0700, named
  // earth-secrets-<pid>-…) and binds each read-only at its target; they are
  // removed by the destructor, or by a later earth when this one was killed.
  Result<void> mount(exec::RunSpec& spec);
  // Removes the files mount() wrote (the destructor does too).
  void remove_files();

private:
  struct File {
    std::string target;
    std::string value;
    mode_t mode;
    uid_t uid;
    gid_t gid;
  };
  std::vector<std::pair<std::string, std::string>> env_; // (NAME, value)
  std::vector<std::pair<std::string, std::string>> plain_env_;
  std::vector<File> files_;
  std::vector<std::string> key_specs_;
  std::string dir_; // the tmpfs directory holding the files, once written
};

// The directory secret files are written under: /dev/shm or /run when they
// are tmpfs (so a value never reaches a disk), else the temp dir.
std::string secret_tmp_root();

} // namespace earth::build
