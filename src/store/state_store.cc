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

}  // namespace fm::store
