#include "migrate/search_extractor.h"

#include <gtest/gtest.h>

#include <map>

#include "migrate/test_world.h"

namespace fm::migrate {
namespace {

struct Collect : ResourceConsumer {
  std::map<std::string, int> seen;
  std::function<void()> after_each;
  base::Status Consume(Resource r) override {
    ++seen[r.type + "/" + r.id];
    if (after_each) after_each();
    return base::Ok();
  }
};

store::Window MakeWindow(const char* since, const char* till) {
  store::Window w;
  w.id = 1;
  w.since = At(since);
  w.till = At(till);
  return w;
}

TEST(SearchExtractorTest, BoundaryInstantsBelongToExactlyOneWindow) {
  World w;
  w.src.Seed(Patient("at-since", "2023-01-01T00:00:00.000Z"));
  w.src.Seed(Patient("inside", "2023-01-15T00:00:00.000Z"));
  w.src.Seed(Patient("at-till", "2023-02-01T00:00:00.000Z"));
  SearchExtractor x(w.source, w.options.search, w.sink);
  Collect first, second;
  ASSERT_TRUE(x.Extract(MakeWindow("2023-01-01", "2023-02-01"), {"Patient"}, first).ok());
  ASSERT_TRUE(x.Extract(MakeWindow("2023-02-01", "2023-03-01"), {"Patient"}, second).ok());
  EXPECT_EQ(first.seen, (std::map<std::string, int>{{"Patient/at-since", 1}, {"Patient/inside", 1}}));
  EXPECT_EQ(second.seen, (std::map<std::string, int>{{"Patient/at-till", 1}}));
}

TEST(SearchExtractorTest, ManyResourcesInOneMillisecondArriveExactlyOnce) {
  World w;  // page size 3, so the 10 ties span several pages
  for (int i = 0; i < 10; ++i) {
    w.src.Seed(Patient("tie" + std::to_string(i), "2023-01-10T12:00:00.000Z"));
  }
  w.src.Seed(Patient("later", "2023-01-11T00:00:00.000Z"));
  SearchExtractor x(w.source, w.options.search, w.sink);
  Collect out;
  auto counts = x.Extract(MakeWindow("2023-01-01", "2023-02-01"), {"Patient"}, out);
  ASSERT_TRUE(counts.ok()) << counts.error().ToString();
  EXPECT_EQ((*counts)[0], 11);
  ASSERT_EQ(out.seen.size(), 11u);
  for (const auto& [key, n] : out.seen) EXPECT_EQ(n, 1) << key;
}

TEST(SearchExtractorTest, AnUpdateDuringPagingDoesNotShiftOthersOutOfReach) {
  // Regression story: offset paging skips the resource that slides into the
  // slot of one that was updated (and so left the window) between two pages.
  World w;
  for (int i = 0; i < 9; ++i) {
    w.src.Seed(Patient("p" + std::to_string(i), "2023-01-0" + std::to_string(1 + i) + "T00:00:00.000Z"));
  }
  SearchExtractor x(w.source, w.options.search, w.sink);
  Collect out;
  bool updated = false;
  out.after_each = [&] {
    if (!updated && out.seen.size() == 2) {
      updated = true;
      w.src.Write(Patient("p0", "", "Updated"));  // moves p0 to "now" (2024)
    }
  };
  ASSERT_TRUE(x.Extract(MakeWindow("2023-01-01", "2023-02-01"), {"Patient"}, out).ok());
  EXPECT_EQ(out.seen.size(), 9u);
}

TEST(SearchExtractorTest, APageThatIsNotJsonFailsWithAClearMessage) {
  World w;
  w.src.Seed(Patient("p1", "2023-01-02T00:00:00.000Z"));
  w.src.SetOverride([](const http::Request&) -> std::optional<http::Response> {
    http::Response r;
    r.status = 200;
    r.body = "<html>gateway</html>";
    return r;
  });
  SearchExtractor x(w.source, w.options.search, w.sink);
  Collect out;
  auto r = x.Extract(MakeWindow("2023-01-01", "2023-02-01"), {"Patient"}, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, base::ErrorKind::kInvalidData);
  EXPECT_NE(r.error().message.find("source"), std::string::npos) << r.error().message;
}

TEST(SearchExtractorTest, AWindowOfOneTypeSearchesAndReadsHistoryOfThatTypeOnly) {
  World w;
  w.src.Seed(Patient("p1", "2023-01-02T00:00:00.000Z"));
  w.src.Seed(Observation("o1", "2023-01-03T00:00:00.000Z"));
  w.options.search.deletes = true;
  std::vector<std::string> urls;
  w.src.SetOverride([&](const http::Request& r) -> std::optional<http::Response> {
    urls.push_back(r.url);
    return std::nullopt;
  });
  SearchExtractor x(w.source, w.options.search, w.sink);
  store::Window window = MakeWindow("2023-01-01", "2023-02-01");
  window.resource_type = "Observation";
  Collect out;
  auto counts = x.ExtractWindow(window, {"Patient", "Observation"}, out);
  ASSERT_TRUE(counts.ok()) << counts.error().ToString();
  EXPECT_EQ(*counts, (std::map<std::string, int64_t>{{"Observation", 1}}));
  EXPECT_EQ(out.seen, (std::map<std::string, int>{{"Observation/o1", 1}}));
  bool history = false;
  for (const auto& url : urls) {
    EXPECT_EQ(url.find("/Patient"), std::string::npos) << url;
    history = history || url.find("/Observation/_history") != std::string::npos;
  }
  EXPECT_TRUE(history) << "deletes of the window's type are looked up";
}

}  // namespace
}  // namespace fm::migrate
