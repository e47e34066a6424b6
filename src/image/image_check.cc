#include "image_check.h"

#include <sys/stat.h>

#include "earth/image/manifest.h"

namespace earth::image {

namespace {

// -1 when missing.
int64_t blob_size(const store::BlobStore& blobs, const Digest& d) {
  struct stat st {};
  return ::stat(blobs.path(d).c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

} // namespace

Result<bool> check_image(const Digest& digest, const store::BlobStore& blobs) {
  if (!blobs.has(digest)) return false;
  auto text = blobs.get(digest);
  if (!text) return false;
  auto m = parse_manifest(*text);
  if (!m) return Failure{"manifest " + digest.oci() + ": " + m.error()};
  std::vector<std::pair<const char*, const Descriptor*>> all = {{"config", &m->config}};
  for (const auto& l : m->layers) all.emplace_back("layer", &l);
  for (const auto& [what, desc] : all) {
    int64_t size = blob_size(blobs, desc->digest);
    if (size < 0) return false;
    if (size != desc->size)
      return Failure{"manifest " + digest.oci() + ": " + what + " " + desc->digest.oci() +
                     " is declared as " + std::to_string(desc->size) + " bytes but has " +
                     std::to_string(size)};
  }
  auto config_text = blobs.get(m->config.digest);
  if (!config_text) return false;
  auto config = parse_config(*config_text);
  if (!config) return Failure{"config " + m->config.digest.oci() + ": " + config.error()};
  if (config->diff_ids.size() != m->layers.size())
    return Failure{"manifest " + digest.oci() + ": the config lists " +
                   std::to_string(config->diff_ids.size()) + " diff_ids for " +
                   std::to_string(m->layers.size()) + " layers"};
  return true;
}

} // namespace earth::image
