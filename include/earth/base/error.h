// Errors: the two tiers of STYLE.md rule 11. Expected failures travel as
// Result<T>; user errors and fatal conditions are thrown as earth::Error and
// caught once, in main, which maps them to an exit code.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace earth {

// Exit codes shared by every subcommand (docs/cli.md). The last two are
// not statuses of their own: main maps them.
enum class ExitCode : int {
  ok = 0,
  build_failed = 1, // a step failed, an output could not be written
  usage_error = 2,  // bad flag, command or target, a broken Earthfile or config file
  interrupted = 130,
  // A user mistake: a usage error (2) until the command starts its work (the
  // build, a pull), a failure of that work (1) after (cli::start_work).
  user_error = -1,
  internal_error = -2, // a bug or an environment earth cannot work in: 1
};

// A failure a user can act on. `what()` is the whole rendered message.
class Error : public std::runtime_error {
public:
  explicit Error(std::string message, ExitCode code = ExitCode::user_error)
      : std::runtime_error(std::move(message)), code_(code) {}
  ExitCode code() const { return code_; }

private:
  ExitCode code_;
};

// An error value for Result<T>: a message, optionally with the path or
// errno involved already folded into it.
struct Failure {
  std::string message;
};

// Result<T>: a value or a Failure. Small on purpose; std::expected is C++23.
template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : v_(std::move(value)) {}
  Result(Failure f) : v_(std::move(f)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return check(), std::get<0>(v_); }
  T&& value() && { return check(), std::get<0>(std::move(v_)); }
  const T& value() const& { return check(), std::get<0>(v_); }
  T& operator*() & { return value(); }
  T* operator->() { return &value(); }
  const std::string& error() const { return std::get<1>(v_).message; }
  // The value, or throw the failure as an earth::Error.
  T take() && {
    if (!ok()) throw Error(error());
    return std::get<0>(std::move(v_));
  }

private:
  void check() const {
    if (!ok()) throw Error(std::get<1>(v_).message, ExitCode::internal_error);
  }
  std::variant<T, Failure> v_;
};

template <> class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Failure f) : failure_(std::move(f)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const std::string& error() const { return failure_.message; }
  void take() && {
    if (!ok_) throw Error(failure_.message);
  }

private:
  Failure failure_;
  bool ok_ = true;
};

// "what: strerror(errno)" for system call failures.
std::string errno_message(const std::string& what, int err);

} // namespace earth
