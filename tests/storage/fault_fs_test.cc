// The power-loss file system (storage/fault_fs.h): after ApplyPowerLoss,
// every file it wrote holds exactly what a completed sync made durable.
#include "storage/fault_fs.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace ddp::storage {
namespace {

namespace fs = std::filesystem;

class PowerLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("power_loss_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    journal_ = (dir_ / "journal").string();
    fs_ = NewSyncJournalFileSystem(rocksdb::FileSystem::Default(), journal_);
    ASSERT_NE(fs_, nullptr);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<rocksdb::FSWritableFile> Create(const std::string& name) {
    std::unique_ptr<rocksdb::FSWritableFile> f;
    EXPECT_TRUE(fs_->NewWritableFile(Path(name), rocksdb::FileOptions(), &f, nullptr).ok());
    return f;
  }
  void Append(rocksdb::FSWritableFile* f, const std::string& data) {
    ASSERT_TRUE(f->Append(data, rocksdb::IOOptions(), nullptr).ok());
    ASSERT_TRUE(f->Flush(rocksdb::IOOptions(), nullptr).ok());
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Read(const std::string& name) const {
    std::ifstream in(Path(name), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
  std::string journal_;
  std::shared_ptr<rocksdb::FileSystem> fs_;
};

TEST_F(PowerLossTest, KeepsWhatWasSyncedAndDropsTheRest) {
  auto wal = Create("000001.log");
  Append(wal.get(), "synced-1 ");
  ASSERT_TRUE(wal->Sync(rocksdb::IOOptions(), nullptr).ok());
  Append(wal.get(), "synced-2 ");
  ASSERT_TRUE(wal->Fsync(rocksdb::IOOptions(), nullptr).ok());
  Append(wal.get(), "lost");
  auto never = Create("never-synced");
  Append(never.get(), "all of it is lost");
  // The process keeps reading what it wrote; only a power cut drops it.
  EXPECT_EQ(Read("000001.log"), "synced-1 synced-2 lost");
  auto cut = ApplyPowerLoss(journal_);
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_EQ(cut->files_cut, 2u);
  EXPECT_EQ(cut->bytes_dropped, 4u + 17u);
  EXPECT_EQ(Read("000001.log"), "synced-1 synced-2 ");
  EXPECT_EQ(Read("never-synced"), "");
  // The journal starts over: a second cut without new writes drops nothing.
  auto again = ApplyPowerLoss(journal_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->files_cut, 0u);
}

TEST_F(PowerLossTest, FollowsRenamesAndDeletes) {
  auto tmp = Create("CURRENT.dbtmp");
  Append(tmp.get(), "MANIFEST-000005\n");
  ASSERT_TRUE(tmp->Sync(rocksdb::IOOptions(), nullptr).ok());
  ASSERT_TRUE(tmp->Close(rocksdb::IOOptions(), nullptr).ok());
  ASSERT_TRUE(
      fs_->RenameFile(Path("CURRENT.dbtmp"), Path("CURRENT"), rocksdb::IOOptions(), nullptr).ok());
  auto gone = Create("old.log");
  Append(gone.get(), "x");
  ASSERT_TRUE(gone->Close(rocksdb::IOOptions(), nullptr).ok());
  ASSERT_TRUE(fs_->DeleteFile(Path("old.log"), rocksdb::IOOptions(), nullptr).ok());
  // A file of the same name made later by someone else is not touched.
  std::ofstream(Path("old.log")) << "not ours";
  auto cut = ApplyPowerLoss(journal_);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->files_cut, 0u);
  EXPECT_EQ(Read("CURRENT"), "MANIFEST-000005\n");
  EXPECT_EQ(Read("old.log"), "not ours");
}

TEST_F(PowerLossTest, ATornLastJournalLineIsIgnored) {
  auto f = Create("a.log");
  Append(f.get(), "abc");
  ASSERT_TRUE(f->Sync(rocksdb::IOOptions(), nullptr).ok());
  Append(f.get(), "def");
  // A kill in the middle of writing a line: the sync it records may not
  // have completed, so the earlier durable length holds.
  std::ofstream(journal_, std::ios::app) << "S\t6\t" << Path("a.log");
  auto cut = ApplyPowerLoss(journal_);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(Read("a.log"), "abc");
}

TEST_F(PowerLossTest, AMissingJournalIsAnEmptyOne) {
  auto cut = ApplyPowerLoss(Path("no-such-journal"));
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_EQ(cut->files_cut, 0u);
}

}  // namespace
}  // namespace ddp::storage
