#include "http/counting_transport.h"

#include <gtest/gtest.h>

#include "http/fake_transport.h"

namespace fm::http {
namespace {

Response Status(int status) {
  Response r;
  r.status = status;
  return r;
}

TEST(CountingTransportTest, CountsByServerOnAPathBoundaryAndOtherwiseAsOther) {
  FakeTransport fake([](const Request& r) -> base::Result<Response> {
    return Status(r.url.find("missing") != std::string::npos ? 404 : 200);
  });
  CountingTransport counting(fake);
  counting.AddServer("source", "http://src.test/fhir");
  for (const char* url :
       {"http://src.test/fhir", "http://src.test/fhir/Patient", "http://src.test/fhir?_count=1",
        "http://src.test/fhir/missing", "http://src.test/fhirx/Patient"}) {
    Request r;
    r.url = url;
    ASSERT_TRUE(counting.Send(r).ok());
  }
  auto snap = counting.Snapshot();
  EXPECT_EQ((snap[{"source", "200"}]), 3);
  EXPECT_EQ((snap[{"source", "404"}]), 1);
  EXPECT_EQ((snap[{"other", "200"}]), 1);
}

// A URL shorter than a server's base URL had the character just past the
// base's length read before the prefix was compared: a read past the end of
// the URL string (AddressSanitizer reported a heap-buffer-overflow).
TEST(CountingTransportTest, AUrlShorterThanAServersBaseUrlCountsAsOther) {
  FakeTransport fake([](const Request&) -> base::Result<Response> { return Status(200); });
  CountingTransport counting(fake);
  counting.AddServer("destination", "http://d.test/fhir");  // 18 characters
  // 17 characters, constructed in place: on the heap (past the string's
  // inline buffer) with no spare capacity, so character 18 lies just past
  // the allocation.
  Request r{.url = "http://o.test/123"};
  ASSERT_TRUE(counting.Send(r).ok());
  EXPECT_EQ((counting.Snapshot()[{"other", "200"}]), 1);
}

}  // namespace
}  // namespace fm::http
