// Writes a big, realistic Earthfile for the parser benchmark: a base recipe,
// a few functions and N targets mixing continuations, quotes, shell-outs,
// comments, IF/ELSE and FOR blocks. With --ninja, writes instead a build.ninja
// of about --bytes bytes, so that ninja's parser can be timed on the same size.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace {

void append_target(std::string& out, int i) {
  std::string name = fmt::format("comp-{}", i);
  out += fmt::format("# {} builds component {} of the tree.\n{}:\n", name, i, name);
  out += i % 3 == 0 ? "    FROM +deps\n" : "    FROM alpine:3.19\n";
  out += fmt::format("    ARG VERSION=1.{}.0\n", i % 97);
  out += fmt::format("    COPY --dir src/comp{0} include/comp{0} ./\n", i);
  out += fmt::format("    RUN make -C src/comp{} \\\n"
                     "            VERSION=$VERSION \\\n"
                     "            CFLAGS=\"-O2 -g -Wall\" # tuned per target\n",
                     i);
  if (i % 2 == 0) {
    out += "    IF [ \"$VERSION\" != \"dev\" ]\n"
           "        RUN echo \"release build\" && strip build/*.o\n"
           "    ELSE IF [ -f .debug ]\n"
           "        RUN echo 'debug build'\n"
           "    ELSE\n"
           "        RUN true\n"
           "    END\n";
  }
  if (i % 5 == 0) {
    out += fmt::format("    FOR f IN a.c b.c \"c d.c\"\n"
                       "        RUN test -f src/comp{}/$f || echo \"missing $f\"\n"
                       "    END\n",
                       i);
  }
  out += fmt::format("    ENV PATH=/opt/comp{}/bin:$PATH\n", i);
  if (i % 4 == 1) out += "    LET jobs = $(nproc --all)\n";
  if (i % 7 == 0 && i > 0) out += fmt::format("    BUILD +comp-{} --VERSION=$VERSION\n", i / 2);
  if (i % 6 == 0) out += "    DO +INSTALL --pkgs=\"curl git\"\n";
  out += fmt::format("    SAVE ARTIFACT build/comp{0}.a AS LOCAL ./out/comp{0}.a\n", i);
  if (i % 3 == 1)
    out += fmt::format("    SAVE IMAGE --push registry.example.com/comp{}:$VERSION\n", i);
  out += "\n";
}

std::string earthfile(int targets) {
  std::string out = "VERSION 0.8\n"
                    "FROM alpine:3.19\n"
                    "ARG --global REGISTRY=registry.example.com\n"
                    "WORKDIR /src\n\n"
                    "# INSTALL installs packages with apk.\n"
                    "INSTALL:\n"
                    "    FUNCTION\n"
                    "    ARG pkgs\n"
                    "    RUN apk add --no-cache $pkgs\n\n"
                    "deps:\n"
                    "    RUN apk add --no-cache make gcc musl-dev\n\n";
  for (int i = 0; i < targets; ++i) append_target(out, i);
  return out;
}

std::string ninja_file(size_t bytes) {
  std::string out = "cflags = -O2 -g -Wall\n"
                    "rule cc\n"
                    "  command = gcc -MMD -MF $out.d $cflags -c $in -o $out\n"
                    "  depfile = $out.d\n"
                    "  description = CC $out\n"
                    "rule ar\n"
                    "  command = ar rcs $out $in\n\n";
  for (int i = 0; out.size() < bytes; ++i) {
    out += fmt::format("build obj/comp{0}/a.o: cc src/comp{0}/a.c | include/comp{0}/a.h\n"
                       "  cflags = $cflags -DCOMP={0}\n"
                       "build obj/comp{0}/b.o: cc src/comp{0}/b.c\n"
                       "build lib/comp{0}.a: ar obj/comp{0}/a.o obj/comp{0}/b.o\n\n",
                       i);
  }
  // Nothing to do, so that `ninja -n` only parses and stats nothing.
  out += "build nothing: phony\ndefault nothing\n";
  return out;
}

int usage() {
  std::fprintf(stderr, "usage: earth_parse_gen [--targets N] OUT.earth\n"
                       "       earth_parse_gen --ninja --bytes B OUT.ninja\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  int targets = 10000;
  size_t bytes = 0;
  bool ninja = false;
  const char* path = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--targets" && i + 1 < argc)
      targets = std::atoi(argv[++i]);
    else if (a == "--bytes" && i + 1 < argc)
      bytes = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--ninja")
      ninja = true;
    else if (!path)
      path = argv[i];
    else
      return usage();
  }
  if (!path || (ninja && bytes == 0)) return usage();
  std::string text = ninja ? ninja_file(bytes) : earthfile(targets);
  std::FILE* f = std::fopen(path, "wb");
  if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0) {
    std::perror(path);
    return 1;
  }
  std::printf("%s: %zu bytes\n", path, text.size());
  return 0;
}
