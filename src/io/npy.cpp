// .npy reading and writing (NumPy's format: the magic, a version, a header
// that is a Python dict literal, then the raw array).
#include "edgeattn/npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "../scratch.h"
#include "file.h"

namespace edgeattn {
namespace {

constexpr std::size_t kMaxHeader = 1 << 16;

struct Header {
  std::string descr;
  bool fortran = true;
  Shape shape;
};

// The value of `key` in the header dict: the text after "'key':" up to the
// next top-level comma or the dict's end.
Result<std::string> field(const std::string& h, const std::string& key, const std::string& name) {
  const std::size_t at = h.find("'" + key + "'");
  if (at == std::string::npos) return Status::invalid(name + ": header has no '" + key + "'");
  std::size_t p = h.find(':', at);
  if (p == std::string::npos) return Status::invalid(name + ": header is malformed at '" + key + "'");
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  std::size_t end = p;
  if (p < h.size() && h[p] == '(') end = h.find(')', p) + 1;
  else if (p < h.size() && h[p] == '\'') end = h.find('\'', p + 1) + 1;
  else while (end < h.size() && h[end] != ',' && h[end] != '}') ++end;
  if (end == 0 || end > h.size()) return Status::invalid(name + ": header is malformed at '" + key + "'");
  while (end > p && h[end - 1] == ' ') --end;
  return h.substr(p, end - p);
}

Result<Header> parse_header(const std::string& h, const std::string& name) {
  Header out;
  EDGEATTN_ASSIGN_OR_RETURN(descr, field(h, "descr", name));
  EDGEATTN_ASSIGN_OR_RETURN(fortran, field(h, "fortran_order", name));
  EDGEATTN_ASSIGN_OR_RETURN(shape, field(h, "shape", name));
  if (descr.size() < 2) return Status::invalid(name + ": bad descr");
  out.descr = descr.substr(1, descr.size() - 2);
  if (fortran != "False" && fortran != "True") return Status::invalid(name + ": bad fortran_order");
  out.fortran = fortran == "True";
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')')
    return Status::invalid(name + ": shape is not a tuple");
  const std::string dims = shape.substr(1, shape.size() - 2);
  std::size_t p = 0;
  while (p < dims.size()) {
    while (p < dims.size() && (dims[p] == ' ' || dims[p] == ',')) ++p;
    if (p == dims.size()) break;
    std::size_t v = 0, digits = 0;
    while (p < dims.size() && dims[p] >= '0' && dims[p] <= '9' && digits < 10)
      v = v * 10 + std::size_t(dims[p++] - '0'), ++digits;
    if (!digits || (p < dims.size() && dims[p] != ',' && dims[p] != ' ') || v >= (std::size_t(1) << 31))
      return Status::invalid(name + ": shape " + shape + " is not a tuple of sizes below 2^31");
    if (out.shape.rank == kMaxRank) return Status::invalid(name + ": more than 4 axes");
    out.shape.dims[out.shape.rank++] = v;
  }
  return out;
}

}  // namespace

Result<Value> parse_npy(const void* data, std::size_t size, const std::string& name) {
  const auto* b = static_cast<const unsigned char*>(data);
  if (size < 10 || std::memcmp(b, "\x93NUMPY", 6) != 0)
    return Status(StatusCode::parse_error, name + ": not a .npy file (no \\x93NUMPY magic)");
  const unsigned major = b[6];
  if (major < 1 || major > 3) return Status(StatusCode::parse_error, name + ": .npy version " + std::to_string(major) + " (1-3 read)");
  const std::size_t len_bytes = major == 1 ? 2 : 4, start = 8 + len_bytes;
  if (size < start) return Status(StatusCode::parse_error, name + ": truncated header");
  std::size_t hlen = 0;
  for (std::size_t i = 0; i < len_bytes; ++i) hlen |= std::size_t(b[8 + i]) << (8 * i);
  if (hlen > kMaxHeader || hlen > size - start)
    return Status(StatusCode::parse_error, name + ": header length " + std::to_string(hlen) + " past the file or 64 KiB");
  Result<Header> h = parse_header(std::string(reinterpret_cast<const char*>(b + start), hlen), name);
  if (!h.ok()) return Status(StatusCode::parse_error, h.status().message());
  if (h->fortran) return Status(StatusCode::parse_error, name + ": Fortran order (save with np.ascontiguousarray)");
  ValueType type;
  if (h->descr == "<f4") type = ValueType::f32;
  else if (h->descr == "<i8") type = ValueType::i64;
  else if (h->descr == "|b1") type = ValueType::mask;
  else return Status(StatusCode::parse_error, name + ": dtype '" + h->descr + "' (float32 '<f4', int64 '<i8' or bool '|b1')");
  std::size_t bytes = value_type_size(type);  // saturating: a 32-bit size_t must not wrap
  for (int d = 0; d < h->shape.rank; ++d) bytes = detail::sat_mul(bytes, h->shape[d]);
  const std::size_t body = size - start - hlen;
  if (bytes != body)
    return Status(StatusCode::parse_error, name + ": shape " + h->shape.to_string() + " needs " + std::to_string(bytes) +
                                               " bytes of data, the file has " + std::to_string(body));
  EDGEATTN_ASSIGN_OR_RETURN(v, Value::zeros(type, h->shape));
  if (bytes) std::memcpy(v.data(), b + start + hlen, bytes);
  return v;
}

Result<Value> read_npy(const std::string& path) {
  EDGEATTN_ASSIGN_OR_RETURN(bytes, detail::read_regular_file(path));
  return parse_npy(bytes.data(), bytes.size(), path);
}

Status write_npy(const std::string& path, const Value& v) {
  const char* descr = v.type() == ValueType::f32 ? "<f4" : v.type() == ValueType::i64 ? "<i8" : "|b1";
  std::string shape = "(";
  for (int d = 0; d < v.shape().rank; ++d) shape += std::to_string(v.shape()[d]) + (v.shape().rank == 1 ? "," : d + 1 < v.shape().rank ? ", " : "");
  shape += ")";
  std::string h = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');  // the data starts 64-byte aligned
  h += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status(StatusCode::io_error, path + ": cannot write");
  const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                 static_cast<unsigned char>(h.size() & 0xff),
                                 static_cast<unsigned char>(h.size() >> 8)};
  out.write(reinterpret_cast<const char*>(pre), 10);
  out << h;
  out.write(static_cast<const char*>(v.data()), std::streamsize(v.shape().numel() * value_type_size(v.type())));
  return out ? Status() : Status(StatusCode::io_error, path + ": write failed");
}

}  // namespace edgeattn
