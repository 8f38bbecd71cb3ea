#include "migrate/conformance.h"

#include "base/strings.h"
#include "migrate/search_extractor.h"

namespace fm::migrate {
namespace {

constexpr const char* kCopiedAtKey = "conformance_copied_at";

// Passes resources to the loader, dropping base-spec SearchParameters.
class Filter : public ResourceConsumer {
 public:
  explicit Filter(ResourceConsumer& inner) : inner_(inner) {}
  base::Status Consume(Resource r) override {
    if (r.type == "SearchParameter" && IsBaseSpecSearchParameter(r.json)) return base::Ok();
    ++sent_;
    return inner_.Consume(std::move(r));
  }
  int64_t sent() const { return sent_; }

 private:
  ResourceConsumer& inner_;
  int64_t sent_ = 0;
};

}  // namespace

bool IsBaseSpecSearchParameter(std::string_view json) {
  for (std::string_view prefix : {R"("url":"http://hl7.org/fhir/SearchParameter/)",
                                  R"("url": "http://hl7.org/fhir/SearchParameter/)"}) {
    if (json.find(prefix) != std::string_view::npos) return true;
  }
  return false;
}

ConformanceCopier::ConformanceCopier(const ConformanceOptions& options, fhir::Client& source,
                                     RestLoader& loader, store::StateStore& store,
                                     ProgressSink& sink, env::Clock& clock)
    : options_(options), source_(source), loader_(loader), store_(store), sink_(sink),
      clock_(clock) {}

base::Result<int64_t> ConformanceCopier::Copy() {
  if (!options_.enabled || options_.types.empty()) return int64_t{0};
  FM_ASSIGN_OR_RETURN(auto copied_at, store_.GetMeta(kCopiedAtKey));
  store::Window all;  // window id 0: conformance, not a time window
  all.since = base::FromEpochMillis(0);
  if (copied_at) {
    FM_ASSIGN_OR_RETURN(all.since, base::ParseInstant(*copied_at));
  }
  base::Instant started = clock_.Now();
  all.till = started + std::chrono::hours(1);  // anything written up to now
  SearchOptions search;
  search.page_size = options_.page_size;
  SearchExtractor extractor(source_, search, sink_);
  auto session = loader_.Begin(0);
  Filter filter(*session);
  auto extracted = extractor.Extract(all, options_.types, filter);
  if (!extracted.ok()) return extracted.error();
  FM_ASSIGN_OR_RETURN(auto totals, session->Finish());
  FM_TRY_STATUS(store_.PutMeta(kCopiedAtKey, base::FormatInstant(started)));
  if (filter.sent() > 0) {
    sink_.OnNote("info", "copied " + std::to_string(totals.loaded) + " conformance resources (" +
                             base::Join(options_.types, ", ") + ")" +
                             (totals.failed ? ", " + std::to_string(totals.failed) + " refused" : "") +
                             "; the destination may need $reindex for new search parameters");
  }
  return filter.sent();
}

}  // namespace fm::migrate
