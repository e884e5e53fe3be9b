#include "edgeattn/json.h"

#include <charconv>
#include <cmath>
#include <unordered_set>

namespace edgeattn {

bool Json::is_integer() const {
  return type_ == Type::number && integral_ && std::fabs(number_) <= 9.0e15;
}

const Json* Json::find(std::string_view key) const {
  for (const auto& m : members_)
    if (m.first == key) return &m.second;
  return nullptr;
}

const char* Json::type_name(Type t) {
  switch (t) {
    case Type::null: return "null";
    case Type::boolean: return "boolean";
    case Type::number: return "number";
    case Type::string: return "string";
    case Type::array: return "array";
    case Type::object: return "object";
  }
  return "?";
}

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text) {}

  Result<Json> parse_document() {
    Json v;
    skip_ws();
    if (!value(v, 1)) return error();
    skip_ws();
    if (pos_ != s_.size()) {
      fail("unexpected data after the JSON value");
      return error();
    }
    return v;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
  std::string err_;

  Status error() const {
    return {StatusCode::parse_error, "JSON: " + err_ + " at byte " + std::to_string(pos_)};
  }
  bool fail(const char* what) {
    if (err_.empty()) err_ = what;
    return false;
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }
  void skip_ws() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
      ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool value(Json& v, int depth) {
    if (depth > kJsonMaxDepth) return fail("nested deeper than 64 levels");
    if (at_end()) return fail("unexpected end of input");
    switch (peek()) {
      case '{': return object(v, depth);
      case '[': return array(v, depth);
      case '"': v.type_ = Json::Type::string; return string(v.string_);
      case 't': v.type_ = Json::Type::boolean; v.bool_ = true; return literal("true");
      case 'f': v.type_ = Json::Type::boolean; v.bool_ = false; return literal("false");
      case 'n': v.type_ = Json::Type::null; return literal("null");
      default: return number(v);
    }
  }

  bool object(Json& v, int depth) {
    v.type_ = Json::Type::object;
    ++pos_;  // {
    skip_ws();
    if (!at_end() && peek() == '}') return ++pos_, true;
    std::unordered_set<std::string> seen;
    while (true) {
      skip_ws();
      if (at_end() || peek() != '"') return fail("expected a string key");
      std::string key;
      if (!string(key)) return false;
      if (!seen.insert(key).second) {
        err_ = "duplicate key \"" + key + "\"";
        return false;
      }
      skip_ws();
      if (at_end() || peek() != ':') return fail("expected ':'");
      ++pos_;
      skip_ws();
      Json member;
      if (!value(member, depth + 1)) return false;
      v.members_.emplace_back(std::move(key), std::move(member));
      skip_ws();
      if (at_end()) return fail("unterminated object");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') return ++pos_, true;
      return fail("expected ',' or '}'");
    }
  }

  bool array(Json& v, int depth) {
    v.type_ = Json::Type::array;
    ++pos_;  // [
    skip_ws();
    if (!at_end() && peek() == ']') return ++pos_, true;
    while (true) {
      skip_ws();
      Json element;
      if (!value(element, depth + 1)) return false;
      v.elements_.push_back(std::move(element));
      skip_ws();
      if (at_end()) return fail("unterminated array");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') return ++pos_, true;
      return fail("expected ',' or ']'");
    }
  }

  bool number(Json& v) {
    // Grammar check first (RFC 8259: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?),
    // then from_chars, which does not depend on the locale.
    const std::size_t start = pos_;
    auto digits = [&] {
      const std::size_t d0 = pos_;
      while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
      return pos_ > d0;
    };
    if (!at_end() && peek() == '-') ++pos_;
    if (at_end()) return fail("invalid number");
    if (peek() == '0') {
      ++pos_;
    } else if (!digits()) {
      return fail("invalid value");
    }
    v.integral_ = true;
    if (!at_end() && peek() == '.') {
      ++pos_;
      if (!digits()) return fail("invalid number");
      v.integral_ = false;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      v.integral_ = false;
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (!digits()) return fail("invalid number");
    }
    double d = 0;
    const auto r = std::from_chars(s_.data() + start, s_.data() + pos_, d);
    if (r.ec != std::errc() || !std::isfinite(d)) return fail("number out of range");
    v.type_ = Json::Type::number;
    v.number_ = d;
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool hex4(std::uint32_t& out) {
    if (s_.size() - pos_ < 4) return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') out |= c - '0';
      else if (c >= 'a' && c <= 'f') out |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') out |= c - 'A' + 10;
      else return fail("invalid \\u escape");
    }
    return true;
  }

  bool escape(std::string& out) {
    if (at_end()) return fail("unterminated string");
    const char c = s_[pos_++];
    switch (c) {
      case '"': out += '"'; return true;
      case '\\': out += '\\'; return true;
      case '/': out += '/'; return true;
      case 'b': out += '\b'; return true;
      case 'f': out += '\f'; return true;
      case 'n': out += '\n'; return true;
      case 'r': out += '\r'; return true;
      case 't': out += '\t'; return true;
      case 'u': break;
      default: return fail("invalid escape");
    }
    std::uint32_t cp = 0;
    if (!hex4(cp)) return false;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("unpaired surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      std::uint32_t lo = 0;
      if (s_.substr(pos_, 2) != "\\u") return fail("unpaired surrogate");
      pos_ += 2;
      if (!hex4(lo)) return false;
      if (lo < 0xDC00 || lo > 0xDFFF) return fail("unpaired surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) return fail("NUL character");
    append_utf8(out, cp);
    return true;
  }

  // One UTF-8 sequence starting at pos_ (Unicode 15, table 3-7: no overlong
  // forms, no surrogates, nothing above U+10FFFF).
  bool utf8(std::string& out) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s_[pos_ + i]); };
    const unsigned char c = b(0);
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return fail("invalid UTF-8");
    }
    if (s_.size() - pos_ < len) return fail("invalid UTF-8");
    if (b(1) < lo || b(1) > hi) return fail("invalid UTF-8");
    for (std::size_t i = 2; i < len; ++i)
      if (b(i) < 0x80 || b(i) > 0xBF) return fail("invalid UTF-8");
    out.append(s_.data() + pos_, len);
    pos_ += len;
    return true;
  }

  bool string(std::string& out) {
    ++pos_;  // opening quote
    while (true) {
      if (at_end()) return fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(peek());
      if (c == '"') return ++pos_, true;
      if (c == 0) return fail("NUL character");
      if (c < 0x20) return fail("control character in string");
      if (c == '\\') {
        ++pos_;
        if (!escape(out)) return false;
      } else if (c < 0x80) {
        out += static_cast<char>(c);
        ++pos_;
      } else if (!utf8(out)) {
        return false;
      }
    }
  }
};

Result<Json> parse_json(std::string_view text) { return JsonParser(text).parse_document(); }

}  // namespace edgeattn
