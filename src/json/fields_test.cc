#include "json/fields.h"

#include <gtest/gtest.h>

namespace fm::json {
namespace {

TEST(ReadScalarMembersTest, ReadsScalarsAndLeavesNestedValuesOut) {
  auto m = ReadScalarMembers(
      R"({"access_token":"a\"b","expires_in":3599,"ok":true,"none":null,"nested":{"x":1},"list":[1]})");
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(StringMember(*m, "access_token"), "a\"b");
  EXPECT_EQ(m->at("expires_in").kind, Scalar::Kind::kNumber);
  EXPECT_EQ(m->at("expires_in").text, "3599");
  EXPECT_EQ(m->at("ok").text, "true");
  EXPECT_EQ(m->at("none").kind, Scalar::Kind::kNull);
  EXPECT_EQ(m->count("nested"), 0u);
  EXPECT_EQ(m->count("list"), 0u);
  EXPECT_EQ(StringMember(*m, "expires_in"), "");  // a number, not a string
  EXPECT_EQ(StringMember(*m, "missing"), "");
}

TEST(ReadScalarMembersTest, RefusesWhatIsNotAnObjectWithoutQuotingIt) {
  for (const char* text : {"", "[1]", "\"secret\"", "{\"a\":", "<html>secret</html>"}) {
    auto m = ReadScalarMembers(text);
    ASSERT_FALSE(m.ok()) << text;
    EXPECT_EQ(m.error().kind, base::ErrorKind::kInvalidData);
    EXPECT_EQ(m.error().message.find("secret"), std::string::npos);
  }
}

}  // namespace
}  // namespace fm::json
