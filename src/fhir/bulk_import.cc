#include "fhir/bulk_import.h"

#include <algorithm>
#include <cctype>
#include <deque>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "fhir/bundle.h"
#include "json/canonical.h"
#include "json/ndjson.h"

namespace fm::fhir {
namespace {

using nlohmann::json;

bool IsRetryableStatus(int status) { return status == 429 || status == 408 || status >= 500; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

int64_t Int(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return 0;
  return it->get<int64_t>();
}

}  // namespace

const char* ImportModeName(ImportMode mode) {
  return mode == ImportMode::kInitialLoad ? "InitialLoad" : "IncrementalLoad";
}

base::Result<ImportMode> ParseImportMode(std::string_view text) {
  std::string l = Lower(text);
  if (l == "incrementalload" || l == "incremental") return ImportMode::kIncrementalLoad;
  if (l == "initialload" || l == "initial") return ImportMode::kInitialLoad;
  return base::MakeError(base::ErrorKind::kFatal, "unknown import mode \"" + std::string(text) +
                                                      "\" (IncrementalLoad or InitialLoad)");
}

std::string BuildImportParameters(const std::vector<ImportInput>& inputs, ImportMode mode) {
  json params = json::array();
  params.push_back({{"name", "inputFormat"}, {"valueString", "application/fhir+ndjson"}});
  params.push_back({{"name", "mode"}, {"valueString", ImportModeName(mode)}});
  for (const auto& in : inputs) {
    json part = json::array();
    if (!in.type.empty()) part.push_back({{"name", "type"}, {"valueString", in.type}});
    part.push_back({{"name", "url"}, {"valueUri", in.url}});
    if (!in.etag.empty()) part.push_back({{"name", "etag"}, {"valueUri", in.etag}});
    params.push_back({{"name", "input"}, {"part", std::move(part)}});
  }
  json body = {{"resourceType", "Parameters"}, {"parameter", std::move(params)}};
  return body.dump();
}

std::vector<std::vector<ImportInput>> ChunkImportInputs(const std::vector<ImportInput>& inputs,
                                                        size_t files_per_request) {
  std::vector<std::vector<ImportInput>> out;
  size_t n = std::max<size_t>(1, files_per_request);
  for (size_t i = 0; i < inputs.size(); i += n) {
    out.emplace_back(inputs.begin() + static_cast<std::ptrdiff_t>(i),
                     inputs.begin() + static_cast<std::ptrdiff_t>(std::min(inputs.size(), i + n)));
  }
  return out;
}

std::string ImportFingerprint(const std::vector<ImportInput>& inputs, ImportMode mode) {
  return fm::json::Sha256Hex(BuildImportParameters(inputs, mode));
}

base::Result<ImportResult> ParseImportResult(std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return base::MakeError(base::ErrorKind::kInvalidData, "import status is not a JSON object");
  }
  ImportResult r;
  r.transaction_time = Str(j, "transactionTime");
  r.request = Str(j, "request");
  auto out = j.find("output");
  if (out != j.end() && !out->is_array()) {
    return base::MakeError(base::ErrorKind::kInvalidData, "import status output is not an array");
  }
  if (out != j.end()) {
    for (const auto& o : *out) {
      if (!o.is_object()) {
        return base::MakeError(base::ErrorKind::kInvalidData,
                               "import status output entry is not an object");
      }
      r.output.push_back({Str(o, "type"), Int(o, "count"), Str(o, "inputUrl")});
    }
  }
  auto err = j.find("error");
  if (err != j.end() && !err->is_array()) {
    return base::MakeError(base::ErrorKind::kInvalidData, "import status error is not an array");
  }
  if (err != j.end()) {
    for (const auto& e : *err) {
      if (!e.is_object()) {
        return base::MakeError(base::ErrorKind::kInvalidData,
                               "import status error entry is not an object");
      }
      r.error.push_back({Str(e, "type"), Int(e, "count"), Str(e, "inputUrl"), Str(e, "url")});
    }
  }
  return r;
}

int64_t LineFromDiagnostics(std::string_view d) {
  std::string l = Lower(d);
  size_t pos = l.find("line");
  while (pos != std::string::npos) {
    size_t i = pos + 4;
    while (i < l.size() && (l[i] == ':' || l[i] == ' ' || l[i] == '#')) i++;
    int64_t n = 0;
    size_t start = i;
    while (i < l.size() && std::isdigit(static_cast<unsigned char>(l[i]))) {
      n = n * 10 + (l[i] - '0');
      i++;
    }
    if (i > start) return n;
    pos = l.find("line", pos + 4);
  }
  return 0;
}

ImportComparison CompareImportCounts(const std::vector<ImportExpectation>& expected,
                                     const ImportResult& result) {
  ImportComparison c;
  std::map<std::string, int64_t> loaded, errors;
  std::map<std::string, bool> seen;
  for (const auto& o : result.output) {
    loaded[o.input_url] += o.count;
    seen[o.input_url] = true;
    c.loaded += o.count;
  }
  for (const auto& e : result.error) {
    errors[e.input_url] += e.count;
    c.errors += e.count;
  }
  for (const auto& x : expected) {
    if (x.expected < 0) continue;
    c.expected += x.expected;
    int64_t l = loaded[x.input_url];
    int64_t e = errors[x.input_url];
    std::string name =
        x.type.empty() ? base::RedactUrl(x.input_url) : x.type + " " + base::RedactUrl(x.input_url);
    if (!seen[x.input_url] && x.expected > 0 && e == 0) {
      c.problems.push_back(name + ": not in the import result (expected " +
                           std::to_string(x.expected) + ")");
    } else if (l + e < x.expected) {
      c.problems.push_back(name + ": " + std::to_string(l) + " loaded + " + std::to_string(e) +
                           " errors < " + std::to_string(x.expected) + " expected (" +
                           std::to_string(x.expected - l - e) + " unaccounted for)");
    }
  }
  return c;
}

BulkImporter::BulkImporter(Client& destination, env::Clock& clock, ImportOptions options)
    : client_(destination), clock_(clock), options_(std::move(options)) {}

base::Result<std::string> BulkImporter::Kickoff(const std::vector<ImportInput>& inputs) {
  if (inputs.empty()) {
    return base::MakeError(base::ErrorKind::kFatal, "$import needs at least one input");
  }
  std::string body = BuildImportParameters(inputs, options_.mode);
  base::Millis backoff = options_.initial_poll;
  for (int attempt = 1;; ++attempt) {
    http::Request request;
    request.method = "POST";
    request.url = client_.base_url() + "/$import";
    request.body = body;
    http::SetHeader(request.headers, "Prefer", "respond-async");
    http::SetHeader(request.headers, "Content-Type", "application/fhir+json");
    auto sent = client_.SendRaw(std::move(request));
    std::string what = "POST $import (" + std::to_string(inputs.size()) + " inputs)";
    if (sent.ok() && (sent->status == 202 || sent->status == 200 || sent->status == 201)) {
      const std::string* loc = http::FindHeader(sent->headers, "Content-Location");
      if (!loc || loc->empty()) {
        return base::MakeError(base::ErrorKind::kInvalidData,
                               client_.name() + " " + what + " answered " +
                                   std::to_string(sent->status) + " without Content-Location");
      }
      return ResolveLink(client_.base_url(), *loc);
    }
    if (sent.ok() && sent->status == 423) {
      auto e = client_.Check(what, std::move(sent)).error();
      e.kind = base::ErrorKind::kConflict;
      e.http_status = 423;
      e.message = client_.name() +
                  " refuses $import with 423 Locked: the destination is in "
                  "initial-import mode or another import holds the lock; retry later (" +
                  e.message + ")";
      return e;
    }
    if (sent.ok() && sent->status == 413) {
      auto e = client_.Check(what, std::move(sent)).error();
      e.kind = base::ErrorKind::kInvalidData;
      e.http_status = 413;
      return e;
    }
    bool retryable =
        sent.ok() ? IsRetryableStatus(sent->status) : base::IsRetryable(sent.error().kind);
    auto checked = client_.Check(what, std::move(sent));
    base::Error error = checked.ok() ? base::MakeError(base::ErrorKind::kInvalidData, "unexpected")
                                     : checked.error();
    if (!retryable || attempt >= options_.max_attempts) return error;
    base::Millis delay =
        error.retry_after ? std::min(*error.retry_after, options_.max_retry_after) : backoff;
    backoff = std::min(backoff * 2, options_.max_poll);
    if (!clock_.SleepFor(delay)) {
      return base::MakeError(base::ErrorKind::kCancelled, "interrupted during $import kick-off");
    }
  }
}

base::Result<std::vector<BulkImporter::Kicked>> BulkImporter::KickoffSplitting(
    const std::vector<ImportInput>& inputs,
    const std::function<base::Status(const Kicked&)>& on_kicked) {
  std::vector<Kicked> out;
  std::deque<std::vector<ImportInput>> todo;
  for (auto& chunk : ChunkImportInputs(inputs, options_.files_per_request)) todo.push_back(chunk);
  while (!todo.empty()) {
    std::vector<ImportInput> chunk = std::move(todo.front());
    todo.pop_front();
    auto url = Kickoff(chunk);
    if (!url.ok() && url.error().http_status == 413) {
      if (chunk.size() < 2) {
        url.error().message += " (a single input is too large; nothing left to split)";
        return url.error();
      }
      size_t half = chunk.size() / 2;
      todo.emplace_front(chunk.begin() + static_cast<std::ptrdiff_t>(half), chunk.end());
      todo.emplace_front(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(half));
      continue;
    }
    if (!url.ok()) return url.error();
    Kicked k{*url, std::move(chunk)};
    if (on_kicked) FM_TRY_STATUS(on_kicked(k));
    out.push_back(std::move(k));
  }
  return out;
}

base::Result<ImportPoll> BulkImporter::Poll(const std::string& status_url) {
  base::Millis backoff = options_.initial_poll;
  for (int attempt = 1;; ++attempt) {
    http::Request request;
    request.url = status_url;
    http::SetHeader(request.headers, "Accept", "application/json");
    auto sent = client_.SendRaw(std::move(request));
    if (sent.ok() && sent->status == 202) {
      ImportPoll poll;
      if (const auto* ra = http::FindHeader(sent->headers, "Retry-After")) {
        poll.retry_after = http::ParseRetryAfter(*ra, clock_.Now());
      }
      if (const auto* p = http::FindHeader(sent->headers, "X-Progress")) poll.progress = *p;
      return poll;
    }
    if (sent.ok() && sent->status == 200) {
      auto parsed = ParseImportResult(sent->body);
      if (!parsed.ok()) {
        parsed.error().message = client_.name() + " import status " + base::RedactUrl(status_url) +
                                 ": " + parsed.error().message;
        return parsed.error();
      }
      ImportPoll poll;
      poll.done = true;
      poll.result = std::move(*parsed);
      return poll;
    }
    bool retryable =
        sent.ok() ? IsRetryableStatus(sent->status) : base::IsRetryable(sent.error().kind);
    auto checked =
        client_.Check("GET import status " + base::RedactUrl(status_url), std::move(sent));
    base::Error error = checked.ok() ? base::MakeError(base::ErrorKind::kInvalidData,
                                                       client_.name() + " import status answered " +
                                                           std::to_string(checked->status))
                                     : checked.error();
    if (!retryable) {
      // Any other status is a failed job; already imported resources stay.
      if (error.kind != base::ErrorKind::kNotFound) error.kind = base::ErrorKind::kInvalidData;
      error.message = "import job failed: " + error.message;
      return error;
    }
    if (attempt >= options_.max_attempts) return error;
    base::Millis delay =
        error.retry_after ? std::min(*error.retry_after, options_.max_retry_after) : backoff;
    backoff = std::min(backoff * 2, options_.max_poll);
    if (!clock_.SleepFor(delay)) {
      return base::MakeError(base::ErrorKind::kCancelled, "interrupted while polling $import");
    }
  }
}

base::Millis BulkImporter::NextDelay(const ImportPoll& poll, base::Millis& backoff) const {
  if (poll.retry_after) {
    return std::clamp(*poll.retry_after, base::Millis(0), options_.max_retry_after);
  }
  base::Millis d = backoff;
  backoff = std::min(backoff * 2, options_.max_poll);
  return d;
}

base::Result<ImportResult> BulkImporter::Wait(const std::string& status_url) {
  base::Instant start = clock_.Now();
  base::Millis backoff = options_.initial_poll;
  for (;;) {
    FM_ASSIGN_OR_RETURN(ImportPoll poll, Poll(status_url));
    if (poll.done) return std::move(poll.result);
    if (clock_.Now() - start > options_.max_job_duration) {
      return base::MakeError(base::ErrorKind::kTransient,
                             "import job " + base::RedactUrl(status_url) + " still running after " +
                                 base::FormatDuration(options_.max_job_duration));
    }
    if (!clock_.SleepFor(NextDelay(poll, backoff))) {
      return base::MakeError(base::ErrorKind::kCancelled, "interrupted while polling $import");
    }
  }
}

base::Status BulkImporter::ReadErrorFile(
    const ImportErrorEntry& entry, const std::string& resource_type,
    const std::function<base::Status(ImportLineError)>& on_error) {
  fm::json::NdjsonSplitter splitter;
  auto handle = [&](std::string_view line) -> base::Status {
    ImportLineError e;
    e.input_url = entry.input_url;
    e.resource_type = resource_type;
    e.outcome_json = std::string(line);
    auto issues = ParseOperationOutcome(line);
    if (issues.ok()) {
      e.diagnostics = SummarizeOutcome(*issues);
      for (const auto& i : *issues) {
        if (int64_t n = LineFromDiagnostics(i.diagnostics); n > 0) {
          e.line = n;
          break;
        }
      }
    } else {
      e.diagnostics = "unreadable OperationOutcome in the error file";
    }
    return on_error(std::move(e));
  };
  http::Request request;
  request.url = entry.url;
  http::SetHeader(request.headers, "Accept", "application/fhir+ndjson");
  request.on_body = [&](std::string_view chunk) { return splitter.Feed(chunk, handle); };
  auto sent = client_.SendRaw(std::move(request));
  FM_TRY_STATUS(
      client_.Check("GET import error file " + base::RedactUrl(entry.url), std::move(sent)));
  return splitter.Finish(handle);
}

base::Result<std::vector<ImportLineError>> BulkImporter::ReadErrors(const ImportResult& result) {
  std::map<std::string, std::string> types;
  for (const auto& o : result.output) types[o.input_url] = o.type;
  std::vector<ImportLineError> out;
  for (const auto& e : result.error) {
    if (e.url.empty()) continue;
    FM_TRY_STATUS(ReadErrorFile(e, types[e.input_url], [&](ImportLineError le) {
      out.push_back(std::move(le));
      return base::Ok();
    }));
  }
  return out;
}

base::Result<std::vector<std::pair<BulkImporter::Kicked, ImportResult>>> BulkImporter::Run(
    const std::vector<ImportInput>& inputs, const std::vector<Kicked>& resume, const Hooks& hooks) {
  struct Job {
    Kicked kicked;
    base::Instant next_poll;
    base::Millis backoff;
    base::Instant started;
  };
  std::vector<std::pair<Kicked, ImportResult>> done;
  std::deque<std::vector<ImportInput>> pending;
  for (auto& c : ChunkImportInputs(inputs, options_.files_per_request))
    pending.push_back(std::move(c));
  std::vector<Job> running;
  for (const auto& k : resume)
    running.push_back({k, clock_.Now(), options_.initial_poll, clock_.Now()});
  size_t parallel = static_cast<size_t>(std::max(1, options_.parallel_imports));

  while (!pending.empty() || !running.empty()) {
    while (running.size() < parallel && !pending.empty()) {
      std::vector<ImportInput> chunk = std::move(pending.front());
      pending.pop_front();
      auto url = Kickoff(chunk);
      if (!url.ok() && url.error().http_status == 413 && chunk.size() > 1) {
        size_t half = chunk.size() / 2;
        pending.emplace_front(chunk.begin() + static_cast<std::ptrdiff_t>(half), chunk.end());
        pending.emplace_front(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(half));
        continue;
      }
      if (!url.ok()) return url.error();
      Kicked k{*url, std::move(chunk)};
      if (hooks.on_kicked) FM_TRY_STATUS(hooks.on_kicked(k));
      base::Instant now = clock_.Now();
      running.push_back({std::move(k), now, options_.initial_poll, now});
    }
    // Poll every job that is due; then sleep until the next one is.
    base::Instant now = clock_.Now();
    for (size_t i = 0; i < running.size();) {
      Job& job = running[i];
      if (job.next_poll > now) {
        ++i;
        continue;
      }
      auto polled = Poll(job.kicked.status_url);
      if (!polled.ok()) {
        if (hooks.on_failed && !base::IsRetryable(polled.error().kind) &&
            polled.error().kind != base::ErrorKind::kCancelled) {
          hooks.on_failed(job.kicked, polled.error());
        }
        return polled.error();
      }
      ImportPoll poll = std::move(*polled);
      if (!poll.done && hooks.on_polled) hooks.on_polled(job.kicked, poll);
      if (poll.done) {
        if (hooks.on_done) FM_TRY_STATUS(hooks.on_done(job.kicked, poll.result));
        done.emplace_back(std::move(job.kicked), std::move(poll.result));
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      if (clock_.Now() - job.started > options_.max_job_duration) {
        return base::MakeError(base::ErrorKind::kTransient,
                               "import job " + base::RedactUrl(job.kicked.status_url) +
                                   " still running after " +
                                   base::FormatDuration(options_.max_job_duration));
      }
      job.next_poll = clock_.Now() + NextDelay(poll, job.backoff);
      ++i;
    }
    if (running.empty() || (!pending.empty() && running.size() < parallel)) continue;
    base::Instant next = running.front().next_poll;
    for (const auto& j : running) next = std::min(next, j.next_poll);
    base::Instant t = clock_.Now();
    if (next > t) {
      if (!clock_.SleepFor(std::chrono::duration_cast<base::Millis>(next - t))) {
        return base::MakeError(base::ErrorKind::kCancelled, "interrupted while polling $import");
      }
    }
  }
  return done;
}

}  // namespace fm::fhir
