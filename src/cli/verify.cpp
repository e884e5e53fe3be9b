// edgeattn-verify: checks a module against the outputs PyTorch produced
// (docs/case-format.md). Exit 0 all ok, 1 a comparison failed, 2 a file unusable.
#include <iostream>

#include "runner.h"

int main(int argc, char** argv) { return edgeattn::cli::verify_main(argc, argv, std::cout, std::cerr); }
