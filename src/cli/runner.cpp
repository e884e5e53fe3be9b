#include "runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ostream>

#include "../scratch.h"
#include "edgeattn/kernels.h"

#if defined(__unix__)
#include <unistd.h>
#endif

namespace edgeattn::cli {

Result<Prepared> prepare(Case c, const Context& ctx, std::size_t max_bytes) {
  const std::string where = c.path + ": " + c.kind + ": ";
  Result<std::vector<OutputSpec>> specs = c.module->check(c.inputs);
  if (!specs.ok()) return Status(specs.status().code(), where + specs.status().message());
  for (const auto& item : c.expected) {
    const std::string& name = item.first;  // (a named copy: lambdas cannot capture bindings in C++17)
    const Value& want = item.second;
    const auto spec = std::find_if(specs->begin(), specs->end(),
                                   [&](const OutputSpec& s) { return s.name == name; });
    if (spec == specs->end())
      return Status::invalid(where + "expected." + name + ": the module has no output '" + name + "'");
    if (want.type() != spec->type || want.shape() != spec->shape)
      return Status::invalid(where + "expected." + name + ": " + value_type_name(want.type()) +
                             " " + want.shape().to_string() + ", the module gives " +
                             value_type_name(spec->type) + " " + spec->shape.to_string());
  }
  Prepared p;
  // Every byte the run will hold (weights, outputs, workspace) is added up
  // and checked against the cap before anything is allocated, so a small
  // file asking for a huge plan is refused at once.
  const auto bytes_of = [](const OutputSpec& s) {
    const std::size_t elem = s.type == ValueType::i64 ? 8 : s.type == ValueType::f32 ? 4 : 1;
    return detail::sat_mul(s.shape.numel(), elem);
  };
  std::size_t outputs = 0;
  for (const OutputSpec& s : specs.value())
    if (!s.on_request || c.expected.count(s.name)) outputs = detail::sat_add(outputs, bytes_of(s));
  const std::size_t ws = c.module->workspace_bytes(c.inputs, ctx), weights = c.module->weight_bytes();
  const std::size_t total = detail::sat_add(detail::sat_add(outputs, ws), weights);
  if (max_bytes && total > max_bytes)
    return Status(StatusCode::out_of_memory,
                  where + "the run needs " + std::to_string(total) + " bytes (weights " +
                      std::to_string(weights) + ", outputs " + std::to_string(outputs) + ", workspace " +
                      std::to_string(ws) + "), more than the " + std::to_string(max_bytes) +
                      " bytes it may allocate");
  for (const OutputSpec& s : specs.value()) {
    if (s.on_request && !c.expected.count(s.name)) continue;
    Result<Value> v = Value::zeros(s.type, s.shape);
    if (!v.ok()) return Status(v.status().code(), where + v.status().message());
    p.outputs[s.name] = std::move(v).value();
  }
  Status st = p.ws.reserve(ws);
  if (!st.ok()) return Status(st.code(), where + st.message());
  p.c = std::move(c);
  return p;
}

std::vector<OutputResult> compare_expected(const Prepared& p) {
  std::vector<OutputResult> out;
  for (const auto& [name, want] : p.c.expected)
    out.push_back({name, compare(p.outputs.at(name), want, p.c.atol, p.c.rtol)});
  return out;
}

int verify_bytes(const std::uint8_t* data, std::size_t size, std::size_t max_bytes) {
  Result<SafetensorsFile> f = SafetensorsFile::from_bytes(data, size, "fuzz");
  if (!f.ok()) return 2;
  Result<Case> c = load_case(f.value());
  if (!c.ok()) return 2;
  const Context ctx{1};
  Result<Prepared> p = prepare(std::move(c).value(), ctx, max_bytes);
  if (!p.ok()) return 2;
  if (!p->c.module->run(ctx, p->c.inputs, p->outputs, p->ws).ok()) return 2;
  for (const auto& r : compare_expected(p.value()))
    if (!r.cmp.ok) return 1;
  return 0;
}

namespace {

struct Options {
  int threads = 0;
  std::string isa;  // empty: EDGEATTN_ISA if set, else the best (the library's own choice)
  double min_time = 1.5;
  bool smoke = false;  // bench: one call per file, no timing (emulators, CI)
  std::vector<std::string> files;
};

// Parses the options both tools share; `bench` adds --min-time.
Result<Options> parse_args(int argc, char** argv, bool bench) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&](const char* flag) -> Result<std::string> {
      const std::string prefix = std::string(flag) + "=";
      if (a.compare(0, prefix.size(), prefix) == 0) return a.substr(prefix.size());
      if (i + 1 >= argc) return Status::invalid(std::string(flag) + " needs a value");
      return std::string(argv[++i]);
    };
    const auto is = [&](const char* flag) {
      return a == flag || a.compare(0, std::strlen(flag) + 1, std::string(flag) + "=") == 0;
    };
    if (is("--threads")) {
      EDGEATTN_ASSIGN_OR_RETURN(v, value("--threads"));
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (*end || n < 1 || n > 1024) return Status::invalid("--threads: '" + v + "' is not 1..1024");
      o.threads = static_cast<int>(n);
    } else if (is("--isa")) {
      EDGEATTN_ASSIGN_OR_RETURN(v, value("--isa"));
      o.isa = v;
    } else if (bench && a == "--smoke") {
      o.smoke = true;
    } else if (bench && is("--min-time")) {
      EDGEATTN_ASSIGN_OR_RETURN(v, value("--min-time"));
      char* end = nullptr;
      o.min_time = std::strtod(v.c_str(), &end);
      if (*end || !(o.min_time > 0)) return Status::invalid("--min-time: '" + v + "' is not a positive number");
    } else if (a == "--help" || a == "-h") {
      return Status::invalid("help");
    } else if (a.size() > 1 && a[0] == '-') {
      return Status::invalid("unknown option " + a);
    } else {
      o.files.push_back(a);
    }
  }
  if (o.files.empty()) return Status::invalid("no case files given");
  return o;
}

int usage(std::ostream& err, const char* tool, bool bench, const Status& why) {
  if (why.message() != "help") err << tool << ": " << why.message() << "\n";
  err << "usage: " << tool << " [--threads N] [--isa auto|scalar|<name>" << (bench ? "" : "|all") << "]"
      << (bench ? " [--min-time SECONDS | --smoke]" : "") << " FILE...\n";
  return 2;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3e", v);
  return buf;
}


// One file loaded and planned.
Result<Prepared> open_case(const std::string& file, const Context& ctx) {
  Result<Case> c = load_case(file);
  if (!c.ok()) return c.status();
  return prepare(std::move(c).value(), ctx, allocation_cap());
}

void print_unusable(std::ostream& err, const std::string& file, const Status& s) {
  const std::string& m = s.message();
  const std::string name = printable(file);
  err << (m.compare(0, name.size(), name) == 0 ? m : name + ": " + m) << "\n";
}

// Options applied to the process: ISA and threads.
Result<Context> apply(const Options& o) {
  if (!o.isa.empty()) {
    Status s = set_isa(o.isa.c_str());
    if (!s.ok()) return Status::invalid("--isa: " + s.message());
  }
  return Context{o.threads};
}

}  // namespace

// What the tools may allocate for one file: half the machine's memory, so
// that a small file asking for a huge plan gets an error instead of the OOM
// killer (0 = no cap where the OS does not say).
std::size_t allocation_cap() {
#if defined(__unix__)
  const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  if (pages > 0 && size > 0)
    return static_cast<std::size_t>(pages) / 2 * static_cast<std::size_t>(size);
#endif
  return 0;
}

int verify_main(int argc, char** argv, std::ostream& out, std::ostream& err) {
  Result<Options> o = parse_args(argc, argv, false);
  if (!o.ok()) return usage(err, "edgeattn-verify", false, o.status());
  // --isa all: every ISA this binary and CPU have, one after another.
  std::vector<std::string> isas{o->isa};
  if (o->isa == "all") {
    isas.clear();
    for (Isa i : available_isas()) isas.emplace_back(isa_name(i));
  }
  int worst = 0;
  for (const std::string& isa : isas) {
    Options one = o.value();
    one.isa = isa;
    Result<Context> ctx = apply(one);
    if (!ctx.ok()) return usage(err, "edgeattn-verify", false, ctx.status());
    const std::string tag = o->isa == "all" ? " isa=" + isa : "";
    for (const std::string& file : o->files) {
      Result<Prepared> p = open_case(file, ctx.value());
      Status run = p.ok() ? p->c.module->run(ctx.value(), p->c.inputs, p->outputs, p->ws) : p.status();
      if (!run.ok()) {
        print_unusable(err, file, run);
        worst = 2;
        continue;
      }
      for (const OutputResult& r : compare_expected(p.value())) {
        out << printable(file) << " " << printable(p->c.kind) << " " << printable(r.name)
            << " max_abs=" << fmt(r.cmp.max_abs) << " max_rel=" << fmt(r.cmp.max_rel)
            << (r.cmp.ok ? " ok" : " FAIL") << tag << "\n";
        if (!r.cmp.ok && worst == 0) worst = 1;
      }
    }
  }
  return worst;
}

int bench_main(int argc, char** argv, std::ostream& out, std::ostream& err) {
  using clock = std::chrono::steady_clock;
  Result<Options> o = parse_args(argc, argv, true);
  if (!o.ok()) return usage(err, "edgeattn-bench", true, o.status());
  Result<Context> ctx = apply(o.value());
  if (!ctx.ok()) return usage(err, "edgeattn-bench", true, ctx.status());
  int worst = 0;
  for (const std::string& file : o->files) {
    Result<Prepared> p = open_case(file, ctx.value());
    const auto call = [&] { return p->c.module->run(ctx.value(), p->c.inputs, p->outputs, p->ws); };
    Status first = p.ok() ? call() : p.status();
    if (!first.ok()) {
      print_unusable(err, file, first);
      worst = 2;
      continue;
    }
    bool ok = true;
    for (const OutputResult& r : compare_expected(p.value())) ok = ok && r.cmp.ok;
    if (o->smoke) {  // one call, checked: the tool works here (no timing)
      out << printable(file) << " " << printable(p->c.kind) << " smoke " << (ok ? "ok" : "FAIL")
          << " isa=" << isa_name(active_isa()) << " threads=" << resolve_threads(ctx.value()) << "\n";
      if (!ok && worst == 0) worst = 1;
      continue;
    }
    // Warm-up: at least 5 calls and 0.3 s (docs/case-format.md).
    const auto w0 = clock::now();
    int warm = 0;
    while (warm < 5 || clock::now() - w0 < std::chrono::milliseconds(300)) {
      (void)call();
      ++warm;
    }
    const double t_call =
        std::chrono::duration<double>(clock::now() - w0).count() / static_cast<double>(warm);
    const auto n = static_cast<std::size_t>(
        std::clamp(o->min_time / std::max(t_call, 1e-9), 25.0, 5000.0));
    std::vector<double> us(n);
    for (double& t : us) {
      const auto t0 = clock::now();
      (void)call();
      t = std::chrono::duration<double, std::micro>(clock::now() - t0).count();
    }
    std::sort(us.begin(), us.end());
    char line[160];
    std::snprintf(line, sizeof line, " median_us=%.3f min_us=%.3f p90_us=%.3f iters=%zu", us[n / 2],
                  us[0], us[std::min(n - 1, n * 9 / 10)], n);
    out << printable(file) << " " << printable(p->c.kind) << line << " isa=" << isa_name(active_isa())
        << " threads=" << resolve_threads(ctx.value()) << " weights=" << p->c.weights
        << " weight_bytes=" << p->c.module->weight_bytes() << (ok ? "" : " FAIL") << "\n";
    if (!ok && worst == 0) worst = 1;
  }
  return worst;
}

}  // namespace edgeattn::cli
