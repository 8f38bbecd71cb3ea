#include "json/resource.h"

#include <gtest/gtest.h>

#include <string>

namespace fm::json {
namespace {

TEST(ResourceReaderTest, ReadsTheKeyFields) {
  ResourceReader reader;
  auto key = reader.ReadKey(
      R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"3",)"
      R"("lastUpdated":"2021-03-04T05:06:07.123+01:00"},"name":[{"family":"Doe"}]})");
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_EQ(key->type, "Patient");
  EXPECT_EQ(key->id, "p1");
  EXPECT_EQ(key->version_id, "3");
  ASSERT_TRUE(key->last_updated.has_value());
  EXPECT_EQ(base::FormatInstant(*key->last_updated), "2021-03-04T04:06:07.123Z");
}

TEST(ResourceReaderTest, FieldsMayComeInAnyOrder) {
  ResourceReader reader;
  auto key = reader.ReadKey(
      R"({"meta":{"lastUpdated":"2020-01-01T00:00:00Z","versionId":"7"},"text":{"div":"x"},)"
      R"("id":"o-9", "resourceType" : "Observation"})");
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_EQ(key->type, "Observation");
  EXPECT_EQ(key->id, "o-9");
  EXPECT_EQ(key->version_id, "7");
  EXPECT_EQ(base::FormatInstant(*key->last_updated), "2020-01-01T00:00:00.000Z");
}

TEST(ResourceReaderTest, AbsentIdAndMetaAreEmpty) {
  ResourceReader reader;
  auto key = reader.ReadKey(R"({"resourceType":"Bundle","meta":{"tag":[]}})");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->type, "Bundle");
  EXPECT_EQ(key->id, "");
  EXPECT_EQ(key->version_id, "");
  EXPECT_FALSE(key->last_updated.has_value());
}

TEST(ResourceReaderTest, TellsASoftDeletedVersionByItsMetaExtension) {
  ResourceReader reader;
  auto key = reader.ReadKey(
      R"({"resourceType":"Observation","id":"o1","meta":{"versionId":"2","extension":[)"
      R"({"url":"http://example.org/other","valueString":"soft-deleted"},)"
      R"({"valueString":"soft-deleted","url":"http:\/\/azurehealthcareapis.com/data-extensions/deleted-state"}],)"
      R"("lastUpdated":"2020-01-01T00:00:00Z"}})");
  ASSERT_TRUE(key.ok()) << key.error().ToString();
  EXPECT_TRUE(key->soft_deleted);
  EXPECT_EQ(key->version_id, "2");
  ASSERT_TRUE(key->last_updated.has_value());

  const std::string deleted_state(kDeletedStateExtension);
  const std::vector<std::string> not_deleted = {
      R"({"extension":[{"url":")" + deleted_state + R"(","valueString":"active"}]})",
      R"({"extension":[{"url":"http://example.org/other","valueString":"soft-deleted"}]})",
      R"({"extension":[1,"x",{"url":7,"valueString":"soft-deleted"},{"valueBoolean":true}]})",
      R"({"extension":{"url":")" + deleted_state + R"(","valueString":"soft-deleted"}})",
      R"({"tag":[{"code":"soft-deleted"}]})"};
  for (const auto& meta : not_deleted) {
    SCOPED_TRACE(meta);
    auto live = reader.ReadKey(R"({"resourceType":"Patient","id":"p","meta":)" + meta +
                               R"(,"extension":[{"url":")" + deleted_state +
                               R"(","valueString":"soft-deleted"}]})");
    ASSERT_TRUE(live.ok()) << live.error().ToString();
    EXPECT_FALSE(live->soft_deleted);  // only meta.extension counts
    EXPECT_EQ(live->id, "p");
  }
}

TEST(ResourceReaderTest, ContainedResourcesDoNotHideTheOuterKey) {
  ResourceReader reader;
  auto key = reader.ReadKey(
      R"({"contained":[{"resourceType":"Medication","id":"m","meta":{"versionId":"9"}}],)"
      R"("resourceType":"MedicationRequest","id":"r"})");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->type, "MedicationRequest");
  EXPECT_EQ(key->id, "r");
  EXPECT_EQ(key->version_id, "");
}

TEST(ResourceReaderTest, UnescapesStrings) {
  ResourceReader reader;
  auto key = reader.ReadKey(R"({"resourceType":"Pati\u0065nt","id":"a\/b"})");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->type, "Patient");
  EXPECT_EQ(key->id, "a/b");
}

void ExpectInvalid(std::string_view json, std::string_view message) {
  ResourceReader reader;
  auto key = reader.ReadKey(json);
  ASSERT_FALSE(key.ok()) << json;
  EXPECT_EQ(key.error().kind, base::ErrorKind::kInvalidData) << json;
  EXPECT_NE(key.error().message.find(message), std::string::npos)
      << json << " gave: " << key.error().message;
  EXPECT_EQ(key.error().message.find("SECRET"), std::string::npos) << "content leaked";
}

TEST(ResourceReaderTest, RejectsWhatIsNotAResourceWithoutQuotingIt) {
  ExpectInvalid("", "is not valid JSON");
  ExpectInvalid(R"({"resourceType":"Patient","id":"SECRET")", "is not valid JSON");
  ExpectInvalid(R"({"resourceType":"Patient","id":"SECRET)", "is not valid JSON");
  ExpectInvalid(R"({"resourceType":"Patient" "id":"SECRET"})", "is not valid JSON");
  ExpectInvalid(R"(["SECRET"])", "is not a JSON object");
  ExpectInvalid(R"("SECRET")", "is not a JSON object");
  ExpectInvalid(R"({"id":"SECRET"})", "has no resourceType");
  ExpectInvalid(R"({"resourceType":"","id":"SECRET"})", "has an empty resourceType");
  ExpectInvalid(R"({"resourceType":7,"id":"SECRET"})", "resourceType is not a string");
  ExpectInvalid(R"({"resourceType":"Patient","id":7})", "id is not a string");
  ExpectInvalid(R"({"resourceType":"Patient","meta":"SECRET"})", "meta is not an object");
  ExpectInvalid(R"({"resourceType":"Patient","meta":{"versionId":1}})",
                "meta.versionId is not a string");
  ExpectInvalid(R"({"resourceType":"Patient","meta":{"lastUpdated":"SECRET"}})",
                "meta.lastUpdated is not a FHIR instant");
  ExpectInvalid(R"({"resourceType":"Patient"} {"SECRET":1})", "content after the JSON object");
}

// Documents a trade-off, not a wish: ReadKey skips the values it does not
// read without validating them (full validation would cost about half again
// as much); bodies are validated by Canonicalize and by the target server.
TEST(ResourceReaderTest, DoesNotValidateValuesItSkips) {
  ResourceReader reader;
  EXPECT_TRUE(reader.ReadKey(R"({"resourceType":"Patient","x":[1,],"id":"1"})").ok());
}

TEST(ResourceReaderTest, ToleratesTrailingWhitespace) {
  ResourceReader reader;
  EXPECT_TRUE(reader.ReadKey("{\"resourceType\":\"Patient\"}  \r\n").ok());
}

// A FHIR resource of about 1.5 KB, the size the performance target is set for.
std::string MakeResource(int i) {
  std::string id = "obs-" + std::to_string(i);
  return R"({"resourceType":"Observation","id":")" + id + R"(","meta":{"versionId":")" +
         std::to_string(i % 7 + 1) + R"(","lastUpdated":"2023-05-06T07:08:09.)" +
         std::to_string(100 + i % 900) +
         R"(Z","profile":["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},)"
         R"("text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">)"
         R"(<p><b>Generated Narrative</b></p><p>Heart rate: 44 beats/minute \"resting\"</p>)"
         R"(</div>"},"status":"final","category":[{"coding":[{"system":)"
         R"("http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs",)"
         R"("display":"Vital Signs"}],"text":"Vital Signs"}],"code":{"coding":[{"system":)"
         R"("http://loinc.org","code":"8867-4","display":"Heart rate"}],"text":"Heart rate"},)"
         R"("subject":{"reference":"Patient/example","display":"Amy Shaw"},)"
         R"("encounter":{"reference":"Encounter/example"},"effectiveDateTime":"1999-07-02",)"
         R"("issued":"1999-07-03T10:30:00.000+01:00","performer":[{"reference":)"
         R"("Practitioner/example","display":"Dr Adam Careful"}],"valueQuantity":{"value":44,)"
         R"("unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"},)"
         R"("interpretation":[{"coding":[{"system":)"
         R"("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",)"
         R"("code":"L","display":"Low"}],"text":"Below low normal"}],"referenceRange":[{)"
         R"("low":{"value":60,"unit":"beats/minute","system":"http://unitsofmeasure.org",)"
         R"("code":"/min"},"high":{"value":100,"unit":"beats/minute","system":)"
         R"("http://unitsofmeasure.org","code":"/min"},"type":{"coding":[{"system":)"
         R"("http://terminology.hl7.org/CodeSystem/referencerange-meaning","code":"normal"}]}}],)"
         R"("note":[{"text":"Measured at rest, [sitting] {calm}, \\ no \"exercise\""}]})";
}

TEST(ResourceReaderTest, ReadsAThousandResourcesWithOneReader) {
  ResourceReader reader;
  EXPECT_GT(MakeResource(0).size(), 1400u);
  for (int i = 0; i < 1000; ++i) {
    std::string json = MakeResource(i);
    if (i == 500) json.insert(json.size() - 1, ",\"extra\":\"" + std::string(100000, 'x') + "\"");
    auto key = reader.ReadKey(json);
    ASSERT_TRUE(key.ok()) << i << ": " << key.error().ToString();
    ASSERT_EQ(key->type, "Observation");
    ASSERT_EQ(key->id, "obs-" + std::to_string(i));
    ASSERT_EQ(key->version_id, std::to_string(i % 7 + 1));
    ASSERT_EQ(base::FormatInstant(*key->last_updated),
              "2023-05-06T07:08:09." + std::to_string(100 + i % 900) + "Z");
  }
}

TEST(RewriteAbsoluteReferencesTest, MakesReferencesUnderTheBaseRelative) {
  std::string in = R"({"subject":{"reference":"http://src/fhir/Patient/1"},"performer":[)"
                   R"({"reference" : "http://src/fhir/Practitioner/2/_history/3"}]})";
  std::string want = R"({"subject":{"reference":"Patient/1"},"performer":[)"
                     R"({"reference" : "Practitioner/2/_history/3"}]})";
  EXPECT_EQ(RewriteAbsoluteReferences(in, "http://src/fhir"), want);
  EXPECT_EQ(RewriteAbsoluteReferences(in, "http://src/fhir/"), want);
}

TEST(RewriteAbsoluteReferencesTest, TouchesOnlyReferenceValues) {
  std::string in =
      R"({"url":"http://src/fhir/Patient/1","reference":{"x":"http://src/fhir/Patient/1"},)"
      R"("note":["reference","http://src/fhir/Patient/2"],"text":"\"reference\":)"
      R"(\"http://src/fhir/Patient/3\""})";
  EXPECT_EQ(RewriteAbsoluteReferences(in, "http://src/fhir"), in);
}

TEST(RewriteAbsoluteReferencesTest, LeavesOtherServersAndNonResourcePathsAlone) {
  std::string in =
      R"([{"reference":"http://src/fhir2/Patient/1"},{"reference":"http://other/fhir/Patient/1"},)"
      R"({"reference":"http://src/fhir/metadata"},{"reference":"http://src/fhir/"},)"
      R"({"reference":"http://src/fhir/Patient/"},{"reference":"Patient/4"}])";
  EXPECT_EQ(RewriteAbsoluteReferences(in, "http://src/fhir"), in);
}

TEST(RewriteAbsoluteReferencesTest, HandlesEscapedSlashesAndQuotes) {
  std::string in =
      R"({"a":"x\\","reference":"http:\/\/src\/fhir\/Patient\/1","b":"\"reference\""})";
  EXPECT_EQ(RewriteAbsoluteReferences(in, "http://src/fhir"),
            R"({"a":"x\\","reference":"Patient\/1","b":"\"reference\""})");
}

TEST(RewriteAbsoluteReferencesTest, ReturnsTheInputWhenTheBaseIsAbsent) {
  std::string in = MakeResource(1);
  EXPECT_FALSE(MayHaveAbsoluteReferences(in, "http://src/fhir/"));
  EXPECT_TRUE(MayHaveAbsoluteReferences(in, "http://loinc.org"));
  EXPECT_EQ(RewriteAbsoluteReferences(in, "http://src/fhir"), in);
  EXPECT_EQ(RewriteAbsoluteReferences(in, ""), in);
  EXPECT_EQ(RewriteAbsoluteReferences("{\"reference\":\"http://s/Patient/1", "http://s"),
            "{\"reference\":\"http://s/Patient/1");  // unterminated: left alone
}

TEST(CheckNestingTest, CountsBracketsOutsideStrings) {
  std::string ok = std::string(10, '[') + std::string(10, ']');
  EXPECT_TRUE(CheckNesting(ok, 10).ok());
  auto too_deep = CheckNesting("{\"a\":" + ok + "}", 10);
  ASSERT_FALSE(too_deep.ok());
  EXPECT_EQ(too_deep.error().kind, base::ErrorKind::kInvalidData);
  EXPECT_EQ(too_deep.error().message, "JSON nested deeper than 10 levels");
  EXPECT_TRUE(CheckNesting(R"({"a":"[[[[{{{{\"[[[[\\","b":[[]]})", 3).ok());
  EXPECT_FALSE(CheckNesting(R"({"a":"\\\"","b":[[[]]]})", 3).ok());
}

TEST(CheckNestingTest, DefaultLimitIs256) {
  std::string deep(256, '[');
  EXPECT_TRUE(CheckNesting(deep).ok());
  EXPECT_FALSE(CheckNesting(deep + "[").ok());
}

}  // namespace
}  // namespace fm::json
