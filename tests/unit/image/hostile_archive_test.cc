// Hostile and unlucky inputs to the image store: bad layers and archives,
// lying descriptors, damaged files, a full disk, signals. Each test checks
// the exact refusal and that the store is usable afterwards.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include "earth/base/fs.h"
#include "earth/base/subprocess.h"
#include "earth/image/image_store.h"
#include "earth/image/layer.h"
#include "earth/store/blob_store.h"
#include "earth/store/cleanup.h"
#include "hostile.h"
#include "tar_builder.h"
#include "test_image.h"

namespace fs = earth::fs;
using namespace earth::image;

namespace {

class HostileTest : public ::testing::Test {
protected:
  fs::TempDir work{"/tmp", "earth-hostile-test-"};
  std::string cache = work.path() + "/cache";
  std::unique_ptr<ImageStore> store;
  void SetUp() override {
    REQUIRE_BUSYBOX();
    store = ImageStore::open(cache).value();
  }
  std::string file(const std::string& name) { return work.path() + "/" + name; }
  // A gzip layer holding `entries`.
  std::string layer(const std::string& name, const std::vector<TarEntry>& entries) {
    write_tar(file(name), entries, TarCompression::gzip);
    return file(name);
  }
  // Every path under <cache>/tmp, for "nothing was left behind".
  std::string temps() {
    return earth::run_process({"sh", "-c", "cd " + cache + "/tmp && find . -mindepth 1 | sort"})
        ->out;
  }
  std::string busybox_ref() { return "busybox@" + busybox_fixture().manifest; }
};

ResolveOptions offline() {
  ResolveOptions o;
  o.pull_if_missing = false;
  return o;
}

} // namespace

// A layer entry named ".wh." (or ".wh..", ".wh...") would whiteout its own
// directory or its parent: refused like any other bad path.
TEST_F(HostileTest, DegenerateWhiteoutNamesAreRefused) {
  for (const char* name : {".wh.", "d/.wh.", ".wh..", "d/.wh..", "d/.wh..."}) {
    SCOPED_TRACE(name);
    fs::TempDir dest(work.path(), "dest-");
    std::string l = layer("wh.tar.gz", {{TarEntry::dir, "d"}, {TarEntry::file, name, "x"}});
    auto r = unpack_layer(l, dest.path(), UnpackOptions(), "L");
    ASSERT_FALSE(r.ok());
    std::string hidden = std::string(name).substr(std::string(name).rfind(".wh.") + 4);
    EXPECT_EQ(r.error(), "layer L: refusing entry '" + std::string(name) +
                             "': a whiteout must name a file ('" + hidden + "' does not)");
    EXPECT_TRUE(fs::is_dir(dest.path() + "/d"));
  }
  auto img = write_layout(file("layout"), {{layer("wh.tar.gz", {{TarEntry::file, ".wh.", ""}})},
                                           "docker.io/library/wh:1"});
  ASSERT_TRUE(store->import(img.dir).ok());
  auto r = store->resolve("wh:1", offline());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("refusing entry '.wh.'"), std::string::npos) << r.error();
  EXPECT_EQ(earth::run_process({"ls", cache + "/snapshots"})->out, "");
  expect_store_usable(*store, busybox_fixture().archive());
}

// A corrupt gzip stream is reported as such, not as a strange tar entry.
// A corrupt compressed stream (or the damaged tar it decompresses to) is
// reported as a corrupt layer, never as a strange entry.
TEST_F(HostileTest, CorruptLayersSaySo) {
  std::string tar = layer("plain.tar", {});
  write_tar(tar, {{TarEntry::file, "a", std::string(200000, 'a')}, {TarEntry::file, "b", "hi"}});
  auto plain = fs::read_file(tar).value();
  std::string damaged_header = plain;
  damaged_header[512 + 200192 + 3] ^= 1; // the name of "b": its checksum no longer matches
  std::string gz = layer("good.tar.gz", {{TarEntry::file, "a", std::string(200000, 'a')},
                                         {TarEntry::file, "b", "hi"}});
  auto zipped = fs::read_file(gz).value();
  std::vector<std::pair<std::string, std::string>> cases = {
      {"damaged tar header", damaged_header},
      {"bad gzip magic", "\x1f\x8c" + zipped.substr(2)},
      {"bad deflate data", zipped.substr(0, 10) + std::string(30, '\x5a') + zipped.substr(40)},
      {"truncated gzip", zipped.substr(0, zipped.size() / 2)},
      {"gzip header only", zipped.substr(0, 12)},
  };
  for (const auto& [what, data] : cases) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(fs::write_file_atomic(file("bad"), data).ok());
    fs::TempDir dest(work.path(), "dest-");
    auto r = unpack_layer(file("bad"), dest.path(), UnpackOptions(), "L");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.error().starts_with("layer L: the layer is corrupt")) << r.error();
    EXPECT_EQ(r.error().find("root must be a directory"), std::string::npos) << r.error();
  }
}

// Declared sizes and the diff_id count are checked on import.
TEST_F(HostileTest, LyingDescriptorsAreRefusedOnImport) {
  std::string l = layer("l.tar.gz", {{TarEntry::file, "f", "data"}});
  struct Case {
    const char* what;
    LayoutSpec spec;
    std::string want;
  };
  std::vector<Case> cases = {
      {"layer size",
       {{l}, "docker.io/library/lie:1", [](Manifest& m, ImageConfig&) { m.layers[0].size += 1; }},
       "is declared as"},
      {"diff_ids count",
       {{l},
        "docker.io/library/lie:1",
        [](Manifest&, ImageConfig& c) { c.diff_ids.push_back(earth::Digest::of("x")); }},
       "the config lists 2 diff_ids for 1 layers"},
      {"manifest size",
       {{l}, "docker.io/library/lie:1", {}, [](Descriptor& d) { d.size -= 1; }},
       "is declared as"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto img = write_layout(file(std::string("layout-") + c.what), c.spec);
    auto r = store->import(img.dir);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find(c.want), std::string::npos) << r.error();
    EXPECT_TRUE(store->list().value().empty());
  }
  expect_store_usable(*store, busybox_fixture().archive());
}

// An import that fails after the manifest blob went in must not make a
// by-digest reference look local.
TEST_F(HostileTest, FailedImportLeavesNoLocalImage) {
  std::string layout = busybox_fixture().layout();
  std::string hex = busybox_fixture().manifest.substr(7);
  auto manifest = parse_manifest(fs::read_file(layout + "/blobs/sha256/" + hex).value()).value();
  std::string config = manifest.config.digest.hex();
  write_tar(file("cut.tar"), {{TarEntry::file, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"},
                              {TarEntry::file, "blobs/sha256/" + hex,
                               fs::read_file(layout + "/blobs/sha256/" + hex).value()},
                              {TarEntry::file, "blobs/sha256/" + config,
                               fs::read_file(layout + "/blobs/sha256/" + config).value()}});
  ASSERT_FALSE(store->import(file("cut.tar")).ok());
  auto d = store->manifest_digest(busybox_ref(), offline());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().find("is not in the local store"), std::string::npos) << d.error();
  expect_store_usable(*store, busybox_fixture().archive());
  EXPECT_EQ(store->manifest_digest(busybox_ref(), offline()).value().oci(),
            busybox_fixture().manifest);
}

// Export re-digests what it copies and names a damaged blob.
TEST_F(HostileTest, ExportRefusesDamagedBlobs) {
  ASSERT_TRUE(store->import(busybox_fixture().archive()).ok());
  auto blobs = earth::store::BlobStore::open(cache).value();
  auto manifest =
      parse_manifest(blobs.get(*earth::Digest::parse(busybox_fixture().manifest)).value()).value();
  std::string path = blobs.path(manifest.layers[0].digest);
  auto data = fs::read_file(path).value();
  data[data.size() / 2] = static_cast<char>(data[data.size() / 2] ^ 1); // same size
  ASSERT_TRUE(fs::write_file_atomic(path, data).ok());
  for (auto format : {ArchiveFormat::oci, ArchiveFormat::docker}) {
    auto r = store->export_archive("busybox", file("out.tar"), format);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(
        r.error().find("blob " + manifest.layers[0].digest.oci() + " in the store is damaged"),
        std::string::npos)
        << r.error();
    EXPECT_FALSE(fs::exists(file("out.tar")));
  }
}

// Names are checked on every way in; bad ones are reported, never stored.
TEST_F(HostileTest, BadNamesAreRefusedEverywhere) {
  auto r = store->import(busybox_fixture().archive(), "../../x:1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("invalid image reference '../../x:1'"), std::string::npos) << r.error();
  r = store->import(busybox_fixture().archive(), std::string(300, 'a'));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("more than 255"), std::string::npos) << r.error();

  std::string layout = busybox_fixture().layout();
  std::string hex = busybox_fixture().manifest.substr(7);
  auto manifest = parse_manifest(fs::read_file(layout + "/blobs/sha256/" + hex).value()).value();
  std::string config =
      fs::read_file(layout + "/blobs/sha256/" + manifest.config.digest.hex()).value();
  std::string layer_tar;
  (void)read_uncompressed(layout + "/blobs/sha256/" + manifest.layers[0].digest.hex(),
                          [&](const void* p, size_t n) -> earth::Result<void> {
                            layer_tar.append(static_cast<const char*>(p), n);
                            return {};
                          });
  for (const char* tags : {R"(["../../etc:x"])", R"(["ok:1","bad:tag!"])"}) {
    SCOPED_TRACE(tags);
    std::string manifest_json =
        std::string(R"([{"Config":"c.json","RepoTags":)") + tags + R"(,"Layers":["l/layer.tar"]}])";
    write_tar(file("docker.tar"), {{TarEntry::file, "manifest.json", manifest_json},
                                   {TarEntry::file, "c.json", config},
                                   {TarEntry::file, "l/layer.tar", layer_tar}});
    r = store->import(file("docker.tar"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("RepoTags: invalid image reference"), std::string::npos) << r.error();
  }
  auto img = write_layout(file("layout"), {{}, "../../etc:x"});
  r = store->import(img.dir);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("invalid image reference '../../etc:x'"), std::string::npos)
      << r.error();
  EXPECT_TRUE(store->list().value().empty());
  expect_store_usable(*store, busybox_fixture().archive());
}

// An empty or truncated images.json is repaired (a copy kept), not a wall.
TEST_F(HostileTest, DamagedImageIndexIsRecovered) {
  std::string index = cache + "/images.json";
  ASSERT_TRUE(fs::write_file_atomic(index, "").ok());
  auto listed = store->list();
  ASSERT_TRUE(listed.ok()) << listed.error();
  EXPECT_TRUE(listed->empty());
  EXPECT_TRUE(fs::exists(index + ".damaged"));

  ASSERT_TRUE(store->import(busybox_fixture().archive(), "first:1").ok());
  ASSERT_TRUE(store->import(busybox_fixture().archive(), "second:1").ok());
  auto text = fs::read_file(index).value();
  ASSERT_TRUE(fs::write_file_atomic(index, text.substr(0, text.rfind("sha256:") + 20)).ok());
  listed = store->list();
  ASSERT_TRUE(listed.ok()) << listed.error();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->at(0).name, "docker.io/library/first:1");
  EXPECT_EQ(fs::read_file(index + ".damaged").value(), text.substr(0, text.rfind("sha256:") + 20));
  expect_store_usable(*store, busybox_fixture().archive());
}

// A full disk during unpack fails the unpack; no snapshot is recorded.
TEST_F(HostileTest, FullDiskDuringUnpackRecordsNoSnapshot) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  std::string small = work.path() + "/small";
  ASSERT_TRUE(fs::make_dirs(small).ok());
  if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=20m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(errno);
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{small};
  std::string big(30 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 23);
  auto img = write_layout(file("layout"),
                          {{layer("big.tar.gz", {{TarEntry::file, "big", big}})}, "big:1"});
  big.clear();
  auto full = ImageStore::open(small).value();
  ASSERT_TRUE(full->import(img.dir).ok());
  auto r = full->resolve("big:1", offline());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("No space left on device"), std::string::npos) << r.error();
  auto config = parse_config(fs::read_file(img.dir + "/blobs/sha256/" + img.config.hex()).value());
  EXPECT_FALSE(fs::exists(small + "/snapshots/" + config->diff_ids[0].hex()));
  auto left = earth::run_process({"sh", "-c", "find " + small + "/tmp -mindepth 2"})->out;
  EXPECT_EQ(left, "");
  EXPECT_TRUE(full->list().ok());
}
