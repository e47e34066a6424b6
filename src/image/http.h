// A small blocking HTTP client over libcurl, private to the registry client.
#pragma once

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

// Sends `req`, following redirects (without forwarding credentials to other
// hosts). Fails on transport errors and sink failures, not on HTTP statuses.
Result<HttpResponse> http_send(const HttpRequest& req);
// Percent-encodes a query parameter value.
std::string url_escape(const std::string& s);

} // namespace earth::image
