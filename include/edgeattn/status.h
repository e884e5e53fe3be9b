// Status and Result: how every fallible edgeattn call reports what went wrong.
// No exception leaves the library; a failed call returns a Status whose
// message names the offending argument, tensor, shape or file.
#pragma once

#include <string>
#include <utility>

namespace edgeattn {

enum class StatusCode {
  ok = 0,
  invalid_argument,  // a shape, size, pointer or option the call cannot use
  out_of_memory,     // an allocation failed, or a workspace is too small
  unsupported,       // valid request the build or CPU cannot serve (e.g. ISA)
  io_error,          // a file could not be opened, mapped or read
  parse_error,       // a file's contents are malformed
};

const char* status_code_name(StatusCode code);

// `text` with control characters (ESC, CR, LF, ...) written as \xNN, so that
// a name read from a file cannot forge a line on a terminal or in a log.
// Every Status message passes through it.
std::string printable(std::string text);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(printable(std::move(message))) {}

  static Status success() { return {}; }
  static Status invalid(std::string message) {
    return {StatusCode::invalid_argument, std::move(message)};
  }

  bool ok() const { return code_ == StatusCode::ok; }
  explicit operator bool() const { return ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: <message>" (or "ok"), for logs and error lines.
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

// A value or the Status explaining why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)), has_value_(true) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}             // NOLINT: implicit by design

  bool ok() const { return has_value_; }
  const Status& status() const { return status_; }
  T& value() & { return value_; }
  const T& value() const& { return value_; }
  T&& value() && { return std::move(value_); }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }

 private:
  T value_{};
  bool has_value_ = false;
  Status status_;
};

}  // namespace edgeattn

// Propagate a failed Status to the caller.
#define EDGEATTN_RETURN_IF_ERROR(expr)            \
  do {                                            \
    ::edgeattn::Status edgeattn_status_ = (expr); \
    if (!edgeattn_status_.ok()) return edgeattn_status_; \
  } while (0)

// `auto lhs = value of a Result<T> expr`, or return its Status.
#define EDGEATTN_ASSIGN_OR_RETURN(lhs, expr)                \
  auto lhs##_result_ = (expr);                              \
  if (!lhs##_result_.ok()) return lhs##_result_.status();   \
  auto lhs = std::move(lhs##_result_).value()
