// The OCI distribution protocol: GET /v2/<repo>/manifests/<ref> and
// /v2/<repo>/blobs/<digest>, answering 401 challenges with a bearer token or
// basic auth. Mirrors are tried first, then the registry itself.
#include "earth/image/registry.h"

#include <atomic>
#include <mutex>
#include <thread>

#include "base64.h"
#include "http.h"

namespace earth::image {

namespace {

struct Endpoint {
  std::string base; // "https://registry-1.docker.io"
  std::string host; // for credentials: "docker.io", "127.0.0.1:5000"
  bool tls_verify = true;
};

// Parses `Bearer realm="...",service="...",scope="..."`.
std::map<std::string, std::string> parse_challenge(const std::string& header, std::string& scheme) {
  std::map<std::string, std::string> params;
  size_t sp = header.find(' ');
  scheme = header.substr(0, sp);
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t i = sp == std::string::npos ? header.size() : sp + 1;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
    size_t eq = header.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = header.substr(i, eq - i);
    std::string value;
    i = eq + 1;
    if (i < header.size() && header[i] == '"') {
      for (++i; i < header.size() && header[i] != '"'; ++i) {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        value += header[i];
      }
      ++i;
    } else {
      size_t end = header.find(',', i);
      value = header.substr(i, end == std::string::npos ? std::string::npos : end - i);
      i = end == std::string::npos ? header.size() : end;
    }
    params[key] = value;
  }
  return params;
}

std::string strip_params(const std::string& content_type) {
  auto semi = content_type.find(';');
  std::string out = content_type.substr(0, semi);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string http_error(const HttpResponse& r) {
  std::string body = r.body.substr(0, 300);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return "HTTP " + std::to_string(r.status) + (body.empty() ? "" : ": " + body);
}

} // namespace

struct RegistryClient::Impl {
  RegistryConfig config;
  CredentialLookup creds;
  std::mutex mu;
  std::map<std::string, std::string> auth; // "base repo" -> Authorization header

  std::vector<Endpoint> endpoints(const Reference& ref, bool mirrors = true) const;
  Result<std::string> authorize(const Endpoint& ep, const Reference& ref, const HttpResponse& r);
  Result<HttpResponse> request(const Endpoint& ep, const Reference& ref, const std::string& path,
                               std::vector<std::string> headers, const HttpRequest& proto);
};

std::vector<Endpoint> RegistryClient::Impl::endpoints(const Reference& ref, bool mirrors) const {
  std::vector<Endpoint> out;
  RegistryHostConfig host;
  if (auto it = config.hosts.find(ref.registry); it != config.hosts.end()) host = it->second;
  for (const auto& m : mirrors ? host.mirrors : std::vector<std::string>{}) {
    Endpoint ep;
    std::string h = m;
    if (h.starts_with("http://") || h.starts_with("https://")) {
      ep.base = h;
      h = h.substr(h.find("://") + 3);
    } else {
      auto mc = config.hosts.find(h);
      bool plain = is_loopback_registry(h) || (mc != config.hosts.end() && mc->second.insecure);
      ep.base = (plain ? "http://" : "https://") + h;
    }
    while (!ep.base.empty() && ep.base.back() == '/') ep.base.pop_back();
    ep.host = h.substr(0, h.find('/'));
    auto mc = config.hosts.find(ep.host);
    ep.tls_verify = mc != config.hosts.end() ? mc->second.tls_verify : host.tls_verify;
    out.push_back(ep);
  }
  bool plain = host.insecure || is_loopback_registry(ref.registry);
  out.push_back({(plain ? "http://" : "https://") + ref.api_host(), ref.registry, host.tls_verify});
  return out;
}

Result<std::string> RegistryClient::Impl::authorize(const Endpoint& ep, const Reference& ref,
                                                    const HttpResponse& r) {
  std::string scheme;
  auto params = parse_challenge(r.header("www-authenticate"), scheme);
  auto cred = creds ? creds(ep.host) : std::nullopt;
  std::string basic = cred ? "Basic " + base64_encode(cred->username + ":" + cred->password) : "";
  if (scheme == "basic") {
    if (!cred)
      return Failure{ep.host + " needs credentials (earth config registries." + ep.host +
                     ".username U and .password P, or docker login)"};
    return "Authorization: " + basic;
  }
  if (scheme != "bearer" || params["realm"].empty())
    return Failure{ep.host + ": unsupported authentication challenge '" +
                   r.header("www-authenticate") + "'"};
  if (auto ok = check_server_url(params["realm"], ep.base); !ok)
    return Failure{"token for " + ep.host + ": " + ok.error()};
  std::string scope =
      params.count("scope") ? params["scope"] : "repository:" + ref.repository + ":pull";
  HttpRequest tok;
  tok.timeout = config.transfer_timeout;
  tok.url = params["realm"] + (params["realm"].find('?') == std::string::npos ? "?" : "&") +
            "scope=" + url_escape(scope);
  if (params.count("service")) tok.url += "&service=" + url_escape(params["service"]);
  tok.tls_verify = ep.tls_verify;
  if (cred) tok.headers.push_back("Authorization: " + basic);
  auto resp = http_send(tok);
  if (!resp) return Failure{"token for " + ep.host + ": " + resp.error()};
  if (resp->status != 200) return Failure{"token for " + ep.host + ": " + http_error(*resp)};
  auto j = nlohmann::json::parse(resp->body, nullptr, false);
  std::string token;
  if (j.is_object()) token = j.value("token", j.value("access_token", ""));
  if (token.empty()) return Failure{"token for " + ep.host + ": no token in the answer"};
  return "Authorization: Bearer " + token;
}

Result<HttpResponse> RegistryClient::Impl::request(const Endpoint& ep, const Reference& ref,
                                                   const std::string& path,
                                                   std::vector<std::string> headers,
                                                   const HttpRequest& proto) {
  std::string key = ep.base + " " + ref.repository;
  for (int attempt = 0; attempt < 2; ++attempt) {
    HttpRequest req = proto;
    // `path` is below the repository, or an upload URL the registry handed out.
    if (path.starts_with("http://") || path.starts_with("https://"))
      req.url = path;
    else if (path.starts_with("/v2/"))
      req.url = ep.base + path;
    else
      req.url = ep.base + "/v2/" + ref.repository + path;
    req.tls_verify = ep.tls_verify;
    req.timeout = config.transfer_timeout;
    req.headers = headers;
    {
      std::lock_guard lock(mu);
      if (auto it = auth.find(key); it != auth.end()) req.headers.push_back(it->second);
    }
    auto resp = http_send(req);
    if (!resp || resp->status != 401 || attempt == 1) return resp;
    auto header = authorize(ep, ref, *resp);
    if (!header) return Failure{header.error()};
    std::lock_guard lock(mu);
    auth[key] = *header;
  }
  return Failure{"unreachable"};
}

RegistryClient::RegistryClient(RegistryConfig config, CredentialLookup creds)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  // The config file's credentials for a host, else docker's.
  auto from_config = [hosts = impl_->config.hosts](std::string_view host) {
    auto it = hosts.find(std::string(host));
    if (it != hosts.end() && !it->second.username.empty())
      return std::optional<Credentials>(Credentials{it->second.username, it->second.password});
    return docker_credentials(host);
  };
  impl_->creds = creds ? std::move(creds) : CredentialLookup(from_config);
}

RegistryClient::~RegistryClient() = default;

Result<FetchedManifest> RegistryClient::get_manifest(const Reference& ref,
                                                     const std::string& reference) {
  std::vector<std::string> accept = {std::string("Accept: ") + media::oci_manifest + ", " +
                                     media::oci_index + ", " + media::docker_manifest + ", " +
                                     media::docker_list};
  std::string errors;
  for (const auto& ep : impl_->endpoints(ref)) {
    auto resp = impl_->request(ep, ref, "/manifests/" + reference, accept, HttpRequest{});
    std::string err;
    if (!resp)
      err = resp.error();
    else if (resp->status != 200)
      err = http_error(*resp);
    if (!err.empty()) {
      errors += "\n  " + ep.base + ": " + err;
      continue;
    }
    FetchedManifest m{Digest::of(resp->body), strip_params(resp->header("content-type")),
                      resp->body};
    auto want = Digest::parse(reference);
    if (want && *want != m.digest)
      return Failure{ref.name() + "@" + reference + ": the registry sent a manifest with digest " +
                     m.digest.oci()};
    if (auto header = Digest::parse(resp->header("docker-content-digest"));
        header && *header != m.digest)
      return Failure{ref.str() + ": manifest digest " + m.digest.oci() +
                     " does not match Docker-Content-Digest " + header->oci()};
    if (!is_index_media_type(m.media_type) && !is_manifest_media_type(m.media_type)) {
      auto doc = nlohmann::json::parse(m.body, nullptr, false);
      if (doc.is_discarded()) return Failure{ref.str() + ": the manifest is not JSON"};
      m.media_type = sniff_media_type(doc);
    }
    return m;
  }
  return Failure{"cannot get manifest " + ref.name() + ":" + reference + errors};
}

Result<void> RegistryClient::fetch_blob(const Reference& ref, const Descriptor& desc,
                                        store::BlobStore& blobs) {
  if (blobs.has(desc.digest)) return {};
  std::string errors;
  for (const auto& ep : impl_->endpoints(ref)) {
    auto writer = blobs.writer();
    if (!writer) return Failure{writer.error()};
    HttpRequest proto;
    proto.sink = [&](const char* data, size_t len) -> Result<void> {
      if (static_cast<int64_t>(writer->size() + len) > desc.size)
        return Failure{"blob is larger than its descriptor says"};
      return writer->write(data, len);
    };
    auto resp = impl_->request(ep, ref, "/blobs/" + desc.digest.oci(), {}, proto);
    std::string err;
    if (!resp)
      err = resp.error();
    else if (resp->status != 200)
      err = http_error(*resp);
    else if (static_cast<int64_t>(writer->size()) != desc.size)
      err = "got " + std::to_string(writer->size()) + " bytes, want " + std::to_string(desc.size);
    else if (auto d = writer->commit(desc.digest); !d)
      err = d.error();
    if (err.empty()) return {};
    errors += "\n  " + ep.base + ": " + err;
  }
  return Failure{"cannot download blob " + desc.digest.oci() + " of " + ref.name() + errors};
}

Result<Digest> RegistryClient::pull(const Reference& ref, store::BlobStore& blobs) {
  auto top = get_manifest(ref, ref.reference());
  if (!top) return Failure{top.error()};
  FetchedManifest m = *top;
  if (is_index_media_type(top->media_type)) {
    auto idx = parse_index(top->body);
    if (!idx) return Failure{ref.str() + ": " + idx.error()};
    auto pick = select_platform(*idx);
    if (!pick) return Failure{ref.str() + ": " + pick.error()};
    auto got = get_manifest(ref, pick->digest.oci());
    if (!got) return Failure{got.error()};
    if (static_cast<int64_t>(got->body.size()) != pick->size)
      return Failure{ref.str() + ": manifest " + pick->digest.oci() + " is declared as " +
                     std::to_string(pick->size) + " bytes but has " +
                     std::to_string(got->body.size())};
    m = *got;
  }
  auto manifest = parse_manifest(m.body);
  if (!manifest) return Failure{ref.str() + ": " + manifest.error()};
  if (auto r = fetch_blob(ref, manifest->config, blobs); !r) return Failure{r.error()};
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::string first_error;
  auto worker = [&] {
    for (size_t i; (i = next++) < manifest->layers.size();) {
      if (auto r = fetch_blob(ref, manifest->layers[i], blobs); !r) {
        std::lock_guard lock(mu);
        if (first_error.empty()) first_error = r.error();
        return;
      }
    }
  };
  size_t n = std::min<size_t>(static_cast<size_t>(impl_->config.parallel_downloads),
                              manifest->layers.size());
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& th : threads) th.join();
  if (!first_error.empty()) return Failure{first_error};
  // The manifests go in last, so a failed pull leaves none behind (and the
  // store also checks for the whole image before calling one local).
  if (auto r = blobs.put(m.body, m.digest); !r) return Failure{r.error()};
  if (top->digest != m.digest)
    if (auto r = blobs.put(top->body, top->digest); !r) return Failure{r.error()};
  return m.digest;
}

} // namespace earth::image

namespace earth::image {

Result<void> RegistryClient::push_blob(const Reference& dest, const Descriptor& desc,
                                       store::BlobStore& blobs) {
  Endpoint ep = impl_->endpoints(dest, false).back();
  HttpRequest head;
  head.method = "HEAD";
  auto exists = impl_->request(ep, dest, "/blobs/" + desc.digest.oci(), {}, head);
  if (!exists) return Failure{exists.error()};
  if (exists->status == 200) return {};
  HttpRequest start;
  start.method = "POST";
  auto upload = impl_->request(ep, dest, "/blobs/uploads/", {}, start);
  if (!upload) return Failure{upload.error()};
  std::string location = upload->header("location");
  if (upload->status != 202 || location.empty())
    return Failure{"push " + dest.name() + ": cannot start an upload: " + http_error(*upload)};
  if (location.find("://") != std::string::npos)
    if (auto ok = check_server_url(location, ep.base); !ok)
      return Failure{"push " + dest.name() + ": upload location: " + ok.error()};
  HttpRequest put;
  put.method = "PUT";
  put.body_file = blobs.path(desc.digest);
  location += (location.find('?') == std::string::npos ? "?" : "&");
  location += "digest=" + url_escape(desc.digest.oci());
  auto done = impl_->request(ep, dest, location, {"Content-Type: application/octet-stream"}, put);
  if (!done) return Failure{done.error()};
  if (done->status != 201)
    return Failure{"push " + dest.name() + ": blob " + desc.digest.oci() + ": " +
                   http_error(*done)};
  return {};
}

Result<void> RegistryClient::push(const Reference& dest, const Digest& manifest,
                                  store::BlobStore& blobs) {
  auto text = blobs.get(manifest);
  if (!text) return Failure{text.error()};
  auto m = parse_manifest(*text);
  if (!m) return Failure{manifest.oci() + ": " + m.error()};
  std::vector<Descriptor> all = m->layers;
  all.push_back(m->config);
  for (const auto& d : all) // sequential: registries dislike parallel uploads to one repo
    if (auto r = push_blob(dest, d, blobs); !r) return r;
  HttpRequest put;
  put.method = "PUT";
  put.body = *text;
  Endpoint ep = impl_->endpoints(dest, false).back();
  auto resp = impl_->request(ep, dest, "/manifests/" + dest.reference(),
                             {"Content-Type: " + m->media_type}, put);
  if (!resp) return Failure{resp.error()};
  if (resp->status != 201 && resp->status != 200)
    return Failure{"push " + dest.str() + ": manifest: " + http_error(*resp)};
  return {};
}

} // namespace earth::image
