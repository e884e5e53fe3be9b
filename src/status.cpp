#include "edgeattn/status.h"

namespace edgeattn {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return "ok";
    case StatusCode::invalid_argument: return "invalid_argument";
    case StatusCode::out_of_memory: return "out_of_memory";
    case StatusCode::unsupported: return "unsupported";
    case StatusCode::io_error: return "io_error";
    case StatusCode::parse_error: return "parse_error";
  }
  return "unknown";
}

std::string printable(std::string text) {
  const auto control = [](unsigned char c) { return c < 0x20 || c == 0x7f; };
  std::size_t n = 0;
  for (unsigned char c : text) n += control(c);
  if (n == 0) return text;
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 3 * n);
  for (unsigned char c : text) {
    if (!control(c)) {
      out += static_cast<char>(c);
      continue;
    }
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  return std::string(status_code_name(code_)) + ": " + message_;
}

}  // namespace edgeattn
