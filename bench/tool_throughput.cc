// Tool-only throughput: what fhir-migrate's own CPU costs per resource on the
// load path, with a destination that costs nothing. Reads an NDJSON file (from
// tools/fhirgen) in 1 MiB chunks, splits lines, reads each resource's key,
// hands it to the real REST loader (reference rewriting, Bundle building,
// several Bundles in flight, batch-response parsing, per-type counts in a real
// SQLite state store), whose destination transport answers every Bundle at
// once with a canned all-200 batch-response.
//
//   tool_throughput FILE.ndjson [RUNS=5]
//
// Prints, per run and as medians: resources/s (wall) and process CPU
// microseconds per resource. Figures, not assertions (DESIGN.md target:
// ≥ 150,000 resources/s).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
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
using bench::Median;

// Answers a batch Bundle of N entries with N "200 OK" entries.
class DiscardingDestination : public http::Transport {
 public:
  base::Result<http::Response> Send(const http::Request& request) override {
    size_t entries = 0;
    static constexpr std::string_view kMarker = R"("request":{"method":)";
    for (size_t at = request.body.find(kMarker); at != std::string::npos;
         at = request.body.find(kMarker, at + kMarker.size())) {
      ++entries;
    }
    http::Response response;
    response.status = 200;
    response.body = Answer(entries);
    return response;
  }

 private:
  std::string Answer(size_t entries) {
    std::lock_guard lock(mu_);
    auto& text = answers_[entries];
    if (text.empty()) {
      text = R"({"resourceType":"Bundle","type":"batch-response","entry":[)";
      for (size_t i = 0; i < entries; ++i) {
        text += i ? "," : "";
        text += R"({"response":{"status":"200 OK"}})";
      }
      text += "]}";
    }
    return text;
  }
  std::mutex mu_;
  std::map<size_t, std::string> answers_;
};

struct Figures {
  int64_t resources = 0;
  double wall = 0, cpu = 0;
};

base::Result<Figures> RunOnce(const std::string& path, store::StateStore& store, int64_t window) {
  auto clock = env::NewSystemClock();
  DiscardingDestination transport;
  fhir::Client destination("destination", "http://destination.invalid/fhir", transport, *clock);
  migrate::ProgressSink sink;
  migrate::RestLoadOptions options;
  migrate::RestLoader loader(destination, store, sink, *clock, options,
                             "http://source.invalid/fhir");
  Figures f;
  double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  auto session = loader.Begin(window);
  json::ResourceReader reader;
  auto on_line = [&](std::string_view line) -> base::Status {
    FM_ASSIGN_OR_RETURN(auto key, reader.ReadKey(line));
    ++f.resources;
    return session->Consume(
        migrate::Resource{std::move(key.type), std::move(key.id), std::string(line)});
  };
  FM_TRY_STATUS(bench::ForEachLine(path, on_line));
  FM_ASSIGN_OR_RETURN(auto totals, session->Finish());
  f.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  f.cpu = CpuSeconds() - cpu0;
  if (totals.loaded != f.resources) {
    return base::MakeError(base::ErrorKind::kFatal, "loaded " + std::to_string(totals.loaded) +
                                                        " of " + std::to_string(f.resources));
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE.ndjson [RUNS=5]\n", argv[0]);
    return 2;
  }
  std::string path = argv[1];
  int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  bench::ScratchStore scratch(path + ".state.db");
  store::StateStore* store = scratch.Open();
  if (store == nullptr) return 1;
  std::vector<double> rates, cpu_us;
  for (int run = 1; run <= runs; ++run) {
    store::Window w;
    w.since = base::Instant{};
    w.till = w.since + base::Millis(run);
    auto id = store->AddWindow(w);
    if (!id.ok()) return 1;
    auto f = RunOnce(path, *store, *id);
    if (!f.ok()) {
      std::fprintf(stderr, "run %d: %s\n", run, f.error().ToString().c_str());
      return 1;
    }
    rates.push_back(static_cast<double>(f->resources) / f->wall);
    cpu_us.push_back(f->cpu * 1e6 / static_cast<double>(f->resources));
    std::printf("run %d: %lld resources in %.3f s wall = %.0f resources/s; CPU %.2f us/resource\n",
                run, static_cast<long long>(f->resources), f->wall, rates.back(), cpu_us.back());
  }
  std::printf("median of %d runs: %.0f resources/s, CPU %.2f us/resource\n", runs, Median(rates),
              Median(cpu_us));
  return 0;
}
