// Secrets in the engine (docs/language.md "Secrets"): `RUN --secret NAME=id`
// (an environment variable of the step) and `RUN --mount type=secret,id=…,
// target=…` (a read-only file on a tmpfs). A step's key holds the ids and
// where they go, never the values, so a new value reuses the cached step
// (Earthly's rule); every line earth shows passes through the Redactor.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earth/base/error.h"
#include "earth/exec/runtime.h"
#include "earth/output/status.h"
#include "earth/syntax/ast.h"

namespace earth::build {

class TargetRun;

// Replaces every secret value in a text with ***: left to right, the
// longest value at a position first. Thread-safe: values a secret provider
// returns, and secret-derived values (the output of a shell-out that could
// read a secret, docs/language.md "Secrets"), are added as they arrive.
class Redactor {
public:
  Redactor() = default;
  explicit Redactor(const std::map<std::string, std::string>& secrets);
  Redactor(const Redactor&) = delete;
  Redactor& operator=(const Redactor&) = delete;
  std::string operator()(std::string_view text) const;
  // A value empty or only whitespace is not added (it would hide nothing).
  void add(const std::string& value);
  // Whether `text` holds a value.
  bool found_in(std::string_view text) const;
  bool empty() const;
  // From now on this and `other` are one redactor (a nested build's and
  // the build's): a value added to either is known to both.
  void share(const Redactor& other) { s_ = other.s_; }
  // For output still coming (`text` is what has arrived): how much of it
  // can be redacted and shown now. What is left is a tail that could be
  // the start of a secret the next bytes complete; no secret that starts in
  // the prefix ends after it.
  size_t ready(std::string_view text) const;

private:
  struct State {
    std::mutex mu;
    std::vector<std::string> values; // longest first, so a value inside another goes with it
  };
  // Calls `match(begin, end)` for each value found, in order (lock held).
  void scan(std::string_view text, const std::function<void(size_t, size_t)>& match) const;

  std::shared_ptr<State> s_ = std::make_shared<State>();
};

// What the engine shows, through `redact` on its way to `inner` (the
// printers, the request journal's recorder): target names, step texts,
// output lines, failures, the summary's error and notes. A value the build
// derives from a secret may be part of any of them (an error naming an
// expanded path); output lines are redacted as a stream before (OutputTail)
// and again here, which changes nothing unless a value arrived since.
class RedactedStatus : public output::Status {
public:
  RedactedStatus(output::Status& inner, const Redactor& redact) : inner_(inner), r_(redact) {}
  void target_queued(std::string_view target) override { inner_.target_queued(r_(target)); }
  void target_started(std::string_view target) override { inner_.target_started(r_(target)); }
  void target_finished(std::string_view target, bool all_cached, output::Duration took) override {
    inner_.target_finished(r_(target), all_cached, took);
  }
  void target_failed(std::string_view target) override { inner_.target_failed(r_(target)); }
  void step_started(const output::StepInfo& step) override {
    with(step, [&](const auto& s) { inner_.step_started(s); });
  }
  void step_cached(const output::StepInfo& step, output::Duration last_took) override {
    with(step, [&](const auto& s) { inner_.step_cached(s, last_took); });
  }
  void step_finished(const output::StepInfo& step, output::Duration took) override {
    with(step, [&](const auto& s) { inner_.step_finished(s, took); });
  }
  void step_failed(const output::StepInfo& step, const output::StepFailure& failure) override;
  void step_output(const output::StepInfo& step, std::string_view line) override {
    with(step, [&](const auto& s) { inner_.step_output(s, r_(line)); });
  }
  void build_finished(const output::BuildTotals& totals) override;

private:
  // Calls `f` with `step`, redacted when there is anything to redact (no
  // copy on the common path: a build without secrets).
  void with(const output::StepInfo& step, const std::function<void(const output::StepInfo&)>& f);

  output::Status& inner_;
  const Redactor& r_;
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
      : provider_(std::move(provider)), redact_(redact) {
    s_->values = given;
  }
  // The value of `id`; nullopt when neither given nor provided. A provider
  // that cannot run or fails is an error naming the id, never the value.
  Result<std::optional<std::string>> get(const std::string& id);
  // From now on this and `other` are one store (a nested build's and the
  // build's): the provider is asked once per id per build.
  void share(const SecretStore& other) { s_ = other.s_; }

private:
  struct State {
    std::mutex mu;
    std::map<std::string, std::string> values;
    std::map<std::string, bool> asked; // ids the provider was asked for
  };
  std::shared_ptr<State> s_ = std::make_shared<State>();
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
