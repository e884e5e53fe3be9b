// edgeattn-run: a model file, .npy inputs by name, outputs printed and
// optionally saved; --time N runs N more times and profiles the nodes
// (--nodes K: the K slowest by name, 10 unless given).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <ostream>

#include "edgeattn/isa.h"
#include "edgeattn/model.h"
#include "edgeattn/npy.h"
#include "../scratch.h"
#include "runner.h"

namespace edgeattn::cli {
namespace {

struct RunOptions {
  std::string model;
  std::map<std::string, std::string> inputs, outputs;  // name -> file
  std::string output;                                   // the only output's file
  int threads = 0, times = 0, nodes = 10;
  std::string isa;
};

Result<std::pair<std::string, std::string>> name_file(const std::string& flag, const std::string& v) {
  const std::size_t eq = v.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
    return Status::invalid(flag + ": '" + v + "' is not NAME=FILE.npy");
  return std::make_pair(v.substr(0, eq), v.substr(eq + 1));
}

Result<int> count(const std::string& flag, const std::string& v, int lo, int hi) {
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end || n < lo || n > hi)
    return Status::invalid(flag + ": '" + v + "' is not " + std::to_string(lo) + ".." + std::to_string(hi));
  return static_cast<int>(n);
}

Result<RunOptions> parse(int argc, char** argv) {
  RunOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool takes = a == "--input" || a == "--output" || a == "--threads" || a == "--isa" || a == "--time" ||
                       a == "--nodes";
    if (takes && i + 1 >= argc) return Status::invalid(a + " needs a value");
    const std::string v = takes ? argv[++i] : "";
    if (a == "--input") {
      EDGEATTN_ASSIGN_OR_RETURN(nf, name_file(a, v));
      o.inputs[nf.first] = nf.second;
    } else if (a == "--output") {
      if (v.find('=') == std::string::npos) o.output = v;
      else {
        EDGEATTN_ASSIGN_OR_RETURN(nf, name_file(a, v));
        o.outputs[nf.first] = nf.second;
      }
    } else if (a == "--threads") {
      EDGEATTN_ASSIGN_OR_RETURN(n, count(a, v, 1, kMaxThreads));
      o.threads = n;
    } else if (a == "--time") {
      EDGEATTN_ASSIGN_OR_RETURN(n, count(a, v, 1, 1000000));
      o.times = n;
    } else if (a == "--nodes") {
      EDGEATTN_ASSIGN_OR_RETURN(n, count(a, v, 0, 1000000));
      o.nodes = n;
    } else if (a == "--isa") {
      o.isa = v;
    } else if (a == "--help" || a == "-h") {
      return Status::invalid("help");
    } else if (!a.empty() && a[0] == '-') {
      return Status::invalid("unknown option " + a);
    } else if (o.model.empty()) {
      o.model = a;
    } else {
      return Status::invalid("one model file only ('" + a + "')");
    }
  }
  if (o.model.empty()) return Status::invalid("no model file given");
  return o;
}

int run_usage(std::ostream& err, const Status& why) {
  if (why.message() != "help") err << "edgeattn-run: " << printable(why.message()) << "\n";
  err << "usage: edgeattn-run MODEL --input NAME=FILE.npy ... [--output FILE.npy | --output "
         "NAME=FILE.npy ...] [--threads N] [--isa auto|scalar|<name>] [--time N [--nodes K]]\n";
  return 2;
}

void print_output(std::ostream& out, const std::string& name, const Value& v) {
  out << printable(name) << " " << value_type_name(v.type()) << " " << v.shape().to_string();
  const std::size_t n = std::min<std::size_t>(v.shape().numel(), 8);
  for (std::size_t i = 0; i < n; ++i) {
    char buf[32];
    if (v.type() == ValueType::f32) std::snprintf(buf, sizeof buf, " %.6g", double(v.f32()[i]));
    else if (v.type() == ValueType::i64) std::snprintf(buf, sizeof buf, " %lld", static_cast<long long>(v.i64()[i]));
    else std::snprintf(buf, sizeof buf, " %d", int(v.mask()[i]));
    out << buf;
  }
  out << (v.shape().numel() > n ? " ..." : "") << "\n";
}

// The median run and each op kind's share of it (with its GFLOP/s where it
// multiplies), over `times` runs, and the `shown` slowest nodes.
Status profile(std::ostream& out, ModelPlan& plan, const Context& ctx, const ValueMap& in,
               ValueMap& outs, Workspace& ws, int times, int shown) {
  std::vector<double> total(static_cast<std::size_t>(times));
  std::map<std::string, double> by_op, by_node, op_flops;
  plan.set_timing(true);
  for (double& t : total) {
    const auto t0 = std::chrono::steady_clock::now();
    EDGEATTN_RETURN_IF_ERROR(plan.run(ctx, in, outs, ws));
    t = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    for (const ModelPlan::NodeTime& nt : plan.node_times()) {
      by_op[nt.op] += nt.ns / 1e3 / times;
      op_flops[nt.op] += nt.flops / times;
      by_node[nt.node] += nt.ns / 1e3 / times;
    }
  }
  std::vector<double> sorted = total;
  std::sort(sorted.begin(), sorted.end());
  char line[160];
  std::snprintf(line, sizeof line, "time: median %.1f us, min %.1f us over %d runs (isa %s, %d threads)\n",
                sorted[sorted.size() / 2], sorted[0], times, isa_name(active_isa()), resolve_threads(ctx));
  out << line;
  std::vector<std::pair<double, std::string>> ops;
  for (const auto& [op, us] : by_op) ops.emplace_back(us, op);
  std::sort(ops.rbegin(), ops.rend());
  double sum = 0;
  for (const auto& [us, op] : ops) sum += us;
  for (const auto& [us, op] : ops) {
    std::snprintf(line, sizeof line, "  %-28s %10.1f us %5.1f%%", op.c_str(), us, 100 * us / std::max(sum, 1e-9));
    out << line;
    if (op_flops[op] > 0) {  // (flops per microsecond: MFLOP/s, shown as GFLOP/s)
      std::snprintf(line, sizeof line, " %8.1f GFLOP/s", op_flops[op] / std::max(us, 1e-9) / 1e3);
      out << line;
    }
    out << "\n";
  }
  // The slowest nodes by name (the exporter's names carry the module path).
  std::vector<std::pair<double, std::string>> nodes;
  for (const auto& [node, us] : by_node) nodes.emplace_back(us, node);
  std::sort(nodes.rbegin(), nodes.rend());
  out << "slowest nodes:\n";
  for (std::size_t i = 0; i < nodes.size() && i < std::size_t(shown); ++i) {
    std::snprintf(line, sizeof line, "  %10.1f us  ", nodes[i].first);
    out << line << printable(nodes[i].second) << "\n";
  }
  return {};
}

Status run(const RunOptions& o, std::ostream& out) {
  if (!o.isa.empty()) {
    const Status s = set_isa(o.isa.c_str());
    if (!s.ok()) return Status::invalid("--isa: " + s.message());
  }
  const Context ctx{o.threads};
  EDGEATTN_ASSIGN_OR_RETURN(model, Model::load(o.model));
  ValueMap inputs;
  std::map<std::string, Shape> shapes;
  for (const auto& [name, file] : o.inputs) {
    EDGEATTN_ASSIGN_OR_RETURN(v, read_npy(file));
    shapes[name] = v.shape();
    inputs[name] = std::move(v);
  }
  EDGEATTN_ASSIGN_OR_RETURN(plan, model.plan(shapes, ctx));
  // Outputs and workspace against the cap before allocating (a hostile
  // file's plan gets an error, not the OOM killer).
  std::size_t need = plan.workspace_bytes();
  for (const OutputSpec& s : plan.outputs())
    need = detail::sat_add(need, detail::sat_mul(s.shape.numel(), value_type_size(s.type)));
  if (allocation_cap() && need > allocation_cap())
    return Status(StatusCode::out_of_memory, o.model + ": the run needs " + std::to_string(need) +
                                                 " bytes of outputs and workspace, more than half this machine's memory");
  ValueMap outputs;
  for (const OutputSpec& s : plan.outputs()) {
    EDGEATTN_ASSIGN_OR_RETURN(v, Value::zeros(s.type, s.shape));
    outputs[s.name] = std::move(v);
  }
  Workspace ws;
  EDGEATTN_RETURN_IF_ERROR(ws.reserve(plan.workspace_bytes()));
  EDGEATTN_RETURN_IF_ERROR(plan.run(ctx, inputs, outputs, ws));
  for (const OutputSpec& s : plan.outputs()) print_output(out, s.name, outputs.at(s.name));
  if (!o.output.empty() && plan.outputs().size() != 1)
    return Status::invalid("--output FILE: the model has " + std::to_string(plan.outputs().size()) +
                           " outputs; name each with --output NAME=FILE.npy");
  if (!o.output.empty()) EDGEATTN_RETURN_IF_ERROR(write_npy(o.output, outputs.begin()->second));
  for (const auto& [name, file] : o.outputs) {
    const auto it = outputs.find(name);
    if (it == outputs.end()) return Status::invalid("--output: the model has no output '" + name + "'");
    EDGEATTN_RETURN_IF_ERROR(write_npy(file, it->second));
  }
  char line[200];
  std::snprintf(line, sizeof line, "memory: weights %zu B, activations %zu B in an arena of %zu B, workspace %zu B\n",
                model.weight_bytes(), plan.activation_bytes(), plan.arena_bytes(), plan.workspace_bytes());
  out << line;
  if (o.times) EDGEATTN_RETURN_IF_ERROR(profile(out, plan, ctx, inputs, outputs, ws, o.times, o.nodes));
  return {};
}

}  // namespace

int run_main(int argc, char** argv, std::ostream& out, std::ostream& err) {
  Result<RunOptions> o = parse(argc, argv);
  if (!o.ok()) return run_usage(err, o.status());
  const Status s = run(o.value(), out);
  if (!s.ok()) {
    err << "edgeattn-run: " << printable(s.message()) << "\n";
    return 2;
  }
  return 0;
}

}  // namespace edgeattn::cli
