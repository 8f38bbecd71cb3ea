#include "json/canonical.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fm::json {
namespace {

const std::vector<std::string> kNoIgnore;
const std::vector<std::string> kVersionIgnore = {"/meta/versionId", "/meta/lastUpdated"};

std::string Canonical(std::string_view json, const std::vector<std::string>& ignore = {}) {
  auto out = Canonicalize(json, ignore);
  EXPECT_TRUE(out.ok()) << out.error().ToString();
  return out.ok() ? *out : "";
}

TEST(CanonicalizeTest, KeyOrderAndWhitespaceDoNotMatter) {
  std::string a =
      R"({"resourceType":"Patient","id":"1","name":[{"given":["A","B"],"family":"C"}]})";
  std::string b =
      "{ \"name\" : [ { \"family\" : \"C\",\n \"given\": [\"A\", \"B\"] } ],\r\n"
      "\t\"id\":\"1\", \"resourceType\": \"Patient\" }";
  EXPECT_EQ(Canonical(a), Canonical(b));
  EXPECT_EQ(Canonical(b),
            R"({"id":"1","name":[{"family":"C","given":["A","B"]}],"resourceType":"Patient"})");
}

TEST(CanonicalizeTest, KeepsIntegersAndUnicodeAndSortsKeysByBytes) {
  EXPECT_EQ(Canonical(R"({"b":12345678901234567,"a":-3,"\u00e9":"\u00e9","Z":true,"n":null})"),
            "{\"Z\":true,\"a\":-3,\"b\":12345678901234567,\"n\":null,\"\xc3\xa9\":\"\xc3\xa9\"}");
}

TEST(CanonicalizeTest, DecimalsGoThroughADouble) {
  // Documented limitation: "1.50" and "1.5" are the same canonical number.
  EXPECT_EQ(Canonical(R"({"v":1.50})"), R"({"v":1.5})");
  EXPECT_EQ(Canonical(R"({"v":1.50})"), Canonical(R"({"v":1.5})"));
}

TEST(CanonicalizeTest, IgnoreListRemovesVersionFieldsAndTheEmptyMeta) {
  EXPECT_EQ(Canonical(R"({"resourceType":"Patient","meta":{"versionId":"2",)"
                      R"("lastUpdated":"2021-01-01T00:00:00Z"},"id":"1"})",
                      kVersionIgnore),
            R"({"id":"1","resourceType":"Patient"})");
  // A meta that keeps other fields stays.
  EXPECT_EQ(Canonical(R"({"meta":{"versionId":"2","tag":[{"code":"x"}]}})", kVersionIgnore),
            R"({"meta":{"tag":[{"code":"x"}]}})");
  // An object that was empty before is not the ignore list's doing.
  EXPECT_EQ(Canonical(R"({"meta":{},"a":{}})", kVersionIgnore), R"({"a":{},"meta":{}})");
}

TEST(CanonicalizeTest, IgnoreUnescapesPointerTokensAndIndexesArrays) {
  EXPECT_EQ(Canonical(R"({"a/b":1,"c~d":2,"e":[{"f":1},{"f":2,"g":3}]})",
                      {"/a~1b", "/c~0d", "/e/1/f", "/e/7/f", "/missing/x"}),
            R"({"e":[{"f":1},{"g":3}]})");
  // Emptied objects inside an array go too; the array itself stays.
  EXPECT_EQ(Canonical(R"({"e":[{"f":1}]})", {"/e/0/f"}), R"({"e":[]})");
}

TEST(CanonicalizeTest, RejectsInvalidJsonAndBadPointers) {
  auto bad = Canonicalize(R"({"secret":)", kNoIgnore);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, base::ErrorKind::kInvalidData);
  EXPECT_EQ(bad.error().message.find("secret"), std::string::npos);
  EXPECT_FALSE(Canonicalize(R"({"a":1} {"b":2})", kNoIgnore).ok());
  EXPECT_FALSE(Canonicalize("\"\xff\"", kNoIgnore).ok());
  EXPECT_FALSE(Canonicalize(std::string(300, '[') + std::string(300, ']'), kNoIgnore).ok());
  auto pointer = Canonicalize("{}", {"meta/versionId"});
  ASSERT_FALSE(pointer.ok());
  EXPECT_EQ(pointer.error().kind, base::ErrorKind::kFatal);
  EXPECT_FALSE(Canonicalize("{}", {"/a~2"}).ok());
}

std::vector<Difference> DiffOk(std::string_view l, std::string_view r,
                               const std::vector<std::string>& ignore = {}) {
  auto diff = Diff(l, r, ignore);
  EXPECT_TRUE(diff.ok()) << diff.error().ToString();
  return diff.ok() ? *diff : std::vector<Difference>{};
}

TEST(DiffTest, EqualDocumentsHaveNoDifferences) {
  EXPECT_TRUE(DiffOk(R"({"a":[1,{"b":2}],"c":"x"})", R"({ "c":"x", "a":[1, {"b":2}] })").empty());
}

TEST(DiffTest, AChangedScalarIsOneDifference) {
  auto diff = DiffOk(R"({"id":"1","gender":"male","active":true})",
                     R"({"id":"1","gender":"female","active":true})");
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_EQ(diff[0].pointer, "/gender");
  EXPECT_EQ(diff[0].left, "\"male\"");
  EXPECT_EQ(diff[0].right, "\"female\"");
}

TEST(DiffTest, AChangedElementInANestedArray) {
  auto diff = DiffOk(R"({"name":[{"given":["Amy","V"]},{"given":["Bo"]}]})",
                     R"({"name":[{"given":["Amy","W"]},{"given":["Bo"]}]})");
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_EQ(diff[0].pointer, "/name/0/given/1");
  EXPECT_EQ(diff[0].left, "\"V\"");
  EXPECT_EQ(diff[0].right, "\"W\"");
}

TEST(DiffTest, AMissingKeyIsAbsentOnOneSide) {
  auto diff = DiffOk(R"({"a":1,"b":{"c":[1]}})", R"({"a":1})");
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_EQ(diff[0].pointer, "/b");
  EXPECT_EQ(diff[0].left, R"({"c":[1]})");
  EXPECT_EQ(diff[0].right, "");
  auto reverse = DiffOk(R"({"a":1})", R"({"a":1,"b":2})");
  ASSERT_EQ(reverse.size(), 1u);
  EXPECT_EQ(reverse[0].left, "");
  EXPECT_EQ(reverse[0].right, "2");
}

TEST(DiffTest, ArrayLengthDifferencesAreReportedAtTheMissingIndex) {
  auto diff = DiffOk(R"({"a":[1,2]})", R"({"a":[1,2,3,{"x":4}]})");
  ASSERT_EQ(diff.size(), 2u);
  EXPECT_EQ(diff[0].pointer, "/a/2");
  EXPECT_EQ(diff[0].left, "");
  EXPECT_EQ(diff[0].right, "3");
  EXPECT_EQ(diff[1].pointer, "/a/3");
  EXPECT_EQ(diff[1].right, R"({"x":4})");
}

TEST(DiffTest, TypeChangesAndSignedZeroMatchCanonicalize) {
  auto diff = DiffOk(R"({"a":{"b":1},"c":1,"d":-0,"e":[]})", R"({"a":[1],"c":1.0,"d":0,"e":{}})");
  ASSERT_EQ(diff.size(), 3u);
  EXPECT_EQ(diff[0].pointer, "/a");
  EXPECT_EQ(diff[1].pointer, "/c");
  EXPECT_EQ(diff[1].left, "1");
  EXPECT_EQ(diff[1].right, "1.0");
  EXPECT_EQ(diff[2].pointer, "/e");  // "-0" and "0" print the same
}

TEST(DiffTest, EscapesPointerTokensAndSortsByPointer) {
  auto diff = DiffOk(R"({"a/b":1,"m~n":1,"z":[0,0,0,0,0,0,0,0,0,0,0,0]})",
                     R"({"a/b":2,"m~n":2,"z":[0,0,1,0,0,0,0,0,0,0,0,1]})");
  ASSERT_EQ(diff.size(), 4u);
  EXPECT_EQ(diff[0].pointer, "/a~1b");
  EXPECT_EQ(diff[1].pointer, "/m~0n");
  EXPECT_EQ(diff[2].pointer, "/z/2");
  EXPECT_EQ(diff[3].pointer, "/z/11");
}

TEST(DiffTest, AppliesTheIgnoreListFirst) {
  std::string left = R"({"id":"1","meta":{"versionId":"1","lastUpdated":"2020-01-01T00:00:00Z"}})";
  std::string right = R"({"id":"1","meta":{"versionId":"5","lastUpdated":"2024-01-01T00:00:00Z"}})";
  EXPECT_EQ(DiffOk(left, right).size(), 2u);
  EXPECT_TRUE(DiffOk(left, right, kVersionIgnore).empty());
  EXPECT_TRUE(DiffOk(left, R"({"id":"1"})", kVersionIgnore).empty());
}

TEST(DiffTest, InvalidJsonNamesTheSide) {
  auto diff = Diff("{}", "{", kNoIgnore);
  ASSERT_FALSE(diff.ok());
  EXPECT_EQ(diff.error().kind, base::ErrorKind::kInvalidData);
  EXPECT_EQ(diff.error().message, "right document is not valid JSON");
}

TEST(Sha256HexTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace fm::json
