// edgeattn-run: runs a model file (docs/model-format.md) on .npy inputs.
// Exit 0 ok, 2 a file or an argument unusable.
#include <iostream>

#include "runner.h"

int main(int argc, char** argv) { return edgeattn::cli::run_main(argc, argv, std::cout, std::cerr); }
