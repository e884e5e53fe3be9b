// What edgeattn-verify, edgeattn-bench and the fuzz target share: loading a
// case, planning it (outputs and workspace allocated once), running it, and
// comparing against expected.*. Internal to the tools.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "edgeattn/io.h"

namespace edgeattn::cli {

struct Prepared {
  Case c;
  ValueMap outputs;  // the required outputs and the on-request ones expected
  Workspace ws;
};

// Checks the case's inputs and expected outputs against the module and
// allocates outputs and workspace. `max_bytes` caps what it may allocate
// (0 = no cap) so that a hostile file cannot ask for terabytes.
Result<Prepared> prepare(Case c, const Context& ctx, std::size_t max_bytes = 0);

struct OutputResult {
  std::string name;
  Comparison cmp;
};
std::vector<OutputResult> compare_expected(const Prepared& p);

// What the tools may allocate for one file: half the machine's memory (0 =
// no cap where the OS does not say).
std::size_t allocation_cap();

// The whole verify flow on bytes in memory (the fuzz target's entry point):
// returns 0 ok, 1 mismatch, 2 unusable.
int verify_bytes(const std::uint8_t* data, std::size_t size, std::size_t max_bytes);

// The command-line tools; argv as main's.
int verify_main(int argc, char** argv, std::ostream& out, std::ostream& err);
int bench_main(int argc, char** argv, std::ostream& out, std::ostream& err);
int run_main(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace edgeattn::cli
