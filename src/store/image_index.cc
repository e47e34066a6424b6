#include "earth/store/image_index.h"

#include <nlohmann/json.hpp>

#include <cstdio>

#include "earth/base/fs.h"
#include "earth/store/file_lock.h"

namespace earth::store {

namespace {

using Names = std::map<std::string, Digest>;

// Whether `text` is damaged (empty, truncated, not JSON) rather than well-formed
// but unusable (another version): damage is repaired, the rest refused.
bool damaged(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() || !j.is_object();
}

Result<Names> parse_index(const std::string& file, const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Failure{file + ": not a JSON object"};
  if (j.value("version", 0) != ImageIndex::version)
    return Failure{file + ": unsupported image index version " +
                   j.value("version", nlohmann::json()).dump() + " (this earth reads version " +
                   std::to_string(ImageIndex::version) +
                   "); use another cache dir (EARTH_CACHE_DIR), or move the file away to forget "
                   "the image names and import or pull them again"};
  Names names;
  auto images = j.value("images", nlohmann::json::object());
  if (!images.is_object()) return Failure{file + ": \"images\" is not an object"};
  for (auto& [name, entry] : images.items()) {
    auto digest = entry.is_object() && entry.contains("manifest") && entry["manifest"].is_string()
                      ? Digest::parse(entry["manifest"].get<std::string>())
                      : std::nullopt;
    if (!digest) return Failure{file + ": bad manifest digest for " + name};
    names.emplace(name, *digest);
  }
  return names;
}

// The entries still readable in a damaged file: every complete
// `"NAME": {"manifest": "sha256:HEX"}` in it, as render_index writes them.
Names salvage(const std::string& text) {
  Names names;
  static const std::string key = "\"manifest\"";
  for (size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + 1)) {
    size_t open = text.rfind('{', pos);
    size_t name_end = open == std::string::npos ? open : text.rfind('"', open);
    size_t name_start = name_end == std::string::npos || name_end == 0
                            ? std::string::npos
                            : text.rfind('"', name_end - 1);
    size_t value = text.find('"', pos + key.size());
    size_t value_end = value == std::string::npos ? value : text.find('"', value + 1);
    if (name_start == std::string::npos || value_end == std::string::npos) continue;
    auto digest = Digest::parse(text.substr(value + 1, value_end - value - 1));
    std::string name = text.substr(name_start + 1, name_end - name_start - 1);
    if (digest && !name.empty() && name.find_first_of("\\{}\n") == std::string::npos)
      names.emplace(name, *digest);
  }
  return names;
}

std::string render_index(const Names& names) {
  nlohmann::json images = nlohmann::json::object();
  for (const auto& [name, digest] : names) images[name] = {{"manifest", digest.oci()}};
  nlohmann::json j = {{"version", ImageIndex::version}, {"images", images}};
  return j.dump(2) + "\n";
}

} // namespace

ImageIndex::ImageIndex(std::string cache_dir)
    : file_(fs::join(cache_dir, "images.json")), lock_(fs::join(cache_dir, "images.lock")) {}

Result<Names> ImageIndex::load() const {
  if (!fs::exists(file_)) return Names{};
  auto text = fs::read_file(file_);
  if (!text) return Failure{text.error()};
  if (damaged(*text)) return repair();
  return parse_index(file_, *text);
}

// load() for a writer holding the lock. A damaged file is kept as
// images.json.damaged and what can still be read of it returned, with a
// warning and `salvaged` set; the caller's write then replaces it.
Result<Names> ImageIndex::load_locked(bool* salvaged) const {
  if (!fs::exists(file_)) return Names{};
  auto text = fs::read_file(file_);
  if (!text) return Failure{text.error()};
  if (!damaged(*text)) return parse_index(file_, *text);
  if (salvaged) *salvaged = true;
  Names names = salvage(*text);
  std::string backup = file_ + ".damaged";
  if (auto r = fs::write_file_atomic(backup, *text); !r)
    return Failure{file_ + " is damaged and cannot be backed up: " + r.error() +
                   "; move it away to start over"};
  std::fprintf(stderr,
               "earth: warning: %s was damaged (%s); recovered %zu image name(s), kept the damaged "
               "file as %s; pull or import any image that is missing\n",
               file_.c_str(), text->empty() ? "empty" : "truncated or not JSON", names.size(),
               backup.c_str());
  return names; // the caller's write replaces the damaged file
}

// Repairs a damaged file for a reader: under the lock, as a writer would.
Result<Names> ImageIndex::repair() const {
  auto lock = FileLock::acquire(lock_);
  if (!lock) return Failure{lock.error()};
  auto names = load_locked();
  if (!names) return Failure{names.error()};
  if (auto r = write_locked(*names); !r)
    return Failure{file_ + " is damaged and cannot be rewritten: " + r.error()};
  return names;
}

// For a writer holding the lock.
Result<void> ImageIndex::write_locked(const Names& names) const {
  if (watch_) watch_->rewriting(file_);
  auto r = fs::write_file_atomic(file_, render_index(names));
  if (watch_) watch_->rewritten(file_);
  return r;
}

Result<std::optional<Digest>> ImageIndex::get(const std::string& name) const {
  auto names = load();
  if (!names) return Failure{names.error()};
  auto it = names->find(name);
  if (it == names->end()) return std::optional<Digest>();
  return std::optional<Digest>(it->second);
}

Result<void> ImageIndex::set(const std::string& name, const Digest& manifest) {
  auto lock = FileLock::acquire(lock_);
  if (!lock) return Failure{lock.error()};
  bool salvaged = false;
  auto names = load_locked(&salvaged);
  if (!names) return Failure{names.error()};
  auto [it, added] = names->try_emplace(name, manifest);
  if (!added && !salvaged && it->second == manifest) return {};
  it->second = manifest;
  return write_locked(*names);
}

Result<bool> ImageIndex::remove(const std::string& name) {
  auto lock = FileLock::acquire(lock_);
  if (!lock) return Failure{lock.error()};
  auto names = load_locked();
  if (!names) return Failure{names.error()};
  if (names->erase(name) == 0) return false;
  if (auto r = write_locked(*names); !r) return Failure{r.error()};
  return true;
}

} // namespace earth::store
