// A child for the harness's own tests (harness_test): each flag plants one
// bug that a sanitizer reports on stderr, so the test can show that the
// harness fails a test on the report. Built with the tests, never installed.
//
//   fm_planted_bugs --sanitizers       prints the sanitizers it was built with
//   fm_planted_bugs --exit N           exits N, cleanly
//   fm_planted_bugs --heap-overflow    reads one int past a heap array (ASan)
//   fm_planted_bugs --leak             loses a heap block (LeakSanitizer)
//   fm_planted_bugs --signed-overflow  INT_MAX + 1 (UBSan: "runtime error:")
//   fm_planted_bugs --data-race        two threads write one int unsynchronised (TSan)
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#ifndef FM_PLANTED_SANITIZERS
#define FM_PLANTED_SANITIZERS ""
#endif

namespace {

void* volatile leak_sink;
int shared_counter;

void WriteUnsynchronised() {
  for (int i = 0; i < 1000; ++i) shared_counter = shared_counter + 1;
}

}  // namespace

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "";
  if (std::strcmp(what, "--sanitizers") == 0) {
    std::printf("%s\n", FM_PLANTED_SANITIZERS);
    return 0;
  }
  if (std::strcmp(what, "--exit") == 0 && argc > 2) return std::atoi(argv[2]);
  if (std::strcmp(what, "--heap-overflow") == 0) {
    volatile int n = 4;
    int* array = new int[n];
    volatile int past_the_end = n;
    int value = array[past_the_end];
    delete[] array;
    return value == 12345 ? 3 : 0;
  }
  if (std::strcmp(what, "--leak") == 0) {
    leak_sink = std::malloc(64);
    leak_sink = nullptr;
    return 0;
  }
  if (std::strcmp(what, "--signed-overflow") == 0) {
    volatile int big = INT_MAX;
    int sum = big + 1;
    return sum == 0 ? 3 : 0;
  }
  if (std::strcmp(what, "--data-race") == 0) {
    std::thread a(WriteUnsynchronised);
    std::thread b(WriteUnsynchronised);
    a.join();
    b.join();
    return 0;
  }
  std::fprintf(stderr,
               "usage: fm_planted_bugs --sanitizers | --exit N | --heap-overflow | --leak | "
               "--signed-overflow | --data-race\n");
  return 2;
}
