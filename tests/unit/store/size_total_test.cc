#include "earth/store/size_total.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dead_step.h"
#include "earth/base/digest.h"
#include "earth/base/fs.h"
#include "earth/store/prune.h"
#include "earth/store/snapshots.h"
#include "earth/store/usage.h"

namespace fs = earth::fs;
using earth::Digest;
using earth::Result;
using namespace earth::store;
using earth::store::testing::dead_step;

namespace {

// An output marker this process made (and recorded with its size).
void made_output(const std::string& cache, const std::string& name) {
  std::string hex = Digest::of(name).hex();
  ASSERT_TRUE(fs::make_dirs(cache + "/outputs").ok());
  ASSERT_TRUE(fs::write_file_atomic(cache + "/outputs/" + hex, std::string(4000, 'o')).ok());
  ASSERT_TRUE(record_use(cache, EntryKind::output, hex, 4096).ok());
}

bool has_step(const std::string& cache, const Digest& k) {
  return fs::is_dir(cache + "/steps/" + k.hex());
}

std::optional<SizeTotal> on_disk(const std::string& cache) {
  return SizeRecord::lock(cache).value().read();
}

void put(const std::string& cache, const SizeTotal& t) {
  ASSERT_TRUE(SizeRecord::lock(cache).value().write(t).ok());
}

// What the use records say the entries hold (the figure the total bounds).
int64_t recorded_bytes(const std::string& cache) {
  int64_t total = 0;
  auto usage = read_usage(cache).value();
  for (const auto& [id, u] : usage.uses) total += std::max<int64_t>(u.bytes, 0);
  return total;
}

std::vector<std::string> logs_ending(const std::string& cache, std::string_view suffix) {
  std::vector<std::string> out;
  auto names = fs::list_dir(cache + "/leases");
  if (names)
    for (auto& n : *names)
      if (n.ends_with(suffix)) out.push_back(n);
  return out;
}

} // namespace

TEST(SizeTotal, RoundTripsOneLineOfFixedLength) {
  std::string a = format_size_total({123, 456, 7});
  std::string b = format_size_total({-1, 0, 0});
  EXPECT_EQ(a.size(), b.size());
  EXPECT_TRUE(a.starts_with("earth-size 1 ")) << a;
  auto t = parse_size_total(a).value();
  EXPECT_EQ(t.total, 123);
  EXPECT_EQ(t.added, 456);
  EXPECT_EQ(t.folds, 7);
  EXPECT_EQ(parse_size_total(b).value().total, -1);
}

TEST(SizeTotal, ATornChangedOrUnknownRecordIsNotRead) {
  std::string line = format_size_total({5000, 5000, 1});
  EXPECT_FALSE(parse_size_total("").has_value());
  EXPECT_FALSE(parse_size_total(line.substr(0, line.size() / 2)).has_value()) << "torn";
  EXPECT_FALSE(parse_size_total(line.substr(0, line.size() - 1)).has_value()) << "no newline";
  std::string changed = line;
  changed[line.find("5000")] = '9'; // a digit changed: the checksum no longer matches
  EXPECT_FALSE(parse_size_total(changed).has_value());
  std::string other = line;
  other.replace(0, 12, "earth-size 2"); // another version, even with a right-looking body
  EXPECT_FALSE(parse_size_total(other).has_value());
}

TEST(SizeTotal, FoldsGrowAKnownTotalAndCountAnUnknownOnesBytes) {
  fs::TempDir dir("/tmp", "earth-size-test-");
  std::string cache = dir.path();
  EXPECT_EQ(add_to_size_total(cache, 100).value().total, -1) << "no record: unknown";
  EXPECT_EQ(on_disk(cache)->added, 100);
  put(cache, {1000, 100, 0});
  auto t = add_to_size_total(cache, 24).value();
  EXPECT_EQ(t.total, 1024);
  EXPECT_EQ(t.added, 124);
  EXPECT_EQ(t.folds, 1);
  EXPECT_EQ(add_to_size_total(cache, 0).value().folds, 1) << "nothing to fold: nothing written";
  ASSERT_TRUE(fs::write_file_atomic(size_total_path(cache), "earth-size 1 garbage\n").ok());
  EXPECT_EQ(add_to_size_total(cache, 5).value().total, -1) << "torn: unknown, never misread";
}

TEST(SizeTotal, ARecountAddsWhatWasFoldedMeanwhile) {
  fs::TempDir dir("/tmp", "earth-size-test-");
  std::string cache = dir.path();
  ASSERT_TRUE(fs::write_file_atomic(size_total_path(cache), "torn").ok());
  auto recount = SizeRecount::begin(cache).value(); // the unreadable record reset first
  EXPECT_EQ(on_disk(cache)->total, -1);
  ASSERT_TRUE(add_to_size_total(cache, 300).ok()); // another process made an entry meanwhile
  ASSERT_TRUE(recount.finish(5000).ok());
  auto t = on_disk(cache).value();
  EXPECT_EQ(t.total, 5300);
  EXPECT_EQ(t.folds, 0);
  // The record removed (by hand) while counting: what was folded is not known.
  auto again = SizeRecount::begin(cache).value();
  ::unlink(size_total_path(cache).c_str());
  ASSERT_TRUE(again.finish(5000).ok());
  EXPECT_EQ(on_disk(cache)->total, -1);
}

TEST(SizeTotal, ThisProcessFoldsWhatItRecordedAndMarksItsLog) {
  fs::TempDir dir("/tmp", "earth-size-test-");
  std::string cache = dir.path();
  put(cache, {0, 0, 0});
  ASSERT_TRUE(record_use(cache, EntryKind::step, Digest::of("a").hex()).ok());
  EXPECT_EQ(logs_ending(cache, ".a.log").size(), 1u) << "leases only: nothing to count";
  ASSERT_TRUE(record_use(cache, EntryKind::step, Digest::of("b").hex(), 8192).ok());
  EXPECT_EQ(logs_ending(cache, ".a.log").size(), 0u) << "bytes not in the total yet";
  EXPECT_EQ(lease_census(cache).uncounted_dead, 0u) << "ours, and live";
  EXPECT_EQ(fold_recorded_bytes(cache).value().total, 8192);
  EXPECT_EQ(logs_ending(cache, ".a.log").size(), 1u);
  EXPECT_EQ(fold_recorded_bytes(cache).value().total, 8192) << "folded once";
  // Its leases hold under either name.
  EXPECT_TRUE(read_leases(cache).value().contains({EntryKind::step, Digest::of("b").hex()}));
}

// A build far below the limit reads the size total and the leases dir, not
// the use records: a usage file in an unknown version is not even noticed.
TEST(SizeTotal, EnforceLimitUnderTheLimitReadsOnlyTheTotal) {
  fs::TempDir dir("/tmp", "earth-size-test-");
  std::string cache = dir.path();
  dead_step(cache, "a", 1000, 64);
  EXPECT_EQ(enforce_limit(cache, {1 << 30, "test"}).value().sum().entries, 0);
  EXPECT_EQ(on_disk(cache)->total, recorded_bytes(cache)) << "recounted: the dead log's bytes";
  EXPECT_EQ(lease_census(cache).logs, 0u) << "the uncounted dead log was merged into usage";
  ASSERT_TRUE(fs::write_file_atomic(cache + "/usage", "earth-usage 9\n").ok());
  EXPECT_TRUE(enforce_limit(cache, {1 << 30, "test"}).ok()) << "under: usage not read";
  put(cache, {-1, 0, 0}); // unknown: the exact figure is needed, and usage refused
  auto r = enforce_limit(cache, {1 << 30, "test"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find(cache + "/usage: unknown format"), std::string::npos) << r.error();
}

// A torn or unknown-version total is recounted from the use records.
TEST(SizeTotal, ATornOrUnknownTotalIsRecounted) {
  for (std::string text : {std::string("earth-size 1 00000"),
                           format_size_total({7, 7, 0}).replace(11, 1, "3"), std::string()}) {
    fs::TempDir dir("/tmp", "earth-size-test-");
    std::string cache = dir.path();
    Digest a = dead_step(cache, "a", 1000, 64);
    EXPECT_EQ(enforce_limit(cache, {1 << 30, "test"}).value().sum().entries, 0);
    int64_t exact = recorded_bytes(cache);
    ASSERT_GE(exact, 64 * 1024);
    ASSERT_TRUE(fs::write_file_atomic(size_total_path(cache), text).ok());
    EXPECT_EQ(enforce_limit(cache, {1 << 30, "test"}).value().sum().entries, 0);
    EXPECT_EQ(on_disk(cache)->total, exact) << text;
    EXPECT_TRUE(has_step(cache, a));
  }
}

// A total that drifted from the truth: one too high costs a recount and
// never a prune of a cache under its limit; one too low (folds lost to a
// power cut) is corrected by the recount every so many folds.
TEST(SizeTotal, ADriftedTotalIsCorrected) {
  fs::TempDir dir("/tmp", "earth-size-test-");
  std::string cache = dir.path();
  Digest a = dead_step(cache, "a", 1000, 64);
  Digest b = dead_step(cache, "b", 2000, 64);
  EXPECT_EQ(enforce_limit(cache, {1 << 30, "test"}).value().sum().entries, 0);
  int64_t exact = recorded_bytes(cache);
  put(cache, {int64_t(10) << 30, 0, 0}); // far too high
  EXPECT_EQ(enforce_limit(cache, {1 << 20, "test"}).value().sum().entries, 0);
  EXPECT_TRUE(has_step(cache, a) && has_step(cache, b));
  EXPECT_EQ(on_disk(cache)->total, exact);
  put(cache, {0, 0, 62}); // far too low, two folds before a recount is due
  made_output(cache, "o1");
  EXPECT_EQ(enforce_limit(cache, {100 * 1024, "test"}).value().sum().entries, 0)
      << "the total says under: believed";
  EXPECT_EQ(on_disk(cache)->folds, 63);
  made_output(cache, "o2");
  auto report = enforce_limit(cache, {100 * 1024, "test"}).value();
  EXPECT_EQ(report.removed[EntryKind::step].entries, 1) << "the 64th fold recounts: over";
  EXPECT_FALSE(has_step(cache, a)) << "the least recently used";
  EXPECT_TRUE(has_step(cache, b));
  auto t = on_disk(cache).value();
  EXPECT_EQ(t.folds, 0);
  EXPECT_EQ(t.total, recorded_bytes(cache)) << "prune wrote the exact figure";
}

// A process killed before its fold leaves a log the census finds: the next
// check recounts, and prunes when the cache is over.
TEST(SizeTotal, AKilledWritersBytesAreCountedByTheNextCheck) {
  fs::TempDir dir("/tmp", "earth-size-test-");
  std::string cache = dir.path();
  Digest a = dead_step(cache, "a", 1000, 64);
  EXPECT_EQ(enforce_limit(cache, {1 << 30, "test"}).value().sum().entries, 0);
  int64_t first = on_disk(cache)->total;
  Digest b = dead_step(cache, "b", 2000, 64);
  EXPECT_EQ(lease_census(cache).uncounted_dead, 1u);
  EXPECT_EQ(on_disk(cache)->total, first) << "not folded: the writer never checked";
  auto report = enforce_limit(cache, {first + 32 * 1024, "test"}).value();
  EXPECT_EQ(report.removed[EntryKind::step].entries, 1);
  EXPECT_FALSE(has_step(cache, a)) << "the least recently used";
  EXPECT_TRUE(has_step(cache, b));
  EXPECT_EQ(lease_census(cache).uncounted_dead, 0u) << "merged by the prune";
}

// A prune in another process lowers the total to what it left.
TEST(SizeTotal, PruneWritesTheExactTotal) {
  fs::TempDir dir("/tmp", "earth-size-test-");
  std::string cache = dir.path();
  dead_step(cache, "a", 1000, 64);
  put(cache, {int64_t(1) << 40, 5, 9});
  auto report = prune(cache, {}).value();
  EXPECT_EQ(report.removed[EntryKind::step].entries, 1);
  auto t = on_disk(cache).value();
  EXPECT_EQ(t.total, recorded_bytes(cache));
  EXPECT_EQ(t.added, 5);
  EXPECT_EQ(t.folds, 0);
}

// Processes folding at once: every byte is added once (the record's flock).
TEST(SizeTotal, ConcurrentFoldsLoseNothing) {
  fs::TempDir dir("/tmp", "earth-size-test-");
  std::string cache = dir.path();
  put(cache, {0, 0, 0});
  std::vector<pid_t> kids;
  for (int k = 0; k < 4; ++k) {
    pid_t pid = ::fork();
    if (pid == 0) {
      bool ok = true;
      for (int i = 0; i < 200; ++i) ok &= add_to_size_total(cache, 3).ok();
      ::_exit(ok ? 0 : 1);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_EQ(status, 0);
  }
  auto t = on_disk(cache).value();
  EXPECT_EQ(t.total, 4 * 200 * 3);
  EXPECT_EQ(t.added, 4 * 200 * 3);
  EXPECT_EQ(t.folds, 800);
}
