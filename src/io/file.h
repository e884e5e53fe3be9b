// Reading files that may be hostile: only regular files (a FIFO or device
// would block or never end). Internal.
#pragma once

#include <string>
#include <vector>

#include "edgeattn/status.h"

namespace edgeattn::detail {

#if defined(__unix__) || defined(__APPLE__)
// A descriptor of the regular file at `path` (the caller closes it).
Result<int> open_regular_file(const std::string& path);
#endif
// The whole file, or io_error naming it.
Result<std::vector<unsigned char>> read_regular_file(const std::string& path);

}  // namespace edgeattn::detail
