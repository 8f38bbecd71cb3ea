// docs/errors.md is what operators script against: its two tables (kinds with
// their exit code, and the exit codes) must say what the binary does. This
// test reads them and checks them against cli/exit_codes.h and ExitCodeFor,
// the switch on the error's kind.
#include "cli/exit_codes.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/strings.h"

namespace fm::cli {
namespace {

std::string ErrorsDoc() {
  const char* root = std::getenv("FM_SOURCE_DIR");
  std::string path = std::string(root ? root : ".") + "/docs/errors.md";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The rows of the Markdown table whose header row starts with `first_column`,
// each split into trimmed cells.
std::vector<std::vector<std::string>> Table(const std::string& doc,
                                            const std::string& first_column) {
  std::vector<std::vector<std::string>> rows;
  bool inside = false;
  std::istringstream lines(doc);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '|') {
      if (inside) break;
      continue;
    }
    std::vector<std::string> cells;
    auto parts = base::Split(line, '|');
    for (size_t i = 1; i + 1 < parts.size(); ++i) cells.emplace_back(base::Trim(parts[i]));
    if (!inside) {
      inside = !cells.empty() && cells[0] == first_column;
      continue;
    }
    if (!cells.empty() && cells[0].find("---") == 0) continue;
    rows.push_back(std::move(cells));
  }
  return rows;
}

TEST(ExitCodesTest, TheDocumentedExitCodesAreExactlyTheCodesOfExitCodesH) {
  auto rows = Table(ErrorsDoc(), "code");
  ASSERT_FALSE(rows.empty()) << "no exit-code table in docs/errors.md";
  std::set<int> documented;
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), 2u);
    EXPECT_FALSE(row[1].empty()) << "code " << row[0] << " has no meaning";
    documented.insert(std::stoi(row[0]));
  }
  std::set<int> declared;
  for (ExitCode c : kAllExitCodes) declared.insert(c);
  EXPECT_EQ(documented, declared);
}

TEST(ExitCodesTest, EveryErrorKindIsDocumentedWithTheCodeExitCodeForGives) {
  auto rows = Table(ErrorsDoc(), "kind");
  ASSERT_FALSE(rows.empty()) << "no kind table in docs/errors.md";
  std::map<std::string, int> documented;
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), 4u) << base::Join(row, " | ");
    std::string name = row[0];
    ASSERT_TRUE(name.size() > 2 && name.front() == '`' && name.back() == '`') << name;
    documented[name.substr(1, name.size() - 2)] = std::stoi(row[3]);
  }
  std::set<int> codes(std::begin(kAllExitCodes), std::end(kAllExitCodes));
  for (base::ErrorKind kind : base::kAllErrorKinds) {
    std::string name = base::ErrorKindName(kind);
    int code = ExitCodeFor(base::MakeError(kind, "x"));
    EXPECT_TRUE(codes.count(code)) << name << " exits with undeclared code " << code;
    auto it = documented.find(name);
    ASSERT_NE(it, documented.end()) << "kind " << name << " is not in docs/errors.md";
    EXPECT_EQ(it->second, code) << "kind " << name;
    documented.erase(it);
  }
  for (const auto& [name, code] : documented) ADD_FAILURE() << "no kind named " << name;
}

}  // namespace
}  // namespace fm::cli
