#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fhir/bundle.h"

namespace fm::fhir {
namespace {

using ::testing::HasSubstr;

TEST(ParseOperationOutcomeTest, ReadsSeverityCodeAndDiagnosticsWithFallbacks) {
  auto issues = ParseOperationOutcome(R"({"resourceType":"OperationOutcome","issue":[
    {"severity":"error","code":"processing","diagnostics":"Patient.gender: unknown code"},
    {"severity":"warning","code":"informational","details":{"text":"Profile not checked"}},
    {"severity":"information","code":"informational","details":{"coding":[
      {"system":"https://hapifhir.io/fhir/CodeSystem/hapi-fhir-storage-response-code",
       "code":"SUCCESSFUL_UPDATE_NO_CHANGE"}]}},
    "not an object",
    {"severity":"fatal"}]})");
  ASSERT_TRUE(issues.ok()) << issues.error().ToString();
  ASSERT_EQ(issues->size(), 4u);
  EXPECT_EQ((*issues)[0].severity, "error");
  EXPECT_EQ((*issues)[0].code, "processing");
  EXPECT_EQ((*issues)[0].diagnostics, "Patient.gender: unknown code");
  EXPECT_EQ((*issues)[1].diagnostics, "Profile not checked");
  EXPECT_EQ((*issues)[2].diagnostics, "SUCCESSFUL_UPDATE_NO_CHANGE");
  EXPECT_EQ((*issues)[3].severity, "fatal");
  EXPECT_EQ((*issues)[3].code, "");
}

// An export's error[] line names the resource it concerns in expression (or
// the older location): the failures table shows it.
TEST(ParseOperationOutcomeTest, ReadsWhatAnIssueConcerns) {
  auto issues = ParseOperationOutcome(R"({"resourceType":"OperationOutcome","issue":[
    {"severity":"error","code":"processing","diagnostics":"x","expression":["Patient/p1","Patient.name"]},
    {"severity":"error","code":"processing","location":["Observation/o9"]},
    {"severity":"error","code":"processing","expression":[],"location":["Group/g"]},
    {"severity":"error","code":"processing","expression":[7]}]})");
  ASSERT_TRUE(issues.ok()) << issues.error().ToString();
  ASSERT_EQ(issues->size(), 4u);
  EXPECT_EQ((*issues)[0].expression, "Patient/p1");
  EXPECT_EQ((*issues)[1].expression, "Observation/o9");
  EXPECT_EQ((*issues)[2].expression, "Group/g");
  EXPECT_EQ((*issues)[3].expression, "");
}

TEST(ParseOperationOutcomeTest, OutcomeWithoutIssuesHasNone) {
  auto issues = ParseOperationOutcome(R"({"resourceType":"OperationOutcome"})");
  ASSERT_TRUE(issues.ok());
  EXPECT_TRUE(issues->empty());
}

TEST(ParseOperationOutcomeTest, RejectsOtherTextAsInvalidData) {
  for (const char* body : {"", "null", "<html>oops</html>", R"({"resourceType":"Patient"})",
                           R"({"resourceType":"OperationOutcome")", "[1,2]", "\"\xff\""}) {
    auto issues = ParseOperationOutcome(body);
    ASSERT_FALSE(issues.ok()) << body;
    EXPECT_EQ(issues.error().kind, base::ErrorKind::kInvalidData);
    EXPECT_THAT(issues.error().message, HasSubstr("not an OperationOutcome"));
    EXPECT_THAT(issues.error().message, ::testing::Not(HasSubstr("oops")));
  }
}

TEST(ParseOperationOutcomeTest, RejectsDeepNesting) {
  std::string deep = R"({"resourceType":"OperationOutcome","issue":)" + std::string(50000, '[') +
                     std::string(50000, ']') + "}";
  auto issues = ParseOperationOutcome(deep);
  ASSERT_FALSE(issues.ok());
  EXPECT_EQ(issues.error().kind, base::ErrorKind::kInvalidData);
}

TEST(SummarizeOutcomeTest, JoinsIssuesAsSeverityCodeAndDiagnostics) {
  std::vector<OutcomeIssue> issues = {{"error", "processing", "diag1"},
                                      {"warning", "informational", "diag2"},
                                      {"error", "invalid", ""}};
  EXPECT_EQ(SummarizeOutcome(issues),
            "error/processing: diag1; warning/informational: diag2; error/invalid");
  EXPECT_EQ(SummarizeOutcome({}), "");
}

TEST(SummarizeOutcomeTest, FoldsLineBreaksOfStackTraces) {
  EXPECT_EQ(
      SummarizeOutcome({{"error", "exception", "java.lang.NullPointerException\n\tat x.y()"}}),
      "error/exception: java.lang.NullPointerException at x.y()");
}

TEST(SummarizeOutcomeTest, IsBoundedAndCutsAtACharacterBoundary) {
  std::string long_text;
  for (int i = 0; i < 1000; ++i) long_text += "\xc3\xa9";  // é
  for (const std::string prefix : {"", "x"}) {             // both byte parities at the cut
    std::string summary = SummarizeOutcome({{"error", "processing", prefix + long_text}});
    EXPECT_LE(summary.size(), 503u);
    EXPECT_GE(summary.size(), 490u);
    ASSERT_TRUE(summary.size() > 3 && summary.substr(summary.size() - 3) == "...");
    std::string body = summary.substr(0, summary.size() - 3);
    EXPECT_EQ(body.substr(body.size() - 2), "\xc3\xa9") << "a character was split";
  }
  std::vector<OutcomeIssue> many(200, {"error", "processing", "some diagnostics"});
  EXPECT_LE(SummarizeOutcome(many).size(), 503u);
}

TEST(IsTransientOutcomeTest, TheIssueTypeTransientFamilyIsTransient) {
  for (const char* code :
       {"transient", "lock-error", "no-store", "exception", "timeout", "incomplete", "throttled"}) {
    EXPECT_TRUE(IsTransientOutcome({{"error", code, ""}})) << code;
  }
  EXPECT_TRUE(IsTransientOutcome({{"error", "processing", ""}, {"error", "throttled", ""}}));
  EXPECT_FALSE(IsTransientOutcome({{"error", "processing", ""}, {"error", "conflict", ""}}));
  EXPECT_FALSE(IsTransientOutcome({}));
}

// A 5xx is retried unless its OperationOutcome says the failure is for good.
TEST(IsFailedForGoodTest, OnlyAnOutcomeWithIssuesNoneTransient) {
  EXPECT_TRUE(IsFailedForGood(
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing"}]})"));
  EXPECT_FALSE(IsFailedForGood(
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing"},
         {"severity":"error","code":"transient"}]})"));
  EXPECT_FALSE(IsFailedForGood(R"({"resourceType":"OperationOutcome","issue":[]})"));
  EXPECT_FALSE(IsFailedForGood("<html><h1>502 Bad Gateway</h1></html>"));
  EXPECT_FALSE(IsFailedForGood(""));
}

}  // namespace
}  // namespace fm::fhir
