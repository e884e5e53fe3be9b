// Dispatch: the scalar table is always there, the best ISA is picked, names
// round-trip.
#include "tester.h"

TEST_CASE("dispatch: scalar is always there, the best is picked, names round-trip") {
  const std::vector<Isa> isas = available_isas();
  REQUIRE(!isas.empty());
  CHECK(isas.front() == Isa::scalar);
  CHECK(set_isa("auto").ok());
  CHECK(active_isa() == isas.back());
  for (Isa isa : isas) {
    Result<Isa> parsed = isa_from_name(isa_name(isa));
    REQUIRE(parsed.ok());
    CHECK(parsed.value() == isa);
  }
  const Status bad = set_isa("avx1024");
  CHECK(bad.code() == StatusCode::invalid_argument);
  CHECK(bad.message().find("avx1024") != std::string::npos);
  // An ISA of the other architecture is never available.
#if defined(__x86_64__)
  const Status other = set_isa(Isa::neon64);
#else
  const Status other = set_isa(Isa::avx512);
#endif
  CHECK(other.code() == StatusCode::unsupported);
  CHECK(active_isa() == isas.back());
  // EDGEATTN_EXPECT_ISA is set by CI runs under qemu -cpu X (and on ARM) to
  // prove that the intended path is the one selected there.
  if (const char* expect = std::getenv("EDGEATTN_EXPECT_ISA")) {
    INFO("EDGEATTN_EXPECT_ISA=" << expect << ", active " << isa_name(active_isa()));
    CHECK(std::string(isa_name(active_isa())) == expect);
  }
}
