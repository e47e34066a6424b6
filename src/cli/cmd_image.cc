// earth image import|ls|rm|export|pull|push: the local image store from the shell.
#include <cstdio>

#include "earth/base/error.h"
#include "earth/base/strings.h"
#include "earth/cli/commands.h"
#include "earth/image/image_store.h"
#include "earth/store/usage.h"

namespace earth::cli {

namespace {

std::unique_ptr<image::ImageStore> open_store() {
  start_work(); // the arguments are read: what fails now is the command's work
  return image::ImageStore::open(image::ImageStore::default_cache_dir()).take();
}

// The blobs and layers an import or pull made go into the cache's size
// total (docs/formats.md, "The size total") now: otherwise the next build's
// size check recounts every use record to find them.
void fold_sizes() {
  (void)store::fold_recorded_bytes(image::ImageStore::default_cache_dir());
}

} // namespace

int cmd_image(Args& args) {
  fail_in_group("image", args);
}

int cmd_image_import(Args& args) {
  auto words = args.positional("image import");
  if (words.empty() || words.size() > 2) throw Error("usage: earth image import FILE [NAME]");
  auto names = open_store()->import(words[0], words.size() == 2 ? words[1] : "").take();
  for (const auto& n : names) std::printf("imported %s\n", n.c_str());
  fold_sizes();
  return 0;
}

int cmd_image_ls(Args& args) {
  bool digests = args.flag("--digests");
  if (!args.positional("image ls").empty()) throw Error("usage: earth image ls [--digests]");
  auto images = open_store()->list().take();
  std::printf("%-50s %-*s %s\n", "NAME", digests ? 71 : 12, "MANIFEST", "SIZE");
  for (const auto& img : images) {
    std::string d = digests ? img.manifest_digest.oci() : img.manifest_digest.hex().substr(0, 12);
    std::printf("%-50s %-*s %s\n", img.name.c_str(), digests ? 71 : 12, d.c_str(),
                format_bytes(img.size).c_str());
  }
  return 0;
}

int cmd_image_rm(Args& args) {
  auto words = args.positional("image rm");
  if (words.empty()) throw Error("usage: earth image rm NAME...");
  auto store = open_store();
  for (const auto& w : words) store->remove(w).take();
  return 0;
}

int cmd_image_export(Args& args) {
  std::string out = args.option("--output", "-o");
  std::string format = args.option("--format");
  auto words = args.positional("image export");
  if (words.size() != 1 || out.empty())
    throw Error("usage: earth image export NAME -o FILE [--format oci|docker]");
  if (!format.empty() && format != "oci" && format != "docker")
    throw Error("earth image export: --format must be oci or docker, not '" + format + "'");
  auto kind = format == "docker" ? image::ArchiveFormat::docker : image::ArchiveFormat::oci;
  open_store()->export_archive(words[0], out, kind).take();
  return 0;
}

int cmd_image_pull(Args& args) {
  auto words = args.positional("image pull");
  if (words.size() != 1) throw Error("usage: earth image pull REF");
  auto digest = open_store()->pull(words[0]).take();
  std::printf("%s %s\n", words[0].c_str(), digest.oci().c_str());
  fold_sizes();
  return 0;
}

int cmd_image_push(Args& args) {
  auto words = args.positional("image push");
  if (words.empty() || words.size() > 2) throw Error("usage: earth image push NAME [DEST]");
  auto digest = open_store()->push(words[0], words.size() == 2 ? words[1] : "").take();
  std::printf("%s %s\n", (words.size() == 2 ? words[1] : words[0]).c_str(), digest.oci().c_str());
  return 0;
}

} // namespace earth::cli
