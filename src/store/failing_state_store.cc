#include "store/failing_state_store.h"

#include <mutex>

namespace fm::store {
namespace {

using base::Result;
using base::Status;

class FailingStateStore final : public StateStore {
 public:
  FailingStateStore(StateStore& inner, int fail_after_commits)
      : inner_(inner), limit_(fail_after_commits) {}

  Status Transaction(const std::function<Status()>& fn) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (depth_ == 0 && Exhausted()) return Injected();
    struct Depth {  // restored even if fn throws
      int& d;
      explicit Depth(int& depth) : d(depth) { ++d; }
      ~Depth() { --d; }
    } depth(depth_);
    Status st = inner_.Transaction(fn);
    if (st.ok() && depth_ == 1) ++commits_;
    return st;
  }

  Result<MigrationState> GetMigration() override { return inner_.GetMigration(); }
  Status PutMigration(const MigrationState& s) override {
    return Write([&] { return inner_.PutMigration(s); });
  }
  Result<int64_t> AddWindow(const Window& w) override {
    return Write([&] { return inner_.AddWindow(w); });
  }
  Status UpdateWindow(const Window& w) override {
    return Write([&] { return inner_.UpdateWindow(w); });
  }
  Result<Window> GetWindow(int64_t id) override { return inner_.GetWindow(id); }
  Result<std::vector<Window>> ListWindows() override { return inner_.ListWindows(); }
  Result<std::vector<Window>> ListPendingWindows() override { return inner_.ListPendingWindows(); }
  Result<std::vector<Window>> NewestWindows() override { return inner_.NewestWindows(); }
  Status DeleteWindow(int64_t id) override {
    return Write([&] { return inner_.DeleteWindow(id); });
  }
  Result<int64_t> AddFile(const FileRecord& f) override {
    return Write([&] { return inner_.AddFile(f); });
  }
  Status UpdateFile(const FileRecord& f) override {
    return Write([&] { return inner_.UpdateFile(f); });
  }
  Result<int64_t> StagedBytes() override { return inner_.StagedBytes(); }
  Result<std::vector<FileRecord>> ListFiles(int64_t window_id) override {
    return inner_.ListFiles(window_id);
  }
  Status DeleteFiles(int64_t window_id) override {
    return Write([&] { return inner_.DeleteFiles(window_id); });
  }
  Result<int64_t> AddJob(const JobRecord& j) override {
    return Write([&] { return inner_.AddJob(j); });
  }
  Status UpdateJob(const JobRecord& j) override {
    return Write([&] { return inner_.UpdateJob(j); });
  }
  Result<std::vector<JobRecord>> ListJobs(int64_t window_id) override {
    return inner_.ListJobs(window_id);
  }
  Status AddFailure(const Failure& f) override {
    return Write([&] { return inner_.AddFailure(f); });
  }
  Result<std::vector<Failure>> ListFailures(bool include_resolved, size_t limit) override {
    return inner_.ListFailures(include_resolved, limit);
  }
  Result<int64_t> CountFailures(bool include_resolved) override {
    return inner_.CountFailures(include_resolved);
  }
  Status ResolveFailure(int64_t id) override {
    return Write([&] { return inner_.ResolveFailure(id); });
  }
  Status RecordFailureAttempt(const FailureAttempt& a) override {
    return Write([&] { return inner_.RecordFailureAttempt(a); });
  }
  Result<std::vector<FailureAttempt>> ListFailureAttempts(int64_t failure_id) override {
    return inner_.ListFailureAttempts(failure_id);
  }
  Status DeleteFailures(int64_t window_id) override {
    return Write([&] { return inner_.DeleteFailures(window_id); });
  }
  Status AddDeletion(const Deletion& d) override {
    return Write([&] { return inner_.AddDeletion(d); });
  }
  Result<std::vector<Deletion>> ListDeletions(int64_t window_id) override {
    return inner_.ListDeletions(window_id);
  }
  Status MarkDeletionApplied(int64_t window_id, const std::string& type,
                             const std::string& id) override {
    return Write([&] { return inner_.MarkDeletionApplied(window_id, type, id); });
  }
  Status AddCounts(int64_t window_id, const TypeCounts& delta) override {
    return Write([&] { return inner_.AddCounts(window_id, delta); });
  }
  Status ResetCounts(int64_t window_id) override {
    return Write([&] { return inner_.ResetCounts(window_id); });
  }
  Result<std::vector<TypeCounts>> TotalCounts() override { return inner_.TotalCounts(); }
  Status AddCheck(const CheckRecord& c) override {
    return Write([&] { return inner_.AddCheck(c); });
  }
  Result<std::optional<CheckRecord>> LastCheck(const std::string& kind) override {
    return inner_.LastCheck(kind);
  }
  Status PutMeta(const std::string& key, const std::string& value) override {
    return Write([&] { return inner_.PutMeta(key, value); });
  }
  Result<std::optional<std::string>> GetMeta(const std::string& key) override {
    return inner_.GetMeta(key);
  }
  int schema_version() const override { return inner_.schema_version(); }

 private:
  bool Exhausted() const { return limit_ >= 0 && commits_ >= limit_; }

  static base::Error Injected() {
    return base::MakeError(base::ErrorKind::kStorage, "injected store failure");
  }

  // Inside a Transaction a write is part of that commit; outside it is one.
  template <typename F>
  auto Write(F&& write) -> decltype(write()) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (depth_ > 0) return write();
    if (Exhausted()) return Injected();
    auto result = write();
    if (result.ok()) ++commits_;
    return result;
  }

  StateStore& inner_;
  const int limit_;
  std::recursive_mutex mu_;  // held for a whole Transaction, like the inner store's
  int depth_ = 0;            // Transaction nesting on the thread holding mu_
  int commits_ = 0;
};

}  // namespace

std::unique_ptr<StateStore> NewFailingStateStore(StateStore& inner, int fail_after_commits) {
  return std::make_unique<FailingStateStore>(inner, fail_after_commits);
}

}  // namespace fm::store
