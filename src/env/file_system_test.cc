#include "env/file_system.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace fm::env {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/fm_fs_test_XXXXXX";
  return ::mkdtemp(tmpl);
}

TEST(PosixFileSystemTest, StagedFilesAreOwnerOnly) {
  auto fs = NewPosixFileSystem();
  std::string dir = TempDir() + "/a/b";
  ASSERT_TRUE(fs->CreateDirs(dir).ok());
  EXPECT_EQ(*fs->Mode(dir), 0700u);
  auto file = fs->OpenForWrite(dir + "/x.ndjson", false);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append("{}\n").ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(*fs->Mode(dir + "/x.ndjson"), 0600u);
}

TEST(PosixFileSystemTest, AtomicWriteReplacesWholeFile) {
  auto fs = NewPosixFileSystem();
  std::string path = TempDir() + "/cfg";
  ASSERT_TRUE(WriteFileAtomically(*fs, path, "one").ok());
  ASSERT_TRUE(WriteFileAtomically(*fs, path, "two").ok());
  EXPECT_EQ(*ReadSmallFile(*fs, path), "two");
  EXPECT_FALSE(fs->Exists(path + ".tmp"));
}

TEST(PosixFileSystemTest, MissingFileIsNotFound) {
  auto fs = NewPosixFileSystem();
  auto r = fs->OpenForRead("/nonexistent/fm/file");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, base::ErrorKind::kNotFound);
}

// A full staging disk used to end a run as a halted migration (exit 5) after
// every window attempt failed on it; it is a storage error (exit 7) that the
// runner does not retry. /dev/full answers every write with ENOSPC.
TEST(PosixFileSystemTest, AFullDiskIsAStorageErrorThatSaysSo) {
  auto fs = NewPosixFileSystem();
  if (!fs->Exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  auto file = fs->OpenForWrite("/dev/full", /*append=*/true);
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto written = (*file)->Append("{}\n");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().kind, base::ErrorKind::kStorage);
  EXPECT_NE(written.error().message.find("disk is full"), std::string::npos)
      << written.error().message;
}

}  // namespace
}  // namespace fm::env
