#include "verify/full.h"

#include <algorithm>
#include <map>

#include "json/canonical.h"
#include "store/hash_spill.h"
#include "verify/pager.h"

namespace fm::verify {

using store::HashSpill;
using Side = HashSpill::Side;

namespace {

void Note(const FullOptions& options, const std::string& level, const std::string& message) {
  if (options.note) options.note(level, message);
}

// Whether the full check reads `side` by $export; notes why not when it could have.
bool UseExport(const FullSide& side, const FullOptions& options) {
  if (options.via == FullVia::kSearch || side.bulk == nullptr) return false;
  if (options.via == FullVia::kExport) return true;
  const std::string& name = side.client.name();
  auto caps = side.client.GetCapabilities();
  if (!caps.ok()) {
    Note(options, "info",
         name + ": no CapabilityStatement (" + caps.error().message +
             "); the full check reads it by search");
    return false;
  }
  if (!caps->system_export) {
    Note(options, "info",
         name + " does not advertise system $export; the full check reads it by search");
    return false;
  }
  return true;
}

// Reads every resource of `types` on one side into the spill; returns how
// ("export" or "search").
base::Result<std::string> ReadSide(const FullSide& side, Side which,
                                   std::optional<base::Instant> before,
                                   const std::vector<std::string>& types,
                                   const FullOptions& options, HashSpill& spill) {
  fhir::Client& client = side.client;
  auto add = [&](const std::string& type, const std::string& id, std::string_view raw) {
    auto canonical = json::Canonicalize(raw, options.ignore);
    if (!canonical.ok()) {
      canonical.error().message =
          client.name() + " " + type + "/" + id + ": " + canonical.error().message;
      return base::Status(canonical.error());
    }
    return spill.Add(which, type, id, json::Sha256Hex(*canonical));
  };
  if (UseExport(side, options)) {
    ExportReadOptions export_read = options.export_read;
    export_read.before = before;
    auto read = ForEachExported(*side.bulk, types, export_read, add,
                                [&](const std::string& level, const std::string& message) {
                                  Note(options, level, client.name() + " $export: " + message);
                                });
    if (read.ok()) {
      Note(options, "info",
           client.name() + ": read by $export (" + std::to_string(read->files) + " files, " +
               std::to_string(read->delivered) + " resources)");
      return std::string("export");
    }
    if (read.error().kind == base::ErrorKind::kCancelled) return read.error();
    Note(options, "warn",
         client.name() + ": the full check's $export failed (" + read.error().message +
             "); reading by search instead");
    // Rows of a half-read export must not mix with the search's.
    FM_TRY_STATUS(spill.Clear(which));
  }
  PageOptions po;
  po.page_size = options.page_size;
  po.before = before;
  for (const auto& type : types) {
    FM_TRY_STATUS(ForEachResource(
        client, type, po,
        [&](const std::string& id, std::string_view raw) { return add(type, id, raw); }));
  }
  return std::string("search");
}

}  // namespace

bool FullResult::passed() const {
  return std::all_of(types.begin(), types.end(), [](const FullType& t) {
    return t.missing == 0 && t.extra == 0 && t.different == 0;
  });
}

base::Result<FullResult> FullCheck(const FullSide& source, const FullSide& destination,
                                   const std::vector<std::string>& types,
                                   const FullOptions& options, const ExtraVisitor& on_extra) {
  FullVisitors visitors;
  visitors.on_extra = on_extra;
  return FullCheck(source, destination, types, options, visitors);
}

base::Result<FullResult> FullCheck(const FullSide& source, const FullSide& destination,
                                   const std::vector<std::string>& types,
                                   const FullOptions& options, const FullVisitors& visitors) {
  FM_ASSIGN_OR_RETURN(auto spill, HashSpill::Create(options.spill_dir));
  FullResult result;
  std::map<std::string, size_t> index;
  for (const auto& type : types) {
    index[type] = result.types.size();
    result.types.push_back(FullType{type});
  }
  if (!types.empty()) {
    FM_ASSIGN_OR_RETURN(result.source_read,
                        ReadSide(source, Side::kSource, options.before, types, options, *spill));
    // `before` is on the source's clock; the destination is read whole.
    FM_ASSIGN_OR_RETURN(result.destination_read, ReadSide(destination, Side::kDestination,
                                                          std::nullopt, types, options, *spill));
  }
  // Counted from the rows, so a resource delivered twice counts once.
  for (auto [side, counter] : {std::pair{Side::kSource, &FullType::source},
                               {Side::kDestination, &FullType::destination}}) {
    FM_ASSIGN_OR_RETURN(auto counts, spill->CountByType(side));
    for (auto& t : result.types) t.*counter = counts[t.type];
  }
  auto collect = [&](HashSpill::Kind kind, std::vector<std::string>& listed,
                     int64_t FullType::*counter, const ExtraVisitor& also) {
    return spill->ForEach(kind, [&](const std::string& type, const std::string& id) {
      auto it = index.find(type);
      if (it != index.end()) ++(result.types[it->second].*counter);
      if (listed.size() < options.max_listed) listed.push_back(type + "/" + id);
      return also ? also(type, id) : base::Ok();
    });
  };
  FM_TRY_STATUS(
      collect(HashSpill::Kind::kMissing, result.missing, &FullType::missing, visitors.on_missing));
  FM_TRY_STATUS(
      collect(HashSpill::Kind::kExtra, result.extra, &FullType::extra, visitors.on_extra));
  FM_TRY_STATUS(collect(HashSpill::Kind::kDifferent, result.different, &FullType::different,
                        visitors.on_different));
  return result;
}

}  // namespace fm::verify
