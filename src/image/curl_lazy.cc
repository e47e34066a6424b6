// libcurl, loaded when the first HTTP request is made (issue 9): linking it
// costs every earth process about 40 shared libraries (TLS, Kerberos,
// LDAP, IDN …) before main, while most builds never talk to a registry.
// This file defines the few libcurl functions http.cc calls; each forwards
// to the symbol dlopen found in libcurl.so.4. When the library cannot be
// loaded, every call fails with CURLE_FAILED_INIT and curl_easy_strerror
// says why.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <mutex>
#include <string>

namespace {

struct Curl {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL*);
  void (*easy_reset)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  CURLcode (*easy_perform)(CURL*);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
  bool ok = false;
  std::string error;
};

template <typename F> bool bind(void* lib, const char* name, F& fn) {
  fn = reinterpret_cast<F>(::dlsym(lib, name));
  return fn != nullptr;
}

const Curl& curl() {
  static Curl c;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* e = ::dlerror();
      c.error = std::string("libcurl could not be loaded: ") + (e ? e : "libcurl.so.4");
      return;
    }
    c.ok = bind(lib, "curl_global_init", c.global_init) &&
           bind(lib, "curl_easy_init", c.easy_init) &&
           bind(lib, "curl_easy_cleanup", c.easy_cleanup) &&
           bind(lib, "curl_easy_reset", c.easy_reset) &&
           bind(lib, "curl_easy_setopt", c.easy_setopt) &&
           bind(lib, "curl_easy_getinfo", c.easy_getinfo) &&
           bind(lib, "curl_easy_perform", c.easy_perform) &&
           bind(lib, "curl_easy_strerror", c.easy_strerror) &&
           bind(lib, "curl_slist_append", c.slist_append) &&
           bind(lib, "curl_slist_free_all", c.slist_free_all);
    if (!c.ok) c.error = "libcurl.so.4 lacks a function earth needs";
  });
  return c;
}

} // namespace

extern "C" {

CURLcode curl_global_init(long flags) {
  return curl().ok ? curl().global_init(flags) : CURLE_FAILED_INIT;
}

CURL* curl_easy_init() {
  return curl().ok ? curl().easy_init() : nullptr;
}

void curl_easy_cleanup(CURL* h) {
  if (curl().ok && h) curl().easy_cleanup(h);
}

void curl_easy_reset(CURL* h) {
  if (curl().ok && h) curl().easy_reset(h);
}

// The one variadic argument is passed on with its type, which the option's
// number range tells (curl.h: CURLOPTTYPE_*).
CURLcode curl_easy_setopt(CURL* h, CURLoption option, ...) {
  if (!curl().ok || !h) return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, option);
  CURLcode rc;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    rc = curl().easy_setopt(h, option, va_arg(ap, long));
  } else if (option < CURLOPTTYPE_OFF_T || option >= CURLOPTTYPE_BLOB) {
    rc = curl().easy_setopt(h, option, va_arg(ap, void*));
  } else {
    rc = curl().easy_setopt(h, option, va_arg(ap, curl_off_t));
  }
  va_end(ap);
  return rc;
}

CURLcode curl_easy_getinfo(CURL* h, CURLINFO info, ...) {
  if (!curl().ok || !h) return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, info);
  CURLcode rc = curl().easy_getinfo(h, info, va_arg(ap, void*));
  va_end(ap);
  return rc;
}

CURLcode curl_easy_perform(CURL* h) {
  return curl().ok && h ? curl().easy_perform(h) : CURLE_FAILED_INIT;
}

const char* curl_easy_strerror(CURLcode rc) {
  return curl().ok ? curl().easy_strerror(rc) : curl().error.c_str();
}

curl_slist* curl_slist_append(curl_slist* list, const char* s) {
  return curl().ok ? curl().slist_append(list, s) : list;
}

void curl_slist_free_all(curl_slist* list) {
  if (curl().ok) curl().slist_free_all(list);
}

} // extern "C"
