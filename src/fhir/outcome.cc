// OperationOutcomes are small: a DOM (nlohmann) after the nesting guard.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fhir/bundle.h"
#include "json/resource.h"

namespace fm::fhir {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxSummaryBytes = 500;

std::string StringMember(const Json& object, std::string_view key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// diagnostics, else details.text, else the first coding's display or code.
std::string DiagnosticsOf(const Json& issue) {
  std::string text = StringMember(issue, "diagnostics");
  if (!text.empty()) return text;
  auto details = issue.find("details");
  if (details == issue.end() || !details->is_object()) return {};
  text = StringMember(*details, "text");
  if (!text.empty()) return text;
  auto coding = details->find("coding");
  if (coding == details->end() || !coding->is_array() || coding->empty()) return {};
  text = StringMember(coding->front(), "display");
  return text.empty() ? StringMember(coding->front(), "code") : text;
}

// Appends `text` with control characters folded into spaces, stopping before
// `limit` bytes at a UTF-8 character boundary. Returns false when it stopped.
bool AppendBounded(std::string& out, std::string_view text, size_t limit) {
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (out.size() >= limit) {
      if ((c & 0xC0) == 0x80) {  // mid-character: drop its first bytes too
        while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) {
          out.pop_back();
        }
        if (!out.empty()) out.pop_back();
      }
      return false;
    }
    if (c < 0x20 || c == 0x7F) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += static_cast<char>(c);
    }
  }
  return true;
}

// The first string of issue[`key`] (an array), else of issue[`fallback`].
std::string FirstOf(const Json& issue, std::string_view key, std::string_view fallback) {
  for (std::string_view k : {key, fallback}) {
    auto it = issue.find(k);
    if (it == issue.end() || !it->is_array() || it->empty() || !it->front().is_string()) continue;
    return it->front().get<std::string>();
  }
  return {};
}

}  // namespace

base::Result<std::vector<OutcomeIssue>> ParseOperationOutcome(std::string_view body) {
  auto not_outcome = [](std::string_view reason) {
    return base::MakeError(base::ErrorKind::kInvalidData,
                           "not an OperationOutcome (" + std::string(reason) + ")");
  };
  if (auto nesting = fm::json::CheckNesting(body); !nesting.ok()) {
    return not_outcome(nesting.error().message);
  }
  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return not_outcome("invalid JSON");
  if (StringMember(doc, "resourceType") != "OperationOutcome") {
    return not_outcome("resourceType is not OperationOutcome");
  }
  std::vector<OutcomeIssue> issues;
  auto list = doc.find("issue");
  if (list == doc.end() || !list->is_array()) return issues;
  for (const Json& issue : *list) {
    if (!issue.is_object()) continue;
    issues.push_back({StringMember(issue, "severity"), StringMember(issue, "code"),
                      DiagnosticsOf(issue), FirstOf(issue, "expression", "location")});
  }
  return issues;
}

std::string SummarizeOutcome(const std::vector<OutcomeIssue>& issues) {
  std::string out;
  bool room = true;
  for (size_t i = 0; i < issues.size() && room; ++i) {
    const OutcomeIssue& issue = issues[i];
    std::string head = (issue.severity.empty() ? "issue" : issue.severity) + "/" +
                       (issue.code.empty() ? "unknown" : issue.code);
    room = AppendBounded(out, i == 0 ? "" : "; ", kMaxSummaryBytes) &&
           AppendBounded(out, head, kMaxSummaryBytes) &&
           (issue.diagnostics.empty() || (AppendBounded(out, ": ", kMaxSummaryBytes) &&
                                          AppendBounded(out, issue.diagnostics, kMaxSummaryBytes)));
  }
  if (!room) out += "...";
  return out;
}

bool IsTransientOutcome(const std::vector<OutcomeIssue>& issues) {
  for (const OutcomeIssue& issue : issues) {
    for (const char* code : {"transient", "lock-error", "no-store", "exception", "timeout",
                             "incomplete", "throttled"}) {
      if (issue.code == code) return true;
    }
  }
  return false;
}

bool IsFailedForGood(std::string_view body) {
  auto issues = ParseOperationOutcome(body);
  return issues.ok() && !issues->empty() && !IsTransientOutcome(*issues);
}

}  // namespace fm::fhir
