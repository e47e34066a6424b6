# Writes OUT, a C++ source holding every ROOT/<package>/Earthfile as a raw
# string (resolve::stdlib_files). Run with cmake -P at build time.
file(GLOB packages RELATIVE ${ROOT} ${ROOT}/*/Earthfile)
list(SORT packages)
set(body "")
foreach(rel ${packages})
  get_filename_component(name ${rel} DIRECTORY)
  file(READ ${ROOT}/${rel} text)
  string(FIND "${text}" ")earth_stdlib\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${rel} contains the raw-string delimiter")
  endif()
  string(APPEND body "    {\"${name}\", R\"earth_stdlib(${text})earth_stdlib\"},\n")
endforeach()
file(WRITE ${OUT}.tmp
"// Generated from stdlib/*/Earthfile by src/resolve/embed_stdlib.cmake; do not edit.
#include \"stdlib_files.h\"

namespace earth::resolve {

std::span<const StdlibPackage> stdlib_files() {
  static const StdlibPackage files[] = {
${body}  };
  return files;
}

} // namespace earth::resolve
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
