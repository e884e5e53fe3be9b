// A small strict JSON reader (RFC 8259) for safetensors headers and module
// configs: UTF-8 only, no NUL, no comments or trailing commas, no duplicate
// object keys, nesting at most 64 levels. Parse errors name the byte offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edgeattn/status.h"

namespace edgeattn {

class Json {
 public:
  enum class Type { null, boolean, number, string, array, object };

  Json() = default;
  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::null; }
  bool is_bool() const { return type_ == Type::boolean; }
  bool is_number() const { return type_ == Type::number; }
  bool is_string() const { return type_ == Type::string; }
  bool is_array() const { return type_ == Type::array; }
  bool is_object() const { return type_ == Type::object; }

  bool as_bool() const { return bool_; }
  double as_number() const { return number_; }
  const std::string& as_string() const { return string_; }
  // Whether the number was written as an integer (no fraction, no
  // exponent: 3, not 3.0 or 3e0) that int64 holds exactly.
  bool is_integer() const;
  std::int64_t as_integer() const { return static_cast<std::int64_t>(number_); }

  const std::vector<Json>& elements() const { return elements_; }
  // Object members in file order.
  const std::vector<std::pair<std::string, Json>>& members() const { return members_; }
  // The member named `key`, or null.
  const Json* find(std::string_view key) const;

  static const char* type_name(Type t);

 private:
  friend class JsonParser;
  Type type_ = Type::null;
  bool bool_ = false;
  double number_ = 0.0;
  bool integral_ = false;  // written without fraction or exponent
  std::string string_;
  std::vector<Json> elements_;
  std::vector<std::pair<std::string, Json>> members_;
};

constexpr int kJsonMaxDepth = 64;

// Parses one JSON value that spans all of `text` (white space around it
// allowed). Errors are parse_error with the offset and what was wrong.
Result<Json> parse_json(std::string_view text);

}  // namespace edgeattn
