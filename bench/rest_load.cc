// REST load against a minimal loader, the two sides of bench/rest_load.sh.
//
//   A: fhir-migrate's RestLoader reads an NDJSON file in 1 MiB chunks and
//      loads it (reference rewriting, batch Bundles, several in flight,
//      per-entry response checks, counts in a real SQLite state store).
//   B: a minimal loader POSTs batch Bundles of the same resources, built
//      before the clock starts, with the same concurrency and Bundle size,
//      and checks only that each answer is 200 with one 2xx entry per resource.
//
// Both send through the same libcurl transport to the same server; runs
// alternate A, B, A, B, ...
//
//   rest_load BASE_URL FILE.ndjson [RUNS=5] [CONCURRENCY=4] [BATCH=100]
//
// Prints every run and the medians: resources/s of each side, their ratio
// (DESIGN.md target: A ≥ 0.95× B) and A's CPU per resource.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "env/clock.h"
#include "fhir/client.h"
#include "http/transport.h"
#include "json/ndjson.h"
#include "json/resource.h"
#include "migrate/progress.h"
#include "migrate/rest_loader.h"
#include "store/state_store.h"

namespace {

using namespace fm;
using bench::CpuSeconds;
using bench::ForEachLine;
using bench::Median;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

struct Run {
  int64_t resources = 0;
  double wall = 0, cpu = 0;
};

base::Result<Run> RunTool(fhir::Client& destination, store::StateStore& store,
                          const std::string& path, int concurrency, int batch, int run) {
  auto clock = env::NewSystemClock();
  migrate::ProgressSink sink;
  migrate::RestLoadOptions options;
  options.concurrency = concurrency;
  options.batch_size = batch;
  options.version_memory = 0;  // as `run` loads a window without history
  migrate::RestLoader loader(destination, store, sink, *clock, options,
                             "http://source.invalid/fhir");
  store::Window w;
  w.since = base::Instant{};
  w.till = w.since + base::Millis(run);
  FM_ASSIGN_OR_RETURN(int64_t window, store.AddWindow(w));

  Run r;
  json::ResourceReader reader;
  const double cpu0 = CpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  auto session = loader.Begin(window);
  FM_TRY_STATUS(ForEachLine(path, [&](std::string_view line) -> base::Status {
    FM_ASSIGN_OR_RETURN(auto key, reader.ReadKey(line));
    ++r.resources;
    return session->Consume(
        migrate::Resource{std::move(key.type), std::move(key.id), std::string(line)});
  }));
  FM_ASSIGN_OR_RETURN(auto totals, session->Finish());
  r.wall = Seconds(t0);
  r.cpu = CpuSeconds() - cpu0;
  if (totals.loaded != r.resources) {
    return base::MakeError(base::ErrorKind::kFatal, "fhir-migrate loaded " +
                                                        std::to_string(totals.loaded) + " of " +
                                                        std::to_string(r.resources));
  }
  return r;
}

struct Prebuilt {
  std::vector<std::string> bundles;
  std::vector<int64_t> entries;  // per Bundle
  int64_t resources = 0;
};

base::Result<Prebuilt> BuildBundles(const std::string& path, int batch) {
  Prebuilt p;
  json::ResourceReader reader;
  std::string bundle;
  int64_t in_bundle = 0;
  auto close = [&] {
    if (in_bundle == 0) return;
    p.bundles.push_back(std::move(bundle) + "]}");
    p.entries.push_back(in_bundle);
    bundle.clear();
    in_bundle = 0;
  };
  FM_TRY_STATUS(ForEachLine(path, [&](std::string_view line) -> base::Status {
    FM_ASSIGN_OR_RETURN(auto key, reader.ReadKey(line));
    bundle += in_bundle == 0 ? R"({"resourceType":"Bundle","type":"batch","entry":[)" : ",";
    bundle += R"({"resource":)";
    bundle += line;
    bundle += R"(,"request":{"method":"PUT","url":")" + key.type + "/" + key.id + "\"}}";
    ++p.resources;
    if (++in_bundle == batch) close();
    return base::Ok();
  }));
  close();
  return p;
}

int64_t CountSuccessfulEntries(const std::string& body) {
  int64_t n = 0;
  static constexpr std::string_view kMarker = R"("status":"2)";
  for (size_t at = body.find(kMarker); at != std::string::npos;
       at = body.find(kMarker, at + kMarker.size())) {
    ++n;
  }
  return n;
}

base::Result<Run> RunMinimal(fhir::Client& destination, const Prebuilt& p, int concurrency) {
  std::atomic<size_t> next{0};
  std::atomic<int64_t> loaded{0};
  std::atomic<bool> failed{false};
  std::string first_error;
  std::mutex error_mu;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int i = 0; i < concurrency; ++i) {
    workers.emplace_back([&] {
      for (size_t b = next++; b < p.bundles.size() && !failed; b = next++) {
        auto answer = destination.PostBundle(p.bundles[b]);
        int64_t ok = answer.ok() ? CountSuccessfulEntries(*answer) : 0;
        if (ok != p.entries[b]) {
          std::lock_guard lock(error_mu);
          if (!failed.exchange(true)) {
            first_error = answer.ok() ? std::to_string(ok) + " of " + std::to_string(p.entries[b]) +
                                            " entries succeeded"
                                      : answer.error().ToString();
          }
        }
        loaded += ok;
      }
    });
  }
  for (auto& t : workers) t.join();
  Run r;
  r.wall = Seconds(t0);
  r.resources = loaded;
  if (failed) return base::MakeError(base::ErrorKind::kFatal, "minimal loader: " + first_error);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s BASE_URL FILE.ndjson [RUNS=5] [CONCURRENCY=4] [BATCH=100]\n",
                 argv[0]);
    return 2;
  }
  const std::string base_url = argv[1], path = argv[2];
  const int runs = argc > 3 ? std::max(1, std::atoi(argv[3])) : 5;
  const int concurrency = argc > 4 ? std::max(1, std::atoi(argv[4])) : 4;
  const int batch = argc > 5 ? std::max(1, std::atoi(argv[5])) : 100;

  bench::ScratchStore scratch(path + ".state.db");
  store::StateStore* store = scratch.Open();
  if (store == nullptr) return 1;
  auto clock = env::NewSystemClock();
  auto transport = http::NewCurlTransport(http::CurlOptions{});
  fhir::Client destination("destination", base_url, *transport, *clock);
  auto prebuilt = BuildBundles(path, batch);
  if (!prebuilt.ok()) {
    std::fprintf(stderr, "bundles: %s\n", prebuilt.error().ToString().c_str());
    return 1;
  }

  std::vector<double> tool_rate, minimal_rate, tool_cpu;
  for (int run = 1; run <= runs; ++run) {
    auto a = RunTool(destination, *store, path, concurrency, batch, run);
    if (!a.ok()) {
      std::fprintf(stderr, "run %d: %s\n", run, a.error().ToString().c_str());
      return 1;
    }
    auto b = RunMinimal(destination, *prebuilt, concurrency);
    if (!b.ok()) {
      std::fprintf(stderr, "run %d: %s\n", run, b.error().ToString().c_str());
      return 1;
    }
    tool_rate.push_back(static_cast<double>(a->resources) / a->wall);
    minimal_rate.push_back(static_cast<double>(b->resources) / b->wall);
    tool_cpu.push_back(a->cpu * 1e6 / static_cast<double>(a->resources));
    std::printf(
        "run %d: fhir-migrate %.0f resources/s (CPU %.2f us/resource), minimal loader %.0f "
        "resources/s\n",
        run, tool_rate.back(), tool_cpu.back(), minimal_rate.back());
  }
  const double a = Median(tool_rate), b = Median(minimal_rate);
  std::printf("median of %d runs: fhir-migrate %.0f resources/s, minimal loader %.0f resources/s\n",
              runs, a, b);
  std::printf(
      "ratio fhir-migrate/minimal: %.2f (target >= 0.95); fhir-migrate CPU %.2f "
      "us/resource\n",
      a / b, Median(tool_cpu));
  return 0;
}
