#include "verify/verify.h"

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

namespace fm::verify {
namespace {

using Json = nlohmann::ordered_json;

Json Value(const std::string& canonical) {
  if (canonical.empty()) return nullptr;  // absent on that side
  Json v = Json::parse(canonical, nullptr, false);
  return v.is_discarded() ? Json(canonical) : v;
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json SurfaceValue(const SurfaceResult& r) {
  Json types = Json::array();
  for (const auto& t : r.types) {
    Json o = {{"type", t.type}, {"source", t.source}, {"destination", t.destination},
              {"match", t.matches()}};
    if (t.source_history || t.destination_history) {
      o["source_history"] = t.source_history ? Json(*t.source_history) : Json(nullptr);
      o["destination_history"] = t.destination_history ? Json(*t.destination_history) : Json(nullptr);
    }
    types.push_back(std::move(o));
  }
  return {{"types", types}, {"passed", r.passed()}};
}

Json DeepValue(const DeepResult& r) {
  Json types = Json::array();
  for (const auto& t : r.types) {
    Json mismatches = Json::array();
    for (const auto& m : t.mismatches) {
      Json diffs = Json::array();
      for (const auto& d : m.differences) {
        diffs.push_back({{"pointer", d.pointer}, {"source", Value(d.left)},
                         {"destination", Value(d.right)}});
      }
      mismatches.push_back({{"id", m.id}, {"missing", m.missing}, {"differences", diffs}});
    }
    Json o = {{"type", t.type},
              {"population", t.population},
              {"sampled", t.sampled},
              {"method", t.method},
              {"mismatches", mismatches}};
    if (t.destination) {
      o["destination"] = *t.destination;
      o["count_match"] = !t.count_differs();
    }
    types.push_back(std::move(o));
  }
  return {{"types", types}, {"passed", r.passed()}};
}

Json FullValue(const FullResult& r, const std::optional<FixDeletes>& fix,
               const std::optional<FixCopies>& copy) {
  Json types = Json::array();
  for (const auto& t : r.types) {
    types.push_back({{"type", t.type}, {"source", t.source}, {"destination", t.destination},
                     {"missing", t.missing}, {"extra", t.extra}, {"different", t.different}});
  }
  Json out = {{"types", types},
              {"read", {{"source", r.source_read}, {"destination", r.destination_read}}},
              {"missing", r.missing}, {"extra", r.extra},
              {"different", r.different}, {"passed", r.passed()}};
  if (fix) {
    out["fix_deletes"] = {{"applied", fix->applied}, {"found", fix->found},
                          {"deleted", fix->deleted}, {"listed", fix->listed}};
  }
  if (copy) {
    out["fix"] = {{"applied", copy->applied}, {"found", copy->found},
                  {"copied", copy->copied},   {"refused", copy->refused},
                  {"listed", copy->listed},   {"refused_listed", copy->refused_listed}};
  }
  return out;
}

std::string Line(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

std::string Truncated(const std::string& s, size_t n = 60) {
  return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

std::string JoinIds(const std::vector<std::string>& ids, int64_t total) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
  if (total > static_cast<int64_t>(ids.size())) {
    out += " (and " + std::to_string(total - static_cast<int64_t>(ids.size())) + " more)";
  }
  return out;
}

}  // namespace

bool VerifyReport::passed() const {
  return (!surface || surface->passed()) && (!deep || deep->passed()) && (!full || full->passed());
}

std::vector<std::string> VerifyReport::Problems() const {
  std::vector<std::string> out;
  if (surface && !surface->passed()) {
    std::string names;
    for (const auto& t : surface->types) {
      if (!t.matches()) names += (names.empty() ? "" : ", ") + t.type;
    }
    out.push_back("counts differ for " + names);
  }
  if (deep) {
    for (const auto& t : deep->types) {
      if (t.count_differs()) {
        out.push_back("deep check: counts differ for " + t.type + " (source " +
                      std::to_string(t.population) + ", destination " +
                      std::to_string(*t.destination) + ")");
      }
      for (const auto& m : t.mismatches) {
        std::string what = t.type + "/" + m.id;
        if (m.missing) {
          out.push_back("sampled " + what + " is missing on the destination");
        } else {
          std::string ptrs;
          for (const auto& d : m.differences) ptrs += (ptrs.empty() ? "" : " ") + d.pointer;
          out.push_back("sampled " + what + " differs at " + ptrs);
        }
      }
    }
  }
  if (full) {
    int64_t missing = 0, extra = 0, different = 0;
    for (const auto& t : full->types) missing += t.missing, extra += t.extra, different += t.different;
    if (missing) out.push_back("missing on the destination: " + JoinIds(full->missing, missing));
    if (extra) out.push_back("extra on the destination: " + JoinIds(full->extra, extra));
    if (different) out.push_back("different content: " + JoinIds(full->different, different));
  }
  return out;
}

base::Result<VerifyReport> Verify(fhir::Client& source, fhir::Client& destination,
                                  const VerifyRequest& request, const ExportClients& exports) {
  VerifyReport report;
  report.before = request.before;
  bool run_surface = request.surface || (!request.deep && !request.full);
  // The surface check also finds the types with data (and their counts).
  FM_ASSIGN_OR_RETURN(SurfaceResult surface,
                      SurfaceCheck(source, destination, request.types, request.before,
                                   run_surface && request.history));
  std::vector<std::string> types;
  std::vector<int64_t> counts, destination_counts;
  for (const auto& t : surface.types) {
    types.push_back(t.type);
    counts.push_back(t.source);
    destination_counts.push_back(t.destination);
  }
  if (run_surface) report.surface = surface;
  if (request.deep) {
    DeepOptions o;
    o.per_type = *request.deep;
    o.seed = request.seed;
    o.ignore = request.ignore;
    o.before = request.before;
    o.page_size = request.page_size;
    FM_ASSIGN_OR_RETURN(report.deep,
                        DeepCheck(source, destination, types, counts, o, destination_counts));
  }
  if (request.full) {
    FullOptions o;
    o.ignore = request.ignore;
    o.before = request.before;
    o.page_size = request.page_size;
    o.spill_dir = request.spill_dir;
    o.max_listed = request.max_listed;
    o.via = request.full_via;
    o.export_read = request.export_read;
    o.note = request.note;
    FullVisitors visitors;
    const bool apply_deletes = request.apply && !request.dry_run;
    if (request.fix_deletes) {
      report.fix.emplace();
      report.fix->applied = apply_deletes;
      visitors.on_extra = [&](const std::string& type, const std::string& id) -> base::Status {
        FixDeletes& fix = *report.fix;
        ++fix.found;
        if (fix.listed.size() < request.max_listed) fix.listed.push_back(type + "/" + id);
        if (apply_deletes) {
          FM_TRY_STATUS(destination.Delete(type, id));
          ++fix.deleted;
        }
        return base::Ok();
      };
    }
    std::unique_ptr<migrate::Resender> resender;
    if (request.fix) {
      report.copy.emplace();
      report.copy->applied = !request.dry_run;
      if (!request.dry_run) {
        resender = std::make_unique<migrate::Resender>(
            source, destination, request.resend, [&](const migrate::ResendOutcome& r) {
              FixCopies& copy = *report.copy;
              if (r.delivered()) {
                ++copy.copied;
              } else {
                ++copy.refused;
                if (copy.refused_listed.size() < request.max_listed) {
                  copy.refused_listed.push_back(r.type + "/" + r.id + ": " + r.reason);
                }
              }
              if (request.on_resent) request.on_resent(r);
            });
      }
      auto copy = [&](const std::string& type, const std::string& id) -> base::Status {
        FixCopies& fix = *report.copy;
        ++fix.found;
        if (fix.listed.size() < request.max_listed) fix.listed.push_back(type + "/" + id);
        return resender ? resender->Add(type, id) : base::Ok();
      };
      visitors.on_missing = copy;
      visitors.on_different = copy;
    }
    FM_ASSIGN_OR_RETURN(report.full,
                        FullCheck(FullSide{source, exports.source},
                                  FullSide{destination, exports.destination}, types, o, visitors));
    if (resender) FM_TRY_STATUS(resender->Finish());
  }
  return report;
}

std::string SurfaceJson(const SurfaceResult& r) { return Dump(SurfaceValue(r)); }
std::string DeepJson(const DeepResult& r) { return Dump(DeepValue(r)); }
std::string FullJson(const FullResult& r, const std::optional<FixDeletes>& fix,
                     const std::optional<FixCopies>& copy) {
  return Dump(FullValue(r, fix, copy));
}

std::string ReportJson(const VerifyReport& report) {
  Json out;
  out["schema"] = "fhir-migrate.verify/1";
  out["before"] = report.before ? Json(base::FormatInstant(*report.before)) : Json(nullptr);
  if (report.surface) out["surface"] = SurfaceValue(*report.surface);
  if (report.deep) out["deep"] = DeepValue(*report.deep);
  if (report.full) out["full"] = FullValue(*report.full, report.fix, report.copy);
  out["passed"] = report.passed();
  return Dump(out);
}

std::string ReportText(const VerifyReport& report) {
  std::string out;
  if (report.before) out += "only resources with lastUpdated < " + base::FormatInstant(*report.before) + "\n\n";
  if (report.surface) {
    const auto& s = *report.surface;
    bool history = false;
    for (const auto& t : s.types) history |= t.source_history || t.destination_history;
    out += Line("%-24s %12s %12s", "type", "source", "destination");
    if (history) out += Line(" %12s %12s", "src history", "dst history");
    out += "\n";
    int64_t src = 0, dst = 0;
    for (const auto& t : s.types) {
      out += Line("%-24s %12lld %12lld", t.type.c_str(), static_cast<long long>(t.source),
                  static_cast<long long>(t.destination));
      if (history) {
        auto h = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("n/a"); };
        out += Line(" %12s %12s", h(t.source_history).c_str(), h(t.destination_history).c_str());
      }
      out += std::string(t.matches() ? "" : "   MISMATCH") + "\n";
      src += t.source, dst += t.destination;
    }
    out += Line("%-24s %12lld %12lld\n", "total", static_cast<long long>(src), static_cast<long long>(dst));
    out += std::string("surface check ") + (s.passed() ? "passed" : "FAILED") + "\n";
  }
  if (report.deep) {
    if (!out.empty()) out += "\n";
    const auto& d = *report.deep;
    out += Line("%-24s %12s %12s %10s %10s  %s\n", "type", "population", "destination", "sampled",
                "mismatch", "method");
    for (const auto& t : d.types) {
      std::string dest = t.destination ? std::to_string(*t.destination) : "n/a";
      out += Line("%-24s %12lld %12s %10lld %10zu  %s", t.type.c_str(),
                  static_cast<long long>(t.population), dest.c_str(),
                  static_cast<long long>(t.sampled), t.mismatches.size(), t.method.c_str());
      out += std::string(t.count_differs() ? "   COUNT MISMATCH" : "") + "\n";
    }
    for (const auto& t : d.types) {
      for (const auto& m : t.mismatches) {
        out += "  " + t.type + "/" + m.id + (m.missing ? ": missing on the destination\n" : ":\n");
        for (const auto& diff : m.differences) {
          out += "    " + diff.pointer + "  source=" + Truncated(diff.left.empty() ? "(absent)" : diff.left) +
                 "  destination=" + Truncated(diff.right.empty() ? "(absent)" : diff.right) + "\n";
        }
      }
    }
    out += std::string("deep check ") + (d.passed() ? "passed" : "FAILED") + "\n";
  }
  if (report.full) {
    if (!out.empty()) out += "\n";
    const auto& f = *report.full;
    out += Line("%-24s %12s %12s %9s %9s %9s\n", "type", "source", "destination", "missing", "extra",
                "different");
    for (const auto& t : f.types) {
      out += Line("%-24s %12lld %12lld %9lld %9lld %9lld\n", t.type.c_str(),
                  static_cast<long long>(t.source), static_cast<long long>(t.destination),
                  static_cast<long long>(t.missing), static_cast<long long>(t.extra),
                  static_cast<long long>(t.different));
    }
    out += "read by: source " + f.source_read + ", destination " + f.destination_read + "\n";
    for (const auto& id : f.missing) out += "  missing on destination: " + id + "\n";
    for (const auto& id : f.extra) out += "  extra on destination:   " + id + "\n";
    for (const auto& id : f.different) out += "  different content:      " + id + "\n";
    out += std::string("full check ") + (f.passed() ? "passed" : "FAILED") + "\n";
    if (report.fix) {
      const auto& x = *report.fix;
      if (x.applied) {
        out += "fix-deletes: deleted " + std::to_string(x.deleted) + " of " + std::to_string(x.found) +
               " destination-only resources\n";
      } else {
        out += "fix-deletes (dry run): " + std::to_string(x.found) +
               " destination-only resources would be deleted; add --apply to delete them\n";
      }
      for (const auto& id : x.listed) out += std::string(x.applied ? "  deleted " : "  would delete ") + id + "\n";
    }
    if (report.copy) {
      const auto& x = *report.copy;
      if (x.applied) {
        out += "fix: copied " + std::to_string(x.copied) + " of " + std::to_string(x.found) +
               " missing or different resources from the source";
        out += x.refused ? "; the destination refused " + std::to_string(x.refused) +
                               " (`fhir-migrate failures list`)\n"
                         : std::string("\n");
      } else {
        out += "fix (dry run): " + std::to_string(x.found) +
               " missing or different resources would be copied from the source\n";
      }
      if (!x.applied) {
        for (const auto& id : x.listed) out += "  would copy " + id + "\n";
      }
      for (const auto& line : x.refused_listed) out += "  refused " + line + "\n";
    }
  }
  return out;
}

base::Status RecordChecks(store::StateStore& store, const VerifyReport& report, base::Instant at) {
  auto add = [&](const char* kind, bool passed, std::string summary) {
    store::CheckRecord r;
    r.kind = kind;
    r.at = at;
    r.passed = passed;
    r.summary_json = std::move(summary);
    return store.AddCheck(r);
  };
  if (report.surface) FM_TRY_STATUS(add("surface", report.surface->passed(), SurfaceJson(*report.surface)));
  if (report.deep) FM_TRY_STATUS(add("deep", report.deep->passed(), DeepJson(*report.deep)));
  if (report.full) {
    FM_TRY_STATUS(
        add("full", report.full->passed(), FullJson(*report.full, report.fix, report.copy)));
  }
  return base::Ok();
}

}  // namespace fm::verify
