#include "migrate/rest_loader.h"

#include <algorithm>
#include <condition_variable>
#include <span>
#include <thread>
#include <unordered_set>
#include <vector>

#include "base/mutex.h"
#include "fhir/bundle.h"
#include "json/resource.h"
#include "migrate/blocking_queue.h"
#include "migrate/version_order.h"

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

// Versions of one resource must reach the destination one after another, in
// the order they were consumed: every resource goes to the lane its type/id
// hashes to, a lane is one worker thread that sends its Bundles in order, and
// a Bundle never holds two entries for one type/id (batch entry order is not
// guaranteed). The lane's batch is flushed before a second version joins it.
struct Lane {
  explicit Lane(size_t capacity) : queue(capacity) {}
  BlockingQueue<Batch> queue;
  Batch current;                         // producer-only
  std::unordered_set<std::string> keys;  // type/id in `current`; producer-only
  std::thread worker;
};

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
        versions_(options.version_memory) {
    size_t lanes = static_cast<size_t>(std::max(1, options_.concurrency));
    size_t per_lane = std::max<size_t>(1, (options_.queue_bundles + lanes - 1) / lanes);
    for (size_t i = 0; i < lanes; ++i) lanes_.push_back(std::make_unique<Lane>(per_lane));
  }

  ~RestLoadSession() override {
    if (!finished_) {
      for (auto& lane : lanes_) lane->queue.CloseAndClear();
      JoinWorkers();
    }
  }

  base::Status Consume(Resource resource) override {
    if (auto err = FirstError()) return *err;
    std::string key = resource.type + "/" + resource.id;
    // A delete is ordered like a version when it carries one (a deleted
    // version from an export); a bare delete (deleted[], type _history) is not.
    const bool versioned =
        !resource.json.empty() || resource.last_updated.has_value() || !resource.version_id.empty();
    if (versioned && versions_.Superseded(key, resource)) {
      ++superseded_[resource.type];
      return base::Ok();
    }
    if (options_.rewrite_references && !source_base_url_.empty()) {
      resource.json = json::RewriteAbsoluteReferences(resource.json, source_base_url_);
    }
    Lane& lane = *lanes_[std::hash<std::string>{}(key) % lanes_.size()];
    if (lane.keys.count(key)) FM_TRY_STATUS(Flush(lane));
    lane.keys.insert(std::move(key));
    lane.current.push_back(std::move(resource));
    if (lane.current.size() >= static_cast<size_t>(options_.batch_size)) return Flush(lane);
    return base::Ok();
  }

  void AlreadyLoaded(const Resource& r) override { versions_.Record(r.type + "/" + r.id, r); }

  base::Status Drain() override {
    FM_TRY_STATUS(SendRemaining());
    base::MutexLock lock(mu_);
    while (in_flight_ != 0 && !error_.has_value()) lock.Wait(drained_);
    if (error_) return *error_;
    return base::Ok();
  }

  base::Result<LoadTotals> Finish() override {
    base::Status flushed = SendRemaining();
    for (auto& lane : lanes_) lane->queue.Close();
    JoinWorkers();
    finished_ = true;
    if (!flushed.ok()) return flushed.error();
    if (auto err = FirstError()) return *err;
    AddSuperseded();
    base::MutexLock lock(mu_);
    return totals_;
  }

 private:
  // The lanes' partial batches. A lane whose worker has not started (it never
  // filled a Bundle) is sent from this thread: nothing of it can be in flight,
  // and a small window (a follow-mode poll) then costs no thread at all.
  base::Status SendRemaining() {
    for (auto& lane : lanes_) {
      if (lane->current.empty()) continue;
      if (lane->worker.joinable()) {
        FM_TRY_STATUS(Flush(*lane));
        continue;
      }
      Batch batch = TakeBatch(*lane);
      if (auto err = FirstError()) return *err;
      base::Status sent = Send(std::span<Resource>(batch), 0);
      if (!sent.ok()) {
        Fail(sent.error());
        return sent;
      }
      if (auto err = FirstError()) return *err;  // a failure Send recorded
    }
    return base::Ok();
  }

  void JoinWorkers() {
    for (auto& lane : lanes_) {
      if (lane->worker.joinable()) lane->worker.join();
    }
  }

  Batch TakeBatch(Lane& lane) {
    Batch batch;
    batch.swap(lane.current);
    lane.keys.clear();
    lane.current.reserve(static_cast<size_t>(options_.batch_size));
    return batch;
  }

  // Queues the lane's batch for its worker, starting the worker first.
  base::Status Flush(Lane& lane) {
    Batch batch = TakeBatch(lane);
    if (!lane.worker.joinable()) {
      lane.worker = std::thread([this, l = &lane] { WorkerLoop(*l); });
    }
    {
      base::MutexLock lock(mu_);
      ++in_flight_;
    }
    if (!lane.queue.Push(std::move(batch))) {
      {
        base::MutexLock lock(mu_);
        --in_flight_;
      }
      drained_.notify_all();
      if (auto err = FirstError()) return *err;
      return base::MakeError(base::ErrorKind::kCancelled, "loader stopped");
    }
    return base::Ok();
  }

  // Older versions skipped because a newer one of the same resource was
  // already sent count as loaded: the resource's newest state is what the
  // destination holds. The log says how many there were.
  void AddSuperseded() {
    int64_t n = 0;
    {
      base::MutexLock lock(mu_);
      for (const auto& [type, count] : superseded_) {
        auto& t = totals_.by_type[type];
        t.resource_type = type;
        t.loaded += count;
        totals_.loaded += count;
        totals_.superseded += count;
        n += count;
      }
    }
    for (const auto& [type, count] : superseded_) {
      sink_.OnBatchLoaded(BatchEvent{window_id_, type, count, 0});
    }
    if (n > 0) {
      sink_.OnNote("info", "window " + std::to_string(window_id_) + ": " + std::to_string(n) +
                               " older versions skipped: a newer version of the same resource "
                               "was already sent (the export lists history newest first?)");
    }
  }

  std::optional<base::Error> FirstError() {
    base::MutexLock lock(mu_);
    return error_;
  }

  void Fail(base::Error e) {
    {
      base::MutexLock lock(mu_);
      if (!error_) error_ = std::move(e);
    }
    drained_.notify_all();
    // Stop the other workers and unblock the producer.
    for (auto& lane : lanes_) lane->queue.CloseAndClear();
  }

  void WorkerLoop(Lane& lane) {
    while (auto batch = lane.queue.Pop()) {
      base::Status s = Send(std::span<Resource>(*batch), 0);
      {
        base::MutexLock lock(mu_);
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
      return base::MakeError(
          base::ErrorKind::kInvalidData,
          destination_.name() + " answered a Bundle badly: " + results.error().message);
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
      base::MutexLock lock(mu_);
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
      base::MutexLock lock(mu_);
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

  std::vector<std::unique_ptr<Lane>> lanes_;
  VersionOrder versions_;                      // producer-only
  std::map<std::string, int64_t> superseded_;  // per type; producer-only
  bool finished_ = false;

  // Shared by the producer and every lane's worker.
  base::Mutex mu_;
  std::condition_variable drained_;           // in_flight_ fell to 0, or an error
  int64_t in_flight_ FM_GUARDED_BY(mu_) = 0;  // batches pushed and not yet answered
  LoadTotals totals_ FM_GUARDED_BY(mu_);
  std::optional<base::Error> error_ FM_GUARDED_BY(mu_);
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
