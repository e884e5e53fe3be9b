#include <cmath>
#include <cstdint>

#include "edgeattn/weights.h"
#include "test_util.h"

using namespace edgeattn;

TEST_CASE("Shape and contiguous views") {
  const Shape s{2, 3, 5};
  CHECK(s.rank == 3);
  CHECK(s.numel() == 30);
  CHECK(s.to_string() == "[2, 3, 5]");
  CHECK(Shape{} .numel() == 1);
  std::vector<float> data(30);
  for (std::size_t i = 0; i < 30; ++i) data[i] = float(i);
  View v(data.data(), s);
  CHECK(v.stride(0) == 15);
  CHECK(v.stride(1) == 5);
  CHECK(v.stride(2) == 1);
  CHECK(v.is_contiguous());
  CHECK(v(1, 2, 3) == 28.0f);
  const View row = v.select(1);
  CHECK(row.rank() == 2);
  CHECK(row(2, 3) == 28.0f);
  ConstView cv = v;  // mutable -> const
  CHECK(cv(0, 1, 0) == 5.0f);
}

TEST_CASE("strided views: a transposed view is not contiguous") {
  std::vector<float> data(6);
  const std::ptrdiff_t st[] = {1, 3};
  View t(data.data(), Shape{3, 2}, st);
  CHECK_FALSE(t.is_contiguous());
  t(2, 1) = 9.0f;
  CHECK(data[5] == 9.0f);
  const std::ptrdiff_t bcast[] = {0, 1};  // size-1 axes do not count
  CHECK(View(data.data(), Shape{1, 6}, bcast).is_contiguous());
}

TEST_CASE("AlignedBuffer and Tensor are 64-byte aligned and zeroed") {
  Result<AlignedBuffer> b = AlignedBuffer::allocate(100);
  REQUIRE(b.ok());
  CHECK(reinterpret_cast<std::uintptr_t>(b->data()) % 64 == 0);
  CHECK(b->bytes() == 128);
  Result<Tensor> t = Tensor::zeros(Shape{3, 7});
  REQUIRE(t.ok());
  CHECK(reinterpret_cast<std::uintptr_t>(t->data()) % 64 == 0);
  for (std::size_t i = 0; i < 21; ++i) CHECK(t->data()[i] == 0.0f);
  CHECK(t->view().shape() == Shape{3, 7});
  Result<AlignedBuffer> huge = AlignedBuffer::allocate(SIZE_MAX - 8);
  CHECK(huge.status().code() == StatusCode::out_of_memory);
}

TEST_CASE("Workspace: aligned slices, reset, and nullptr instead of growing") {
  Workspace ws;
  REQUIRE(ws.reserve(256).ok());
  float* a = ws.take<float>(3);
  float* b = ws.take<float>(20);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(reinterpret_cast<std::uintptr_t>(a) % 64 == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(b) % 64 == 0);
  CHECK(ws.used() == workspace_bytes_for<float>(3) + workspace_bytes_for<float>(20));
  CHECK(ws.take<float>(1000) == nullptr);  // never allocates on demand
  CHECK(ws.take<float>(SIZE_MAX / 2) == nullptr);  // no overflow either
  ws.reset();
  CHECK(ws.take<float>(3) == a);
  alignas(64) static unsigned char arena[200];
  Workspace attached;
  attached.attach(arena + 1, 199);  // misaligned start gets aligned
  float* c = attached.take<float>(16);
  REQUIRE(c);
  CHECK(reinterpret_cast<std::uintptr_t>(c) % 64 == 0);
  CHECK(attached.take<float>(64) == nullptr);
}

TEST_CASE("Workspace: sizes that would wrap give null, and workspace_bytes_for saturates") {
  Workspace ws;
  REQUIRE(ws.reserve(256).ok());
  CHECK(ws.take<double>(SIZE_MAX / 4) == nullptr);  // count * 8 wraps to a small number
  CHECK(ws.take_bytes(SIZE_MAX - 3) == nullptr);
  CHECK(ws.used() == 0);
  CHECK(workspace_bytes_for<float>(SIZE_MAX / 2) == SIZE_MAX);
  CHECK(Shape{SIZE_MAX / 2, 4}.numel() == SIZE_MAX);  // numel saturates too
  CHECK(Shape{SIZE_MAX, 0}.numel() == 0);
  CHECK(ws.reserve(SIZE_MAX).code() == StatusCode::out_of_memory);
}

#if defined(__SANITIZE_ADDRESS__)
#define EDGEATTN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EDGEATTN_TEST_ASAN 1
#endif
#endif
#ifdef EDGEATTN_TEST_ASAN
#include <sanitizer/asan_interface.h>
TEST_CASE("Workspace (sanitizer build): free bytes and slice padding are poisoned") {
  Workspace ws;
  REQUIRE(ws.reserve(512).ok());
  unsigned char* a = static_cast<unsigned char*>(ws.take_bytes(10));
  REQUIRE(a);
  CHECK_FALSE(__asan_address_is_poisoned(a + 9));
  CHECK(__asan_address_is_poisoned(a + 10));  // the padding up to 64 bytes
  CHECK(__asan_address_is_poisoned(a + 63));
  CHECK(__asan_address_is_poisoned(a + 64));  // not yet taken
  unsigned char* b = static_cast<unsigned char*>(ws.take_bytes(64));
  CHECK_FALSE(__asan_address_is_poisoned(b + 63));
  ws.rewind(64);
  CHECK(__asan_address_is_poisoned(b));  // given back
  alignas(64) static unsigned char arena[256];
  {
    Workspace attached;
    attached.attach(arena, sizeof arena);
    CHECK(__asan_address_is_poisoned(arena));
  }
  CHECK_FALSE(__asan_address_is_poisoned(arena));  // the caller's memory is left usable
}
#endif

TEST_CASE("Status and Result carry the message") {
  const Status s = Status::invalid("tensor 'x': expected [2, 3], found [3, 2]");
  CHECK_FALSE(s.ok());
  CHECK(s.to_string() == "invalid_argument: tensor 'x': expected [2, 3], found [3, 2]");
  Result<int> r = Status(StatusCode::io_error, "model.safetensors: no such file");
  CHECK_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::io_error);
  Result<int> v = 7;
  REQUIRE(v.ok());
  CHECK(v.value() == 7);
  CHECK(std::string(EDGEATTN_VERSION_STRING).size() >= 5);
  CHECK(EDGEATTN_VERSION == EDGEATTN_VERSION_MAJOR * 10000 + EDGEATTN_VERSION_MINOR * 100 +
                                EDGEATTN_VERSION_PATCH);
}

// ---- typed weights (weights.h) ----

TEST_CASE("weights: bf16 and f16 conversions round to nearest even and are exact back") {
  CHECK(float_to_bf16(1.0f) == 0x3F80);
  CHECK(float_to_bf16(1.00390625f) == 0x3F80);   // halfway: to even
  CHECK(float_to_bf16(1.01171875f) == 0x3F82);   // halfway: to even (up)
  CHECK(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
  CHECK(float_to_f16(1.0f) == 0x3C00);
  CHECK(float_to_f16(65504.0f) == 0x7BFF);
  CHECK(float_to_f16(65519.0f) == 0x7BFF);
  CHECK(float_to_f16(65520.0f) == 0x7C00);       // past the largest half: inf
  CHECK(float_to_f16(0x1p-24f) == 0x0001);        // smallest subnormal
  CHECK(float_to_f16(0x1p-25f) == 0x0000);        // halfway to 0: to even
  CHECK(float_to_f16(-0x1.8p-24f) == 0x8002);
  for (std::uint32_t h = 0; h < 0x10000; ++h) {  // every finite half survives the round trip
    if ((h & 0x7C00) == 0x7C00) continue;
    REQUIRE(float_to_f16(f16_to_float(static_cast<std::uint16_t>(h))) == h);
    REQUIRE(float_to_bf16(bf16_to_float(static_cast<std::uint16_t>(h))) == h);
  }
}

TEST_CASE("weights: quantize per type; int8 per row with scale max|w| / 127") {
  const std::vector<float> w = {0.5f, -1.0f, 0.25f, 0.0f, 0.0f, 0.0f, 3.0f, 1e-3f, -2.0f};
  const ConstView v(w.data(), Shape{3, 3});
  for (WeightType t : {WeightType::f32, WeightType::bf16, WeightType::f16}) {
    const Result<Weights> q = Weights::quantize(v, t, "w");
    REQUIRE(q.ok());
    CHECK(q->at(0, 1) == -1.0f);
    CHECK(q->element_bytes() == 9 * weight_type_bytes(t));
  }
  const Result<Weights> q = Weights::quantize(v, WeightType::i8, "w");
  REQUIRE(q.ok());
  CHECK(q->view().scale[0] == 1.0f / 127.0f);
  CHECK(q->view().scale[1] == 1.0f);  // an all-zero row
  CHECK(q->at(0, 1) == -127.0f * (1.0f / 127.0f));
  CHECK(q->at(2, 0) == 127.0f * (3.0f / 127.0f));
  CHECK(q->at(2, 1) == 0.0f);  // 1e-3 / (3 / 127) rounds to 0
  CHECK(q->at(2, 2) == std::nearbyint(-2.0f / (3.0f / 127.0f)) * (3.0f / 127.0f));
  std::vector<float> dq(9);
  q->dequantize(dq.data());
  CHECK(dq[6] == q->at(2, 0));
  CHECK(weight_type_from_name("int8").value() == WeightType::i8);
  CHECK(weight_type_from_name("q8").status().message().find("unknown weight type 'q8'") != std::string::npos);
}

TEST_CASE("weights: bad values are named, never stored") {
  const std::vector<float> big = {1.0f, 70000.0f};
  const Result<Weights> f16 = Weights::quantize(ConstView(big.data(), Shape{1, 2}), WeightType::f16, "fc.weight");
  CHECK(f16.status().message().find("fc.weight: 70000") != std::string::npos);
  CHECK(f16.status().message().find("overflows f16") != std::string::npos);
  const std::vector<float> nan = {1.0f, std::nanf("")};
  CHECK(Weights::quantize(ConstView(nan.data(), Shape{1, 2}), WeightType::i8, "w").status().message().find(
            "element [0, 1] is not finite") != std::string::npos);
  CHECK(Weights::quantize(ConstView(nan.data(), Shape{2}), WeightType::i8, "w").status().message().find("2-D") !=
        std::string::npos);
  const std::int8_t q[2] = {1, 2};
  const float bad_scales[] = {0.0f, -1.0f, std::nanf("")};
  for (float s : bad_scales)
    CHECK(Weights::from_storage(WeightType::i8, q, &s, 1, 2, "w").status().message().find("scale of row 0") !=
          std::string::npos);
  CHECK(Weights::from_storage(WeightType::i8, q, nullptr, 1, 2, "w").status().message().find("scale per row") !=
        std::string::npos);
  const std::uint16_t inf_half[2] = {0x3C00, 0x7C00};
  CHECK(Weights::from_storage(WeightType::f16, inf_half, nullptr, 1, 2, "w").status().message().find(
            "[0, 1] is not finite") != std::string::npos);
}
