#include "http.h"

#include <curl/curl.h>

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <strings.h>

#include "earth/image/reference.h"

namespace earth::image {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// More response header bytes than this is a broken or hostile server.
constexpr size_t max_header_bytes = 64 << 10;

struct Transfer {
  const HttpRequest* req;
  HttpResponse* resp;
  CURL* curl;
  std::string sink_error;
  size_t header_bytes = 0; // of the current response
  bool got_body = false;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.starts_with("HTTP/")) { // a new response (after a 100)
    t->resp->headers.clear();
    t->header_bytes = 0;
  }
  t->header_bytes += line.size();
  if (t->header_bytes > max_header_bytes) {
    t->sink_error = "the response headers are larger than " +
                    std::to_string(max_header_bytes >> 10) + " KB (a broken or hostile server)";
    return 0; // aborts the transfer
  }
  if (line.starts_with("HTTP/")) return size * n;
  auto colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.pop_back();
  t->resp->headers[name] = value;
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->got_body = true;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->req->sink && status >= 200 && status < 300) {
    if (auto r = t->req->sink(data, size * n); !r) {
      t->sink_error = r.error();
      return 0; // aborts the transfer
    }
    return size * n;
  }
  if (t->resp->body.size() < (1 << 20)) t->resp->body.append(data, size * n);
  return size * n;
}

size_t on_upload(char* buf, size_t size, size_t n, void* user) {
  return std::fread(buf, 1, size * n, static_cast<FILE*>(user));
}

// One handle per thread, reset between requests, so connections are reused.
CURL* thread_handle() {
  struct Handle {
    CURL* curl = curl_easy_init();
    ~Handle() { curl_easy_cleanup(curl); }
  };
  thread_local Handle h;
  curl_easy_reset(h.curl);
  return h.curl;
}

struct UrlParts {
  std::string scheme; // lower case: "https"
  std::string host;   // "host[:port]", "[::1]:5000"
};

UrlParts split_url(const std::string& url) {
  UrlParts p;
  auto sep = url.find("://");
  if (sep == std::string::npos) return p;
  p.scheme = url.substr(0, sep);
  for (auto& c : p.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string rest = url.substr(sep + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  for (auto& c : rest) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  p.host = rest;
  return p;
}

// One request, no redirects followed; `redirect` gets the Location to follow.
Result<HttpResponse> send_once(const HttpRequest& req, const std::string& url,
                               const std::vector<std::string>& header_lines,
                               std::chrono::milliseconds budget, std::string& redirect) {
  CURL* curl = thread_handle();
  if (!curl) return Failure{"curl: cannot create a handle"};
  HttpResponse resp;
  Transfer t{&req, &resp, curl, {}};
  curl_slist* headers = nullptr;
  for (const auto& h : header_lines) headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  FILE* upload = nullptr;
  if (!req.body_file.empty()) {
    upload = std::fopen(req.body_file.c_str(), "rb");
    if (!upload) {
      curl_slist_free_all(headers);
      return Failure{errno_message(req.body_file, errno)};
    }
    struct stat st {};
    ::fstat(::fileno(upload), &st);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_upload);
    curl_easy_setopt(curl, CURLOPT_READDATA, upload);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(st.st_size));
  } else if (req.method == "PUT" || req.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  if (req.method == "HEAD")
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  else if (req.method != "GET")
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L); // http_send follows, checking each URL
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(budget.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L); // abort a transfer stalled for 60 s
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "earth/0.1");
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, req.tls_verify ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, req.tls_verify ? 2L : 0L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (upload) std::fclose(upload);
  if (!t.sink_error.empty()) return Failure{url + ": " + t.sink_error};
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return Failure{url + ": the transfer did not finish in time (" + std::string(errbuf) + ")"};
  // curl reports a header line over its 100 KB limit as "out of memory".
  if (rc == CURLE_OUT_OF_MEMORY && t.header_bytes > 0 && !t.got_body)
    return Failure{url + ": a response header is too large, over curl's 100 KB limit (a broken "
                         "or hostile server)"};
  if (rc != CURLE_OK)
    return Failure{url + ": " + (errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc))};
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  char* location = nullptr;
  curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location);
  redirect = location ? location : "";
  return resp;
}

} // namespace

Result<void> check_server_url(const std::string& url, const std::string& from) {
  UrlParts to = split_url(url), origin = split_url(from);
  if (to.scheme == "https" && !to.host.empty()) return {};
  if (to.scheme == "http" && !to.host.empty() &&
      (is_loopback_registry(to.host) || (origin.scheme == "http" && origin.host == to.host)))
    return {};
  return Failure{"refusing to follow '" + url.substr(0, 200) +
                 "': only https, or http to a loopback host, may be followed"};
}

Result<HttpResponse> http_send(const HttpRequest& req) {
  global_init();
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + req.timeout;
  std::string url = req.url;
  std::vector<std::string> headers = req.headers;
  for (int hops = 0;; ++hops) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      return Failure{req.url + ": the transfer did not finish in time (" +
                     std::to_string(req.timeout.count() / 1000) + " s)"};
    std::string next;
    auto resp = send_once(req, url, headers, left, next);
    if (!resp || next.empty() || resp->status < 300 || resp->status > 399) return resp;
    if (req.method != "GET" && req.method != "HEAD") return resp;
    if (hops == 10) return Failure{req.url + ": more than 10 redirects"};
    if (auto ok = check_server_url(next, url); !ok) return Failure{req.url + ": " + ok.error()};
    UrlParts a = split_url(url), b = split_url(next);
    if (a.scheme != b.scheme || a.host != b.host) // credentials stay with their host
      std::erase_if(headers, [](const std::string& h) {
        return h.size() >= 14 && strncasecmp(h.c_str(), "authorization:", 14) == 0;
      });
    url = next;
  }
}

std::string url_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      static constexpr char hex[] = "0123456789ABCDEF";
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

} // namespace earth::image
