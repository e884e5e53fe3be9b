#include "file.h"

#include <cerrno>
#include <cstring>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#else
#include <filesystem>
#include <fstream>
#include <iterator>
#endif

namespace edgeattn::detail {

#if defined(__unix__) || defined(__APPLE__)
Result<int> open_regular_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
  // below as not a regular file); regular files ignore the flag.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status(StatusCode::io_error, path + ": cannot open: " + std::strerror(errno));
  struct stat sb {};
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    ::close(fd);
    return Status(StatusCode::io_error, path + ": not a regular file");
  }
  return fd;
}
#endif

Result<std::vector<unsigned char>> read_regular_file(const std::string& path) {
  std::vector<unsigned char> out;
#if defined(__unix__) || defined(__APPLE__)
  EDGEATTN_ASSIGN_OR_RETURN(fd, open_regular_file(path));
  struct stat sb {};
  fstat(fd, &sb);
  out.resize(static_cast<std::size_t>(sb.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got != out.size()) return Status(StatusCode::io_error, path + ": read failed");
#else
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return Status(StatusCode::io_error, path + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::io_error, path + ": cannot open");
  out.assign(std::istreambuf_iterator<char>(in), {});
#endif
  return out;
}

}  // namespace edgeattn::detail
