#include "earth/image/image_store.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "earth/base/fs.h"
#include "earth/base/subprocess.h"
#include "earth/image/layer.h"
#include "earth/store/blob_store.h"
#include "test_image.h"

namespace fs = earth::fs;
using namespace earth::image;

namespace {

class ImageStoreTest : public ::testing::Test {
protected:
  fs::TempDir cache{"/tmp", "earth-store-test-"};
  std::unique_ptr<ImageStore> store;
  void SetUp() override {
    REQUIRE_BUSYBOX();
    store = ImageStore::open(cache.path()).value();
  }
  std::string snapshot_count() {
    return earth::run_process({"sh", "-c", "ls " + cache.path() + "/snapshots | wc -l"})->out;
  }
};

} // namespace

TEST_F(ImageStoreTest, ImportsOciArchiveAndResolvesOffline) {
  auto names = store->import(busybox_fixture().archive());
  ASSERT_TRUE(names.ok()) << names.error();
  EXPECT_EQ(*names, std::vector<std::string>{"docker.io/library/busybox:latest"});
  ResolveOptions offline;
  offline.pull_if_missing = false;
  auto rec = store->resolve("busybox", offline);
  ASSERT_TRUE(rec.ok()) << rec.error();
  EXPECT_EQ(rec->manifest_digest.oci(), busybox_fixture().manifest);
  EXPECT_EQ(rec->name, "docker.io/library/busybox:latest");
  EXPECT_EQ(rec->config.cmd, std::vector<std::string>{"sh"});
  ASSERT_EQ(rec->config.env.size(), 1u);
  EXPECT_TRUE(rec->config.env[0].starts_with("PATH="));
  ASSERT_EQ(rec->layer_dirs.size(), 1u);
  const std::string& root = rec->layer_dirs[0];
  EXPECT_EQ(root, cache.path() + "/snapshots/" + rec->diff_ids[0].hex());
  EXPECT_TRUE(fs::exists(root + "/bin/busybox"));
  struct stat st {};
  ASSERT_EQ(::lstat((root + "/bin/sh").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(::lstat((root + "/tmp").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  EXPECT_NE(fs::read_file(root + "/etc/passwd").value().find("root:x:0:0"), std::string::npos);
  // Resolving again reuses the snapshot; a digest reference finds it too.
  auto again = store->resolve("docker.io/library/busybox:latest", offline);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->layer_dirs, rec->layer_dirs);
  EXPECT_EQ(store->manifest_digest("busybox:latest", offline).value(), rec->manifest_digest);
  auto by_digest = store->resolve("busybox@" + busybox_fixture().manifest, offline);
  ASSERT_TRUE(by_digest.ok()) << by_digest.error();
  EXPECT_EQ(by_digest->manifest_digest, rec->manifest_digest);
}

TEST_F(ImageStoreTest, MissingImageOfflineNamesIt) {
  ResolveOptions offline;
  offline.pull_if_missing = false;
  auto r = store->resolve("example.com/nope:1", offline);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("example.com/nope:1"), std::string::npos) << r.error();
  EXPECT_FALSE(store->remove("nope").ok());
  EXPECT_FALSE(store->resolve("Bad Ref", offline).ok());
}

TEST_F(ImageStoreTest, LayoutDirNeedsNameOnlyWhenUnnamed) {
  auto r = store->import(busybox_fixture().layout(), "localhost:5000/mine:v1");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->front(), "localhost:5000/mine:v1");
  auto list = store->list().value();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_GT(list[0].size, 100000u);
  EXPECT_TRUE(store->remove("localhost:5000/mine:v1").ok());
  EXPECT_TRUE(store->list().value().empty());
  EXPECT_FALSE(store->import(cache.path() + "/nothing.tar").ok());
}

TEST_F(ImageStoreTest, ExportsArchivesSkopeoReadsAndReimports) {
  ASSERT_TRUE(store->import(busybox_fixture().archive()).ok());
  std::string oci = cache.path() + "/out-oci.tar", docker = cache.path() + "/out-docker.tar";
  ASSERT_TRUE(store->export_archive("busybox", oci, ArchiveFormat::oci).ok());
  auto d = store->export_archive("busybox", docker, ArchiveFormat::docker);
  ASSERT_TRUE(d.ok()) << d.error();
  if (have_program("skopeo")) {
    auto a = earth::run_process({"skopeo", "inspect", "oci-archive:" + oci}).value();
    EXPECT_EQ(a.exit_status, 0) << a.err;
    EXPECT_NE(a.out.find(busybox_fixture().manifest), std::string::npos) << a.out;
    auto b = earth::run_process({"skopeo", "inspect", "docker-archive:" + docker}).value();
    EXPECT_EQ(b.exit_status, 0) << b.err;
    EXPECT_NE(b.out.find("\"Os\": \"linux\""), std::string::npos) << b.out;
  }
  // The docker archive holds the same uncompressed layer: same snapshot.
  auto original = store->resolve("busybox").value();
  auto back = store->import(docker, "reimported:docker");
  ASSERT_TRUE(back.ok()) << back.error();
  auto rec = store->resolve("reimported:docker");
  ASSERT_TRUE(rec.ok()) << rec.error();
  EXPECT_EQ(rec->layer_dirs, original.layer_dirs);
  EXPECT_EQ(rec->config.cmd, original.config.cmd);
  EXPECT_FALSE(store->export_archive("nope", oci, ArchiveFormat::oci).ok());
}

TEST_F(ImageStoreTest, CorruptLayerLeavesNoSnapshot) {
  ASSERT_TRUE(store->import(busybox_fixture().archive()).ok());
  auto blobs = earth::store::BlobStore::open(cache.path()).value();
  auto manifest =
      parse_manifest(blobs.get(*earth::Digest::parse(busybox_fixture().manifest)).value()).value();
  std::string layer = blobs.path(manifest.layers[0].digest);
  auto data = fs::read_file(layer).value();
  ASSERT_TRUE(fs::write_file_atomic(layer, data.substr(0, data.size() / 3)).ok());
  auto r = store->resolve("busybox");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find(manifest.layers[0].digest.oci()), std::string::npos) << r.error();
  EXPECT_EQ(snapshot_count(), "0\n");
}

TEST_F(ImageStoreTest, CommitAddsALayerAndConfig) {
  ASSERT_TRUE(store->import(busybox_fixture().archive()).ok());
  auto base = store->resolve("busybox").value();
  std::string upper = cache.path() + "/upper";
  ASSERT_TRUE(fs::make_dirs(upper + "/app").ok());
  ASSERT_TRUE(fs::write_file_atomic(upper + "/app/hello.txt", "hello\n").ok());
  bool root = running_privileged();
  if (root) {
    ASSERT_EQ(::mknod((upper + "/etc").c_str(), S_IFCHR, makedev(0, 0)), 0);
  }
  RuntimeConfig cfg = base.config;
  cfg.working_dir = "/app";
  cfg.cmd = {"cat", "hello.txt"};
  auto rec = store->commit(base, {upper}, cfg, {"earth-test/app:1"});
  ASSERT_TRUE(rec.ok()) << rec.error();
  ASSERT_EQ(rec->layer_dirs.size(), 2u);
  EXPECT_EQ(rec->layer_dirs[0], base.layer_dirs[0]);
  EXPECT_EQ(rec->config.working_dir, "/app");
  EXPECT_EQ(fs::read_file(rec->layer_dirs[1] + "/app/hello.txt").value(), "hello\n");
  // Flattening both layers applies the whiteout of /etc.
  auto blobs = earth::store::BlobStore::open(cache.path()).value();
  auto m = parse_manifest(blobs.get(rec->manifest_digest).value()).value();
  EXPECT_EQ(m.layers[1].media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
  std::string flat = cache.path() + "/flat";
  ASSERT_TRUE(fs::make_dirs(flat).ok());
  UnpackOptions apply;
  apply.whiteouts = WhiteoutMode::apply;
  for (const auto& l : m.layers) ASSERT_TRUE(unpack_layer(blobs.path(l.digest), flat, apply).ok());
  EXPECT_TRUE(fs::exists(flat + "/bin/busybox"));
  EXPECT_EQ(fs::exists(flat + "/etc/passwd"), !root);
  EXPECT_TRUE(fs::exists(flat + "/app/hello.txt"));
  if (have_program("skopeo")) {
    std::string out = cache.path() + "/app.tar";
    ASSERT_TRUE(store->export_archive("earth-test/app:1", out, ArchiveFormat::oci).ok());
    auto a = earth::run_process({"skopeo", "inspect", "--config", "oci-archive:" + out}).value();
    EXPECT_EQ(a.exit_status, 0) << a.err;
    EXPECT_NE(a.out.find("hello.txt"), std::string::npos) << a.out;
  }
}

// The snapshots of a committed image, stacked by overlayfs the way the
// sandbox does it, show the whiteouts of the upper layer.
TEST_F(ImageStoreTest, SnapshotsStackAsOverlayfsLowerDirs) {
  if (!running_privileged()) GTEST_SKIP() << "this test mounts overlayfs as real root";
  // A private mount namespace: nothing stays mounted if the test dies.
  if (::unshare(CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    GTEST_SKIP() << "cannot make a mount namespace: " << std::strerror(errno);
  ASSERT_TRUE(store->import(busybox_fixture().archive()).ok());
  auto base = store->resolve("busybox").value();
  std::string upper = cache.path() + "/upper";
  ASSERT_TRUE(fs::make_dirs(upper + "/usr/bin").ok());
  ASSERT_TRUE(fs::make_dirs(upper + "/etc").ok());
  ASSERT_TRUE(fs::write_file_atomic(upper + "/usr/bin/only", "x").ok());
  ASSERT_EQ(::setxattr((upper + "/usr/bin").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  ASSERT_EQ(::mknod((upper + "/etc/group").c_str(), S_IFCHR, makedev(0, 0)), 0);
  auto rec = store->commit(base, {upper}, base.config, {"earth-test/overlay:1"});
  ASSERT_TRUE(rec.ok()) << rec.error();
  std::string lower;
  for (auto it = rec->layer_dirs.rbegin(); it != rec->layer_dirs.rend(); ++it)
    lower += (lower.empty() ? "" : ":") + *it;
  std::string merged = cache.path() + "/merged";
  ASSERT_TRUE(fs::make_dirs(merged).ok());
  if (::mount("overlay", merged.c_str(), "overlay", 0, ("lowerdir=" + lower).c_str()) != 0)
    GTEST_SKIP() << "cannot mount overlayfs here: " << std::strerror(errno);
  bool group = fs::exists(merged + "/etc/group");
  bool passwd = fs::exists(merged + "/etc/passwd");
  bool only = fs::exists(merged + "/usr/bin/only");
  bool env = fs::exists(merged + "/usr/bin/env");
  bool busybox = fs::exists(merged + "/bin/busybox");
  ::umount2(merged.c_str(), MNT_DETACH);
  EXPECT_FALSE(group);
  EXPECT_TRUE(passwd);
  EXPECT_TRUE(only);
  EXPECT_FALSE(env); // hidden by the opaque /usr/bin
  EXPECT_TRUE(busybox);
}

// A docker-archive written by skopeo (an independent producer) imports, and
// its uncompressed layer lands in the same snapshot as the OCI original.
TEST_F(ImageStoreTest, ImportsDockerArchiveMadeBySkopeo) {
  if (!have_program("skopeo")) GTEST_SKIP() << "skopeo is not installed";
  std::string docker = cache.path() + "/skopeo-docker.tar";
  auto r = earth::run_process({"skopeo", "copy", "oci-archive:" + busybox_fixture().archive(),
                               "docker-archive:" + docker + ":example.com/team/box:7"})
               .value();
  ASSERT_EQ(r.exit_status, 0) << r.err;
  auto names = store->import(docker);
  ASSERT_TRUE(names.ok()) << names.error();
  EXPECT_EQ(*names, std::vector<std::string>{"example.com/team/box:7"});
  auto rec = store->resolve("example.com/team/box:7", ResolveOptions{false, false});
  ASSERT_TRUE(rec.ok()) << rec.error();
  ASSERT_TRUE(store->import(busybox_fixture().archive()).ok());
  EXPECT_EQ(rec->layer_dirs, store->resolve("busybox").value().layer_dirs);
}

TEST_F(ImageStoreTest, CompressedAndBrokenArchives) {
  std::string gz = cache.path() + "/busybox.tar.gz";
  auto r =
      earth::run_process({"sh", "-c", "gzip -c '" + busybox_fixture().archive() + "' > " + gz});
  ASSERT_EQ(r.value().exit_status, 0);
  EXPECT_TRUE(store->import(gz).ok());
  auto data = fs::read_file(busybox_fixture().archive()).value();
  std::string cut = cache.path() + "/cut.tar", junk = cache.path() + "/junk.tar";
  ASSERT_TRUE(fs::write_file_atomic(cut, data.substr(0, data.size() / 2)).ok());
  ASSERT_TRUE(fs::write_file_atomic(junk, std::string(5000, 'j')).ok());
  fs::TempDir fresh_cache("/tmp", "earth-store-fresh-");
  auto fresh = ImageStore::open(fresh_cache.path()).value();
  for (const auto& bad : {cut, junk}) {
    auto imported = fresh->import(bad);
    ASSERT_FALSE(imported.ok()) << bad;
    EXPECT_NE(imported.error().find(bad), std::string::npos) << imported.error();
  }
  EXPECT_TRUE(fresh->list().value().empty());
}

// Several earth processes resolving the same image into one cache at once:
// all succeed and share one snapshot per layer.
TEST_F(ImageStoreTest, ConcurrentProcessesShareOneCache) {
  ASSERT_TRUE(store->import(busybox_fixture().archive()).ok());
  std::vector<pid_t> children;
  for (int i = 0; i < 4; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      auto s = ImageStore::open(cache.path());
      bool ok = s && (*s)->resolve("busybox", ResolveOptions{false, false}).ok() &&
                (*s)->import(busybox_fixture().archive(), "copy" + std::to_string(i)).ok();
      ::_exit(ok ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(snapshot_count(), "1\n");
  EXPECT_EQ(store->list().value().size(), 5u); // no index update was lost
}

TEST_F(ImageStoreTest, CommitFromScratchAndWithoutChanges) {
  std::string upper = cache.path() + "/upper";
  ASSERT_TRUE(fs::make_dirs(upper + "/bin").ok());
  ASSERT_TRUE(fs::write_file_atomic(upper + "/bin/tool", "#!/bin/sh\n", 0755).ok());
  RuntimeConfig cfg;
  cfg.entrypoint = {"/bin/tool"};
  auto scratch = store->commit(ImageRecord{}, {upper}, cfg, {"earth-test/scratch:1"});
  ASSERT_TRUE(scratch.ok()) << scratch.error();
  ASSERT_EQ(scratch->layer_dirs.size(), 1u);
  EXPECT_EQ(scratch->config.entrypoint, cfg.entrypoint);
  EXPECT_EQ(scratch->os, "linux");
  cfg.cmd = {"--help"};
  auto same = store->commit(*scratch, {}, cfg, {"earth-test/scratch:2"});
  ASSERT_TRUE(same.ok()) << same.error();
  EXPECT_EQ(same->layer_dirs, scratch->layer_dirs);
  EXPECT_EQ(same->config.cmd, cfg.cmd);
  EXPECT_NE(same->manifest_digest, scratch->manifest_digest);
}
