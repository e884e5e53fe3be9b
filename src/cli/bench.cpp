// edgeattn-bench: times a module's planned forward call on a case file's
// inputs (docs/case-format.md), as a deployed program would run it.
#include <iostream>

#include "runner.h"

int main(int argc, char** argv) { return edgeattn::cli::bench_main(argc, argv, std::cout, std::cerr); }
