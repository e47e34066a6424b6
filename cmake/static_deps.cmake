# Start-up time (issue 9, bench/startup): every shared library costs each
# earth process a load and its relocations before main, so the libraries
# earth links are linked statically from Debian's -dev packages
# (scripts/deps.sh). What stays dynamic: libc and libm (libseccomp is used at
# build time only, src/exec); libcurl, dlopen()ed on the first registry request (src/image/curl_lazy.cc).
# The targets keep the names the find_package modules give, so the module
# CMakeLists link them as before.

# libcrypto.a (FindOpenSSL's switch). A build directory configured before
# caches the shared library: found again.
set(OPENSSL_USE_STATIC_LIBS TRUE)
if(OPENSSL_CRYPTO_LIBRARY AND NOT OPENSSL_CRYPTO_LIBRARY MATCHES "\\.a$")
  unset(OPENSSL_CRYPTO_LIBRARY CACHE)
  unset(OPENSSL_SSL_LIBRARY CACHE)
endif()
find_package(OpenSSL REQUIRED)

# fmt: libfmt-dev ships no static archive; its compiled part is built here
# from the installed headers (src/fmt/fmt.cc).
find_path(EARTH_FMT_INCLUDE_DIR fmt/format-inl.h REQUIRED)
add_library(earth_fmt STATIC ${PROJECT_SOURCE_DIR}/src/fmt/fmt.cc)
target_include_directories(earth_fmt SYSTEM PUBLIC ${EARTH_FMT_INCLUDE_DIR})
add_library(fmt::fmt ALIAS earth_fmt)

# earth_static_import(TARGET ARCHIVE...) makes TARGET an imported library of
# the static archives libARCHIVE.a, the first one linking the others.
function(earth_static_import target)
  set(paths)
  foreach(name ${ARGN})
    find_library(EARTH_STATIC_${name} NAMES lib${name}.a REQUIRED)
    list(APPEND paths ${EARTH_STATIC_${name}})
  endforeach()
  list(POP_FRONT paths first)
  add_library(${target} STATIC IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION ${first}
                                             INTERFACE_LINK_LIBRARIES "${paths}")
endfunction()

earth_static_import(yaml-cpp yaml-cpp)
# libarchive.a and the compressors and ACL library its linked objects call.
# Its xar writer needs libxml2 (and ICU): it is reached only through a
# format table earth never calls (archive_write_set_format), which
# --gc-sections drops; without it the link fails on xmlTextWriter*.
earth_static_import(LibArchive::LibArchive archive acl lzma zstd lz4 bz2 z)
add_link_options(-Wl,--gc-sections)

# libstdc++ and libgcc_s: not under the sanitizers, whose runtime replaces
# operator new and expects the shared C++ runtime.
if(NOT EARTH_SANITIZE)
  add_link_options(-static-libstdc++ -static-libgcc)
endif()
