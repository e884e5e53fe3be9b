#include "edgeattn/safetensors.h"

#include <algorithm>
#include <cstring>

#include "edgeattn/json.h"
#include "edgeattn/weights.h"
#include "file.h"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define EDGEATTN_HAVE_MMAP 1
#endif

namespace edgeattn {

namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  std::size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::boolean, "BOOL", 1}, {DType::u8, "U8", 1},     {DType::i8, "I8", 1},
    {DType::i16, "I16", 2},      {DType::u16, "U16", 2},   {DType::f16, "F16", 2},
    {DType::bf16, "BF16", 2},    {DType::i32, "I32", 4},   {DType::u32, "U32", 4},
    {DType::f32, "F32", 4},      {DType::f64, "F64", 8},   {DType::i64, "I64", 8},
    {DType::u64, "U64", 8}};

// Caps checked before the header is parsed or any tensor read, so that a
// small hostile file cannot cost seconds or gigabytes (the format itself
// allows 100 MB of header): a model with ten thousand tensors has a header
// of about 1 MB.
constexpr std::uint64_t kMaxHeader = kSafetensorsMaxHeaderBytes;
constexpr std::size_t kMaxTensors = kSafetensorsMaxTensors;

template <class T>
T load_le(const unsigned char* p) {  // little-endian, any alignment
  T v{};
  std::memcpy(&v, p, sizeof(T));
  return v;  // every target of this library is little-endian
}

}  // namespace

const char* dtype_name(DType d) {
  for (const auto& i : kDTypes)
    if (i.dtype == d) return i.name;
  return "?";
}
std::size_t dtype_size(DType d) {
  for (const auto& i : kDTypes)
    if (i.dtype == d) return i.size;
  return 0;
}

std::uint64_t TensorEntry::numel() const {
  std::uint64_t n = 1;
  for (std::uint64_t d : shape) n *= d;
  return n;
}

std::string TensorEntry::shape_string() const {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The file's bytes: a mapping, or a copy.
struct SafetensorsFile::Storage {
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  std::vector<unsigned char> copy;
#if defined(EDGEATTN_HAVE_MMAP)
  void* map = nullptr;
  ~Storage() {
    if (map) munmap(map, size);
  }
#endif
};

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto st = std::make_shared<Storage>();
#if defined(EDGEATTN_HAVE_MMAP)
  EDGEATTN_ASSIGN_OR_RETURN(fd, detail::open_regular_file(path));
  struct stat sb {};
  fstat(fd, &sb);
  st->size = static_cast<std::size_t>(sb.st_size);
  if (st->size > 0) {
    st->map = mmap(nullptr, st->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (st->map == MAP_FAILED) {
      st->map = nullptr;
      ::close(fd);
      return Status(StatusCode::io_error, path + ": cannot map: " + std::strerror(errno));
    }
    st->data = static_cast<const unsigned char*>(st->map);
  }
  ::close(fd);
#else
  Result<std::vector<unsigned char>> bytes = detail::read_regular_file(path);
  if (!bytes.ok()) return bytes.status();
  st->copy = std::move(bytes).value();
  st->data = st->copy.data();
  st->size = st->copy.size();
#endif
  return parse(std::move(st), path);
}

Result<SafetensorsFile> SafetensorsFile::from_bytes(const void* data, std::size_t size,
                                                    const std::string& name) {
  auto st = std::make_shared<Storage>();
  const auto* p = static_cast<const unsigned char*>(data);
  st->copy.assign(p, p + size);
  st->data = st->copy.data();
  st->size = size;
  return parse(std::move(st), name);
}

Result<SafetensorsFile> SafetensorsFile::parse(std::shared_ptr<Storage> storage,
                                               const std::string& name) {
  const auto bad = [&](const std::string& what) {
    return Status(StatusCode::parse_error, name + ": not a valid safetensors file: " + what);
  };
  if (storage->size < 8) return bad("too short (" + std::to_string(storage->size) + " bytes)");
  const std::uint64_t header_len = load_le<std::uint64_t>(storage->data);
  if (header_len > storage->size - 8)
    return bad("header length " + std::to_string(header_len) + " runs past the end of the " +
               std::to_string(storage->size) + "-byte file");
  if (header_len > kMaxHeader)
    return bad("header of " + std::to_string(header_len) + " bytes is more than the " +
               std::to_string(kMaxHeader) + " this loader reads");
  const std::string_view text(reinterpret_cast<const char*>(storage->data + 8), header_len);
  Result<Json> parsed = parse_json(text);
  if (!parsed.ok()) return bad("header: " + parsed.status().message());
  const Json& header = parsed.value();
  if (!header.is_object()) return bad("header is not a JSON object");
  const std::size_t tensors = header.members().size() - (header.find("__metadata__") ? 1 : 0);
  if (tensors > kMaxTensors)
    return bad(std::to_string(tensors) + " tensors, more than the " + std::to_string(kMaxTensors) +
               " this loader reads");

  SafetensorsFile f;
  f.name_ = name;
  f.data_start_ = static_cast<std::size_t>(8 + header_len);
  const std::uint64_t data_size = storage->size - f.data_start_;
  for (const auto& member : header.members()) {
    const std::string& key = member.first;
    const Json& v = member.second;
    const auto entry_bad = [&](const std::string& what) { return bad("tensor '" + key + "': " + what); };
    if (key == "__metadata__") {
      if (!v.is_object()) return bad("__metadata__ is not an object");
      for (const auto& [mk, mv] : v.members()) {
        if (!mv.is_string())
          return bad("__metadata__ value '" + mk + "' is a " + Json::type_name(mv.type()) +
                     ", not a string");
        f.metadata_[mk] = mv.as_string();
      }
      f.has_metadata_ = true;
      continue;
    }
    if (!v.is_object()) return entry_bad("entry is not an object");
    TensorEntry e;
    e.name = key;
    const Json* dt = v.find("dtype");
    const Json* sh = v.find("shape");
    const Json* off = v.find("data_offsets");
    if (!dt || !sh || !off || v.members().size() != 3)
      return entry_bad("needs exactly dtype, shape and data_offsets");
    if (!dt->is_string()) return entry_bad("dtype is not a string");
    const auto info = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                                   [&](const DTypeInfo& i) { return dt->as_string() == i.name; });
    if (info == std::end(kDTypes)) return entry_bad("unknown dtype '" + dt->as_string() + "'");
    e.dtype = info->dtype;
    if (!sh->is_array()) return entry_bad("shape is not an array");
    std::uint64_t bytes = info->size;
    for (const Json& d : sh->elements()) {
      if (!d.is_integer() || d.as_integer() < 0)
        return entry_bad("shape has an entry that is not a non-negative integer");
      const auto dim = static_cast<std::uint64_t>(d.as_integer());
      if (dim != 0 && bytes > UINT64_MAX / dim) return entry_bad("element count overflows");
      bytes *= dim;
      e.shape.push_back(dim);
    }
    if (!off->is_array() || off->elements().size() != 2 || !off->elements()[0].is_integer() ||
        !off->elements()[1].is_integer() || off->elements()[0].as_integer() < 0 ||
        off->elements()[1].as_integer() < 0)
      return entry_bad("data_offsets is not two non-negative integers");
    e.begin = static_cast<std::uint64_t>(off->elements()[0].as_integer());
    e.end = static_cast<std::uint64_t>(off->elements()[1].as_integer());
    if (e.begin > e.end) return entry_bad("data_offsets are reversed");
    if (e.end > data_size)
      return entry_bad("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                       ") run past the " + std::to_string(data_size) + "-byte data section");
    if (e.end - e.begin != bytes)
      return entry_bad(std::string(info->name) + " " + e.shape_string() + " is " +
                       std::to_string(bytes) + " bytes but data_offsets span " +
                       std::to_string(e.end - e.begin));
    f.entries_.push_back(std::move(e));
  }
  // The byte ranges must tile the data section: no overlap, no gap.
  std::vector<const TensorEntry*> order;
  for (const auto& e : f.entries_) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t at = 0;
  for (const TensorEntry* e : order) {
    if (e->begin < at) return bad("tensor '" + e->name + "' overlaps another tensor's data");
    if (e->begin > at)
      return bad("gap in the data section before tensor '" + e->name + "' (bytes " +
                 std::to_string(at) + " to " + std::to_string(e->begin) + ")");
    at = e->end;
  }
  if (at != data_size)
    return bad("data section has " + std::to_string(data_size - at) +
               " bytes that belong to no tensor");
  f.storage_ = std::move(storage);
  return f;
}

const TensorEntry* SafetensorsFile::find(const std::string& tensor) const {
  for (const auto& e : entries_)
    if (e.name == tensor) return &e;
  return nullptr;
}

const unsigned char* SafetensorsFile::bytes(const TensorEntry& e) const {
  return storage_->data + data_start_ + e.begin;
}

Status SafetensorsFile::error(const TensorEntry& e, const std::string& what) const {
  return Status::invalid(name_ + ": tensor '" + e.name + "': " + what);
}

Result<Shape> entry_shape(const SafetensorsFile& f, const TensorEntry& e) {
  if (e.shape.size() > static_cast<std::size_t>(kMaxRank))
    return f.error(e, "rank " + std::to_string(e.shape.size()) + " is more than 4");
  Shape s;
  s.rank = static_cast<int>(e.shape.size());
  for (int i = 0; i < s.rank; ++i) {
    if (e.shape[i] > SIZE_MAX / 8) return f.error(e, "dimension too large");
    s.dims[i] = static_cast<std::size_t>(e.shape[i]);
  }
  return s;
}

Result<Tensor> SafetensorsFile::read_f32(const TensorEntry& e) const {
  if (e.dtype != DType::f32 && e.dtype != DType::f16 && e.dtype != DType::bf16)
    return error(e, std::string("dtype ") + dtype_name(e.dtype) + ", expected F32 (or F16/BF16)");
  Result<Shape> shape = entry_shape(*this, e);
  if (!shape.ok()) return shape.status();
  Result<Tensor> t = Tensor::zeros(shape.value());
  if (!t.ok()) return t.status();
  const unsigned char* src = bytes(e);
  float* dst = t->data();
  const std::size_t n = static_cast<std::size_t>(e.numel());
  if (e.dtype == DType::f32) {
    if (n) std::memcpy(dst, src, n * 4);
  } else {
    const bool half = e.dtype == DType::f16;
    for (std::size_t i = 0; i < n; ++i) {
      const auto h = load_le<std::uint16_t>(src + 2 * i);
      dst[i] = half ? f16_to_float(h) : bf16_to_float(h);
    }
  }
  return t;
}

Result<Tensor> SafetensorsFile::read_weight(const TensorEntry& e) const {
  const bool i8 = e.dtype == DType::i8;
  if (!i8 && e.dtype != DType::f16 && e.dtype != DType::bf16) return read_f32(e);
  EDGEATTN_ASSIGN_OR_RETURN(shape, entry_shape(*this, e));
  if (shape.rank == 0 || shape.numel() == 0) return error(e, "a stored weight needs rows, found " + e.shape_string());
  const std::size_t rows = shape[0], cols = shape.numel() / rows;
  Tensor scale;
  if (i8) {
    const TensorEntry* s = find(e.name + ".scale");
    if (!s) return error(e, "int8 weights need their row scales in '" + e.name + ".scale'");
    if (s->dtype != DType::f32 || s->shape != std::vector<std::uint64_t>{rows})
      return error(*s, "the scales of int8 weights must be F32 [" + std::to_string(rows) + "], found " +
                           dtype_name(s->dtype) + " " + s->shape_string());
    EDGEATTN_ASSIGN_OR_RETURN(sc, read_f32(*s));
    scale = std::move(sc);
  }
  const WeightType type = i8 ? WeightType::i8 : e.dtype == DType::f16 ? WeightType::f16 : WeightType::bf16;
  Result<Weights> w = Weights::from_storage(type, bytes(e), scale.data(), rows, cols, name_ + ": tensor '" + e.name + "'");
  if (!w.ok()) return w.status();
  EDGEATTN_ASSIGN_OR_RETURN(t, Tensor::zeros(shape));
  w->dequantize(t.data());
  t.set_stored(std::make_shared<const Weights>(std::move(w).value()));
  return t;
}

Result<std::vector<std::int64_t>> SafetensorsFile::read_i64(const TensorEntry& e) const {
  if (e.dtype != DType::i64 && e.dtype != DType::i32)
    return error(e, std::string("dtype ") + dtype_name(e.dtype) + ", expected I64");
  const std::size_t n = static_cast<std::size_t>(e.numel());
  std::vector<std::int64_t> out(n);
  const unsigned char* src = bytes(e);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = e.dtype == DType::i64 ? load_le<std::int64_t>(src + 8 * i)
                                   : load_le<std::int32_t>(src + 4 * i);
  return out;
}

Result<std::vector<std::uint8_t>> SafetensorsFile::read_u8(const TensorEntry& e) const {
  if (e.dtype != DType::boolean && e.dtype != DType::u8)
    return error(e, std::string("dtype ") + dtype_name(e.dtype) + ", expected BOOL or U8");
  const unsigned char* src = bytes(e);
  return std::vector<std::uint8_t>(src, src + e.numel());
}

}  // namespace edgeattn
