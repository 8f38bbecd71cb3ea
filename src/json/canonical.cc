#include "json/canonical.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <utility>

#include "json/resource.h"

namespace fm::json {
namespace {

using Json = nlohmann::json;
using Tokens = std::vector<std::string>;

// nlohmann's parser keeps its own stack, but dump() and Compare() recurse.
constexpr int kMaxDepth = 256;

base::Result<Json> Parse(std::string_view text, std::string_view what) {
  base::Status nesting = CheckNesting(text, kMaxDepth);
  if (!nesting.ok()) {
    return base::MakeError(base::ErrorKind::kInvalidData,
                           std::string(what) + ": " + nesting.error().message);
  }
  Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return base::MakeError(base::ErrorKind::kInvalidData, std::string(what) + " is not valid JSON");
  }
  return doc;
}

// The parser has validated UTF-8, so the error handler never fires; `replace`
// only guarantees that dump() cannot throw.
std::string Dump(const Json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

base::Result<Tokens> SplitPointer(std::string_view pointer) {
  auto bad = [&](std::string_view why) {
    return base::MakeError(base::ErrorKind::kFatal,
                           "ignore pointer '" + std::string(pointer) + "' " + std::string(why));
  };
  if (pointer.empty() || pointer[0] != '/') return bad("does not start with '/'");
  Tokens tokens(1);
  for (size_t i = 1; i < pointer.size(); ++i) {
    char c = pointer[i];
    if (c == '/') {
      tokens.emplace_back();
    } else if (c != '~') {
      tokens.back() += c;
    } else if (i + 1 < pointer.size() && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
      tokens.back() += pointer[++i] == '0' ? '~' : '/';
    } else {
      return bad("has a '~' not followed by 0 or 1");
    }
  }
  return tokens;
}

base::Result<std::vector<Tokens>> SplitPointers(const std::vector<std::string>& pointers) {
  std::vector<Tokens> out;
  out.reserve(pointers.size());
  for (const std::string& pointer : pointers) {
    FM_ASSIGN_OR_RETURN(Tokens tokens, SplitPointer(pointer));
    out.push_back(std::move(tokens));
  }
  return out;
}

// RFC 6901 array index: "0" or digits without a leading zero.
std::optional<size_t> ArrayIndex(const std::string& token) {
  if (token.empty() || token.size() > 18 || (token.size() > 1 && token[0] == '0')) return {};
  size_t index = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return {};
    index = index * 10 + static_cast<size_t>(c - '0');
  }
  return index;
}

Json* Child(Json& node, const std::string& token) {
  if (node.is_object()) {
    auto it = node.find(token);
    return it == node.end() ? nullptr : &*it;
  }
  if (node.is_array()) {
    auto index = ArrayIndex(token);
    if (index && *index < node.size()) return &node[*index];
  }
  return nullptr;
}

bool EraseChild(Json& node, const std::string& token) {
  if (node.is_object()) return node.erase(token) > 0;
  if (!node.is_array()) return false;
  auto index = ArrayIndex(token);
  if (!index || *index >= node.size()) return false;
  node.erase(*index);
  return true;
}

// Removes the value at `tokens` (if any), then every object that removal
// left empty, walking up to but not including the root.
void Erase(Json& root, const Tokens& tokens) {
  std::vector<Json*> path = {&root};  // path[k] holds tokens[k]
  for (size_t k = 0; k + 1 < tokens.size(); ++k) {
    Json* child = Child(*path.back(), tokens[k]);
    if (child == nullptr) return;
    path.push_back(child);
  }
  if (!EraseChild(*path.back(), tokens.back())) return;
  for (size_t k = path.size() - 1; k > 0; --k) {
    if (!path[k]->is_object() || !path[k]->empty()) break;
    EraseChild(*path[k - 1], tokens[k - 1]);
  }
}

base::Result<Json> ParseAndStrip(std::string_view text, std::string_view what,
                                 const std::vector<Tokens>& ignore) {
  FM_ASSIGN_OR_RETURN(Json doc, Parse(text, what));
  for (const Tokens& tokens : ignore) Erase(doc, tokens);
  return doc;
}

void AppendToken(std::string& pointer, std::string_view token) {
  pointer += '/';
  for (char c : token) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer += c;
    }
  }
}

class Comparer {
 public:
  explicit Comparer(std::vector<Difference>& out) : out_(out) {}

  // Differences come out in document order: keys in byte order, indices numerically.
  void Compare(const Json* left, const Json* right) {
    if (left && right && left->is_object() && right->is_object()) {
      CompareObjects(left->get_ref<const Json::object_t&>(),
                     right->get_ref<const Json::object_t&>());
    } else if (left && right && left->is_array() && right->is_array()) {
      CompareArrays(left->get_ref<const Json::array_t&>(), right->get_ref<const Json::array_t&>());
    } else {
      // Scalars, type changes and absent values compare by canonical text, so
      // Diff reports a difference exactly when Canonicalize's outputs differ.
      std::string l = left ? Dump(*left) : "";
      std::string r = right ? Dump(*right) : "";
      if (l != r) out_.push_back({pointer_, std::move(l), std::move(r)});
    }
  }

 private:
  void CompareObjects(const Json::object_t& left, const Json::object_t& right) {
    auto l = left.begin();
    auto r = right.begin();
    while (l != left.end() || r != right.end()) {
      bool take_left = r == right.end() || (l != left.end() && l->first <= r->first);
      bool take_right = l == left.end() || (r != right.end() && r->first <= l->first);
      const std::string& key = take_left ? l->first : r->first;
      Descend(key, take_left ? &l->second : nullptr, take_right ? &r->second : nullptr);
      if (take_left) ++l;
      if (take_right) ++r;
    }
  }

  void CompareArrays(const Json::array_t& left, const Json::array_t& right) {
    for (size_t i = 0; i < std::max(left.size(), right.size()); ++i) {
      Descend(std::to_string(i), i < left.size() ? &left[i] : nullptr,
              i < right.size() ? &right[i] : nullptr);
    }
  }

  void Descend(std::string_view token, const Json* left, const Json* right) {
    size_t length = pointer_.size();
    AppendToken(pointer_, token);
    Compare(left, right);
    pointer_.resize(length);
  }

  std::vector<Difference>& out_;
  std::string pointer_;
};

}  // namespace

base::Result<std::string> Canonicalize(std::string_view json,
                                       const std::vector<std::string>& ignore) {
  FM_ASSIGN_OR_RETURN(std::vector<Tokens> tokens, SplitPointers(ignore));
  FM_ASSIGN_OR_RETURN(Json doc, ParseAndStrip(json, "document", tokens));
  return Dump(doc);
}

base::Result<std::vector<Difference>> Diff(std::string_view left, std::string_view right,
                                           const std::vector<std::string>& ignore) {
  FM_ASSIGN_OR_RETURN(std::vector<Tokens> tokens, SplitPointers(ignore));
  FM_ASSIGN_OR_RETURN(Json l, ParseAndStrip(left, "left document", tokens));
  FM_ASSIGN_OR_RETURN(Json r, ParseAndStrip(right, "right document", tokens));
  std::vector<Difference> out;
  Comparer(out).Compare(&l, &r);
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    // Only a broken libcrypto gets here; an empty hash would make unequal
    // resources compare equal, so stop instead.
    std::fputs("fatal: EVP_Digest(SHA-256) failed\n", stderr);
    std::abort();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size_t{2} * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace fm::json
