# fm_module(NAME SOURCES ... DEPS ...): one static library per module under src/.
function(fm_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(fm_${name} STATIC ${ARG_SOURCES})
  target_include_directories(fm_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(fm_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# fm_test(NAME SOURCES ... DEPS ... [LABELS ...]): a GoogleTest binary registered with CTest.
# In the ThreadSanitizer tree (FM_TSAN) an integration test runs only when it
# also has the label `tsan`; the others are neither built by default nor registered.
function(fm_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  set(skipped FALSE)
  if(FM_TSAN AND "integration" IN_LIST ARG_LABELS AND NOT "tsan" IN_LIST ARG_LABELS)
    set(skipped TRUE)
  endif()
  if(skipped)
    add_executable(${name} EXCLUDE_FROM_ALL ${ARG_SOURCES})
  else()
    add_executable(${name} ${ARG_SOURCES})
  endif()
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR})
  if(skipped)
    return()
  endif()
  add_test(NAME ${name} COMMAND ${name})
  # Without TIMEOUT, CTest's own applies (the test presets' 900 s, or
  # --timeout: the stress step gives its repetitions more).
  if(ARG_TIMEOUT)
    set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  endif()
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "FM_SOURCE_DIR=${CMAKE_SOURCE_DIR};FM_BINARY_DIR=${CMAKE_BINARY_DIR}")
  if(ARG_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()
