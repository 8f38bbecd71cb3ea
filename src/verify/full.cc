#include "verify/full.h"

#include <algorithm>
#include <map>

#include "json/canonical.h"
#include "verify/hash_spill.h"
#include "verify/pager.h"

namespace fm::verify {

using internal::HashSpill;
using internal::Side;

bool FullResult::passed() const {
  return std::all_of(types.begin(), types.end(), [](const FullType& t) {
    return t.missing == 0 && t.extra == 0 && t.different == 0;
  });
}

base::Result<FullResult> FullCheck(fhir::Client& source, fhir::Client& destination,
                                   const std::vector<std::string>& types,
                                   const FullOptions& options, const ExtraVisitor& on_extra) {
  FM_ASSIGN_OR_RETURN(auto spill, HashSpill::Create(options.spill_dir));
  FullResult result;
  std::map<std::string, size_t> index;
  PageOptions po;
  po.page_size = options.page_size;
  po.before = options.before;
  for (const auto& type : types) {
    index[type] = result.types.size();
    FullType ft;
    ft.type = type;
    for (auto [client, side] : {std::pair{&source, Side::kSource}, {&destination, Side::kDestination}}) {
      int64_t& n = side == Side::kSource ? ft.source : ft.destination;
      // `before` is on the source's clock; the destination is read whole.
      PageOptions side_po = po;
      if (side == Side::kDestination) side_po.before.reset();
      FM_TRY_STATUS(ForEachResource(*client, type, side_po, [&](const std::string& id, std::string_view raw) {
        auto canonical = json::Canonicalize(raw, options.ignore);
        if (!canonical.ok()) {
          canonical.error().message =
              client->name() + " " + type + "/" + id + ": " + canonical.error().message;
          return base::Status(canonical.error());
        }
        ++n;
        return spill->Add(side, type, id, json::Sha256Hex(*canonical));
      }));
    }
    result.types.push_back(ft);
  }
  FM_TRY_STATUS(spill->Flush());
  auto collect = [&](HashSpill::Kind kind, std::vector<std::string>& listed,
                     int64_t FullType::*counter, const ExtraVisitor& also) {
    return spill->ForEach(kind, [&](const std::string& type, const std::string& id) {
      auto it = index.find(type);
      if (it != index.end()) ++(result.types[it->second].*counter);
      if (listed.size() < options.max_listed) listed.push_back(type + "/" + id);
      return also ? also(type, id) : base::Ok();
    });
  };
  FM_TRY_STATUS(collect(HashSpill::Kind::kMissing, result.missing, &FullType::missing, nullptr));
  FM_TRY_STATUS(collect(HashSpill::Kind::kExtra, result.extra, &FullType::extra, on_extra));
  FM_TRY_STATUS(collect(HashSpill::Kind::kDifferent, result.different, &FullType::different, nullptr));
  return result;
}

}  // namespace fm::verify
