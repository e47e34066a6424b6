// RUN --secret and --mount type=secret (secrets.h).
#include "secrets.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "earth/base/fs.h"
#include "earth/base/strings.h"
#include "earth/base/subprocess.h"
#include "target_run.h"

namespace earth::build {

namespace {

void sort_longest_first(std::vector<std::string>& values) {
  std::sort(values.begin(), values.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

} // namespace

Redactor::Redactor(const std::map<std::string, std::string>& secrets) {
  auto& values = s_->values;
  for (const auto& [id, value] : secrets)
    if (!value.empty()) values.push_back(value);
  sort_longest_first(values);
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

void Redactor::add(const std::string& value) {
  if (value.find_first_not_of(" \t\r\n") == std::string::npos) return;
  std::lock_guard lock(s_->mu);
  auto& values = s_->values;
  if (std::find(values.begin(), values.end(), value) != values.end()) return;
  values.push_back(value);
  sort_longest_first(values);
}

void Redactor::scan(std::string_view text, const std::function<void(size_t, size_t)>& match) const {
  const auto& values = s_->values;
  // The next occurrence of each value at or after `pos` (npos: none left).
  std::vector<size_t> next(values.size());
  for (size_t i = 0; i < values.size(); ++i) next[i] = text.find(values[i]);
  for (size_t pos = 0; pos < text.size();) {
    size_t best = std::string_view::npos, len = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      if (next[i] < pos) next[i] = text.find(values[i], pos);
      if (next[i] < best) best = next[i], len = values[i].size(); // ties: the longest (first)
    }
    if (best == std::string_view::npos) return;
    match(best, best + len);
    pos = best + len;
  }
}

std::string Redactor::operator()(std::string_view text) const {
  std::string out;
  size_t at = 0;
  std::lock_guard lock(s_->mu);
  if (s_->values.empty()) return std::string(text);
  scan(text, [&](size_t begin, size_t end) {
    out.append(text.substr(at, begin - at)).append("***");
    at = end;
  });
  return out.append(text.substr(at));
}

bool Redactor::empty() const {
  std::lock_guard lock(s_->mu);
  return s_->values.empty();
}

bool Redactor::found_in(std::string_view text) const {
  std::lock_guard lock(s_->mu);
  for (const auto& v : s_->values)
    if (text.find(v) != std::string_view::npos) return true;
  return false;
}

size_t Redactor::ready(std::string_view text) const {
  std::lock_guard lock(s_->mu);
  const auto& values = s_->values;
  size_t n = text.size();
  size_t longest = values.empty() ? 0 : values.front().size();
  // The first position whose rest is a proper prefix of some value.
  size_t cut = n;
  for (size_t i = n - std::min(n, longest > 0 ? longest - 1 : 0); i < n && cut == n; ++i)
    for (const auto& v : values)
      if (n - i < v.size() && text.substr(i) == std::string_view(v).substr(0, n - i)) {
        cut = i;
        break;
      }
  // A value found across the cut ends in `text` (one that could go on
  // would start at or after the cut): the cut moves past it.
  scan(text, [&](size_t begin, size_t end) {
    if (begin < cut && end > cut) cut = end;
  });
  return cut;
}

void RedactedStatus::with(const output::StepInfo& step,
                          const std::function<void(const output::StepInfo&)>& f) {
  if (r_.empty()) return f(step);
  output::StepInfo s = step;
  s.target = r_(s.target);
  s.text = r_(s.text);
  f(s);
}

void RedactedStatus::step_failed(const output::StepInfo& step, const output::StepFailure& failure) {
  output::StepFailure f = failure;
  f.message = r_(f.message);
  f.hint = r_(f.hint);
  for (auto& l : f.tail) l = r_(l);
  with(step, [&](const auto& s) { inner_.step_failed(s, f); });
}

void RedactedStatus::build_finished(const output::BuildTotals& totals) {
  output::BuildTotals t = totals;
  t.error = r_(t.error);
  for (auto& n : t.notes) n = r_(n);
  for (auto& o : t.outputs) o.what = r_(o.what), o.target = r_(o.target);
  inner_.build_finished(t);
}

void RedactedLines::add(std::string_view bytes) {
  raw_.append(bytes);
  emit(false);
}

void RedactedLines::finish() {
  emit(true);
}

void RedactedLines::emit(bool all) {
  size_t n = all ? raw_.size() : redact_.ready(raw_);
  if (n > 0) {
    text_ += redact_(std::string_view(raw_).substr(0, n));
    raw_.erase(0, n);
  }
  std::string_view text = text_;
  size_t start = 0;
  for (;;) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    if (end - start >= kMaxLine) { // a long line goes in pieces
      sink_(text.substr(start, kMaxLine));
      start += kMaxLine;
    } else if (nl != std::string_view::npos) {
      sink_(text.substr(start, nl - start));
      start = nl + 1;
    } else {
      break;
    }
  }
  if (all && start < text.size()) sink_(text.substr(start));
  text_.erase(0, all ? text.size() : start);
}

Result<std::optional<std::string>> SecretStore::get(const std::string& id) {
  std::lock_guard lock(s_->mu);
  if (auto it = s_->values.find(id); it != s_->values.end()) return std::optional(it->second);
  if (provider_.empty() || s_->asked[id]) return std::optional<std::string>();
  s_->asked[id] = true;
  // `sh -c 'CMD "$1"' sh ID`: the id is one argument, never shell text.
  auto r = run_process({"sh", "-c", provider_ + " \"$1\"", "sh", id});
  if (!r)
    return Failure{fmt::format("secret '{}': the secret provider '{}' cannot run: {}", id,
                               provider_, r.error())};
  if (r->exit_status != 0)
    return Failure{fmt::format("secret '{}': the secret provider '{}' exited with status {}", id,
                               provider_, r->exit_status)};
  std::string value = std::move(r->out);
  if (value.ends_with('\n')) value.pop_back();
  redact_.add(value);
  s_->values[id] = value;
  return std::optional(std::move(value));
}

namespace {

std::string secret_value(TargetRun& t, const syntax::Command& cmd, const std::string& id,
                         std::string_view how) {
  auto v = t.ctx().secrets.get(id);
  if (!v) t.fail(cmd, fmt::format("{}: {}", how, v.error()));
  if (!*v)
    t.fail(cmd, fmt::format("{}: no secret '{}' was given; pass it with --secret {}=VALUE, "
                            "--secret-file {}=PATH, a .secret file, EARTH_SECRETS or the "
                            "config file's global.secret_provider",
                            how, id, id, id));
  return std::move(**v);
}

bool is_tmpfs(const char* dir) {
  struct statfs sf;
  return ::statfs(dir, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

} // namespace

std::string secret_tmp_root() {
  for (const char* d : {"/dev/shm", "/run"})
    if (is_tmpfs(d) && ::access(d, W_OK) == 0) return d;
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

StepSecrets::~StepSecrets() {
  remove_files();
}

void StepSecrets::remove_files() {
  if (!dir_.empty()) (void)fs::remove_all(dir_);
  dir_.clear();
}

void StepSecrets::add_env(TargetRun& t, const syntax::Command& cmd, const std::string& spec) {
  size_t eq = spec.find('=');
  std::string name = spec.substr(0, eq);
  std::string id = eq == std::string::npos ? name : spec.substr(eq + 1);
  if (id.starts_with("+secrets/")) id.erase(0, 9); // Earthly's old spelling
  if (name.empty()) t.fail(cmd, fmt::format("--secret {}: needs NAME=id or id", spec));
  key_specs_.push_back("env:" + name + "=" + id);
  if (id.empty()) return; // `--secret NAME=""` switches the secret off
  env_.emplace_back(name, secret_value(t, cmd, id, "RUN --secret " + spec));
}

void StepSecrets::add_file(TargetRun& t, const syntax::Command& cmd, const std::string& id,
                           const std::string& target, mode_t mode, const std::string& uid,
                           const std::string& gid) {
  if (id.empty()) t.fail(cmd, "RUN --mount type=secret needs id=SECRET");
  auto number = [&](const std::string& v, const char* what) {
    char* end = nullptr;
    unsigned long n = std::strtoul(v.c_str(), &end, 10);
    if (v.empty() || *end || n > 0xfffffffeul)
      t.fail(cmd, fmt::format("RUN --mount type=secret: {} must be a number, not '{}'", what, v));
    return static_cast<uint32_t>(n);
  };
  File f{target, secret_value(t, cmd, id, "RUN --mount type=secret,id=" + id), mode,
         number(uid, "uid"), number(gid, "gid")};
  std::string spec = fmt::format("file:{}:{}:{:o}", target, id, mode);
  if (f.uid || f.gid) spec += fmt::format(":{}:{}", f.uid, f.gid);
  key_specs_.push_back(std::move(spec));
  files_.push_back(std::move(f));
}

namespace {

// The values of an AWS credentials or config file's secret keys
// (`aws_secret_access_key = …`), for the Redactor.
std::vector<std::string> aws_file_secrets(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& line : split(text, '\n')) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string_view key = trim(std::string_view(line).substr(0, eq));
    if (key == "aws_access_key_id" || key == "aws_secret_access_key" || key == "aws_session_token")
      out.emplace_back(trim(std::string_view(line).substr(eq + 1)));
  }
  return out;
}

} // namespace

void StepSecrets::add_aws(TargetRun& t, const syntax::Command& cmd) {
  key_specs_.push_back("aws");
  bool found = false;
  for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})
    if (const char* v = std::getenv(name); v && *v) {
      t.ctx().redact.add(v);
      env_.emplace_back(name, v);
      found = true;
    }
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"})
    if (const char* v = std::getenv(name); v && *v) env_.emplace_back(name, v);
  const char* home = std::getenv("HOME");
  auto file = [&](const char* var, const char* base) {
    const char* set = std::getenv(var);
    std::string path = set && *set     ? set
                       : home && *home ? fs::join(home, fs::join(".aws", base))
                                       : "";
    if (path.empty() || !fs::exists(path) || fs::is_dir(path)) return;
    auto text = fs::read_file(path);
    if (!text) t.fail(cmd, fmt::format("RUN --aws: {}", text.error()));
    for (const auto& v : aws_file_secrets(*text)) t.ctx().redact.add(v);
    files_.push_back({fs::join("/root/.aws", base), std::move(*text), 0400, 0, 0});
    found = true;
  };
  file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
  file("AWS_CONFIG_FILE", "config");
  if (!found)
    t.fail(cmd, "RUN --aws: no AWS credentials here: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or write ~/.aws/credentials");
}

void StepSecrets::add_to_env(std::vector<std::string>& env) const {
  for (const auto& [name, value] : plain_env_)
    if (std::none_of(env.begin(), env.end(),
                     [&](const std::string& e) { return e.starts_with(name + "="); }))
      env.push_back(name + "=" + value);
  for (const auto& [name, value] : env_) {
    std::erase_if(env, [&](const std::string& e) { return e.starts_with(name + "="); });
    env.push_back(name + "=" + value);
  }
}

namespace {

// Removes the secret dirs of earth processes that died before removing
// them (kill -9): their names carry the pid.
void remove_stale_dirs(const std::string& root) {
  auto names = fs::list_dir(root);
  if (!names) return;
  for (const auto& n : *names) {
    if (!n.starts_with("earth-secrets-")) continue;
    pid_t pid = static_cast<pid_t>(std::atol(n.c_str() + 14));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) (void)fs::remove_all(fs::join(root, n));
  }
}

} // namespace

Result<void> StepSecrets::mount(exec::RunSpec& spec) {
  if (files_.empty()) return {};
  std::string root = secret_tmp_root();
  remove_stale_dirs(root);
  std::string pattern = fs::join(root, fmt::format("earth-secrets-{}-XXXXXX", ::getpid()));
  if (!::mkdtemp(pattern.data())) return Failure{errno_message("mkdtemp " + pattern, errno)};
  dir_ = pattern;
  for (size_t i = 0; i < files_.size(); ++i) {
    const File& f = files_[i];
    std::string path = fs::join(dir_, std::to_string(i));
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Failure{errno_message("create a secret file in " + dir_, errno)};
    bool ok = ::write(fd, f.value.data(), f.value.size()) == static_cast<ssize_t>(f.value.size());
    ok &= ::fchown(fd, f.uid, f.gid) == 0 && ::fchmod(fd, f.mode) == 0;
    ::close(fd);
    if (!ok) return Failure{"cannot write the secret file for " + f.target};
    spec.mounts.push_back({path, f.target, true});
  }
  return {};
}

} // namespace earth::build
