#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fhir/client.h"
#include "fhir/testdata.h"

namespace fm::fhir {
namespace {

using testfiles::ReadTestData;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseCapabilitiesTest, ReadsMedplumStatementWithoutBulkOperations) {
  auto caps = ParseCapabilities(ReadTestData("medplum_capability.json"));
  ASSERT_TRUE(caps.ok()) << caps.error().ToString();
  EXPECT_EQ(caps->fhir_version, "4.0.1");
  EXPECT_EQ(caps->software, "Medplum 4.5.2");
  EXPECT_THAT(caps->resource_types, ElementsAre("Patient", "Observation", "Encounter", "Group"));
  EXPECT_FALSE(caps->system_export);
  EXPECT_FALSE(caps->patient_export);
  EXPECT_FALSE(caps->group_export);
  EXPECT_FALSE(caps->import);
}

TEST(ParseCapabilitiesTest, ReadsAzureRestLevelExportAndImportOperations) {
  auto caps = ParseCapabilities(ReadTestData("azure_capability.json"));
  ASSERT_TRUE(caps.ok()) << caps.error().ToString();
  EXPECT_EQ(caps->software, "Microsoft FHIR Server 4.0.93");
  EXPECT_THAT(caps->resource_types, ElementsAre("Account", "Patient", "Group", "Observation"));
  EXPECT_TRUE(caps->system_export);
  EXPECT_TRUE(caps->patient_export);
  EXPECT_TRUE(caps->group_export);
  EXPECT_TRUE(caps->import);
}

TEST(ParseCapabilitiesTest, ReadsHapiResourceLevelExportWithVersionedCanonicals) {
  auto caps = ParseCapabilities(ReadTestData("hapi_capability.json"));
  ASSERT_TRUE(caps.ok()) << caps.error().ToString();
  EXPECT_EQ(caps->software, "HAPI FHIR Server 7.6.0");
  EXPECT_TRUE(caps->system_export);
  EXPECT_TRUE(caps->patient_export);
  EXPECT_TRUE(caps->group_export);
  EXPECT_FALSE(caps->import);  // "export-poll-status" and "reindex" are not import
}

TEST(ParseCapabilitiesTest, RecognisesOperationsByCanonicalUrlWhateverTheirName) {
  auto caps = ParseCapabilities(R"({"resourceType":"CapabilityStatement","rest":[{
    "mode":"server",
    "operation":[
      {"name":"bulk-data","definition":"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export|2.0.0"},
      {"name":"pe","definition":"http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"},
      {"name":"load","definition":{"reference":"http://example.org/OperationDefinition/import"}}]}]})");
  ASSERT_TRUE(caps.ok()) << caps.error().ToString();
  EXPECT_TRUE(caps->system_export);
  EXPECT_TRUE(caps->patient_export);
  EXPECT_FALSE(caps->group_export);
  EXPECT_TRUE(caps->import);
}

TEST(ParseCapabilitiesTest, ExportOnAnotherResourceTypeIsNotSystemExport) {
  auto caps = ParseCapabilities(R"({"resourceType":"CapabilityStatement","rest":[{"mode":"server",
    "resource":[{"type":"Observation","operation":[{"name":"export"}]}]}]})");
  ASSERT_TRUE(caps.ok());
  EXPECT_FALSE(caps->system_export);
  EXPECT_FALSE(caps->patient_export);
  EXPECT_FALSE(caps->group_export);
}

TEST(ParseCapabilitiesTest, IgnoresClientModeRest) {
  auto caps = ParseCapabilities(R"({"resourceType":"CapabilityStatement","rest":[
    {"mode":"client","resource":[{"type":"Basic"}],"operation":[{"name":"export"}]},
    {"mode":"server","resource":[{"type":"Patient"}]}]})");
  ASSERT_TRUE(caps.ok());
  EXPECT_THAT(caps->resource_types, ElementsAre("Patient"));
  EXPECT_FALSE(caps->system_export);
}

TEST(ParseCapabilitiesTest, ToleratesFieldsOfUnexpectedTypes) {
  auto caps = ParseCapabilities(R"({"resourceType":"CapabilityStatement","fhirVersion":4,
    "software":"x","rest":{"mode":"server"}})");
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps->fhir_version, "");
  EXPECT_EQ(caps->software, "");
  EXPECT_TRUE(caps->resource_types.empty());
}

TEST(ParseCapabilitiesTest, RejectsOtherDocumentsWithoutQuotingThem) {
  for (const char* body : {"<html><body>Sign in</body></html>", R"({"resourceType":"Patient"})",
                           R"({"resourceType":"CapabilityStatement")", "[]"}) {
    auto caps = ParseCapabilities(body);
    ASSERT_FALSE(caps.ok()) << body;
    EXPECT_EQ(caps.error().kind, base::ErrorKind::kInvalidData);
    EXPECT_THAT(caps.error().message, HasSubstr("not a CapabilityStatement"));
    EXPECT_THAT(caps.error().message, ::testing::Not(HasSubstr("Sign in")));
  }
}

TEST(ParseCapabilitiesTest, RejectsDeepNestingBeforeBuildingADom) {
  std::string deep = R"({"resourceType":"CapabilityStatement","x":)" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  auto caps = ParseCapabilities(deep);
  ASSERT_FALSE(caps.ok());
  EXPECT_EQ(caps.error().kind, base::ErrorKind::kInvalidData);
}

}  // namespace
}  // namespace fm::fhir
