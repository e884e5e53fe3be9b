// libFuzzer target: arbitrary bytes through the .npy reader (edgeattn-run's
// inputs), and a value it accepts written back and read again unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "edgeattn/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  edgeattn::Result<edgeattn::Value> v = edgeattn::parse_npy(data, size, "fuzz.npy");
  if (!v.ok()) return 0;
  const char* path = "fuzz_npy_roundtrip.npy";
  if (!edgeattn::write_npy(path, v.value()).ok()) std::abort();
  edgeattn::Result<edgeattn::Value> again = edgeattn::read_npy(path);
  const std::size_t bytes = v->shape().numel() * edgeattn::value_type_size(v->type());
  if (!again.ok() || again->shape() != v->shape() || again->type() != v->type() ||
      (bytes && std::memcmp(again->data(), v->data(), bytes) != 0))
    std::abort();
  return 0;
}
