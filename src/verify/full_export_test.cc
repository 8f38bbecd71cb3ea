// The full check read by Bulk Data $export, on in-process fakes: each side by
// $export where advertised, by search otherwise or when the export fails, and
// the same exact report whichever way each side was read.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "env/clock.h"
#include "fhir/bulk_export.h"
#include "fhir/client.h"
#include "http/fake_transport.h"
#include "tests/fakes/fake_fhir_server.h"
#include "verify/full.h"
#include "verify/verify.h"

namespace fm::verify {
namespace {

using nlohmann::json;

base::Instant At(const char* text) { return *base::ParseInstant(text); }

std::string Lu(int i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "2023-01-%02dT00:00:%02d.000Z", 1 + i / 60 % 28, i % 60);
  return buf;
}

std::string Patient(const std::string& id, int i, const std::string& given = "Ann",
                    const std::string& gender = "female") {
  return R"({"resourceType":"Patient","id":")" + id +
         R"(","meta":{"versionId":"1","lastUpdated":")" + Lu(i) + R"("},"gender":")" + gender +
         R"(","name":[{"family":"Doe","given":[")" + given + R"(","Q"]}]})";
}

std::string Observation(const std::string& id, int i) {
  return R"({"resourceType":"Observation","id":")" + id + R"(","meta":{"lastUpdated":")" + Lu(i) +
         R"("},"status":"final","valueQuantity":{"value":1.50,"unit":"mg"}})";
}

http::Response Json(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

// A Bulk Data $export in front of a FakeFhirServer: the kick-off snapshots
// the stored resources into one NDJSON file per type (bounds and _type are
// ignored, like a lax server); Range is honoured unless a fault says not.
class FakeExport {
 public:
  explicit FakeExport(testing::FakeFhirServer& server) : server_(server) {}

  struct Faults {
    bool advertise = true;         // system $export in the CapabilityStatement
    bool refuse_kickoff = false;   // 400
    int cut_downloads = 0;         // downloads cut after half their body (then a reset)
    bool ignore_range = false;     // answer 200 with the whole file to a Range request
    std::string wrong_count_type;  // the manifest miscounts this type's file
    bool error_issue = false;      // error[] holds an issue of severity error
  } faults;
  int kickoffs = 0, deletes = 0;
  std::string kickoff_url;
  std::vector<uint64_t> ranges;  // Range starts asked for

  // nullopt: not an export request (or metadata without export) of this server.
  std::optional<base::Result<http::Response>> Handle(const http::Request& r) {
    const std::string& base = server_.base_url();
    if (!base::StartsWith(r.url, base + "/")) return std::nullopt;
    std::string rest = r.url.substr(base.size() + 1);
    if (rest == "metadata") {
      if (!faults.advertise) return std::nullopt;
      return Json(200, {{"resourceType", "CapabilityStatement"},
                        {"rest",
                         {{{"mode", "server"},
                           {"resource", {{{"type", "Patient"}}, {{"type", "Observation"}}}},
                           {"operation", {{{"name", "export"}}}}}}}});
    }
    if (base::StartsWith(rest, "$export?") || rest == "$export") return KickOff(r);
    if (rest == "$export-status/1") {
      if (r.method == "DELETE") {
        ++deletes;
        return Json(202, {{"resourceType", "OperationOutcome"}, {"issue", json::array()}});
      }
      return Json(200, Manifest());
    }
    if (base::StartsWith(rest, "$export-file/")) return File(r, rest.substr(13));
    return std::nullopt;
  }

 private:
  base::Result<http::Response> KickOff(const http::Request& r) {
    ++kickoffs;
    kickoff_url = r.url;
    if (faults.refuse_kickoff) {
      return Json(400, {{"resourceType", "OperationOutcome"},
                        {"issue", {{{"severity", "error"}, {"code", "not-supported"}}}}});
    }
    files_.clear();
    for (const auto& [key, text] : server_.Snapshot()) {
      files_[key.substr(0, key.find('/'))] += text + "\n";
    }
    http::Response response;
    response.status = 202;
    http::SetHeader(response.headers, "Content-Location", server_.base_url() + "/$export-status/1");
    return response;
  }

  json Manifest() const {
    json output = json::array();
    for (const auto& [type, body] : files_) {
      int64_t lines = std::count(body.begin(), body.end(), '\n');
      if (type == faults.wrong_count_type) ++lines;
      output.push_back({{"type", type},
                        {"url", server_.base_url() + "/$export-file/" + type + ".ndjson"},
                        {"count", lines}});
    }
    json error = json::array();
    if (faults.error_issue) {
      error.push_back({{"type", "OperationOutcome"},
                       {"url", server_.base_url() + "/$export-file/errors.ndjson"}});
    }
    return {{"transactionTime", "2024-01-01T00:00:00Z"},
            {"request", kickoff_url},
            {"requiresAccessToken", false},
            {"output", output},
            {"error", error}};
  }

  base::Result<http::Response> File(const http::Request& r, const std::string& name) {
    std::string body;
    if (name == "errors.ndjson") {
      body =
          R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"Patient/p5 could not be read"}]})"
          "\n";
    } else {
      auto it = files_.find(name.substr(0, name.find('.')));
      if (it == files_.end()) return Json(404, {{"resourceType", "OperationOutcome"}});
      body = it->second;
    }
    http::Response response;
    response.status = 200;
    if (const std::string* range = http::FindHeader(r.headers, "Range")) {
      uint64_t from = std::stoull(range->substr(6));  // "bytes=N-"
      ranges.push_back(from);
      if (!faults.ignore_range) {
        response.status = 206;
        body = body.substr(from);
      }
    }
    if (faults.cut_downloads > 0) {
      --faults.cut_downloads;
      // Half the body (most likely ending inside a line), then a reset.
      FM_TRY_STATUS(r.on_body(std::string_view(body).substr(0, body.size() / 2)));
      return base::MakeError(base::ErrorKind::kTransient, "connection reset (fake)");
    }
    response.body = body;
    return http::DeliverBody(r, std::move(response), 7);  // odd chunks: lines span them
  }

  testing::FakeFhirServer& server_;
  std::map<std::string, std::string> files_;  // type → NDJSON
};

struct World {
  env::ManualClock clock{At("2024-01-01T00:00:00Z")};
  testing::FakeFhirServer src{"http://src.test/fhir", clock};
  testing::FakeFhirServer dst{"http://dst.test/fhir", clock};
  FakeExport src_export{src};
  FakeExport dst_export{dst};
  http::FakeTransport transport{[this](const http::Request& r) -> base::Result<http::Response> {
    for (FakeExport* e : {&src_export, &dst_export}) {
      if (auto answer = e->Handle(r)) return std::move(*answer);
    }
    auto response = base::StartsWith(r.url, src.base_url()) ? src.Handle(r) : dst.Handle(r);
    if (!response.ok()) return response;
    return http::DeliverBody(r, std::move(*response));
  }};
  fhir::Client source{"source", src.base_url(), transport, clock};
  fhir::Client destination{"destination", dst.base_url(), transport, clock};
  fhir::BulkExportClient src_bulk{"source", src.base_url(), transport, clock, fhir::PollOptions{}};
  fhir::BulkExportClient dst_bulk{"destination", dst.base_url(), transport, clock,
                                  fhir::PollOptions{}};
  std::vector<std::string> notes;

  // The same 30 Patients and 20 Observations on both sides, then a resource
  // missing, an extra one, a changed scalar and a changed nested array element.
  void PlantDifferences() {
    for (int i = 0; i < 30; ++i) {
      std::string p = Patient("p" + std::to_string(i), i);
      src.Seed(p);
      if (i == 7) p = Patient("p7", i, "Ann", "male");
      if (i == 8) p = Patient("p8", i, "Changed");
      dst.Seed(p);
    }
    for (int i = 0; i < 20; ++i) {
      src.Seed(Observation("o" + std::to_string(i), 30 + i));
      if (i != 3) dst.Seed(Observation("o" + std::to_string(i), 30 + i));
    }
    dst.Seed(Patient("x1", 5));
  }
  FullOptions Options() {
    FullOptions o;
    for (auto p : base::Split(kDefaultIgnore, ',')) o.ignore.emplace_back(p);
    o.page_size = 7;
    o.note = [this](const std::string& level, const std::string& message) {
      notes.push_back(level + ": " + message);
    };
    return o;
  }
  base::Result<FullResult> Check(const FullOptions& o) {
    return FullCheck(FullSide{source, &src_bulk}, FullSide{destination, &dst_bulk},
                     {"Observation", "Patient"}, o);
  }
  bool Noted(const std::string& text) const {
    return std::any_of(notes.begin(), notes.end(),
                       [&](const std::string& n) { return n.find(text) != std::string::npos; });
  }
};

void ExpectThePlantedDifferencesExactly(const FullResult& r) {
  EXPECT_EQ(r.missing, std::vector<std::string>{"Observation/o3"});
  EXPECT_EQ(r.extra, std::vector<std::string>{"Patient/x1"});
  EXPECT_EQ(r.different, (std::vector<std::string>{"Patient/p7", "Patient/p8"}));
  ASSERT_EQ(r.types.size(), 2u);
  EXPECT_EQ(r.types[0].type, "Observation");
  EXPECT_EQ(r.types[0].source, 20);
  EXPECT_EQ(r.types[0].destination, 19);
  EXPECT_EQ(r.types[0].missing, 1);
  EXPECT_EQ(r.types[1].source, 30);
  EXPECT_EQ(r.types[1].destination, 31);
  EXPECT_EQ(r.types[1].extra, 1);
  EXPECT_EQ(r.types[1].different, 2);
}

TEST(FullCheckByExport, ReadsBothSidesByExportAndReportsEachDifferenceExactly) {
  World w;
  w.PlantDifferences();
  auto r = w.Check(w.Options());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ExpectThePlantedDifferencesExactly(*r);
  EXPECT_EQ(r->source_read, "export");
  EXPECT_EQ(r->destination_read, "export");
  EXPECT_EQ(w.src_export.kickoffs, 1);
  EXPECT_EQ(w.dst_export.kickoffs, 1);
  EXPECT_EQ(w.src_export.deletes, 1);  // the status URL is released
  EXPECT_EQ(w.dst_export.deletes, 1);
  EXPECT_EQ(w.src.requests(), 0);  // no search at all
  EXPECT_EQ(w.dst.requests(), 0);
  EXPECT_NE(w.src_export.kickoff_url.find("_type=Observation%2CPatient"), std::string::npos)
      << w.src_export.kickoff_url;
  auto j = json::parse(FullJson(*r, std::nullopt));
  EXPECT_EQ(j["read"], json({{"source", "export"}, {"destination", "export"}}));
}

TEST(FullCheckByExport, MixedSidesCompareLikeTwoSearches) {
  World w;
  w.PlantDifferences();
  w.dst_export.faults.advertise = false;
  auto r = w.Check(w.Options());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ExpectThePlantedDifferencesExactly(*r);
  EXPECT_EQ(r->source_read, "export");
  EXPECT_EQ(r->destination_read, "search");
  EXPECT_EQ(w.dst_export.kickoffs, 0);
  EXPECT_TRUE(w.Noted("destination does not advertise system $export"))
      << base::Join(w.notes, "\n");

  World s;
  s.PlantDifferences();
  auto o = s.Options();
  o.via = FullVia::kSearch;
  auto by_search = s.Check(o);
  ASSERT_TRUE(by_search.ok());
  ExpectThePlantedDifferencesExactly(*by_search);
  EXPECT_EQ(s.src_export.kickoffs + s.dst_export.kickoffs, 0);
}

TEST(FullCheckByExport, AFailedExportFallsBackToSearchAndCountsEachResourceOnce) {
  // The Observation file is read whole, then the Patient file's count is
  // wrong: the rows of the half-read export must not stay beside the search's.
  World w;
  w.PlantDifferences();
  w.src_export.faults.wrong_count_type = "Patient";
  auto r = w.Check(w.Options());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ExpectThePlantedDifferencesExactly(*r);
  EXPECT_EQ(r->source_read, "search");
  EXPECT_EQ(r->destination_read, "export");
  EXPECT_EQ(w.src_export.deletes, 1);  // released after the failure too
  EXPECT_TRUE(w.Noted("warn: source: the full check's $export failed"))
      << base::Join(w.notes, "\n");
  EXPECT_TRUE(w.Noted("reading by search instead"));
}

TEST(FullCheckByExport, ARefusedKickOffOrAnExportErrorFallsBackToSearch) {
  for (bool refuse : {true, false}) {
    World w;
    w.PlantDifferences();
    w.src_export.faults.refuse_kickoff = refuse;
    w.src_export.faults.error_issue = !refuse;
    auto r = w.Check(w.Options());
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ExpectThePlantedDifferencesExactly(*r);
    EXPECT_EQ(r->source_read, "search") << refuse;
    EXPECT_TRUE(w.Noted(refuse ? "answered 400" : "could not be read"))
        << base::Join(w.notes, "\n");
  }
}

TEST(FullCheckByExport, ACutDownloadResumesAtALineBoundaryAndCountsEachResourceOnce) {
  World w;
  w.PlantDifferences();
  w.src_export.faults.cut_downloads = 2;
  auto r = w.Check(w.Options());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ExpectThePlantedDifferencesExactly(*r);
  EXPECT_EQ(r->source_read, "export");
  // The first download (of the Observation file) is cut, then its resumed
  // download too: the resume starts right after a newline of the file, and
  // after a broken resumed download only the prefix from before it is trusted.
  ASSERT_EQ(w.src_export.ranges.size(), 2u);
  std::string observations;
  for (const auto& [key, text] : w.src.Snapshot()) {
    if (base::StartsWith(key, "Observation/")) observations += text + "\n";
  }
  ASSERT_GT(w.src_export.ranges[0], 0u);
  EXPECT_EQ(observations[w.src_export.ranges[0] - 1], '\n');
  EXPECT_EQ(w.src_export.ranges[1], w.src_export.ranges[0]);
  EXPECT_GT(w.clock.TotalSlept(), base::Millis(0));  // backed off before retrying
}

TEST(FullCheckByExport, AServerThatIgnoresRangeResendsTheFileAndNothingCountsTwice) {
  World w;
  w.PlantDifferences();
  w.src_export.faults.cut_downloads = 1;
  w.src_export.faults.ignore_range = true;
  auto r = w.Check(w.Options());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ExpectThePlantedDifferencesExactly(*r);
  EXPECT_EQ(r->source_read, "export");
  EXPECT_EQ(w.src_export.ranges.size(), 1u);
  EXPECT_TRUE(w.Noted("ignored Range")) << base::Join(w.notes, "\n");
}

TEST(FullCheckByExport, TheBoundLimitsTheExportedSourceLikeItsSearch) {
  // The fake ignores _till, so lines past the bound are left out by the reader.
  World w;
  w.PlantDifferences();
  auto o = w.Options();
  o.before = base::ParseInstant(Lu(20)).value();  // p0..p19 on the source; all on the destination
  auto by_export = w.Check(o);
  ASSERT_TRUE(by_export.ok()) << by_export.error().ToString();
  EXPECT_NE(w.src_export.kickoff_url.find("_till=2023-01-01T00%3A00%3A20.000Z"), std::string::npos)
      << w.src_export.kickoff_url;
  EXPECT_EQ(w.dst_export.kickoff_url.find("_till"), std::string::npos) << w.dst_export.kickoff_url;
  EXPECT_TRUE(w.Noted("left out")) << base::Join(w.notes, "\n");
  o.via = FullVia::kSearch;
  auto by_search = w.Check(o);
  ASSERT_TRUE(by_search.ok());
  EXPECT_EQ(by_export->types[1].source, 20);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(by_export->types[i].source, by_search->types[i].source);
    EXPECT_EQ(by_export->types[i].destination, by_search->types[i].destination);
  }
  EXPECT_EQ(by_export->missing, by_search->missing);
  EXPECT_EQ(by_export->extra, by_search->extra);
  EXPECT_EQ(by_export->different, by_search->different);
}

TEST(FullCheckByExport, ViaExportTriesAServerThatDoesNotAdvertiseIt) {
  World w;
  w.PlantDifferences();
  w.src_export.faults.advertise = false;
  auto o = w.Options();
  o.via = FullVia::kExport;
  auto r = w.Check(o);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->source_read, "export");
  EXPECT_EQ(w.src_export.kickoffs, 1);
}

TEST(FullCheckByExport, AnInterruptStopsTheCheckInsteadOfFallingBack) {
  World w;
  w.PlantDifferences();
  w.clock.Interrupt();
  auto r = w.Check(w.Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, base::ErrorKind::kCancelled);
  EXPECT_EQ(w.src.requests(), 0);
}

TEST(FullCheckByExport, ParseFullViaNamesTheChoices) {
  EXPECT_EQ(*ParseFullVia("auto"), FullVia::kAuto);
  EXPECT_EQ(*ParseFullVia("export"), FullVia::kExport);
  EXPECT_EQ(*ParseFullVia("search"), FullVia::kSearch);
  EXPECT_FALSE(ParseFullVia("bulk").ok());
}

}  // namespace
}  // namespace fm::verify
