#include "earth/store/prune.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>

#include "dead_step.h"
#include "earth/base/digest.h"
#include "earth/base/fs.h"
#include "earth/store/blob_store.h"
#include "earth/store/image_index.h"
#include "earth/store/snapshots.h"
#include "earth/store/usage.h"

namespace fs = earth::fs;
using earth::Digest;
using earth::Result;
using namespace earth::store;
using earth::store::testing::dead_step;

namespace {

bool has_step(const std::string& cache, const Digest& k) {
  return fs::is_dir(cache + "/steps/" + k.hex());
}

} // namespace

TEST(Prune, RemovesEverythingUnusedButWhatALiveProcessLeases) {
  fs::TempDir dir("/tmp", "earth-prune-test-");
  std::string cache = dir.path();
  Digest old = dead_step(cache, "old", 1000, 4);
  auto steps = SnapshotStore::open(cache, "steps").value();
  Digest mine = Digest::of("mine");
  ASSERT_TRUE(steps.ensure(mine, [](const std::string&) -> Result<void> { return {}; }).ok());
  auto report = prune(cache, {}).value();
  EXPECT_FALSE(has_step(cache, old));
  EXPECT_TRUE(has_step(cache, mine)) << "leased by this (live) process";
  EXPECT_EQ(report.removed[EntryKind::step].entries, 1);
  EXPECT_GE(report.removed[EntryKind::step].bytes, 4096);
  EXPECT_NE(report.describe().find("removed 1 step result"), std::string::npos);
  // The dead log was merged into <cache>/usage and removed.
  EXPECT_TRUE(fs::exists(cache + "/usage"));
  EXPECT_EQ(fs::list_dir(cache + "/leases").value().size(), 1u); // ours
}

TEST(Prune, KeepBytesRemovesLeastRecentlyUsedFirst) {
  fs::TempDir dir("/tmp", "earth-prune-test-");
  std::string cache = dir.path();
  Digest a = dead_step(cache, "a", 1000, 40);
  Digest b = dead_step(cache, "b", 3000, 40);
  Digest c = dead_step(cache, "c", 2000, 40);
  PruneOptions o;
  o.keep_bytes = 100 * 1024; // room for two of the three
  auto report = prune(cache, o).value();
  EXPECT_FALSE(has_step(cache, a)) << "the least recently used goes";
  EXPECT_TRUE(has_step(cache, b));
  EXPECT_TRUE(has_step(cache, c));
  EXPECT_LE(report.total_after, 100 * 1024);
}

TEST(Prune, KeepDurationKeepsRecentUses) {
  fs::TempDir dir("/tmp", "earth-prune-test-");
  std::string cache = dir.path();
  Digest old = dead_step(cache, "old", 1000, 4);
  Digest recent = dead_step(cache, "recent", std::time(nullptr) - 60, 4);
  PruneOptions o;
  o.keep_duration = std::chrono::hours(1);
  (void)prune(cache, o).value();
  EXPECT_FALSE(has_step(cache, old));
  EXPECT_TRUE(has_step(cache, recent));
}

TEST(Prune, NamedImagesStayUnlessAll) {
  fs::TempDir dir("/tmp", "earth-prune-test-");
  std::string cache = dir.path();
  pid_t pid = ::fork(); // the image is written by a process that then exits
  if (pid == 0) {
    auto blobs = BlobStore::open(cache).value();
    Digest layer = blobs.put("layer bytes").value();
    Digest diff = Digest::of("diff");
    std::string config = R"({"rootfs":{"type":"layers","diff_ids":[")" + diff.oci() + R"("]}})";
    Digest cfg = blobs.put(config).value();
    std::string manifest = R"({"config":{"digest":")" + cfg.oci() + R"("},"layers":[{"digest":")" +
                           layer.oci() + R"("}]})";
    Digest m = blobs.put(manifest).value();
    (void)blobs.put("garbage").value();
    auto snaps = SnapshotStore::open(cache).value();
    (void)snaps.ensure(diff, [](const std::string&) -> Result<void> { return {}; });
    ::_exit(ImageIndex(cache).set("docker.io/library/x:latest", m).ok() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_EQ(status, 0);
  auto report = prune(cache, {}).value();
  EXPECT_EQ(report.removed[EntryKind::blob].entries, 1) << "only the unreferenced blob";
  EXPECT_EQ(fs::list_dir(cache + "/blobs/sha256").value().size(), 3u);
  EXPECT_EQ(fs::list_dir(cache + "/snapshots").value().size(), 1u);
  PruneOptions all;
  all.all = true;
  report = prune(cache, all).value();
  EXPECT_EQ(report.images_unnamed, 1);
  EXPECT_TRUE(fs::list_dir(cache + "/blobs/sha256").value().empty());
  EXPECT_TRUE(fs::list_dir(cache + "/snapshots").value().empty());
  EXPECT_TRUE(ImageIndex(cache).load().value().empty());
}

TEST(Prune, UnknownUsageVersionIsRefusedWithThePath) {
  fs::TempDir dir("/tmp", "earth-prune-test-");
  ASSERT_TRUE(fs::write_file_atomic(dir.path() + "/usage", "earth-usage 9\n").ok());
  auto r = prune(dir.path(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find(dir.path() + "/usage: unknown format"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("delete it"), std::string::npos);
}

TEST(Prune, EnforceLimitPrunesOnlyWhenOver) {
  fs::TempDir dir("/tmp", "earth-prune-test-");
  std::string cache = dir.path();
  Digest a = dead_step(cache, "a", 1000, 64);
  Digest b = dead_step(cache, "b", 2000, 64);
  auto report = enforce_limit(cache, {1 << 20, "test"}).value();
  EXPECT_EQ(report.sum().entries, 0);
  EXPECT_TRUE(has_step(cache, a));
  report = enforce_limit(cache, {100 * 1024, "test"}).value();
  EXPECT_EQ(report.sum().entries, 1);
  EXPECT_FALSE(has_step(cache, a));
  EXPECT_TRUE(has_step(cache, b));
  EXPECT_EQ(enforce_limit(cache, {0, "off"}).value().sum().entries, 0);
}

TEST(Prune, Units) {
  EXPECT_EQ(parse_size("512").value(), 512);
  EXPECT_EQ(parse_size("10K").value(), 10240);
  EXPECT_EQ(parse_size("1.5GiB").value(), 1610612736);
  EXPECT_EQ(parse_size("20GB").value(), 20LL << 30);
  EXPECT_FALSE(parse_size("ten").ok());
  EXPECT_FALSE(parse_size("10X").ok());
  EXPECT_EQ(parse_duration("90s").value().count(), 90);
  EXPECT_EQ(parse_duration("1h30m").value().count(), 5400);
  EXPECT_EQ(parse_duration("7d").value().count(), 7 * 86400);
  EXPECT_FALSE(parse_duration("soon").ok());
  EXPECT_FALSE(parse_duration("5y").ok());
}

TEST(Prune, CacheLimitFromEnv) {
  ::setenv("EARTH_CACHE_SIZE", "5G", 1);
  EXPECT_EQ(cache_limit_from_env("/tmp").value().max_bytes, 5LL << 30);
  ::setenv("EARTH_CACHE_SIZE", "0", 1);
  EXPECT_EQ(cache_limit_from_env("/tmp").value().max_bytes, 0);
  ::setenv("EARTH_CACHE_SIZE", "lots", 1);
  EXPECT_FALSE(cache_limit_from_env("/tmp").ok());
  ::unsetenv("EARTH_CACHE_SIZE");
  auto d = cache_limit_from_env("/tmp").value().max_bytes;
  EXPECT_GT(d, 0);
  EXPECT_LE(d, 20LL << 30);
}

TEST(Prune, EnforceLimitMergesManyDeadLogs) {
  fs::TempDir dir("/tmp", "earth-prune-test-");
  std::string cache = dir.path();
  for (int i = 0; i < 33; ++i) dead_step(cache, "s" + std::to_string(i), 1000 + i, 4);
  ASSERT_EQ(fs::list_dir(cache + "/leases").value().size(), 33u);
  ASSERT_TRUE(write_usage(cache, {}).ok());
  EXPECT_EQ(enforce_limit(cache, {1 << 30, "test"}).value().sum().entries, 0);
  EXPECT_TRUE(fs::list_dir(cache + "/leases").value().empty()) << "merged into usage";
  auto usage = read_usage(cache).value();
  EXPECT_EQ(usage.uses.size(), 33u);
  EntryId s5{EntryKind::step, Digest::of("s5").hex()};
  EXPECT_EQ(usage.uses[s5].last_use, 1005);
}

TEST(Prune, RemovesLogsWhoseWriterDiedBeforeNamingThem) {
  fs::TempDir dir("/tmp", "earth-prune-test-");
  std::string leases = dir.path() + "/leases";
  ASSERT_TRUE(fs::make_dirs(leases).ok());
  ASSERT_TRUE(fs::write_file_atomic(leases + "/1-2.log.new", "").ok());
  ASSERT_TRUE(fs::write_file_atomic(leases + "/3-4.log.new", "").ok());
  struct timespec old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (leases + "/1-2.log.new").c_str(), old, 0), 0);
  ASSERT_TRUE(prune(dir.path(), {}).ok());
  EXPECT_FALSE(fs::exists(leases + "/1-2.log.new"));
  EXPECT_TRUE(fs::exists(leases + "/3-4.log.new")) << "young: maybe a process naming it now";
}

// The records beside the steps go with them: a target record naming a
// pruned step dir (its paths are length-prefixed tokens, a digit follows the
// hex), a timing whose step is gone, an explain record whose steps are all
// gone; what still describes a kept step stays, and --all clears it all.
TEST(Prune, RecordsGoWithTheirSteps) {
  fs::TempDir dir("/tmp", "earth-prune-test-");
  std::string cache = dir.path();
  Digest old = dead_step(cache, "old", 1000, 4);
  Digest recent = dead_step(cache, "recent", std::time(nullptr), 4);
  auto put = [&](const std::string& sub, const Digest& name, const std::string& text) {
    ASSERT_TRUE(fs::make_dirs(cache + "/" + sub).ok());
    ASSERT_TRUE(fs::write_file_atomic(cache + "/" + sub + "/" + name.hex(), text).ok());
  };
  auto record = [&](const Digest& step) {
    std::string path = cache + "/steps/" + step.hex();
    return "earth-target-record 4\n" + std::to_string(path.size()) + ":" + path + "1:0";
  };
  Digest t_old = Digest::of("t-old"), t_recent = Digest::of("t-recent");
  put("targets", t_old, record(old));
  put("targets", t_recent, record(recent));
  put("timings", old, "earth.step-time.v1 5\n");
  put("timings", recent, "earth.step-time.v1 5\n");
  put("explain", t_old, R"({"version":1,"steps":[{"key":")" + old.hex() + R"("}],"records":[]})");
  put("explain", t_recent,
      R"({"version":1,"steps":[{"key":")" + old.hex() + R"("},{"key":")" + recent.hex() +
          R"("}],"records":[]})");
  ASSERT_TRUE(fs::write_file_atomic(cache + "/stat-cache", "x").ok());

  PruneOptions o;
  o.keep_duration = std::chrono::hours(1);
  auto r = prune(cache, o);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE(has_step(cache, old));
  EXPECT_TRUE(has_step(cache, recent));
  EXPECT_FALSE(fs::exists(cache + "/targets/" + t_old.hex()));
  EXPECT_TRUE(fs::exists(cache + "/targets/" + t_recent.hex()));
  EXPECT_FALSE(fs::exists(cache + "/timings/" + old.hex()));
  EXPECT_TRUE(fs::exists(cache + "/timings/" + recent.hex()));
  EXPECT_FALSE(fs::exists(cache + "/explain/" + t_old.hex()));
  EXPECT_TRUE(fs::exists(cache + "/explain/" + t_recent.hex()));
  EXPECT_TRUE(fs::exists(cache + "/stat-cache"));
  EXPECT_EQ(r->records_removed[RecordKind::target].entries, 1);
  EXPECT_EQ(r->records_removed[RecordKind::timing].entries, 1);
  EXPECT_EQ(r->records_removed[RecordKind::explain].entries, 1);
  EXPECT_NE(r->describe().find("1 target record, 1 step timing, 1 explain record"),
            std::string::npos)
      << r->describe();
  EXPECT_GT(r->total_before - r->total_after, 4 * 1024); // the step and its records

  o = {};
  o.all = true;
  r = prune(cache, o);
  ASSERT_TRUE(r.ok()) << r.error();
  for (const char* sub : {"targets", "timings", "explain"})
    EXPECT_TRUE(fs::list_dir(cache + "/" + sub).value().empty()) << sub;
  EXPECT_FALSE(fs::exists(cache + "/stat-cache"));
}

// A request journal's use list (journals/<hex>.uses): its mtime, bumped by
// every build the journal answers, counts as use of the entries it names.
TEST(Prune, AJournalsUseListKeepsItsEntries) {
  fs::TempDir dir("/tmp", "earth-prune-test-");
  std::string cache = dir.path();
  Digest listed = dead_step(cache, "listed", 1000, 4);
  Digest other = dead_step(cache, "other", 1000, 4);
  std::string uses = cache + "/journals/j.uses";
  ASSERT_TRUE(fs::make_dirs(cache + "/journals"));
  ASSERT_TRUE(write_use_list(uses, {{EntryKind::step, listed.hex()}}));
  PruneOptions o;
  o.keep_duration = std::chrono::hours(1);
  (void)prune(cache, o).value();
  EXPECT_TRUE(has_step(cache, listed)) << "used through the journal just now";
  EXPECT_FALSE(has_step(cache, other));
}

// A partial build extends its journal's use list in place: the new entries
// appended (once each), a torn last line closed first, and with nothing new
// only the mtime bumped.
TEST(Prune, AUseListIsExtendedInPlace) {
  fs::TempDir dir("/tmp", "earth-prune-test-");
  std::string uses = dir.path() + "/j.uses";
  std::string a = Digest::of("a").hex(), b = Digest::of("b").hex(), c = Digest::of("c").hex();
  ASSERT_TRUE(write_use_list(uses, {{EntryKind::step, a}}));
  struct stat before {};
  ASSERT_EQ(::stat(uses.c_str(), &before), 0);
  ASSERT_TRUE(
      write_use_list(uses, {{EntryKind::step, a}, {EntryKind::step, b}}, fs::Durable::no, true));
  struct stat after {};
  ASSERT_EQ(::stat(uses.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "appended, not rewritten";
  EXPECT_EQ(fs::read_file(uses).value(), "earth-leases 1\nS " + a + "\nS " + b + "\n");
  ASSERT_TRUE(fs::append_file(uses, "S " + a.substr(0, 10), fs::Durable::no)); // a torn line
  ASSERT_TRUE(write_use_list(uses, {{EntryKind::step, c}}, fs::Durable::no, true));
  EXPECT_EQ(fs::read_file(uses).value(),
            "earth-leases 1\nS " + a + "\nS " + b + "\nS " + a.substr(0, 10) + "\nS " + c + "\n");
  struct timespec old_times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, uses.c_str(), old_times, 0), 0);
  ASSERT_TRUE(write_use_list(uses, {{EntryKind::step, b}}, fs::Durable::no, true));
  ASSERT_EQ(::stat(uses.c_str(), &after), 0);
  EXPECT_GT(after.st_mtime, 1000) << "nothing new: the mtime says it was used now";
}

// Prune rewrites <cache>/generation before it takes anything away, so a
// journal made before no longer holds; --all removes the journals.
TEST(Prune, BumpsTheGenerationWhenItRemovesSomething) {
  fs::TempDir dir("/tmp", "earth-prune-test-");
  std::string cache = dir.path();
  (void)prune(cache, {}).value();
  EXPECT_FALSE(fs::exists(generation_path(cache))) << "nothing removed";
  (void)dead_step(cache, "old", 1000, 4);
  (void)prune(cache, {}).value();
  ASSERT_TRUE(fs::exists(generation_path(cache)));
  struct stat before {};
  ASSERT_EQ(::stat(generation_path(cache).c_str(), &before), 0);
  ASSERT_TRUE(fs::make_dirs(cache + "/journals"));
  ASSERT_TRUE(fs::write_file_atomic(cache + "/journals/j", "x"));
  PruneOptions all;
  all.all = true;
  (void)prune(cache, all).value();
  struct stat after {};
  ASSERT_EQ(::stat(generation_path(cache).c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  EXPECT_FALSE(fs::exists(cache + "/journals/j"));
}

TEST(Prune, RecordUsesWritesOneBatchAndAForkedChildItsOwnLog) {
  fs::TempDir dir("/tmp", "earth-prune-test-");
  std::string cache = dir.path();
  std::string a = Digest::of("a").hex(), b = Digest::of("b").hex();
  ASSERT_TRUE(record_use(cache, EntryKind::step, a).ok()); // the parent's pid and log, cached
  pid_t pid = ::fork();
  if (pid == 0) { // a forked child leases in a log of its own, not its parent's
    std::vector<UseRecord> batch{{EntryKind::step, a}, {EntryKind::snapshot, b, 8192}};
    bool ok = record_uses(cache, batch).ok() && record_uses(cache, batch).ok();
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_EQ(status, 0);
  auto logs = fs::list_dir(cache + "/leases").value();
  ASSERT_EQ(logs.size(), 2u);
  std::string child;
  for (const auto& n : logs)
    if (n.starts_with(std::to_string(pid) + "-"))
      child = fs::read_file(cache + "/leases/" + n).value();
  // The step once (a repeat is not written again), the snapshot with its size each time.
  EXPECT_EQ(child, "earth-leases 1\nS " + a + "\nL " + b + " 8192\nL " + b + " 8192\n");
  auto usage = read_usage(cache).value();
  EntryId snap{EntryKind::snapshot, b};
  EXPECT_EQ(usage.uses[snap].bytes, 8192);
  EXPECT_TRUE(usage.leased.contains(EntryId{EntryKind::step, a})) << "the parent lives";
  EXPECT_FALSE(usage.leased.contains(snap)) << "the child is dead";
}
