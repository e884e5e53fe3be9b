// libFuzzer target: arbitrary bytes through the safetensors reader, the case
// loader, the registry, planning, the module's forward call and the
// comparison, exactly as edgeattn-verify runs a file. Allocation is capped so
// that a header asking for huge tensors gets an error, not an OOM kill.
#include <cstddef>
#include <cstdint>

#include "../../src/cli/runner.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)edgeattn::cli::verify_bytes(data, size, std::size_t(64) << 20);
  return 0;
}
