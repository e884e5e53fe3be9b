// What the hostile-config sweeps share: a mutated module or graph that
// loaded is planned under a 256 MiB cap and run; each outcome is counted,
// and the sweep must have seen all three (else it tested nothing).
#pragma once

#include <string>

#include <doctest/doctest.h>

#include "../src/cli/runner.h"

namespace edgeattn::test {

struct MutationCounts {
  int refused = 0, capped = 0, ran = 0;
};

// c: a case whose module loaded; refused or capped at plan is fine, a run
// gives ok or invalid_argument (a bad token, say), never anything else.
inline void run_capped(Case c, MutationCounts& n) {
  Result<cli::Prepared> p = cli::prepare(std::move(c), Context{2}, std::size_t(256) << 20);
  if (!p.ok()) {
    ++n.capped;
    return;
  }
  const Status st = p->c.module->run(Context{2}, p->c.inputs, p->outputs, p->ws);
  CHECK((st.ok() || st.code() == StatusCode::invalid_argument));
  ++n.ran;
}

inline void check_counts(const MutationCounts& n, const char* what) {
  MESSAGE(what << ": " << n.refused << " refused at load, " << n.capped << " at plan, " << n.ran << " ran");
  CHECK(n.refused > 0);
  CHECK(n.capped > 0);
  CHECK(n.ran > 0);
}

}  // namespace edgeattn::test
