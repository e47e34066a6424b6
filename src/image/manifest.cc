#include "earth/image/manifest.h"

#include <sys/utsname.h>

namespace earth::image {

using nlohmann::json;

namespace {

std::string str_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> str_list(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::map<std::string, std::string> str_map(const json& j, const char* key) {
  std::map<std::string, std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items())
    if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

std::vector<std::string> key_list(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) out.push_back(k);
  return out;
}

Result<json> parse_object(std::string_view text, const char* what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Failure{std::string(what) + " is not a JSON object"};
  return j;
}

Result<Descriptor> parse_descriptor(const json& j, const char* what) {
  if (!j.is_object()) return Failure{std::string(what) + ": descriptor is not an object"};
  Descriptor d;
  d.media_type = str_field(j, "mediaType");
  auto digest = Digest::parse(str_field(j, "digest"));
  if (!digest) return Failure{std::string(what) + ": missing or non-sha256 digest"};
  d.digest = *digest;
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0)
    return Failure{std::string(what) + ": missing or negative size"};
  d.size = size->get<int64_t>();
  if (auto p = j.find("platform"); p != j.end() && p->is_object())
    d.platform =
        Platform{str_field(*p, "os"), str_field(*p, "architecture"), str_field(*p, "variant")};
  d.annotations = str_map(j, "annotations");
  return d;
}

void put_if(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

} // namespace

bool is_index_media_type(std::string_view mt) {
  return mt == media::oci_index || mt == media::docker_list;
}

bool is_manifest_media_type(std::string_view mt) {
  return mt == media::oci_manifest || mt == media::docker_manifest;
}

Platform host_platform() {
  Platform p;
  struct utsname u {};
  if (::uname(&u) == 0) {
    std::string m = u.machine;
    if (m == "aarch64")
      p.architecture = "arm64", p.variant = "v8";
    else if (m == "x86_64")
      p.architecture = "amd64";
  }
  return p;
}

std::string sniff_media_type(const json& doc) {
  std::string mt = str_field(doc, "mediaType");
  if (!mt.empty()) return mt;
  return doc.contains("manifests") ? media::oci_index : media::oci_manifest;
}

Result<Manifest> parse_manifest(std::string_view text) {
  auto j = parse_object(text, "image manifest");
  if (!j) return Failure{j.error()};
  Manifest m;
  m.media_type = sniff_media_type(*j);
  if (!is_manifest_media_type(m.media_type))
    return Failure{"unsupported manifest media type " + m.media_type};
  // Schema 2 is the only one whose fields mean what is read below.
  if (auto v = j->find("schemaVersion"); v != j->end() && *v != 2)
    return Failure{"unsupported image manifest schemaVersion " + v->dump()};
  auto config = j->find("config");
  if (config == j->end()) return Failure{"image manifest has no config"};
  auto c = parse_descriptor(*config, "manifest config");
  if (!c) return Failure{c.error()};
  m.config = *c;
  auto layers = j->find("layers");
  if (layers == j->end() || !layers->is_array()) return Failure{"image manifest has no layers"};
  for (const auto& l : *layers) {
    auto d = parse_descriptor(l, "manifest layer");
    if (!d) return Failure{d.error()};
    m.layers.push_back(*d);
  }
  m.annotations = str_map(*j, "annotations");
  return m;
}

Result<Index> parse_index(std::string_view text) {
  auto j = parse_object(text, "image index");
  if (!j) return Failure{j.error()};
  Index idx;
  idx.media_type = sniff_media_type(*j);
  auto list = j->find("manifests");
  if (list == j->end() || !list->is_array()) return Failure{"image index has no manifests"};
  for (const auto& l : *list) {
    auto d = parse_descriptor(l, "index entry");
    if (!d) return Failure{d.error()};
    idx.manifests.push_back(*d);
  }
  idx.annotations = str_map(*j, "annotations");
  return idx;
}

Result<ImageConfig> parse_config(std::string_view text) {
  auto j = parse_object(text, "image config");
  if (!j) return Failure{j.error()};
  ImageConfig c;
  c.raw = *j;
  c.platform =
      Platform{str_field(*j, "os"), str_field(*j, "architecture"), str_field(*j, "variant")};
  if (auto rc = j->find("config"); rc != j->end() && rc->is_object()) {
    auto& r = c.config;
    r.env = str_list(*rc, "Env");
    r.working_dir = str_field(*rc, "WorkingDir");
    r.user = str_field(*rc, "User");
    r.entrypoint = str_list(*rc, "Entrypoint");
    r.cmd = str_list(*rc, "Cmd");
    r.labels = str_map(*rc, "Labels");
    r.exposed_ports = key_list(*rc, "ExposedPorts");
    r.volumes = key_list(*rc, "Volumes");
    r.stop_signal = str_field(*rc, "StopSignal");
    if (auto hc = rc->find("Healthcheck"); hc != rc->end() && hc->is_object())
      r.healthcheck = hc->dump();
  }
  auto rootfs = j->find("rootfs");
  if (rootfs == j->end() || !rootfs->is_object()) return Failure{"image config has no rootfs"};
  for (const auto& id : str_list(*rootfs, "diff_ids")) {
    auto d = Digest::parse(id);
    if (!d) return Failure{"image config: bad diff_id " + id};
    c.diff_ids.push_back(*d);
  }
  return c;
}

json descriptor_json(const Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest.oci()}, {"size", d.size}};
  if (d.platform) {
    json p = {{"os", d.platform->os}, {"architecture", d.platform->architecture}};
    put_if(p, "variant", d.platform->variant);
    j["platform"] = p;
  }
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  return j;
}

std::string to_json(const Manifest& m) {
  json layers = json::array();
  for (const auto& l : m.layers) layers.push_back(descriptor_json(l));
  json j = {{"schemaVersion", 2},
            {"mediaType", m.media_type},
            {"config", descriptor_json(m.config)},
            {"layers", layers}};
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j.dump();
}

std::string to_json(const Index& i) {
  json list = json::array();
  for (const auto& d : i.manifests) list.push_back(descriptor_json(d));
  json j = {{"schemaVersion", 2}, {"mediaType", i.media_type}, {"manifests", list}};
  if (!i.annotations.empty()) j["annotations"] = i.annotations;
  return j.dump();
}

std::string to_json(const ImageConfig& c) {
  json j = c.raw.is_object() ? c.raw : json::object();
  j["os"] = c.platform.os;
  j["architecture"] = c.platform.architecture;
  if (!c.platform.variant.empty()) j["variant"] = c.platform.variant;
  json rc = j.contains("config") && j["config"].is_object() ? j["config"] : json::object();
  const auto& r = c.config;
  auto set_list = [&](const char* key, const std::vector<std::string>& v) {
    if (v.empty())
      rc.erase(key);
    else
      rc[key] = v;
  };
  auto set_str = [&](const char* key, const std::string& v) {
    if (v.empty())
      rc.erase(key);
    else
      rc[key] = v;
  };
  auto set_keys = [&](const char* key, const std::vector<std::string>& v) {
    if (v.empty()) return (void)rc.erase(key);
    json o = json::object();
    for (const auto& k : v) o[k] = json::object();
    rc[key] = o;
  };
  set_list("Env", r.env);
  set_str("WorkingDir", r.working_dir);
  set_str("User", r.user);
  set_list("Entrypoint", r.entrypoint);
  set_list("Cmd", r.cmd);
  if (r.labels.empty())
    rc.erase("Labels");
  else
    rc["Labels"] = r.labels;
  set_keys("ExposedPorts", r.exposed_ports);
  set_keys("Volumes", r.volumes);
  set_str("StopSignal", r.stop_signal);
  if (r.healthcheck.empty())
    rc.erase("Healthcheck");
  else
    rc["Healthcheck"] = json::parse(r.healthcheck);
  j["config"] = rc;
  json ids = json::array();
  for (const auto& d : c.diff_ids) ids.push_back(d.oci());
  j["rootfs"] = {{"type", "layers"}, {"diff_ids", ids}};
  return j.dump();
}

Result<Descriptor> select_platform(const Index& index, const Platform& want) {
  const Descriptor* fallback = nullptr;
  std::string offered;
  for (const auto& d : index.manifests) {
    if (!d.platform) continue;
    const auto& p = *d.platform;
    offered += (offered.empty() ? "" : ", ") + p.os + "/" + p.architecture +
               (p.variant.empty() ? "" : "/" + p.variant);
    if (p.os != want.os || p.architecture != want.architecture) continue;
    if (p.variant == want.variant) return d;
    if (!fallback) fallback = &d;
  }
  if (fallback) return *fallback;
  // An index without platforms (common in OCI layouts) holding one image.
  if (index.manifests.size() == 1 && !index.manifests[0].platform) return index.manifests[0];
  return Failure{"no image for " + want.os + "/" + want.architecture +
                 " (offered: " + (offered.empty() ? "none" : offered) + ")"};
}

} // namespace earth::image
