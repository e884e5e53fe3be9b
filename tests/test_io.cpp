// The loader: strict JSON, every malformed-file class of docs/case-format.md
// (asserting the error text), parameter/config checks, the verify tool's
// lines and exit codes.
#include <atomic>
#include <algorithm>
#include <limits>
#include <cmath>
#include <sys/stat.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <new>
#include <sstream>

#include "../src/cli/runner.h"
#include "alloc_count.h"
#include "edgeattn/io.h"
#include "test_util.h"

using namespace edgeattn;
using edgeattn::test::g_allocations;
using edgeattn::test::g_counting;
using edgeattn::test::split_ctx;

namespace {

// A safetensors image: 8-byte length, the header text, then `data_bytes`
// bytes (0x00).
std::vector<std::uint8_t> image(const std::string& header, std::size_t data_bytes,
                                std::uint64_t claimed_len = UINT64_MAX) {
  std::vector<std::uint8_t> b(8);
  const std::uint64_t n = claimed_len == UINT64_MAX ? header.size() : claimed_len;
  std::memcpy(b.data(), &n, 8);
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data_bytes, 0);
  return b;
}

std::string error_of(const std::vector<std::uint8_t>& bytes) {
  Result<SafetensorsFile> f = SafetensorsFile::from_bytes(bytes.data(), bytes.size(), "t.safetensors");
  if (!f.ok()) return f.status().message();
  Result<Case> c = load_case(f.value());
  return c.ok() ? std::string("(no error)") : c.status().message();
}

void expect_error(const std::vector<std::uint8_t>& bytes, const std::string& text) {
  const std::string e = error_of(bytes);
  INFO("error: " << e);
  CHECK(e.find("t.safetensors") != std::string::npos);  // names the file
  CHECK(e.find(text) != std::string::npos);
}

const std::string kMeta =
    R"("__metadata__":{"module":"soft_attention","config":"{\"score\":\"dot\"}"})";

}  // namespace

TEST_CASE("JSON: strict RFC 8259") {
  Result<Json> ok = parse_json(R"( {"a": [1, -2.5e3, true, null], "b": "x\u00e9\ud83d\ude00"} )");
  REQUIRE(ok.ok());
  CHECK(ok->find("a")->elements()[1].as_number() == -2500.0);
  CHECK(ok->find("b")->as_string() == "x\xc3\xa9\xf0\x9f\x98\x80");
  struct Bad {
    const char* text;
    const char* why;
  };
  const Bad bad[] = {{"{\"a\":1,}", "expected a string key"},
                     {"[1,]", "invalid value"},
                     {"{\"a\":1,\"a\":2}", "duplicate key \"a\""},
                     {"01", "unexpected data"},
                     {"1.", "invalid number"},
                     {"NaN", "invalid value"},
                     {"\"\\u0000\"", "NUL"},
                     {"\"\\ud800\"", "unpaired surrogate"},
                     {"\"\xc0\xaf\"", "invalid UTF-8"},
                     {"\"\xed\xa0\x80\"", "invalid UTF-8"},
                     {"\"a\tb\"", "control character"},
                     {"// c\n1", "invalid value"},
                     {"1e999", "out of range"},
                     {"", "unexpected end"}};
  for (const Bad& b : bad) {
    Result<Json> r = parse_json(b.text);
    INFO(b.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find(b.why) != std::string::npos);
  }
  const std::string nul_outside("1\0", 2);
  CHECK_FALSE(parse_json(nul_outside).ok());
  std::string deep(64, '['), deeper(65, '[');
  deep += std::string(64, ']');
  deeper += std::string(65, ']');
  CHECK(parse_json(deep).ok());
  Result<Json> too_deep = parse_json(deeper);
  REQUIRE_FALSE(too_deep.ok());
  CHECK(too_deep.status().message().find("deeper than 64") != std::string::npos);
}

TEST_CASE("safetensors: every malformed class is rejected with a message") {
  const std::string t = R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  // valid baseline
  CHECK(error_of(image("{" + kMeta + "," + t + "}", 8)).find("input 'query'") == std::string::npos);
  expect_error({1, 2, 3}, "too short");
  expect_error(image("{}", 0, 1000), "header length 1000 runs past the end");
  expect_error(image("[1,2]", 0), "header is not a JSON object");
  expect_error(image("{\"a\":1,\"a\":2}", 0), "duplicate key");
  expect_error(image(std::string("{\"a\0\":1}", 9), 0), "NUL");
  expect_error(image("{\"\xff\":1}", 0), "invalid UTF-8");
  expect_error(image(std::string(70, '[') + std::string(70, ']'), 0), "deeper than 64");
  expect_error(image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4), "run past");
  expect_error(image(R"({"x":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8), "reversed");
  expect_error(image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
               "overlaps");
  expect_error(image(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "gap");
  expect_error(image(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8), "belong to no tensor");
  expect_error(image(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "is 12 bytes but data_offsets span 8");
  expect_error(image(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}})", 8),
               "element count overflows");
  expect_error(image(R"({"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8), "unknown dtype 'Q4'");
  expect_error(image(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", 8), "non-negative integer");
  expect_error(image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"z":1}})", 8), "exactly dtype");
  expect_error(image("{" + t + "}", 8), "no __metadata__");
  expect_error(image(R"({"__metadata__":{"module":1},)" + t + "}", 8), "is a number, not a string");
  expect_error(image(R"({"__metadata__":{"module":"transformer","config":"{}"},)" + t + "}", 8),
               "unknown module 'transformer'");
  expect_error(image(R"({"__metadata__":{"module":"soft_attention","config":"[1]"},)" + t + "}", 8),
               "not a JSON object");
  expect_error(image(R"({"__metadata__":{"module":"soft_attention","config":"{\"score\":7}"},)" + t + "}", 8),
               "config 'score': expected a string");
  expect_error(image(R"({"__metadata__":{"module":"multihead_attention","config":"{\"embed_dim\":0,\"num_heads\":1}"},)" + t + "}", 8),
               "'embed_dim': must be a positive integer");
  expect_error(image(R"({"__metadata__":{"module":"soft_attention","config":"{\"score\":\"general\"}"},)" + t + "}", 8),
               "param.linear_in.weight: missing");
}

TEST_CASE("parameters: wrong shape and wrong dtype are named with both shapes") {
  const std::string meta =
      R"({"__metadata__":{"module":"multihead_attention","config":"{\"embed_dim\":2,\"num_heads\":1}"},)";
  const std::string bad_shape =
      meta + R"("param.in_proj_weight":{"dtype":"F32","shape":[2,6],"data_offsets":[0,48]}})";
  expect_error(image(bad_shape, 48), "param.in_proj_weight: expected shape [6, 2], found [2, 6]");
  const std::string bad_dtype =
      meta + R"("param.in_proj_weight":{"dtype":"I64","shape":[6,2],"data_offsets":[0,96]}})";
  expect_error(image(bad_dtype, 96), "tensor 'param.in_proj_weight': dtype I64, expected F32");
}

TEST_CASE("inputs: missing, wrong dtype and wrong shape are unusable, named") {
  const std::string meta = "{" + kMeta + ",";
  const auto prepared_error = [](const std::vector<std::uint8_t>& b) {
    Result<SafetensorsFile> f = SafetensorsFile::from_bytes(b.data(), b.size(), "t.safetensors");
    REQUIRE(f.ok());
    Result<Case> c = load_case(f.value());
    REQUIRE_MESSAGE(c.ok(), c.status().message());
    Result<cli::Prepared> p = cli::prepare(std::move(c).value(), Context{1});
    return p.ok() ? std::string("(no error)") : p.status().message();
  };
  // Each image ends with an expected output at byte `end` (a case needs one).
  const auto with_expected = [](const std::string& entries, std::size_t end) {
    return image(entries + R"(,"expected.context":{"dtype":"F32","shape":[1,1,2],"data_offsets":[)" +
                     std::to_string(end) + "," + std::to_string(end + 8) + "]}}",
                 end + 8);
  };
  const std::string q = R"("input.query":{"dtype":"F32","shape":[1,1,2],"data_offsets":[0,8]})";
  const std::string k = R"("input.keys":{"dtype":"F32","shape":[1,3,2],"data_offsets":[8,32]})";
  const std::string v = R"("input.values":{"dtype":"F32","shape":[1,3,2],"data_offsets":[32,56]})";
  std::string e = prepared_error(with_expected(meta + q + "," + k, 32));
  CHECK(e.find("t.safetensors: soft_attention: input 'values': missing") != std::string::npos);
  const std::string bad_mask = R"("input.mask":{"dtype":"F32","shape":[1,1,3],"data_offsets":[56,68]})";
  e = prepared_error(with_expected(meta + q + "," + k + "," + v + "," + bad_mask, 68));
  CHECK(e.find("input 'mask': dtype F32, expected BOOL") != std::string::npos);
  const std::string short_mask = R"("input.mask":{"dtype":"BOOL","shape":[1,1,2],"data_offsets":[56,58]})";
  e = prepared_error(with_expected(meta + q + "," + k + "," + v + "," + short_mask, 58));
  CHECK(e.find("mask [1, 1, 2] must be [1, 1 or 1, 3]") != std::string::npos);
  const std::string bad_expected = R"("expected.context":{"dtype":"F32","shape":[1,2,2],"data_offsets":[56,72]})";
  e = prepared_error(image(meta + q + "," + k + "," + v + "," + bad_expected + "}", 72));
  CHECK(e.find("expected.context: F32 [1, 2, 2], the module gives F32 [1, 1, 2]") != std::string::npos);
  const std::string ok_expected = R"("expected.context":{"dtype":"F32","shape":[1,1,2],"data_offsets":[56,64]})";
  CHECK(prepared_error(image(meta + q + "," + k + "," + v + "," + ok_expected + "}", 64)) == "(no error)");
}

TEST_CASE("a small file asking for a huge plan is unusable, not an OOM") {
  // Additive attention of 60000 one-wide queries and keys: 1 MB of inputs,
  // 14.4 GB of scores to materialise.
  const std::size_t n = 60000, bytes = n * 4;
  const std::string meta = R"({"__metadata__":{"module":"soft_attention","config":"{\"score\":\"additive\"}"},)";
  std::string h = meta;
  std::size_t off = 0;
  const auto entry = [&](const std::string& name, const std::string& shape, std::size_t size) {
    h += "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(off) + "," + std::to_string(off + size) + "]},";
    off += size;
  };
  for (const char* p : {"param.query_proj.weight", "param.key_proj.weight", "param.v.weight"})
    entry(p, "[1,1]", 4);
  entry("param.query_proj.bias", "[1]", 4);
  for (const char* in : {"input.query", "input.keys", "input.values", "expected.context"})
    entry(in, "[1," + std::to_string(n) + ",1]", bytes);
  h.back() = '}';
  const std::vector<std::uint8_t> b = image(h, off);
  Result<SafetensorsFile> f = SafetensorsFile::from_bytes(b.data(), b.size(), "big.safetensors");
  REQUIRE_MESSAGE(f.ok(), f.status().message());
  Result<Case> c = load_case(f.value());
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  Result<cli::Prepared> p = cli::prepare(std::move(c).value(), Context{1}, std::size_t(1) << 30);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().code() == StatusCode::out_of_memory);
  CHECK(p.status().message().find("bytes it may allocate") != std::string::npos);
}

TEST_CASE("F16 and BF16 parameters are converted at load") {
  // 1.0, -2.0, 65504 (max half), 2^-24 (smallest subnormal half)
  const std::uint16_t half[4] = {0x3C00, 0xC000, 0x7BFF, 0x0001};
  const std::uint16_t bf[2] = {0x3F80, 0xC0A0};  // 1.0, -5.0
  std::vector<std::uint8_t> b = image(
      R"({"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}})", 0);
  b.insert(b.end(), reinterpret_cast<const std::uint8_t*>(half), reinterpret_cast<const std::uint8_t*>(half) + 8);
  b.insert(b.end(), reinterpret_cast<const std::uint8_t*>(bf), reinterpret_cast<const std::uint8_t*>(bf) + 4);
  Result<SafetensorsFile> f = SafetensorsFile::from_bytes(b.data(), b.size(), "h.safetensors");
  REQUIRE_MESSAGE(f.ok(), f.status().message());
  Result<Tensor> h = f->read_f32(*f->find("h"));
  REQUIRE(h.ok());
  CHECK(h->data()[0] == 1.0f);
  CHECK(h->data()[1] == -2.0f);
  CHECK(h->data()[2] == 65504.0f);
  CHECK(h->data()[3] == std::ldexp(1.0f, -24));
  Result<Tensor> bt = f->read_f32(*f->find("b"));
  REQUIRE(bt.ok());
  CHECK(bt->data()[1] == -5.0f);
}

TEST_CASE("typed weights: I8 with its row scales kept as stored, bad scales and halves named") {
  // w [2, 3] int8 and w.scale [2]; g [2, 2] F16
  const std::int8_t q[6] = {1, -2, 127, -128, 0, 5};
  const float scale[2] = {0.5f, 0.25f};
  const std::uint16_t half[4] = {0x3C00, 0xC000, 0x0001, 0x7BFF};
  const auto with = [&](const std::string& scale_entry, const float* sc, std::uint16_t last_half) {
    std::vector<std::uint8_t> b = image(
        R"({"w":{"dtype":"I8","shape":[2,3],"data_offsets":[0,6]},)" + scale_entry +
            R"("g":{"dtype":"F16","shape":[2,2],"data_offsets":[14,22]}})", 0);
    b.insert(b.end(), reinterpret_cast<const std::uint8_t*>(q), reinterpret_cast<const std::uint8_t*>(q) + 6);
    b.insert(b.end(), reinterpret_cast<const std::uint8_t*>(sc), reinterpret_cast<const std::uint8_t*>(sc) + 8);
    std::uint16_t h[4] = {half[0], half[1], half[2], last_half};
    b.insert(b.end(), reinterpret_cast<const std::uint8_t*>(h), reinterpret_cast<const std::uint8_t*>(h) + 8);
    return b;
  };
  const std::string good = R"("w.scale":{"dtype":"F32","shape":[2],"data_offsets":[6,14]},)";
  std::vector<std::uint8_t> b = with(good, scale, 0x7BFF);
  Result<SafetensorsFile> f = SafetensorsFile::from_bytes(b.data(), b.size(), "q.safetensors");
  REQUIRE_MESSAGE(f.ok(), f.status().message());
  Result<Tensor> w = f->read_weight(*f->find("w"));
  REQUIRE_MESSAGE(w.ok(), w.status().message());
  CHECK(w->data()[2] == 127 * 0.5f);
  CHECK(w->data()[3] == -128 * 0.25f);
  REQUIRE(w->stored());
  CHECK(w->stored()->type() == WeightType::i8);
  CHECK(w->stored()->view().scale[1] == 0.25f);
  Result<Tensor> g = f->read_weight(*f->find("g"));
  REQUIRE(g.ok());
  CHECK(g->stored()->type() == WeightType::f16);
  CHECK(g->data()[2] == std::ldexp(1.0f, -24));
  const auto error = [](const std::vector<std::uint8_t>& bytes, const char* name) {
    Result<SafetensorsFile> file = SafetensorsFile::from_bytes(bytes.data(), bytes.size(), "q.safetensors");
    REQUIRE(file.ok());
    Result<Tensor> t = file->read_weight(*file->find(name));
    REQUIRE_FALSE(t.ok());
    return t.status().message();
  };
  CHECK(error(with(R"("x":{"dtype":"F32","shape":[2],"data_offsets":[6,14]},)", scale, 0x7BFF), "w")
            .find("tensor 'w': int8 weights need their row scales in 'w.scale'") != std::string::npos);
  CHECK(error(with(R"("w.scale":{"dtype":"F32","shape":[1,2],"data_offsets":[6,14]},)", scale, 0x7BFF), "w")
            .find("must be F32 [2], found F32 [1, 2]") != std::string::npos);
  const float bad[2] = {0.5f, -1.0f};
  CHECK(error(with(good, bad, 0x7BFF), "w").find("q.safetensors: tensor 'w': scale of row 1 is -1") !=
        std::string::npos);
  CHECK(error(with(good, scale, 0x7C00), "g").find("tensor 'g': element [1, 1] is not finite") !=
        std::string::npos);
}

namespace {
std::string data_dir() { return EDGEATTN_CASES_DIR; }

int run_verify(std::vector<std::string> args, std::string& out, std::string& err) {
  args.insert(args.begin(), "edgeattn-verify");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream o, e;
  const int rc = cli::verify_main(static_cast<int>(argv.size()), argv.data(), o, e);
  out = o.str();
  err = e.str();
  (void)set_isa("auto");
  return rc;
}
}  // namespace

TEST_CASE("edgeattn-verify: lines, exit codes, one bad file does not stop the others") {
  const std::string good = data_dir() + "/soft_dot_b2.case.safetensors";
  const std::string bad = "missing.case.safetensors";
  std::string out, err;
  CHECK(run_verify({good}, out, err) == 0);
  CHECK(out.find(good + " soft_attention context max_abs=") == 0);
  CHECK(out.find(" ok\n") != std::string::npos);
  CHECK(run_verify({bad, good}, out, err) == 2);
  CHECK(err.find("missing.case.safetensors: cannot open") != std::string::npos);
  CHECK(out.find(good + " soft_attention weights") != std::string::npos);  // still checked
  CHECK(run_verify({"--isa", "scalar", "--threads", "2", good}, out, err) == 0);
  CHECK(run_verify({"--isa", "avx1024", good}, out, err) == 2);
  CHECK(run_verify({"--threads", "0", good}, out, err) == 2);
  CHECK(run_verify({}, out, err) == 2);

  // A case whose expected output is wrong: FAIL and exit 1.
  Result<SafetensorsFile> f = SafetensorsFile::open(good);
  REQUIRE(f.ok());
  std::ifstream in(good, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  const TensorEntry* e = f->find("expected.context");
  REQUIRE(e);
  std::uint64_t hlen = 0;
  std::memcpy(&hlen, bytes.data(), 8);
  float* first = reinterpret_cast<float*>(bytes.data() + 8 + hlen + e->begin);
  *first += 1.0f;
  const std::string tampered = "tampered.case.safetensors";
  std::ofstream(tampered, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  CHECK(run_verify({tampered}, out, err) == 1);
  CHECK(out.find("context max_abs=1.0") != std::string::npos);
  CHECK(out.find("FAIL") != std::string::npos);
  std::remove(tampered.c_str());
}

namespace {
// The bytes of `path` with `from` replaced by `to` in its header.
std::vector<std::uint8_t> with_header_edit(const std::string& path, const std::string& from,
                                           const std::string& to) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> b((std::istreambuf_iterator<char>(in)), {});
  std::uint64_t n = 0;
  std::memcpy(&n, b.data(), 8);
  std::string header(b.begin() + 8, b.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  const std::size_t at = header.find(from);
  REQUIRE(at != std::string::npos);
  header.replace(at, from.size(), to);
  std::vector<std::uint8_t> out = image(header, 0);
  out.insert(out.end(), b.begin() + 8 + static_cast<std::ptrdiff_t>(n), b.end());
  return out;
}

bool has_control(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}
}  // namespace

TEST_CASE("hostile files: a FIFO is refused at once, not waited on") {
  const std::string fifo = "edgeattn_test.fifo";
  std::remove(fifo.c_str());
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  Result<SafetensorsFile> f = SafetensorsFile::open(fifo);
  std::remove(fifo.c_str());
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().message().find("not a regular file") != std::string::npos);
}

TEST_CASE("hostile files: control characters from the file are escaped in every message") {
  const std::string forged = "x\\u001b[2K\\rsoft_dot_b2.case.safetensors soft_attention context ok\\n";
  const std::string e = error_of(image("{\"" + forged + R"(":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8));
  INFO(e);
  CHECK(e.find("unknown dtype") != std::string::npos);
  CHECK_FALSE(has_control(e));
  CHECK(e.find("\\x1b[2K\\x0dsoft_dot_b2") != std::string::npos);
  const std::string kind = error_of(image(R"({"__metadata__":{"module":"evil\n ok","config":"{}"}})", 0));
  CHECK(kind.find("unknown module 'evil\\x0a ok'") != std::string::npos);
  CHECK(printable("a\tb\x7f") == "a\\x09b\\x7f");
  CHECK(Status::invalid("line\nbreak").message() == "line\\x0abreak");
}

TEST_CASE("hostile files: integers only where the format says integer, limits as stated") {
  expect_error(image(R"({"x":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", 8),
               "shape has an entry that is not a non-negative integer");
  expect_error(image(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0.0,8e0]}})", 8),
               "data_offsets is not two non-negative integers");
  const std::string t = R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  expect_error(image(R"({"__metadata__":{"module":"eca","config":"{\"channels\":4,\"kernel_size\":3.0}"},)" + t + "}", 8),
               "'kernel_size': expected an integer");
  expect_error(image(R"({"__metadata__":{"module":"eca","config":"{\"channels\":2147483648,\"kernel_size\":3}"},)" + t + "}", 8),
               "'channels': must be a positive integer below 2^31, found 2147483648");
  // 2^31 - 1 is below the limit: refused later, by the missing parameter.
  expect_error(image(R"({"__metadata__":{"module":"eca","config":"{\"channels\":2147483647,\"kernel_size\":3}"},)" + t + "}", 8),
               "param.conv.weight: missing");
  Result<Json> j = parse_json("[3, 3.0, 3e0, -0, 9007199254740993]");
  REQUIRE(j.ok());
  CHECK(j->elements()[0].is_integer());
  CHECK_FALSE(j->elements()[1].is_integer());
  CHECK_FALSE(j->elements()[2].is_integer());
  CHECK(j->elements()[3].is_integer());
  CHECK_FALSE(j->elements()[4].is_integer());  // not exact in a double
}

TEST_CASE("hostile files: a case with nothing to compare is unusable; a model file is named as one") {
  const std::string q = R"("input.query":{"dtype":"F32","shape":[1,1,2],"data_offsets":[0,8]})";
  expect_error(image("{" + kMeta + "," + q + "}", 8), "nothing to compare: the case has no expected.* tensors");
  expect_error(image("{" + kMeta + R"(,"param.x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8),
               "this is a model file (no input.* or expected.* tensors), not a case");
  std::string out, err;
  const std::string model = "model_only.safetensors";
  const std::vector<std::uint8_t> b = image("{" + kMeta + "}", 0);
  std::ofstream(model, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  CHECK(run_verify({model}, out, err) == 2);
  CHECK(err.find("this is a model file") != std::string::npos);
  CHECK(out.empty());
  std::remove(model.c_str());
}

TEST_CASE("hostile files: header size and tensor count are capped before parsing") {
  const std::string big = R"({"__metadata__":{"a":")" + std::string(kSafetensorsMaxHeaderBytes, 'x') + "\"}}";
  expect_error(image(big, 0), "more than the 4194304 this loader reads");
  std::string many = "{";
  for (std::size_t i = 0; i <= kSafetensorsMaxTensors; ++i)
    many += "\"t" + std::to_string(i) + R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)";
  many.back() = '}';
  REQUIRE(many.size() < kSafetensorsMaxHeaderBytes);
  expect_error(image(many, 0), "65537 tensors, more than the 65536 this loader reads");
}

TEST_CASE("typed weights: a module holds them in the file's type; an unknown type is named") {
  // W8 (hidden 64: rows of 64, no lane-group padding); its float32 model
  // also keeps GEMM-packed copies where the ISA blocks
  const auto bytes_of = [](const std::string& name) {
    Result<std::unique_ptr<Module>> m = load_module(std::string(EDGEATTN_BENCH_CASES_DIR) + "/" + name + ".case.safetensors");
    REQUIRE_MESSAGE(m.ok(), m.status().message());
    return static_cast<double>(m.value()->weight_bytes());
  };
  const double f32 = bytes_of("W8_lstm96_attn");
  CHECK(bytes_of("W8_lstm96_attn_bf16") < 0.6 * f32);
  CHECK(bytes_of("W8_lstm96_attn_int8") < 0.35 * f32);
  const std::vector<std::uint8_t> b = with_header_edit(data_dir() + "/gru_bi_l2_h0_lengths_int8.case.safetensors",
                                                       "\"weights\":\"int8\"", "\"weights\":\"int4\"");
  Result<SafetensorsFile> f = SafetensorsFile::from_bytes(b.data(), b.size(), "w.safetensors");
  REQUIRE_MESSAGE(f.ok(), f.status().message());
  Result<Case> c = load_case(f.value());
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message().find("w.safetensors: __metadata__ weights: unknown weight type 'int4'") !=
        std::string::npos);
}

TEST_CASE("hostile files: weights, outputs and workspace are checked against the cap before any allocation") {
  // The golden seq2seq case asking for 10^9 decoder steps: 8 GB of tokens.
  const std::vector<std::uint8_t> b = with_header_edit(data_dir() + "/seq2seq_additive.case.safetensors",
                                                       "\\\"max_len\\\": 6", "\\\"max_len\\\": 1000000000");
  Result<SafetensorsFile> f = SafetensorsFile::from_bytes(b.data(), b.size(), "long.safetensors");
  REQUIRE_MESSAGE(f.ok(), f.status().message());
  Result<Case> c = load_case(f.value());
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  c->expected.clear();  // (its expected tokens are 6 long: that check would refuse it first)
  Result<cli::Prepared> p = cli::prepare(std::move(c).value(), Context{1}, std::size_t(1) << 30);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().code() == StatusCode::out_of_memory);
  // (on a 32-bit target the byte count saturates at SIZE_MAX)
  const std::string outputs = sizeof(std::size_t) == 8 ? "outputs 8000000000" : "outputs 4294967295";
  CHECK(p.status().message().find(outputs) != std::string::npos);
}

TEST_CASE("compare: infinities and NaN as torch.allclose (equal_nan=False)") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const auto value = [](std::initializer_list<float> v) {
    Value x = Value::zeros(ValueType::f32, Shape{v.size()}).value();
    std::copy(v.begin(), v.end(), x.f32());
    return x;
  };
  Comparison same_inf = compare(value({inf, -inf, 1.0f}), value({inf, -inf, 1.0f}), 1e-5, 1e-4);
  CHECK(same_inf.ok);
  CHECK(same_inf.max_abs == 0.0);
  CHECK_FALSE(compare(value({inf}), value({-inf}), 1e-5, 1e-4).ok);
  CHECK_FALSE(compare(value({1.0f}), value({inf}), 1e-5, 1e-4).ok);
  const Comparison both_nan = compare(value({nan, 1.0f}), value({nan, 1.0f}), 1e-5, 1e-4);
  CHECK_FALSE(both_nan.ok);
  CHECK(std::isnan(both_nan.max_abs));
  CHECK_FALSE(compare(value({1.0f, nan}), value({1.0f, 2.0f}), 1e-5, 1e-4).ok);
}

TEST_CASE("model files: load_module from a case and from a state_dict prefix") {
  const std::string path = data_dir() + "/mha_e16_h4_padded.case.safetensors";
  Result<std::unique_ptr<Module>> m = load_module(path);
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  CHECK(std::string(m.value()->kind()) == "multihead_attention");
  // Parameters plus their copies packed for the GEMM (size depends on the ISA).
  const std::size_t params = (3 * 16 * 16 + 3 * 16 + 16 * 16 + 16) * 4;
  CHECK(m.value()->weight_bytes() >= params);
  CHECK(m.value()->weight_bytes() <= params + 4 * 32 * 16 * 4);
  Result<std::unique_ptr<Module>> sub =
      load_module(path, "multihead_attention", R"({"embed_dim": 16, "num_heads": 4})", "param.");
  CHECK(sub.ok());
  Result<std::unique_ptr<Module>> wrong =
      load_module(path, "multihead_attention", R"({"embed_dim": 8, "num_heads": 4})", "param.");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().message().find("expected shape [24, 8], found [48, 16]") != std::string::npos);
}

TEST_CASE("a planned run allocates nothing: every golden case, 1 and 2 threads") {
  std::vector<std::string> files;
  if (DIR* d = opendir(EDGEATTN_CASES_DIR)) {
    while (dirent* e = readdir(d))
      if (std::strstr(e->d_name, ".case.safetensors")) files.push_back(e->d_name);
    closedir(d);
  }
  REQUIRE(files.size() > 40);
  for (const std::string& f : files) {
    CAPTURE(f);
    for (int threads : {1, 2}) {
      Result<Case> c = load_case(std::string(EDGEATTN_CASES_DIR) + "/" + f);
      REQUIRE(c.ok());
      Result<cli::Prepared> p = cli::prepare(std::move(c).value(), split_ctx(threads));
      REQUIRE(p.ok());
      cli::Prepared& pr = p.value();
      REQUIRE(pr.c.module->run(split_ctx(threads), pr.c.inputs, pr.outputs, pr.ws).ok());  // warm-up
      g_allocations = 0;
      g_counting = true;
      const Status st = pr.c.module->run(split_ctx(threads), pr.c.inputs, pr.outputs, pr.ws);
      g_counting = false;
      CHECK(st.ok());
      CHECK(g_allocations == 0);
    }
  }
}
