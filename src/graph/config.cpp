// Node configs, shape expressions and the op table.
#include <cmath>

#include "graph.h"

namespace edgeattn::graph {

Status NodeConfig::bad(const std::string& key, const std::string& what) const {
  return Status::invalid(where_ + ": config '" + key + "' " + what);
}

Result<std::int64_t> NodeConfig::integer(const char* key, std::int64_t lo, std::int64_t hi) const {
  const Json* v = json_.find(key);
  if (!v) return bad(key, "is missing");
  if (!v->is_number() || !v->is_integer() || v->as_integer() < lo || v->as_integer() > hi)
    return bad(key, "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v->as_integer();
}

Result<std::int64_t> NodeConfig::integer(const char* key, std::int64_t lo, std::int64_t hi,
                                         std::int64_t fallback) const {
  if (!json_.find(key)) return fallback;
  return integer(key, lo, hi);
}

Result<std::vector<std::int64_t>> NodeConfig::integers(const char* key, std::size_t count,
                                                       std::int64_t lo, std::int64_t hi) const {
  const Json* v = json_.find(key);
  if (!v) return bad(key, "is missing");
  const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (v->is_number() && count > 0) {
    EDGEATTN_ASSIGN_OR_RETURN(one, integer(key, lo, hi));
    return std::vector<std::int64_t>(count, one);
  }
  if (!v->is_array() || (count && v->elements().size() != count) || v->elements().size() > 64)
    return bad(key, "must be a list of " + (count ? std::to_string(count) + " " : std::string()) +
                        "integers in " + range);
  std::vector<std::int64_t> out;
  for (const Json& e : v->elements()) {
    if (!e.is_number() || !e.is_integer() || e.as_integer() < lo || e.as_integer() > hi)
      return bad(key, "must hold integers in " + range);
    out.push_back(e.as_integer());
  }
  return out;
}

Result<bool> NodeConfig::boolean(const char* key, bool fallback) const {
  const Json* v = json_.find(key);
  if (!v) return fallback;
  if (!v->is_bool()) return bad(key, "must be true or false");
  return v->as_bool();
}

Result<double> NodeConfig::number(const char* key, double fallback) const {
  const Json* v = json_.find(key);
  if (!v) return fallback;
  if (!v->is_number() || !std::isfinite(v->as_number())) return bad(key, "must be a finite number");
  return v->as_number();
}

Result<std::string> NodeConfig::choice(const char* key, const std::vector<std::string>& allowed,
                                       const char* fallback) const {
  const Json* v = json_.find(key);
  if (!v && fallback) return std::string(fallback);
  std::string list;
  for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
  if (!v || !v->is_string()) return bad(key, "must be one of: " + list);
  for (const std::string& a : allowed)
    if (v->as_string() == a) return a;
  return bad(key, "'" + v->as_string() + "' is not one of: " + list);
}

namespace {

constexpr int kMaxExprDepth = 16;

Result<Expr> parse_expr(const Json& j, const NodeConfig& c, const std::string& key, int depth,
                        const std::function<Result<std::size_t>(const std::string&)>& index_of) {
  Expr e;
  if (j.is_number()) {
    if (!j.is_integer() || j.as_integer() < -1 || j.as_integer() >= (std::int64_t(1) << 31))
      return c.bad(key, "holds a size that is not an integer in [-1, 2^31)");
    e.value = j.as_integer();
    return e;
  }
  if (!j.is_object() || j.members().size() != 1 || depth >= kMaxExprDepth)
    return c.bad(key, "holds an entry that is neither an integer nor a one-key expression "
                      "(nested at most 16 deep)");
  const auto& [op, arg] = j.members()[0];
  if (!arg.is_array() || arg.elements().size() != 2)
    return c.bad(key, "expression '" + op + "' must have a list of two arguments");
  if (op == "dim") {
    const Json& name = arg.elements()[0];
    const Json& axis = arg.elements()[1];
    if (!name.is_string() || !axis.is_number() || !axis.is_integer() || axis.as_integer() < -4 ||
        axis.as_integer() > 3)
      return c.bad(key, "expression 'dim' must be [value name, axis in -4..3]");
    Result<std::size_t> idx = index_of(name.as_string());
    if (!idx.ok()) return c.bad(key, "expression 'dim': " + idx.status().message());
    e.kind = Expr::Kind::dim;
    e.tensor = idx.value();
    e.value = axis.as_integer();
    return e;
  }
  const std::pair<const char*, Expr::Kind> ops[] = {{"add", Expr::Kind::add},
                                                    {"sub", Expr::Kind::sub},
                                                    {"mul", Expr::Kind::mul},
                                                    {"floordiv", Expr::Kind::floordiv}};
  for (const auto& [name, kind] : ops)
    if (op == name) {
      e.kind = kind;
      for (const Json& a : arg.elements()) {
        EDGEATTN_ASSIGN_OR_RETURN(sub, parse_expr(a, c, key, depth + 1, index_of));
        e.args.push_back(std::move(sub));
      }
      return e;
    }
  return c.bad(key, "has an unknown expression '" + op + "' (known: dim, add, sub, mul, floordiv)");
}

}  // namespace

Result<std::vector<Expr>> NodeConfig::exprs(
    const char* key, const std::function<Result<std::size_t>(const std::string&)>& index_of) const {
  const Json* v = json_.find(key);
  if (!v || !v->is_array() || v->elements().size() > 4)
    return bad(key, "must be a list of at most 4 sizes");
  std::vector<Expr> out;
  for (const Json& e : v->elements()) {
    EDGEATTN_ASSIGN_OR_RETURN(x, parse_expr(e, *this, key, 0, index_of));
    out.push_back(std::move(x));
  }
  return out;
}

Result<std::int64_t> ShapeEnv::eval(const Expr& e, const std::string& where) const {
  constexpr std::int64_t kLimit = std::int64_t(1) << 40;  // no product of two overflows
  switch (e.kind) {
    case Expr::Kind::literal: return e.value;
    case Expr::Kind::dim: {
      const Shape& s = types_[e.tensor].shape;
      const std::int64_t axis = e.value < 0 ? e.value + s.rank : e.value;
      if (axis < 0 || axis >= s.rank)
        return Status::invalid(where + ": size expression reads axis " + std::to_string(e.value) +
                               " of a rank-" + std::to_string(s.rank) + " value");
      return static_cast<std::int64_t>(s[static_cast<int>(axis)]);
    }
    default: break;
  }
  EDGEATTN_ASSIGN_OR_RETURN(a, eval(e.args[0], where));
  EDGEATTN_ASSIGN_OR_RETURN(b, eval(e.args[1], where));
  if (a < -kLimit || a > kLimit || b < -kLimit || b > kLimit)
    return Status::invalid(where + ": size expression out of range");
  switch (e.kind) {
    case Expr::Kind::add: return a + b;
    case Expr::Kind::sub: return a - b;
    case Expr::Kind::mul: return a * b;
    default:
      if (b == 0) return Status::invalid(where + ": size expression divides by zero");
      // Python's floor division.
      return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
  }
}

namespace {

struct Entry {
  const char* name;
  OpFactory make;
};
#define EDGEATTN_GRAPH_ENTRY(name) {#name, make_##name},
constexpr Entry kOps[] = {EDGEATTN_GRAPH_OP_LIST(EDGEATTN_GRAPH_ENTRY)};
#undef EDGEATTN_GRAPH_ENTRY

}  // namespace

OpFactory find_op(const std::string& op) {
  for (const Entry& e : kOps)
    if (op == e.name) return e.make;
  return nullptr;
}

std::vector<std::string> op_names() {
  std::vector<std::string> out;
  for (const Entry& e : kOps) out.emplace_back(e.name);
  for (const std::string& m : module_names()) out.push_back(m);
  return out;
}

}  // namespace edgeattn::graph
