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

}  // namespace
}  // namespace fm::env
