#include "edgeattn/module.h"

#include <cmath>
#include <cstring>

namespace edgeattn {

const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::f32: return "F32";
    case ValueType::i64: return "I64";
    case ValueType::mask: return "BOOL";
  }
  return "?";
}

std::size_t value_type_size(ValueType t) {
  return t == ValueType::f32 ? 4 : t == ValueType::i64 ? 8 : 1;
}

Value Value::wrap(ValueType type, const Shape& shape, void* data) {
  Value v;
  v.type_ = type;
  v.shape_ = shape;
  v.data_ = data;
  return v;
}

Result<Value> Value::zeros(ValueType type, const Shape& shape) {
  const std::size_t elem = value_type_size(type);
  const std::size_t n = shape.numel();
  if (n != 0 && n > SIZE_MAX / elem)
    return Status(StatusCode::out_of_memory, "tensor " + shape.to_string() + " is too large");
  Result<AlignedBuffer> buf = AlignedBuffer::allocate(n * elem);
  if (!buf.ok()) return buf.status();
  Value v;
  v.type_ = type;
  v.shape_ = shape;
  v.buf_ = std::move(buf).value();
  v.data_ = v.buf_.data();
  return v;
}

Result<const Value*> find_input(const ValueMap& inputs, std::string_view name, ValueType type,
                                bool required) {
  const auto it = inputs.find(name);
  if (it == inputs.end()) {
    if (required) return Status::invalid("input '" + std::string(name) + "': missing");
    return static_cast<const Value*>(nullptr);
  }
  if (it->second.type() != type)
    return Status::invalid("input '" + std::string(name) + "': dtype " +
                           value_type_name(it->second.type()) + ", expected " + value_type_name(type));
  return &it->second;
}

Result<const Value*> find_output(const ValueMap& outputs, std::string_view name, ValueType type,
                                 const Shape& shape, bool required) {
  const auto it = outputs.find(name);
  if (it == outputs.end()) {
    if (required) return Status::invalid("output '" + std::string(name) + "' is required");
    return static_cast<const Value*>(nullptr);
  }
  const Value& v = it->second;
  if (v.type() != type || v.shape() != shape || (shape.numel() != 0 && !v.f32()))
    return Status::invalid("output '" + std::string(name) + "' must be " + value_type_name(type) + " " +
                           shape.to_string() + ", found " + value_type_name(v.type()) + " " +
                           v.shape().to_string() + (v.f32() ? "" : " without a buffer"));
  return &v;
}

Status require_workspace(const Workspace& ws, std::size_t bytes, const char* module) {
  if (bytes <= ws.capacity() - ws.used()) return {};
  return {StatusCode::out_of_memory, std::string(module) + ": workspace has " +
                                         std::to_string(ws.capacity() - ws.used()) + " bytes free, needs " +
                                         std::to_string(bytes) + " (see workspace_bytes)"};
}

Result<Tensor> ParamSet::take_any(const std::string& key) const {
  const auto bad = unreadable_.find(key);
  if (bad != unreadable_.end()) return bad->second;
  const auto it = tensors_.find(key);
  if (it == tensors_.end()) return Status::invalid(where_ + "param." + prefix_ + key + ": missing");
  Result<Tensor> copy = Tensor::zeros(it->second.shape());
  if (!copy.ok()) return copy.status();
  if (copy->numel()) std::memcpy(copy->data(), it->second.data(), copy->numel() * sizeof(float));
  copy->set_stored(it->second.stored());
  return copy;
}

Result<Tensor> ParamSet::take(const std::string& key, const Shape& expected) const {
  if (unreadable_.count(key)) return take_any(key);
  const auto it = tensors_.find(key);
  if (it == tensors_.end())
    return Status::invalid(where_ + "param." + prefix_ + key + ": missing (expected shape " +
                           expected.to_string() + ")");
  if (it->second.shape() != expected)
    return Status::invalid(where_ + "param." + prefix_ + key + ": expected shape " + expected.to_string() +
                           ", found " + it->second.shape().to_string());
  return take_any(key);
}

Result<Tensor> ParamSet::take_linear(const std::string& key, std::size_t out, std::size_t in) const {
  const auto it = tensors_.find(key);
  if (it != tensors_.end() && it->second.shape() == Shape{out, in, 1, 1}) {
    Result<Tensor> t = take_any(key);
    if (!t.ok()) return t;
    Result<Tensor> flat = Tensor::zeros(Shape{out, in});
    if (!flat.ok()) return flat;
    if (out != 0 && in != 0) std::memcpy(flat->data(), t->data(), out * in * sizeof(float));
    flat->set_stored(t->stored());
    return flat;
  }
  return take(key, Shape{out, in});
}

ParamSet ParamSet::subset(const std::string& prefix) const {
  ParamSet s(where_);
  s.prefix_ = prefix_ + prefix;
  s.weight_type_ = weight_type_;
  for (const auto& [key, t] : tensors_) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    Result<Tensor> copy = take_any(key);
    if (copy.ok()) s.add(key.substr(prefix.size()), std::move(copy).value());
  }
  for (const auto& [key, why] : unreadable_)
    if (key.compare(0, prefix.size(), prefix) == 0) s.add_unreadable(key.substr(prefix.size()), why);
  return s;
}

Status Config::bad(const char* key, const std::string& what) const {
  return Status::invalid(module_ + " config '" + key + "': " + what);
}

Result<std::int64_t> Config::positive_int(const char* key) const {
  const Json* v = json_.find(key);
  if (!v) return bad(key, "missing (a positive integer)");
  if (!v->is_integer()) return bad(key, std::string("expected an integer, found a ") +
                                            Json::type_name(v->type()));
  if (v->as_integer() <= 0 || v->as_integer() >= (std::int64_t(1) << 31))
    return bad(key, "must be a positive integer below 2^31, found " +
                        std::to_string(v->as_integer()));
  return v->as_integer();
}

Result<std::int64_t> Config::positive_int(const char* key, std::int64_t fallback) const {
  if (!json_.find(key)) return fallback;
  return positive_int(key);
}

Result<bool> Config::boolean(const char* key, bool fallback) const {
  const Json* v = json_.find(key);
  if (!v) return fallback;
  if (!v->is_bool())
    return bad(key, std::string("expected true or false, found a ") + Json::type_name(v->type()));
  return v->as_bool();
}

Result<double> Config::number(const char* key, double fallback) const {
  const Json* v = json_.find(key);
  if (!v) return fallback;
  if (!v->is_number())
    return bad(key, std::string("expected a number, found a ") + Json::type_name(v->type()));
  return v->as_number();
}

Result<std::string> Config::choice(const char* key, const std::vector<std::string>& allowed,
                                   const char* fallback) const {
  const Json* v = json_.find(key);
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  if (!v) {
    if (fallback) return std::string(fallback);
    return bad(key, "missing (one of " + list + ")");
  }
  if (!v->is_string())
    return bad(key, std::string("expected a string, found a ") + Json::type_name(v->type()));
  for (const auto& a : allowed)
    if (v->as_string() == a) return a;
  return bad(key, "'" + v->as_string() + "' is not one of " + list);
}

}  // namespace edgeattn
