#include "earth/store/image_index.h"

#include <nlohmann/json.hpp>

#include "earth/base/fs.h"
#include "earth/store/file_lock.h"

namespace earth::store {

namespace {

using Names = std::map<std::string, Digest>;

Result<Names> parse_index(const std::string& file, const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Failure{file + ": not a JSON object"};
  if (j.value("version", 0) != ImageIndex::version)
    return Failure{file + ": unsupported image index version " +
                   j.value("version", nlohmann::json()).dump()};
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
  return parse_index(file_, *text);
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
  auto names = load();
  if (!names) return Failure{names.error()};
  (*names)[name] = manifest;
  return fs::write_file_atomic(file_, render_index(*names));
}

Result<bool> ImageIndex::remove(const std::string& name) {
  auto lock = FileLock::acquire(lock_);
  if (!lock) return Failure{lock.error()};
  auto names = load();
  if (!names) return Failure{names.error()};
  if (names->erase(name) == 0) return false;
  if (auto r = fs::write_file_atomic(file_, render_index(*names)); !r) return Failure{r.error()};
  return true;
}

} // namespace earth::store
