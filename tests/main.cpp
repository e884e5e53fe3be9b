#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "edgeattn/context.h"

// The tests compare thread counts: every parallel step must use the threads
// asked for, however busy the machine running them (test_ops checks the
// yielding itself).
int main(int argc, char** argv) {
  edgeattn::set_yield_when_busy(false);
  return doctest::Context(argc, argv).run();
}
