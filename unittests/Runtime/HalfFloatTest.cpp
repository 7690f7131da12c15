//===- HalfFloatTest.cpp - float16 / bfloat16 storage ---------------------===//
//
// The conversions against the IEEE 754 binary16 and bfloat16 encodings
// worked out by hand (normal, subnormal, overflow, ties to even, NaN), every
// float16 bit pattern round-tripping, and the executor running a float16
// graph in float32 with rounding on store.
//
//===----------------------------------------------------------------------===//

#include "KernelTest.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace amct::rt;
using namespace amct::rt::test;

namespace {

TEST(HalfFloat, DecodesHandComputedPatterns) {
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0xc000), -2.0f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);                    // largest normal
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14));       // smallest normal
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));       // smallest subnormal
  EXPECT_EQ(halfToFloat(0x03ff), std::ldexp(1023.0f, -24));    // largest subnormal
  EXPECT_EQ(halfToFloat(0x3555), (1.0f + 0x155 / 1024.0f) * 0.25f); // exponent 13 - 15
  EXPECT_EQ(halfToFloat(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(halfToFloat(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
  EXPECT_TRUE(std::signbit(halfToFloat(0x8000)));
}

TEST(HalfFloat, EncodesWithTiesToEven) {
  float ulp = std::ldexp(1.0f, -10); // spacing of halves in [1, 2)
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(1.0f + ulp / 2), 0x3c00);     // tie: down to even
  EXPECT_EQ(floatToHalf(1.0f + 3 * ulp / 2), 0x3c02); // tie: up to even
  EXPECT_EQ(floatToHalf(1.0f + ulp / 2 + ulp / 8), 0x3c01);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(65519.0f), 0x7bff);           // below the midpoint to 65536
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00);           // the midpoint rounds to even: inf
  EXPECT_EQ(floatToHalf(-1e10f), 0xfc00);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000);      // half the smallest: even 0
  EXPECT_EQ(floatToHalf(std::ldexp(3.0f, -25)), 0x0002);      // 1.5 units: even 2
  EXPECT_EQ(floatToHalf(std::ldexp(1023.5f, -24)), 0x0400);   // carries into the normals
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -30)), 0x0000);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  uint16_t nan = floatToHalf(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x3ff, 0);
}

TEST(HalfFloat, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    bool isNan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
    if (isNan)
      continue;
    ASSERT_EQ(floatToHalf(halfToFloat(h)), h) << "pattern " << h;
  }
}

TEST(HalfFloat, Bfloat16TruncatesWithTiesToEven) {
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0xc040), -3.0f);
  float ulp = std::ldexp(1.0f, -7);
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBf16(1.0f + ulp / 2), 0x3f80);     // tie: even
  EXPECT_EQ(floatToBf16(1.0f + 3 * ulp / 2), 0x3f82); // tie: even
  EXPECT_EQ(floatToBf16(1.0f + ulp * 0.75f), 0x3f81);
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::max()), 0x7f80); // rounds up to inf
  uint16_t nan = floatToBf16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isnan(bf16ToFloat(nan)));
}

Tensor half(const Shape &shape, const std::vector<float> &values) {
  Tensor t = *Tensor::zeros(DType::F16, shape);
  for (size_t i = 0; i < values.size(); ++i)
    t.mutableData<uint16_t>()[i] = floatToHalf(values[i]);
  return t;
}

std::vector<float> halfValues(const Tensor &t) {
  std::vector<float> v;
  if (t.dtype() != DType::F16)
    return v;
  for (int64_t i = 0; i < t.numElements(); ++i)
    v.push_back(halfToFloat(t.data<uint16_t>()[i]));
  return v;
}

using HalfExecutorTest = KernelTest;

TEST_F(HalfExecutorTest, Float16GraphComputesInFloat32AndRoundsOnStore) {
  float ulp = std::ldexp(1.0f, -10);
  // 1 + ulp/2 + ulp/4 is not a half; in float32 the sum is exact and the
  // store rounds it to 1 + ulp. Summing in halves (1 + ulp/2 -> 1, then
  // + ulp/4 -> 1) would give 1.
  Tensor a = half({3}, {1.0f, 2.0f, -0.5f});
  Tensor b = half({3}, {ulp / 2, 0.25f, 0.25f});
  Tensor c = half({3}, {ulp / 4, 0.0f, 0.0f});
  auto r = runFunc(R"mlir(
    func.func @main(%a: tensor<3xf16>, %b: tensor<3xf16>, %c: tensor<3xf16>) -> tensor<3xf16> {
      %s = amct.node "Sum"(%a, %b, %c) {} : (tensor<3xf16>, tensor<3xf16>, tensor<3xf16>) -> tensor<3xf16>
      %r = amct.Relu %s : (tensor<3xf16>) -> tensor<3xf16>
      return %r : tensor<3xf16>
    }
  )mlir",
                   {a, b, c});
  ASSERT_TRUE(succeeded(r)) << diagnostics;
  ASSERT_EQ(r->at(0).dtype(), DType::F16);
  EXPECT_EQ(halfValues(r->at(0)), (std::vector<float>{1.0f + ulp, 2.25f, 0.0f}));
}

TEST_F(HalfExecutorTest, CastBetweenFloat32AndFloat16) {
  auto r = runFunc(R"mlir(
    func.func @main(%x: tensor<4xf32>) -> (tensor<4xf16>, tensor<4xf32>) {
      %h = amct.Cast %x {to = 10 : i64} : (tensor<4xf32>) -> tensor<4xf16>
      %f = amct.Cast %h {to = 1 : i64} : (tensor<4xf16>) -> tensor<4xf32>
      return %h, %f : tensor<4xf16>, tensor<4xf32>
    }
  )mlir",
                   {f32({4}, {1.0f / 3, 70000.0f, -2.5f, 1e-8f})});
  ASSERT_TRUE(succeeded(r)) << diagnostics;
  std::vector<float> want = {halfToFloat(0x3555), std::numeric_limits<float>::infinity(), -2.5f,
                             0.0f};
  EXPECT_EQ(halfValues(r->at(0)), want);
  EXPECT_TRUE(matches<float>(r->at(1), {4}, want));
}

} // namespace
