// fhirgen: writes synthetic FHIR R4 resources as NDJSON.
//
//   fhirgen --seed 42 --count 1000000 --from 2021-01-01 --till 2024-01-01 > out.ndjson
//   fhirgen --count 50000 --out data.ndjson
//   fhirgen --count 50000 --split-dir data/      # data/<Type>.ndjson
//
// Only NDJSON goes to stdout; diagnostics and --stats go to stderr.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "generator.h"

namespace {

// Buffered writer over a FILE*; lines are appended with '\n'.
class Sink {
 public:
  Sink(std::FILE* f, std::string name, bool owned) : f_(f), name_(std::move(name)), owned_(owned) {
    buf_.reserve(kChunk + 8192);
  }
  ~Sink() {
    if (owned_ && f_ != nullptr) std::fclose(f_);
  }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  bool Write(const std::string& line) {
    buf_ += line;
    buf_ += '\n';
    return buf_.size() < kChunk || Flush();
  }
  bool Flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) {
      return Fail();
    }
    buf_.clear();
    return std::fflush(f_) == 0 || Fail();
  }
  bool Close() {
    bool ok = Flush();
    if (owned_) {
      ok = (std::fclose(f_) == 0 || Fail()) && ok;
      f_ = nullptr;
    }
    return ok;
  }

 private:
  static constexpr size_t kChunk = 1 << 20;
  bool Fail() {
    fmt::print(stderr, "fhirgen: write to {} failed: {}\n", name_, std::strerror(errno));
    return false;
  }
  std::FILE* f_;
  std::string name_;
  bool owned_;
  std::string buf_;
};

std::unique_ptr<Sink> OpenSink(const std::string& path) {
  if (path == "-") return std::make_unique<Sink>(stdout, "<stdout>", false);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    fmt::print(stderr, "fhirgen: cannot open {}: {}\n", path, std::strerror(errno));
    return nullptr;
  }
  return std::make_unique<Sink>(f, path, true);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fhirgen - deterministic synthetic FHIR R4 NDJSON generator"};
  uint64_t seed = 1;
  size_t count = 1000;
  std::string from = "2021-01-01";
  std::string till = "2024-01-01";
  std::string out = "-";
  std::string split_dir;
  bool stats = false;
  app.add_option("--seed", seed, "PRNG seed (same seed => identical output)")->capture_default_str();
  app.add_option("--count", count, "number of resources to generate (exact)")->capture_default_str();
  app.add_option("--from", from, "meta.lastUpdated lower bound, inclusive (YYYY-MM-DD or instant)")
      ->capture_default_str();
  app.add_option("--till", till, "meta.lastUpdated upper bound, exclusive (YYYY-MM-DD or instant)")
      ->capture_default_str();
  auto* out_opt = app.add_option("--out", out, "output NDJSON file, '-' for stdout")->capture_default_str();
  app.add_option("--split-dir", split_dir, "write DIR/<ResourceType>.ndjson instead of one stream")
      ->excludes(out_opt);
  app.add_flag("--stats", stats, "print per-type counts, average sizes and speed to stderr");
  CLI11_PARSE(app, argc, argv);

  fhirgen::GenOptions opt;
  opt.seed = seed;
  opt.resources = count;
  std::unique_ptr<fhirgen::Generator> gen;
  try {
    opt.from_epoch_ms = fhirgen::ParseTimestamp(from);
    opt.till_epoch_ms = fhirgen::ParseTimestamp(till);
    gen = std::make_unique<fhirgen::Generator>(opt);
  } catch (const std::exception& e) {
    fmt::print(stderr, "fhirgen: {}\n", e.what());
    return 2;
  }

  std::vector<std::unique_ptr<Sink>> sinks;  // one, or one per resource type
  if (split_dir.empty()) {
    sinks.push_back(OpenSink(out));
    if (!sinks.back()) return 1;
  } else {
    std::error_code ec;
    std::filesystem::create_directories(split_dir, ec);
    if (ec) {
      fmt::print(stderr, "fhirgen: cannot create {}: {}\n", split_dir, ec.message());
      return 1;
    }
    for (int t = 0; t < fhirgen::kResourceTypeCount; ++t) {
      const auto name = fhirgen::ResourceTypeName(static_cast<fhirgen::ResourceType>(t));
      const auto path = (std::filesystem::path(split_dir) / fmt::format("{}.ndjson", name)).string();
      sinks.push_back(OpenSink(path));
      if (!sinks.back()) return 1;
    }
  }

  uint64_t n_by_type[fhirgen::kResourceTypeCount] = {};
  uint64_t bytes_by_type[fhirgen::kResourceTypeCount] = {};
  const auto t0 = std::chrono::steady_clock::now();
  std::string line;
  line.reserve(8192);
  while (gen->Next(line)) {
    const int t = static_cast<int>(gen->last_type());
    ++n_by_type[t];
    bytes_by_type[t] += line.size();
    if (!sinks[sinks.size() == 1 ? 0 : static_cast<size_t>(t)]->Write(line)) return 1;
  }
  for (auto& s : sinks) {
    if (!s->Close()) return 1;
  }

  if (stats) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    uint64_t total = 0, total_bytes = 0;
    for (int t = 0; t < fhirgen::kResourceTypeCount; ++t) {
      total += n_by_type[t];
      total_bytes += bytes_by_type[t];
      fmt::print(stderr, "{:<18} {:>10} {:>6.2f}%  avg {:>5} bytes\n",
                 fhirgen::ResourceTypeName(static_cast<fhirgen::ResourceType>(t)), n_by_type[t],
                 count ? 100.0 * static_cast<double>(n_by_type[t]) / static_cast<double>(count) : 0.0,
                 n_by_type[t] ? bytes_by_type[t] / n_by_type[t] : 0);
    }
    fmt::print(stderr, "total {} resources, {:.1f} MB in {:.3f} s = {:.0f} resources/s\n", total,
               static_cast<double>(total_bytes) / 1e6, secs,
               secs > 0 ? static_cast<double>(total) / secs : 0.0);
  }
  return 0;
}
