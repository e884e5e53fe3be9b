// NumPy .npy files (format versions 1-3) for edgeattn-run's inputs and
// outputs: little-endian float32 ('<f4'), int64 ('<i8') or bool ('|b1'),
// C order, at most 4 axes. Anything else (another dtype, Fortran order, a
// size that does not match the data) is an error naming the file.
#pragma once

#include <cstddef>
#include <string>

#include "edgeattn/module.h"

namespace edgeattn {

Result<Value> read_npy(const std::string& path);
// The same from bytes in memory (`name` for errors).
Result<Value> parse_npy(const void* data, std::size_t size, const std::string& name);
Status write_npy(const std::string& path, const Value& v);

}  // namespace edgeattn
