// Test-only: reads a file of src/fhir/testdata/.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace fm::fhir::testfiles {

inline std::string ReadTestData(const std::string& name) {
  std::ifstream in(std::string(FM_FHIR_TESTDATA) + "/" + name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace fm::fhir::testfiles
