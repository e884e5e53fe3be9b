#include <cmath>
#include <cstring>

#include "edgeattn/io.h"
#include "model_file.h"

namespace edgeattn {
using detail::metadata;
using detail::module_from;
using detail::starts_with;

namespace {

// A tensor of the file as a Value: floats (F32/F16/BF16), int64 (I64/I32)
// or a mask (BOOL/U8).
Result<Value> read_value(const SafetensorsFile& f, const TensorEntry& e) {
  EDGEATTN_ASSIGN_OR_RETURN(shape, entry_shape(f, e));
  switch (e.dtype) {
    case DType::f32:
    case DType::f16:
    case DType::bf16: {
      EDGEATTN_ASSIGN_OR_RETURN(t, f.read_f32(e));
      EDGEATTN_ASSIGN_OR_RETURN(v, Value::zeros(ValueType::f32, shape));
      if (t.numel()) std::memcpy(v.f32(), t.data(), t.numel() * sizeof(float));
      return v;
    }
    case DType::i64:
    case DType::i32: {
      EDGEATTN_ASSIGN_OR_RETURN(d, f.read_i64(e));
      EDGEATTN_ASSIGN_OR_RETURN(v, Value::zeros(ValueType::i64, shape));
      if (!d.empty()) std::memcpy(v.i64(), d.data(), d.size() * sizeof(std::int64_t));
      return v;
    }
    case DType::boolean:
    case DType::u8: {
      EDGEATTN_ASSIGN_OR_RETURN(d, f.read_u8(e));
      EDGEATTN_ASSIGN_OR_RETURN(v, Value::zeros(ValueType::mask, shape));
      if (!d.empty()) std::memcpy(v.mask(), d.data(), d.size());
      return v;
    }
    default:
      return f.error(e, std::string("dtype ") + dtype_name(e.dtype) +
                            " is not used by any module (F32, F16, BF16, I64, BOOL, U8)");
  }
}

Result<double> tolerance(const SafetensorsFile& f, const char* key, double fallback) {
  const auto it = f.metadata().find(key);
  if (it == f.metadata().end()) return fallback;
  Result<Json> v = parse_json(it->second);
  if (!v.ok() || !v->is_number() || v->as_number() < 0)
    return Status::invalid(f.name() + ": __metadata__ '" + key + "' is not a non-negative number");
  return v->as_number();
}

}  // namespace

Result<Case> load_case(const SafetensorsFile& f) {
  Case c;
  c.path = f.name();
  EDGEATTN_ASSIGN_OR_RETURN(kind, metadata(f, "module"));
  EDGEATTN_ASSIGN_OR_RETURN(config, metadata(f, "config"));
  EDGEATTN_ASSIGN_OR_RETURN(atol, tolerance(f, "atol", 1e-5));
  EDGEATTN_ASSIGN_OR_RETURN(rtol, tolerance(f, "rtol", 1e-4));
  c.kind = kind;
  c.atol = atol;
  c.rtol = rtol;
  EDGEATTN_ASSIGN_OR_RETURN(module, module_from(f, kind, config, "param."));
  c.module = std::move(module);
  const auto weights = f.metadata().find("weights");  // (checked by module_from)
  if (weights != f.metadata().end()) c.weights = weights->second;
  for (const TensorEntry& e : f.entries()) {
    const bool in = starts_with(e.name, "input."), out = starts_with(e.name, "expected.");
    if (!in && !out) continue;
    EDGEATTN_ASSIGN_OR_RETURN(v, read_value(f, e));
    (in ? c.inputs : c.expected)[e.name.substr(in ? 6 : 9)] = std::move(v);
  }
  if (c.expected.empty())
    return Status(StatusCode::parse_error,
                  c.path + ": nothing to compare: " +
                      (c.inputs.empty() ? std::string("this is a model file (no input.* or expected.* tensors), "
                                                      "not a case; make a case for it with write_case "
                                                      "(tools/edgeattn_torch) or load it with load_module")
                                        : std::string("the case has no expected.* tensors")));
  return c;
}

Result<Case> load_case(const std::string& path) {
  EDGEATTN_ASSIGN_OR_RETURN(f, SafetensorsFile::open(path));
  return load_case(f);
}

Comparison compare(const Value& got, const Value& want, double atol, double rtol) {
  Comparison c;
  if (got.type() != want.type() || got.shape() != want.shape()) {
    c.ok = false;
    c.max_abs = c.max_rel = INFINITY;
    return c;
  }
  const std::size_t n = want.shape().numel();
  for (std::size_t i = 0; i < n; ++i) {
    double g, w;
    if (want.type() == ValueType::f32) {
      g = got.f32()[i], w = want.f32()[i];
    } else if (want.type() == ValueType::i64) {
      g = static_cast<double>(got.i64()[i]), w = static_cast<double>(want.i64()[i]);
      if (got.i64()[i] != want.i64()[i]) c.ok = false;
    } else {
      g = got.mask()[i] != 0, w = want.mask()[i] != 0;
      if (g != w) c.ok = false;
    }
    // As torch.allclose (equal_nan=False): equal infinities match, any NaN
    // fails (and is reported as max_abs = nan).
    if (std::isnan(g) || std::isnan(w)) {
      c.ok = false;
      c.max_abs = c.max_rel = NAN;
      continue;
    }
    if (std::isinf(g) || std::isinf(w)) {  // no tolerance makes them close
      if (g == w) continue;
      c.ok = false;
      if (!std::isnan(c.max_abs)) c.max_abs = c.max_rel = INFINITY;
      continue;
    }
    const double d = std::fabs(g - w);
    if (!(d <= atol + rtol * std::fabs(w))) c.ok = false;  // NaN fails too
    if (d > c.max_abs) c.max_abs = d;
    if (w != 0 && d / std::fabs(w) > c.max_rel) c.max_rel = d / std::fabs(w);
  }
  return c;
}

}  // namespace edgeattn
