#include "migrate/rest_loader.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "fhir/bundle.h"
#include "json/resource.h"
#include "migrate/blocking_queue.h"

namespace fm::migrate {
namespace {

using Batch = std::vector<Resource>;

bool IsSuccess(int status) { return status >= 200 && status < 300; }
bool IsRetryableStatus(int status) { return status == 429 || status == 408 || status >= 500; }

// A Bundle the destination refused as a whole for a reason that may lie in one
// entry: split it and try again.
bool IsSplittable(const base::Error& e) {
  return e.http_status == 400 || e.http_status == 413 || e.http_status == 422 ||
         e.http_status == 409 || e.http_status == 412;
}

class RestLoadSession : public LoadSession {
 public:
  RestLoadSession(fhir::Client& destination, store::StateStore& store, ProgressSink& sink,
                  env::Clock& clock, const RestLoadOptions& options,
                  const std::string& source_base_url, int64_t window_id)
      : destination_(destination),
        store_(store),
        sink_(sink),
        clock_(clock),
        options_(options),
        source_base_url_(source_base_url),
        window_id_(window_id),
        queue_(options.queue_bundles) {
    current_.reserve(static_cast<size_t>(options_.batch_size));
    for (int i = 0; i < std::max(1, options_.concurrency); ++i) {
      workers_.emplace_back([this] { WorkerLoop(); });
    }
  }

  ~RestLoadSession() override {
    if (!finished_) {
      queue_.CloseAndClear();
      for (auto& t : workers_) t.join();
    }
  }

  base::Status Consume(Resource resource) override {
    if (auto err = FirstError()) return *err;
    if (options_.rewrite_references && !source_base_url_.empty()) {
      resource.json = json::RewriteAbsoluteReferences(resource.json, source_base_url_);
    }
    current_.push_back(std::move(resource));
    if (current_.size() >= static_cast<size_t>(options_.batch_size)) return Flush();
    return base::Ok();
  }

  base::Status Drain() override {
    if (!current_.empty()) FM_TRY_STATUS(Flush());
    std::unique_lock lock(mu_);
    drained_.wait(lock, [&] { return in_flight_ == 0 || error_.has_value(); });
    if (error_) return *error_;
    return base::Ok();
  }

  base::Result<LoadTotals> Finish() override {
    base::Status flushed = current_.empty() ? base::Ok() : Flush();
    queue_.Close();
    for (auto& t : workers_) t.join();
    finished_ = true;
    if (!flushed.ok()) return flushed.error();
    if (auto err = FirstError()) return *err;
    std::lock_guard lock(mu_);
    return totals_;
  }

 private:
  base::Status Flush() {
    Batch batch;
    batch.swap(current_);
    current_.reserve(static_cast<size_t>(options_.batch_size));
    {
      std::lock_guard lock(mu_);
      ++in_flight_;
    }
    if (!queue_.Push(std::move(batch))) {
      {
        std::lock_guard lock(mu_);
        --in_flight_;
      }
      drained_.notify_all();
      if (auto err = FirstError()) return *err;
      return base::MakeError(base::ErrorKind::kCancelled, "loader stopped");
    }
    return base::Ok();
  }

  std::optional<base::Error> FirstError() {
    std::lock_guard lock(mu_);
    return error_;
  }

  void Fail(base::Error e) {
    {
      std::lock_guard lock(mu_);
      if (!error_) error_ = std::move(e);
    }
    drained_.notify_all();
    queue_.CloseAndClear();  // stop the other workers and unblock the producer
  }

  void WorkerLoop() {
    while (auto batch = queue_.Pop()) {
      base::Status s = Send(std::span<Resource>(*batch), 0);
      {
        std::lock_guard lock(mu_);
        --in_flight_;
      }
      drained_.notify_all();
      if (!s.ok()) {
        Fail(s.error());
        return;
      }
    }
  }

  // Sends `entries` as one Bundle and deals with every per-entry outcome.
  base::Status Send(std::span<Resource> entries, int retry_round) {
    if (clock_.Interrupted()) {
      return base::MakeError(base::ErrorKind::kCancelled, "stopped before the window finished");
    }
    std::vector<fhir::BundleEntry> bundle_entries;
    bundle_entries.reserve(entries.size());
    for (const Resource& r : entries) {
      std::string url = r.type + "/" + r.id;
      if (r.json.empty()) {
        bundle_entries.push_back({"DELETE", std::move(url), {}});
      } else {
        bundle_entries.push_back({"PUT", std::move(url), r.json});
      }
    }
    auto body = destination_.PostBundle(fhir::BuildBundle(bundle_entries, options_.transaction));
    if (!body.ok()) {
      const base::Error& e = body.error();
      if (!IsSplittable(e)) return e;
      if (entries.size() == 1) {
        RecordFailure(entries[0], e.http_status, e.message, "");
        return base::Ok();
      }
      size_t half = entries.size() / 2;
      FM_TRY_STATUS(Send(entries.subspan(0, half), retry_round));
      return Send(entries.subspan(half), retry_round);
    }
    auto results = fhir::ParseBundleResponse(*body, entries.size());
    if (!results.ok()) {
      return base::MakeError(base::ErrorKind::kInvalidData,
                             destination_.name() + " answered a Bundle badly: " +
                                 results.error().message);
    }
    std::vector<Resource> retry;
    std::map<std::string, store::TypeCounts> counts;
    for (size_t i = 0; i < entries.size(); ++i) {
      const fhir::EntryResult& r = (*results)[i];
      Resource& resource = entries[i];
      bool deleted_already = resource.json.empty() && (r.status == 404 || r.status == 410);
      if (IsSuccess(r.status) || deleted_already) {
        auto& c = counts[resource.type];
        c.resource_type = resource.type;
        ++c.loaded;
      } else if (IsRetryableStatus(r.status)) {
        retry.push_back(std::move(resource));
      } else {
        RecordFailure(resource, r.status, r.diagnostics, r.outcome_json);
      }
    }
    AddTotals(counts);
    if (retry.empty()) return base::Ok();
    if (retry_round >= options_.max_entry_retries) {
      return base::MakeError(base::ErrorKind::kTransient,
                             destination_.name() + " kept answering 429/5xx for " +
                                 std::to_string(retry.size()) + " entries after " +
                                 std::to_string(retry_round) + " retries");
    }
    auto delay = base::Millis(500) * (1 << std::min(retry_round, 6));
    sink_.OnRetryScheduled(destination_.name() + " bundle entries", delay,
                           std::to_string(retry.size()) + " entries answered 429/5xx");
    if (!clock_.SleepFor(delay)) {
      return base::MakeError(base::ErrorKind::kCancelled, "stopped while waiting to retry");
    }
    return Send(std::span<Resource>(retry), retry_round + 1);
  }

  void AddTotals(const std::map<std::string, store::TypeCounts>& counts) {
    BatchEvent event;
    event.window_id = window_id_;
    {
      std::lock_guard lock(mu_);
      for (const auto& [type, c] : counts) {
        auto& t = totals_.by_type[type];
        t.resource_type = type;
        t.loaded += c.loaded;
        totals_.loaded += c.loaded;
        event.loaded += c.loaded;
        if (event.resource_type.empty()) event.resource_type = type;
      }
    }
    if (event.loaded > 0) sink_.OnBatchLoaded(event);
  }

  void RecordFailure(const Resource& resource, int status, const std::string& reason,
                     const std::string& outcome_json) {
    store::Failure f;
    f.window_id = window_id_;
    f.stage = "load";
    f.resource_type = resource.type;
    f.resource_id = resource.id;
    f.http_status = status;
    f.reason = reason.empty() ? "destination answered " + std::to_string(status) : reason;
    f.outcome_json = outcome_json;
    f.at = clock_.Now();
    base::Status s = store_.AddFailure(f);
    if (!s.ok()) {
      Fail(s.error());
      return;
    }
    {
      std::lock_guard lock(mu_);
      auto& t = totals_.by_type[resource.type];
      t.resource_type = resource.type;
      ++t.failed;
      ++totals_.failed;
    }
    BatchEvent event{window_id_, resource.type, 0, 1};
    sink_.OnBatchLoaded(event);
    sink_.OnResourceFailed(f);
  }

  fhir::Client& destination_;
  store::StateStore& store_;
  ProgressSink& sink_;
  env::Clock& clock_;
  const RestLoadOptions& options_;
  const std::string& source_base_url_;
  int64_t window_id_;

  BlockingQueue<Batch> queue_;
  Batch current_;  // producer-only
  std::vector<std::thread> workers_;
  bool finished_ = false;

  std::mutex mu_;
  std::condition_variable drained_;  // in_flight_ fell to 0, or an error
  int64_t in_flight_ = 0;            // batches pushed and not yet answered
  LoadTotals totals_;
  std::optional<base::Error> error_;
};

}  // namespace

RestLoader::RestLoader(fhir::Client& destination, store::StateStore& store, ProgressSink& sink,
                       env::Clock& clock, const RestLoadOptions& options,
                       std::string source_base_url)
    : destination_(destination),
      store_(store),
      sink_(sink),
      clock_(clock),
      options_(options),
      source_base_url_(std::move(source_base_url)) {}

std::unique_ptr<LoadSession> RestLoader::Begin(int64_t window_id) {
  return std::make_unique<RestLoadSession>(destination_, store_, sink_, clock_, options_,
                                           source_base_url_, window_id);
}

}  // namespace fm::migrate
