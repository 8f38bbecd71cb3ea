#include "http/response_text.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/strings.h"

namespace fm::http {
namespace {

std::string Shorten(std::string_view text) {
  if (text.size() <= kMaxBodyDetail) return std::string(text);
  return base::Truncate(text, kMaxBodyDetail - 3);  // Truncate appends "..."
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool ReadHex4(std::string_view s, size_t pos, uint32_t& out) {
  if (pos + 4 > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + 4; ++i) {
    char c = s[i];
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    out = out * 16 +
          static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(c))
                                    ? c - '0'
                                    : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
  }
  return true;
}

// Decodes the JSON string starting after its opening quote at `pos`; stops at
// the closing quote or, for a body cut short, at the end of the text.
std::string UnescapeJsonString(std::string_view s, size_t pos) {
  std::string out;
  while (pos < s.size() && s[pos] != '"') {
    char c = s[pos++];
    if (c != '\\' || pos >= s.size()) {
      out += c;
      continue;
    }
    char e = s[pos++];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        uint32_t cp = 0;
        if (!ReadHex4(s, pos, cp)) return out;
        pos += 4;
        uint32_t low = 0;
        if (cp >= 0xD800 && cp <= 0xDBFF && s.substr(pos, 2) == "\\u" &&
            ReadHex4(s, pos + 2, low) && low >= 0xDC00 && low <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          pos += 6;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
          cp = '?';
        }
        AppendUtf8(out, cp);
        break;
      }
      default:
        out += e;
        break;  // \" \\ \/
    }
  }
  return out;
}

// Tolerant fallback for JSON that does not parse (often cut at max_error_body):
// every `"diagnostics" : "..."` in order.
std::vector<std::string> ScanDiagnostics(std::string_view body) {
  static constexpr std::string_view kKey = "\"diagnostics\"";
  std::vector<std::string> found;
  size_t pos = 0;
  while ((pos = body.find(kKey, pos)) != std::string_view::npos) {
    pos += kKey.size();
    while (pos < body.size() && std::isspace(static_cast<unsigned char>(body[pos]))) ++pos;
    if (pos >= body.size() || body[pos] != ':') continue;
    ++pos;
    while (pos < body.size() && std::isspace(static_cast<unsigned char>(body[pos]))) ++pos;
    if (pos >= body.size() || body[pos] != '"') continue;
    found.push_back(UnescapeJsonString(body, pos + 1));
  }
  return found;
}

std::vector<std::string> OutcomeDiagnostics(const nlohmann::json& json) {
  std::vector<std::string> found;
  if (!json.is_object()) return found;
  auto type = json.find("resourceType");
  auto issues = json.find("issue");
  if (type == json.end() || *type != "OperationOutcome" || issues == json.end() ||
      !issues->is_array()) {
    return found;
  }
  for (const auto& issue : *issues) {
    if (!issue.is_object()) continue;
    auto diagnostics = issue.find("diagnostics");
    if (diagnostics != issue.end() && diagnostics->is_string()) {
      found.push_back(diagnostics->get<std::string>());
      continue;
    }
    auto details = issue.find("details");
    if (details == issue.end() || !details->is_object()) continue;
    auto text = details->find("text");
    if (text != details->end() && text->is_string()) found.push_back(text->get<std::string>());
  }
  return found;
}

// Collapses runs of whitespace, and drops markup when `strip_tags`, so an HTML
// error page reads as one line.
std::string OneLine(std::string_view body, bool strip_tags) {
  std::string out;
  bool in_tag = false;
  bool pending_space = false;
  for (char c : body) {
    if (out.size() > kMaxBodyDetail) break;
    if (strip_tags && c == '<') in_tag = true;
    if (in_tag) {
      if (c == '>') {
        in_tag = false;
        pending_space = true;
      }
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += c;
  }
  return Shorten(out);
}

}  // namespace

std::string DescribeErrorBody(std::string_view body) {
  std::string_view trimmed = base::Trim(body);
  if (trimmed.empty()) return "";
  if (trimmed.front() != '{' && trimmed.front() != '[')
    return OneLine(trimmed, /*strip_tags=*/true);
  auto json = nlohmann::json::parse(trimmed, nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> diagnostics =
      json.is_discarded() ? ScanDiagnostics(trimmed) : OutcomeDiagnostics(json);
  std::vector<std::string> lines;
  for (const std::string& d : diagnostics) {
    std::string line(base::Trim(d));
    if (!line.empty()) lines.push_back(std::move(line));
  }
  return OneLine(base::Join(lines, "; "), /*strip_tags=*/false);
}

}  // namespace fm::http
