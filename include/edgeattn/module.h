// Modules as the registry, the verify tool and deployed models see them:
// built by name from a JSON config and named parameters, run on named
// inputs. Each module also has a typed C++ API (attention.h, ...); the
// generic interface here adapts it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "edgeattn/context.h"
#include "edgeattn/json.h"
#include "edgeattn/weights.h"
#include "edgeattn/status.h"
#include "edgeattn/tensor.h"

namespace edgeattn {

// A named input or output: float32, int64, or a uint8 mask.
enum class ValueType { f32, i64, mask };
const char* value_type_name(ValueType t);

class Value {
 public:
  Value() = default;
  static Result<Value> zeros(ValueType type, const Shape& shape);
  // A value over memory the caller owns (a model's arena, a mapped file);
  // set_data() points it elsewhere without allocating.
  static Value wrap(ValueType type, const Shape& shape, void* data);
  void set_data(void* data) { data_ = data; }
  ValueType type() const { return type_; }
  const Shape& shape() const { return shape_; }
  float* f32() const { return static_cast<float*>(data_); }
  std::int64_t* i64() const { return static_cast<std::int64_t*>(data_); }
  std::uint8_t* mask() const { return static_cast<std::uint8_t*>(data_); }
  void* data() const { return data_; }
  View view() const { return View(f32(), shape_); }
  MaskView mask_view() const { return MaskView(mask(), shape_); }

 private:
  ValueType type_ = ValueType::f32;
  Shape shape_;
  AlignedBuffer buf_;
  void* data_ = nullptr;  // buf_'s memory, or the caller's
};
// Bytes of one element of type t.
std::size_t value_type_size(ValueType t);
// Looked up by any string type without making a std::string (std::less<>):
// a name past the short-string buffer would otherwise allocate in run().
using ValueMap = std::map<std::string, Value, std::less<>>;

struct OutputSpec {
  std::string name;
  ValueType type;
  Shape shape;
  // Computed only when present in run()'s outputs (e.g. attention weights,
  // whose absence lets a module take a faster path); others are required.
  bool on_request = false;
};

class Module {
 public:
  virtual ~Module() = default;
  // The registry name ("soft_attention", ...).
  virtual const char* kind() const = 0;
  // Memory the weights take: parameters, plus copies packed for the GEMM.
  virtual std::size_t weight_bytes() const = 0;
  // Checks the inputs (names, types, shapes, against each other and the
  // weights) and says what every output will be.
  virtual Result<std::vector<OutputSpec>> check(const ValueMap& inputs) const = 0;
  // Scratch bytes for inputs of these shapes; serves any smaller ones.
  virtual std::size_t workspace_bytes(const ValueMap& inputs, const Context& ctx) const = 0;
  // Computes the outputs in `outputs`, allocated with the shapes check()
  // gave: every required one, and the on-request ones wanted. Allocates
  // nothing; takes scratch from `ws`, which must have workspace_bytes()
  // free (else out_of_memory, before anything runs). Inputs and outputs of
  // another type or shape are an invalid_argument naming them.
  virtual Status run(const Context& ctx, const ValueMap& inputs, ValueMap& outputs,
                     Workspace& ws) const = 0;

  // The typed object behind the module, for what it offers beyond run()
  // (Seq2Seq's beam search, AttentionForecaster's multi-step forecast, a
  // SoftAttention's cached keys): null unless it is a T.
  //   if (const Seq2Seq* s = module->as<Seq2Seq>()) s->beam_search(...);
  template <class T>
  const T* as() const {
    return static_cast<const T*>(typed(typeid(T)));
  }

 protected:
  virtual const void* typed(const std::type_info& type) const {
    (void)type;
    return nullptr;
  }
  // typed() for a module holding `obj`.
  template <class T>
  static const void* typed_if(const std::type_info& type, const T& obj) {
    return type == typeid(T) ? &obj : nullptr;
  }
};

// Parameters by state_dict key, each checked against the shape the module
// expects when taken. `where` names the source in errors (file and prefix).
class ParamSet {
 public:
  ParamSet() = default;
  explicit ParamSet(std::string where) : where_(std::move(where)) {}
  void add(const std::string& key, Tensor t) { tensors_[key] = std::move(t); }
  // A parameter that cannot be read as floats (e.g. BatchNorm's int64
  // num_batches_tracked): harmless unless a module takes it, then `why`.
  void add_unreadable(const std::string& key, Status why) { unreadable_[key] = std::move(why); }
  bool has(const std::string& key) const { return tensors_.count(key) != 0; }
  // The tensor `key`, which must have shape `expected`.
  Result<Tensor> take(const std::string& key, const Shape& expected) const;
  // A Linear weight [out, in]; a 1x1 conv weight [out, in, 1, 1] is accepted
  // too (docs/modules.md). Returned as [out, in].
  Result<Tensor> take_linear(const std::string& key, std::size_t out, std::size_t in) const;
  // The tensor `key` of any shape (for widths the config does not name).
  Result<Tensor> take_any(const std::string& key) const;
  // All keys under `prefix`, with the prefix removed.
  ParamSet subset(const std::string& prefix) const;
  const std::string& where() const { return where_; }
  // The type the module holds its weight matrices in (weights.h): the
  // file's metadata "weights", or what the caller asked for at load.
  WeightType weight_type() const { return weight_type_; }
  void set_weight_type(WeightType t) { weight_type_ = t; }

 private:
  std::string where_;
  WeightType weight_type_ = WeightType::f32;
  std::string prefix_;  // the keys' prefix in the file, for errors (subset())
  std::map<std::string, Tensor> tensors_;
  std::map<std::string, Status> unreadable_;
};

// Typed, checked access to a module's JSON config.
class Config {
 public:
  explicit Config(const Json& json, std::string module) : json_(json), module_(std::move(module)) {}
  Result<std::int64_t> positive_int(const char* key) const;
  Result<std::int64_t> positive_int(const char* key, std::int64_t fallback) const;
  Result<bool> boolean(const char* key, bool fallback) const;
  Result<double> number(const char* key, double fallback) const;
  Result<std::string> choice(const char* key, const std::vector<std::string>& allowed,
                             const char* fallback = nullptr) const;

 private:
  Status bad(const char* key, const std::string& what) const;
  const Json& json_;
  std::string module_;
};

// The input `name` of type `type`: an error naming it if missing (when
// required) or of another type; null if optional and absent.
Result<const Value*> find_input(const ValueMap& inputs, std::string_view name, ValueType type,
                                bool required);
// The output `name`, which must be of `type` and `shape` (what check()
// said): an error naming it if missing (when required) or of another type
// or shape; null if the caller did not ask for it. Every run() checks every
// output this way before writing, so a wrong buffer is an error, never an
// overflow.
Result<const Value*> find_output(const ValueMap& outputs, std::string_view name, ValueType type,
                                 const Shape& shape, bool required);
// out_of_memory naming `module` unless `ws` has `bytes` free: run() checks
// its workspace_bytes() before it computes anything.
Status require_workspace(const Workspace& ws, std::size_t bytes, const char* module);

// The registry: every module name this build knows, and a factory.
std::vector<std::string> module_names();
Result<std::unique_ptr<Module>> create_module(const std::string& kind, const Json& config,
                                              const ParamSet& params);

}  // namespace edgeattn
