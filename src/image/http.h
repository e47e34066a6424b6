// A small blocking HTTP client over libcurl, private to the registry client.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "earth/base/error.h"

namespace earth::image {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers; // "Name: value"
  bool tls_verify = true;
  // The request body: `body`, or the contents of `body_file` when set.
  std::string body;
  std::string body_file;
  // When set, a 2xx response body streams here instead of into `body`.
  std::function<Result<void>(const char* data, size_t len)> sink;
  // The whole exchange, redirects included, must end within this.
  std::chrono::milliseconds timeout = std::chrono::minutes(10);
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers; // lower-case names, last response only
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Sends `req`, following redirects of GET and HEAD requests (without
// forwarding credentials to other hosts; only to URLs check_server_url
// allows). Fails on transport errors, sink failures, the deadline and
// oversized headers, not on HTTP statuses.
Result<HttpResponse> http_send(const HttpRequest& req);
// Whether a URL a server handed out (a redirect, a token realm, an upload
// location) may be fetched after a request to `from`: https anywhere; http
// only to a loopback host, or to the host of `from` when that was plain http
// (an insecure registry). Other schemes (file:, dict:, ...) never.
Result<void> check_server_url(const std::string& url, const std::string& from);
// Percent-encodes a query parameter value.
std::string url_escape(const std::string& s);

} // namespace earth::image
