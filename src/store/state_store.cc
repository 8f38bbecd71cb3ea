#include "store/state_store.h"

#include <array>
#include <utility>

namespace fm::store {
namespace {

// The names are stored in the state file: never rename one.
constexpr std::array<std::pair<WindowStatus, const char*>, 6> kWindowStatusNames = {{
    {WindowStatus::kPlanned, "planned"},
    {WindowStatus::kExtracting, "extracting"},
    {WindowStatus::kExtracted, "extracted"},
    {WindowStatus::kLoading, "loading"},
    {WindowStatus::kLoaded, "loaded"},
    {WindowStatus::kFailed, "failed"},
}};

constexpr std::array<std::pair<FileStatus, const char*>, 6> kFileStatusNames = {{
    {FileStatus::kPending, "pending"},
    {FileStatus::kDownloading, "downloading"},
    {FileStatus::kStaged, "staged"},
    {FileStatus::kLoading, "loading"},
    {FileStatus::kLoaded, "loaded"},
    {FileStatus::kFailed, "failed"},
}};

template <typename Enum, size_t N>
const char* NameOf(const std::array<std::pair<Enum, const char*>, N>& names, Enum value) {
  for (const auto& [v, name] : names) {
    if (v == value) return name;
  }
  return "unknown";
}

template <typename Enum, size_t N>
std::optional<Enum> Parse(const std::array<std::pair<Enum, const char*>, N>& names,
                          std::string_view text) {
  for (const auto& [v, name] : names) {
    if (text == name) return v;
  }
  return std::nullopt;
}

}  // namespace

const char* WindowStatusName(WindowStatus s) { return NameOf(kWindowStatusNames, s); }

std::optional<WindowStatus> ParseWindowStatus(std::string_view name) {
  return Parse(kWindowStatusNames, name);
}

const char* FileStatusName(FileStatus s) { return NameOf(kFileStatusNames, s); }

std::optional<FileStatus> ParseFileStatus(std::string_view name) {
  return Parse(kFileStatusNames, name);
}

base::Result<std::vector<FileRecord>> ForgetExport(StateStore& store, int64_t window_id,
                                                   const std::string& why, base::Instant now,
                                                   Window* window) {
  std::vector<FileRecord> files;
  FM_TRY_STATUS(store.Transaction([&]() -> base::Status {
    FM_ASSIGN_OR_RETURN(Window w, store.GetWindow(window_id));
    FM_ASSIGN_OR_RETURN(auto jobs, store.ListJobs(window_id));
    for (auto& job : jobs) {
      if (job.kind != "export" || job.status_url != w.export_url || job.status == "failed") {
        continue;
      }
      job.status = "failed";
      job.result_json = why;
      job.updated_at = now;
      FM_TRY_STATUS(store.UpdateJob(job));
    }
    w.export_url.clear();
    w.manifest_json.clear();
    w.transaction_time.reset();
    w.updated_at = now;
    FM_TRY_STATUS(store.UpdateWindow(w));
    FM_ASSIGN_OR_RETURN(files, store.ListFiles(window_id));
    FM_TRY_STATUS(store.DeleteFiles(window_id));
    if (window != nullptr) *window = std::move(w);
    return base::Ok();
  }));
  return files;
}

}  // namespace fm::store
