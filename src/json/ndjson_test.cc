#include "json/ndjson.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fm::json {
namespace {

using ::testing::ElementsAre;

struct Collected {
  std::vector<std::string> lines;
  base::Status status;
};

// Feeds `chunks` in order, then Finish; stops at the first error.
Collected FeedAll(NdjsonSplitter& splitter, const std::vector<std::string_view>& chunks) {
  Collected out;
  auto handler = [&](std::string_view line) {
    out.lines.emplace_back(line);
    return base::Ok();
  };
  for (std::string_view chunk : chunks) {
    out.status = splitter.Feed(chunk, handler);
    if (!out.status.ok()) return out;
  }
  out.status = splitter.Finish(handler);
  return out;
}

Collected FeedAll(const std::vector<std::string_view>& chunks, size_t max_line_bytes = 1024) {
  NdjsonSplitter splitter(max_line_bytes);
  return FeedAll(splitter, chunks);
}

constexpr std::string_view kSample =
    "{\"resourceType\":\"Patient\",\"id\":\"1\"}\n"
    "\n"
    "{\"resourceType\":\"Patient\",\"id\":\"2\"}\r\n"
    "  \t\n"
    "{\"a\":\"line with a \\r escape\"}\r\n"
    "\r\n"
    "{\"resourceType\":\"Observation\",\"id\":\"3\"}";  // no final newline

const std::vector<std::string> kSampleLines = {
    "{\"resourceType\":\"Patient\",\"id\":\"1\"}",
    "{\"resourceType\":\"Patient\",\"id\":\"2\"}",
    "{\"a\":\"line with a \\r escape\"}",
    "{\"resourceType\":\"Observation\",\"id\":\"3\"}",
};

TEST(NdjsonSplitterTest, WholeInputInOneChunk) {
  NdjsonSplitter splitter;
  Collected got = FeedAll(splitter, {kSample});
  ASSERT_TRUE(got.status.ok()) << got.status.error().ToString();
  EXPECT_EQ(got.lines, kSampleLines);
  EXPECT_EQ(splitter.lines_delivered(), 4u);
  EXPECT_EQ(splitter.line_number(), 7u);
  EXPECT_EQ(splitter.pending_bytes(), 0u);
}

TEST(NdjsonSplitterTest, EveryPairOfSplitPointsGivesTheSameLines) {
  for (size_t i = 0; i <= kSample.size(); ++i) {
    for (size_t j = i; j <= kSample.size(); ++j) {
      Collected got = FeedAll({kSample.substr(0, i), kSample.substr(i, j - i), kSample.substr(j)});
      ASSERT_TRUE(got.status.ok()) << "split at " << i << "," << j;
      ASSERT_EQ(got.lines, kSampleLines) << "split at " << i << "," << j;
    }
  }
}

TEST(NdjsonSplitterTest, OneByteChunks) {
  std::vector<std::string_view> chunks;
  for (size_t i = 0; i < kSample.size(); ++i) chunks.push_back(kSample.substr(i, 1));
  Collected got = FeedAll(chunks);
  ASSERT_TRUE(got.status.ok());
  EXPECT_EQ(got.lines, kSampleLines);
}

TEST(NdjsonSplitterTest, StripsCrlfButKeepsACarriageReturnInsideALine) {
  Collected got = FeedAll({"a\r\nb\rc\r\n\r\nd\r"});
  ASSERT_TRUE(got.status.ok());
  EXPECT_THAT(got.lines, ElementsAre("a", "b\rc", "d"));
}

TEST(NdjsonSplitterTest, FinishDeliversALastLineWithoutNewline) {
  NdjsonSplitter splitter;
  std::vector<std::string> lines;
  auto handler = [&](std::string_view line) {
    lines.emplace_back(line);
    return base::Ok();
  };
  ASSERT_TRUE(splitter.Feed("one\ntw", handler).ok());
  EXPECT_THAT(lines, ElementsAre("one"));
  EXPECT_EQ(splitter.pending_bytes(), 2u);
  ASSERT_TRUE(splitter.Feed("o", handler).ok());
  ASSERT_TRUE(splitter.Finish(handler).ok());
  EXPECT_THAT(lines, ElementsAre("one", "two"));
  EXPECT_EQ(splitter.pending_bytes(), 0u);
  ASSERT_TRUE(splitter.Finish(handler).ok());  // nothing left: no call
  EXPECT_EQ(lines.size(), 2u);
}

TEST(NdjsonSplitterTest, BlankLinesAreSkippedButCounted) {
  NdjsonSplitter splitter;
  Collected got = FeedAll(splitter, {"\n\na\n \t\n\r\nb\n\r\r\n\n"});
  ASSERT_TRUE(got.status.ok());
  EXPECT_THAT(got.lines, ElementsAre("a", "b"));
  EXPECT_EQ(splitter.line_number(), 8u);
  EXPECT_EQ(splitter.lines_delivered(), 2u);
}

TEST(NdjsonSplitterTest, LinesInsideAChunkAreViewsIntoIt) {
  NdjsonSplitter splitter;
  std::string chunk = "first\nsecond\nthi";
  std::vector<const char*> starts;
  auto handler = [&](std::string_view line) {
    starts.push_back(line.data());
    return base::Ok();
  };
  ASSERT_TRUE(splitter.Feed(chunk, handler).ok());
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0], chunk.data());
  EXPECT_EQ(starts[1], chunk.data() + 6);
  EXPECT_EQ(splitter.pending_bytes(), 3u);  // only the partial line is buffered
}

TEST(NdjsonSplitterTest, ALineOfExactlyTheLimitIsAccepted) {
  // The '\r' of a CRLF does not count, even when it waits for its '\n'.
  Collected got = FeedAll({"12345678\r", "\n12345678\n"}, /*max_line_bytes=*/8);
  ASSERT_TRUE(got.status.ok()) << got.status.error().ToString();
  EXPECT_THAT(got.lines, ElementsAre("12345678", "12345678"));
}

TEST(NdjsonSplitterTest, RefusesAnOversizedLineInsideOneChunk) {
  NdjsonSplitter splitter(8);
  Collected got = FeedAll(splitter, {"ok\n\n123456789\nnever\n"});
  ASSERT_FALSE(got.status.ok());
  EXPECT_EQ(got.status.error().kind, base::ErrorKind::kInvalidData);
  EXPECT_EQ(got.status.error().message, "line 3 is longer than 8 bytes");
  EXPECT_THAT(got.lines, ElementsAre("ok"));
}

TEST(NdjsonSplitterTest, RefusesAnOversizedLineWithoutBufferingIt) {
  NdjsonSplitter splitter(8);
  int calls = 0;
  auto handler = [&](std::string_view) {
    ++calls;
    return base::Ok();
  };
  ASSERT_TRUE(splitter.Feed("a\n1234", handler).ok());
  base::Status status = base::Ok();
  for (int i = 0; i < 100 && status.ok(); ++i) {
    status = splitter.Feed("5678", handler);
    EXPECT_LE(splitter.pending_bytes(), 9u);
  }
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "line 2 is longer than 8 bytes");
  EXPECT_EQ(splitter.line_number(), 2u);
  EXPECT_EQ(splitter.pending_bytes(), 0u);
  // The error is sticky: the rest of the stream is not read as lines.
  EXPECT_EQ(splitter.Feed("\nnext\n", handler).error().message, status.error().message);
  EXPECT_FALSE(splitter.Finish(handler).ok());
  EXPECT_EQ(calls, 1);
}

TEST(NdjsonSplitterTest, RefusesAnOversizedLastLineAtFinish) {
  Collected got = FeedAll({"ok\n123456789"}, /*max_line_bytes=*/8);
  ASSERT_FALSE(got.status.ok());
  EXPECT_EQ(got.status.error().message, "line 2 is longer than 8 bytes");
}

TEST(NdjsonSplitterTest, HandlerErrorStopsFeedingAndPropagates) {
  NdjsonSplitter splitter;
  std::vector<std::string> seen;
  auto handler = [&](std::string_view line) -> base::Status {
    seen.emplace_back(line);
    if (line == "bad") return base::MakeError(base::ErrorKind::kConflict, "refused");
    return base::Ok();
  };
  base::Status status = splitter.Feed("good\nbad\nafter\n", handler);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, base::ErrorKind::kConflict);
  EXPECT_EQ(status.error().message, "refused");
  EXPECT_THAT(seen, ElementsAre("good", "bad"));
  EXPECT_EQ(splitter.lines_delivered(), 1u);
  EXPECT_EQ(splitter.line_number(), 2u);
  EXPECT_EQ(splitter.Feed("more\n", handler).error().kind, base::ErrorKind::kConflict);
  EXPECT_EQ(splitter.Finish(handler).error().kind, base::ErrorKind::kConflict);
  EXPECT_EQ(seen.size(), 2u);
}

TEST(NdjsonSplitterTest, HandlerErrorOnABufferedLinePropagates) {
  NdjsonSplitter splitter;
  auto handler = [](std::string_view) -> base::Status {
    return base::MakeError(base::ErrorKind::kTransient, "disk full");
  };
  ASSERT_TRUE(splitter.Feed("par", handler).ok());
  base::Status status = splitter.Feed("tial\nnext\n", handler);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "disk full");
  EXPECT_EQ(splitter.line_number(), 1u);
  EXPECT_EQ(splitter.pending_bytes(), 0u);
}

}  // namespace
}  // namespace fm::json
