//===- QuantTest.cpp - quantizer, ARQ and DMQ -----------------------------===//
//
// Hand-computed cases for the affine quantizer (rounding half to even,
// clamping, the zero-range guard), ARQ on a small matrix and the DMQ balance
// factors including AMCT's handling of all-zero channels, plus properties of
// the parameters over a sweep of ranges.
//
//===----------------------------------------------------------------------===//

#include "amct/Quant/Quant.h"

#include "gtest/gtest.h"

#include <cfloat>
#include <climits>
#include <cmath>
#include <limits>

using namespace amct::quant;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

//===----------------------------------------------------------------------===//
// paramsFromRange
//===----------------------------------------------------------------------===//

TEST(ParamsFromRange, IntegerLimits) {
  EXPECT_EQ(qmin(8), -128);
  EXPECT_EQ(qmax(8), 127);
  EXPECT_EQ(qmin(4), -8);
  EXPECT_EQ(qmax(4), 7);
  EXPECT_EQ(qmin(16), -32768);
  EXPECT_EQ(qmax(16), 32767);
}

TEST(ParamsFromRange, Asymmetric) {
  // scale = 3/255; offset = -rint(-1 / (3/255)) - 128 = 85 - 128 = -43.
  QuantParams p = paramsFromRange(-1.0f, 2.0f, 8, true);
  EXPECT_EQ(p.scale, static_cast<float>(3.0 / 255.0));
  EXPECT_EQ(p.offset, -43);
  // 4 bits: scale = 3/15 = 0.2; offset = -rint(-5) - 8 = -3.
  p = paramsFromRange(-1.0f, 2.0f, 4, true);
  EXPECT_EQ(p.scale, 0.2f);
  EXPECT_EQ(p.offset, -3);
}

TEST(ParamsFromRange, Symmetric) {
  QuantParams p = paramsFromRange(-1.0f, 2.0f, 8, false);
  EXPECT_EQ(p.scale, static_cast<float>(2.0 / 127.0));
  EXPECT_EQ(p.offset, 0);
  // The larger magnitude wins, whichever side it is on.
  p = paramsFromRange(-3.0f, 1.0f, 8, false);
  EXPECT_EQ(p.scale, static_cast<float>(3.0 / 127.0));
  p = paramsFromRange(-3.5f, 1.0f, 4, false);
  EXPECT_EQ(p.scale, 0.5f);
  EXPECT_EQ(p.offset, 0);
}

TEST(ParamsFromRange, RangeWidenedToContainZero) {
  // lo = 0.5 is taken as 0: scale 2/255, offset -rint(0) - 128.
  QuantParams p = paramsFromRange(0.5f, 2.0f, 8, true);
  EXPECT_EQ(p.scale, static_cast<float>(2.0 / 255.0));
  EXPECT_EQ(p.offset, -128);
  // hi = -0.5 is taken as 0: offset -rint(-2 / (2/255)) - 128 = 127.
  p = paramsFromRange(-2.0f, -0.5f, 8, true);
  EXPECT_EQ(p.scale, static_cast<float>(2.0 / 255.0));
  EXPECT_EQ(p.offset, 127);
  // Symmetric: [0.5, 2] -> max(|0|, |2|) = 2.
  p = paramsFromRange(0.5f, 2.0f, 8, false);
  EXPECT_EQ(p.scale, static_cast<float>(2.0 / 127.0));
}

TEST(ParamsFromRange, ZeroAndTinyRangesGetTheFallbackScale) {
  QuantParams p = paramsFromRange(0.0f, 0.0f, 8, false);
  EXPECT_EQ(p.scale, kFallbackScale);
  EXPECT_EQ(p.offset, 0);
  p = paramsFromRange(0.0f, 0.0f, 8, true);
  EXPECT_EQ(p.scale, kFallbackScale);
  EXPECT_EQ(p.offset, -128);
  // 1e-6 / 127 < FLT_EPSILON.
  p = paramsFromRange(0.0f, 1e-6f, 8, false);
  EXPECT_EQ(p.scale, 1.0f);
  // 1e-4 / 127 ~ 7.9e-7 >= FLT_EPSILON is kept.
  p = paramsFromRange(-1e-4f, 0.0f, 8, false);
  EXPECT_FLOAT_EQ(p.scale, 1e-4f / 127.0f);
  // Whatever the scale, 0 stays exact and data that small maps to ~0.
  EXPECT_EQ(fakeQuant(0.0f, paramsFromRange(0, 0, 8, true), 8), 0.0f);
}

/// |fakeQuant(x) - x| is at most half a step, plus the float rounding of
/// (q - offset) * scale (up to an ulp of x) and of the scale itself.
testing::AssertionResult withinHalfStep(float x, QuantParams p, int bits) {
  float err = std::fabs(fakeQuant(x, p, bits) - x);
  float bound = p.scale / 2 * (1 + 1e-4f) + std::fabs(x) * FLT_EPSILON;
  if (err <= bound)
    return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << "fakeQuant(" << x << ") is off by " << err << " > " << bound;
}

/// Properties over a sweep of ranges: symmetric parameters never clip the
/// larger end (it lands on +-qmax, within scale / 2); asymmetric parameters
/// represent both ends within scale / 2; the offset is a valid integer.
TEST(ParamsFromRange, PropertiesOverASweep) {
  const float los[] = {-1000.0f, -3.7f, -1.0f, -0.01f, 0.0f, 0.3f};
  const float his[] = {-0.2f, 0.0f, 0.02f, 1.0f, 5.3f, 777.0f};
  for (int bits : {4, 8, 16}) {
    for (float lo : los) {
      for (float hi : his) {
        if (lo > hi)
          continue;
        float l = std::fmin(lo, 0.0f), h = std::fmax(hi, 0.0f);
        if (l == 0.0f && h == 0.0f)
          continue;
        SCOPED_TRACE(testing::Message()
                     << bits << " bits [" << lo << ", " << hi << "]");
        QuantParams s = paramsFromRange(lo, hi, bits, false);
        float big = std::fabs(l) > h ? l : h;
        EXPECT_EQ(std::abs(quantize(big, s, bits)), qmax(bits));
        EXPECT_TRUE(withinHalfStep(l, s, bits));
        EXPECT_TRUE(withinHalfStep(h, s, bits));

        QuantParams a = paramsFromRange(lo, hi, bits, true);
        EXPECT_GE(a.offset, qmin(bits));
        EXPECT_LE(a.offset, qmax(bits));
        EXPECT_EQ(fakeQuant(0.0f, a, bits), 0.0f);
        EXPECT_TRUE(withinHalfStep(l, a, bits));
        EXPECT_TRUE(withinHalfStep(h, a, bits));
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// quantize / fakeQuant
//===----------------------------------------------------------------------===//

TEST(Quantize, RoundsHalfToEven) {
  QuantParams unit{1.0f, 0};
  EXPECT_EQ(quantize(0.5f, unit, 8), 0);
  EXPECT_EQ(quantize(1.5f, unit, 8), 2);
  EXPECT_EQ(quantize(2.5f, unit, 8), 2);
  EXPECT_EQ(quantize(3.5f, unit, 8), 4);
  EXPECT_EQ(quantize(-0.5f, unit, 8), 0);
  EXPECT_EQ(quantize(-1.5f, unit, 8), -2);
  EXPECT_EQ(quantize(-2.5f, unit, 8), -2);
  EXPECT_EQ(quantize(2.4999998f, unit, 8), 2);
  EXPECT_EQ(quantize(2.5000002f, unit, 8), 3);
  // x / scale exactly at .5: 0.25 / 0.5 = 0.5 -> 0; 0.75 / 0.5 = 1.5 -> 2.
  QuantParams half{0.5f, 0};
  EXPECT_EQ(quantize(0.25f, half, 8), 0);
  EXPECT_EQ(quantize(0.75f, half, 8), 2);
  // The offset is added after rounding: rint(0.5) - 43, rint(1.5) - 43.
  QuantParams off{1.0f, -43};
  EXPECT_EQ(quantize(0.5f, off, 8), -43);
  EXPECT_EQ(quantize(1.5f, off, 8), -41);
}

TEST(Quantize, Clamps) {
  QuantParams unit{1.0f, 0};
  EXPECT_EQ(quantize(1000.0f, unit, 8), 127);
  EXPECT_EQ(quantize(-1000.0f, unit, 8), -128);
  EXPECT_EQ(quantize(127.4f, unit, 8), 127);
  EXPECT_EQ(quantize(-128.4f, unit, 8), -128);
  EXPECT_EQ(quantize(7.6f, unit, 4), 7);
  EXPECT_EQ(quantize(-9.0f, unit, 4), -8);
  // With an offset the clamp applies to q + offset: 120 + 10 -> 127,
  // -140 + 10 -> -128.
  QuantParams off{1.0f, 10};
  EXPECT_EQ(quantize(120.0f, off, 8), 127);
  EXPECT_EQ(quantize(-140.0f, off, 8), -128);
  EXPECT_EQ(quantize(-138.0f, off, 8), -128);
  EXPECT_EQ(quantize(-137.0f, off, 8), -127);
}

TEST(Quantize, NonFinite) {
  QuantParams p{0.5f, 3};
  EXPECT_EQ(quantize(kInf, p, 8), 127);
  EXPECT_EQ(quantize(-kInf, p, 8), -128);
  EXPECT_EQ(quantize(kNaN, p, 8), 3);
  EXPECT_EQ(fakeQuant(kNaN, p, 8), 0.0f);
  // Huge finite values saturate instead of overflowing the conversion.
  EXPECT_EQ(quantize(3e38f, QuantParams{1e-3f, 0}, 16), 32767);
}

TEST(FakeQuant, HandValues) {
  // 0.3 / 0.25 = 1.2 -> 1 -> 0.25.
  EXPECT_EQ(fakeQuant(0.3f, QuantParams{0.25f, 0}, 8), 0.25f);
  // 1000 / 0.5 + 3 -> 127 -> (127 - 3) * 0.5 = 62.
  EXPECT_EQ(fakeQuant(1000.0f, QuantParams{0.5f, 3}, 8), 62.0f);
  // -1000 -> -128 -> (-128 - 3) * 0.5 = -65.5.
  EXPECT_EQ(fakeQuant(-1000.0f, QuantParams{0.5f, 3}, 8), -65.5f);
  // On the grid values come back exactly.
  EXPECT_EQ(fakeQuant(-1.75f, QuantParams{0.25f, -20}, 8), -1.75f);
}

TEST(FakeQuant, Mse) {
  // 0.3 -> 0.25, 1.2 (4.8 steps) -> 1.25, 0.5 -> 0.5.
  const float v[] = {0.3f, 1.2f, 0.5f};
  double e0 = double(0.3f) - 0.25, e1 = 1.25 - double(1.2f);
  double expected = (e0 * e0 + e1 * e1) / 3;
  EXPECT_NEAR(fakeQuantMse(v, 3, QuantParams{0.25f, 0}, 8), expected, 1e-9);
  EXPECT_EQ(fakeQuantMse(v, 0, QuantParams{0.25f, 0}, 8), 0.0);
}

//===----------------------------------------------------------------------===//
// ARQ
//===----------------------------------------------------------------------===//

// Row 0: max|w| = 1.27 -> scale 0.01; row 1: zeros -> fallback scale 1;
// row 2: max|w| = 3.81 -> scale 0.03.
const float kWeights[3 * 4] = {0.5f,  -1.27f, 0.333f, 0.0f, //
                               0.0f,  0.0f,   0.0f,   0.0f, //
                               3.81f, -0.1f,  1.0f,   -2.0f};

TEST(Arq, PerChannel) {
  std::string error;
  std::optional<WeightQuant> wq = arqQuantize(kWeights, 3, 4, 8, true, error);
  ASSERT_TRUE(wq) << error;
  ASSERT_EQ(wq->scale.size(), 3u);
  ASSERT_EQ(wq->offset.size(), 3u);
  EXPECT_FLOAT_EQ(wq->scale[0], 0.01f);
  EXPECT_EQ(wq->scale[1], kFallbackScale);
  EXPECT_FLOAT_EQ(wq->scale[2], 0.03f);
  EXPECT_EQ(wq->offset, (std::vector<int32_t>{0, 0, 0}));

  int8_t q[12];
  quantizeWeights(kWeights, 3, 4, 8, *wq, q);
  // 0.5/0.01 = 50, -127, 33.3 -> 33; 3.81/0.03 = 127, -3.3 -> -3,
  // 33.3 -> 33, -66.7 -> -67.
  const int8_t expected[12] = {50, -127, 33, 0, 0, 0, 0, 0, 127, -3, 33, -67};
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(q[i], expected[i]) << "element " << i;
}

TEST(Arq, PerTensor) {
  std::string error;
  std::optional<WeightQuant> wq = arqQuantize(kWeights, 3, 4, 8, false, error);
  ASSERT_TRUE(wq) << error;
  ASSERT_EQ(wq->scale.size(), 1u);
  EXPECT_FLOAT_EQ(wq->scale[0], 0.03f);
  int8_t q[12];
  quantizeWeights(kWeights, 3, 4, 8, *wq, q);
  // Row 0 with scale 0.03: 16.7 -> 17, -42.3 -> -42, 11.1 -> 11.
  const int8_t expected[12] = {17, -42, 11, 0, 0, 0, 0, 0, 127, -3, 33, -67};
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(q[i], expected[i]) << "element " << i;
}

TEST(Arq, FourBits) {
  std::string error;
  std::optional<WeightQuant> wq = arqQuantize(kWeights, 3, 4, 4, true, error);
  ASSERT_TRUE(wq) << error;
  // 3.81 / 7 = 0.5442857; row 2: 7, -0.18 -> 0, 1.84 -> 2, -3.67 -> -4.
  EXPECT_FLOAT_EQ(wq->scale[2], 3.81f / 7);
  int8_t q[12];
  quantizeWeights(kWeights, 3, 4, 4, *wq, q);
  EXPECT_EQ(q[8], 7);
  EXPECT_EQ(q[9], 0);
  EXPECT_EQ(q[10], 2);
  EXPECT_EQ(q[11], -4);
  // Row 0, scale 1.27/7 = 0.18143: 2.76 -> 3, -7, 1.84 -> 2, 0.
  EXPECT_EQ(q[0], 3);
  EXPECT_EQ(q[1], -7);
  EXPECT_EQ(q[2], 2);
}

TEST(Arq, AllZeroTensor) {
  const float zeros[6] = {};
  std::string error;
  std::optional<WeightQuant> wq = arqQuantize(zeros, 2, 3, 8, false, error);
  ASSERT_TRUE(wq) << error;
  EXPECT_EQ(wq->scale, (std::vector<float>{kFallbackScale}));
  int8_t q[6];
  quantizeWeights(zeros, 2, 3, 8, *wq, q);
  for (int8_t v : q)
    EXPECT_EQ(v, 0);
}

TEST(Arq, RejectsNonFiniteWeights) {
  float w[4] = {1.0f, 2.0f, kNaN, 0.0f};
  std::string error;
  EXPECT_FALSE(arqQuantize(w, 2, 2, 8, true, error));
  EXPECT_NE(error.find("channel 1, element 0"), std::string::npos) << error;
  w[2] = -kInf;
  error.clear();
  EXPECT_FALSE(arqQuantize(w, 2, 2, 8, false, error));
  EXPECT_NE(error.find("non-finite"), std::string::npos) << error;
}

//===----------------------------------------------------------------------===//
// The int32 accumulator and the bias
//===----------------------------------------------------------------------===//

TEST(Bias, AccumulatorScalesAreFloatProducts) {
  const float scaleW[] = {0.01f, 0.02f};
  EXPECT_EQ(accumulatorScales(0.05f, scaleW, 2, 2),
            (std::vector<float>{0.05f * 0.01f, 0.05f * 0.02f}));
  // One weight scale: one accumulator scale, whatever the channel count.
  EXPECT_EQ(accumulatorScales(0.05f, scaleW, 1, 8), (std::vector<float>{0.05f * 0.01f}));
  // A grouped ConvTranspose has scale_w per channel of one group: the
  // output channels repeat them.
  EXPECT_EQ(accumulatorScales(0.5f, scaleW, 2, 4),
            (std::vector<float>{0.005f, 0.01f, 0.005f, 0.01f}));
}

TEST(Bias, QuantizeBiasRoundsHalfToEvenInDouble) {
  std::string error;
  const float bias[] = {0.5f, 1.5f, -2.5f, 0.3f, 1000.25f};
  const float one = 1.0f;
  std::optional<std::vector<int32_t>> q = quantizeBias(bias, 5, &one, 1, error);
  ASSERT_TRUE(q) << error;
  EXPECT_EQ(*q, (std::vector<int32_t>{0, 2, -2, 0, 1000}));
  // Per channel: [0.5, -0.25] / [0.0005, 0.001] = [1000, -250].
  const float b2[] = {0.5f, -0.25f}, s2[] = {0.05f * 0.01f, 0.05f * 0.02f};
  q = quantizeBias(b2, 2, s2, 2, error);
  ASSERT_TRUE(q) << error;
  EXPECT_EQ(*q, (std::vector<int32_t>{1000, -250}));
  // 2^31 - 128 (the largest float below 2^31) fits; 2^31 does not.
  const float edge[] = {2147483520.0f, -2147483648.0f};
  q = quantizeBias(edge, 2, &one, 1, error);
  ASSERT_TRUE(q) << error;
  EXPECT_EQ(*q, (std::vector<int32_t>{2147483520, INT32_MIN}));
}

TEST(Bias, QuantizeBiasFailsOnOverflowAndNaN) {
  std::string error;
  const float one = 1.0f;
  const float over[] = {1.0f, 2147483648.0f};
  EXPECT_FALSE(quantizeBias(over, 2, &one, 1, error));
  EXPECT_NE(error.find("bias[1] = 2.14748e+09 overflows int32 at scale 1"), std::string::npos)
      << error;
  const float nan[] = {std::nanf("")};
  EXPECT_FALSE(quantizeBias(nan, 1, &one, 1, error));
  EXPECT_NE(error.find("bias[0] = nan is not finite"), std::string::npos) << error;
}

//===----------------------------------------------------------------------===//
// DMQ
//===----------------------------------------------------------------------===//

std::vector<float> dmq(std::vector<float> act, std::vector<float> wts,
                       float alpha) {
  std::string error;
  std::optional<std::vector<float>> f = dmqBalanceFactors(
      act.data(), wts.data(), static_cast<int64_t>(act.size()), alpha, error);
  EXPECT_TRUE(f) << error;
  return f ? *f : std::vector<float>();
}

TEST(Dmq, Formula) {
  // a = 0.5: sqrt(4)/sqrt(1) = 2, sqrt(1)/sqrt(4) = 0.5, 3/0.5 = 6.
  std::vector<float> f = dmq({4, 1, 9}, {1, 4, 0.25f}, 0.5f);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_FLOAT_EQ(f[0], 2.0f);
  EXPECT_FLOAT_EQ(f[1], 0.5f);
  EXPECT_FLOAT_EQ(f[2], 6.0f);
  // a = 0.2: 32^0.2 / 1 = 2; 1 / 32^0.8 = 1/16.
  f = dmq({32, 1}, {1, 32}, 0.2f);
  EXPECT_FLOAT_EQ(f[0], 2.0f);
  EXPECT_FLOAT_EQ(f[1], 0.0625f);
  // a = 0.8: 32^0.8 = 16; 1 / 32^0.2 = 0.5.
  f = dmq({32, 1}, {1, 32}, 0.8f);
  EXPECT_FLOAT_EQ(f[0], 16.0f);
  EXPECT_FLOAT_EQ(f[1], 0.5f);
}

TEST(Dmq, ZeroChannels) {
  // Channel 0 is normal: f = 2, balanced activation 4/2 = 2, weight 1*2 = 2.
  // Channel 1 (activation 0): f = 2 / 4 = 0.5, its weight ends at 2.
  // Channel 2 (weight 0): f = 9 / 2 = 4.5, its activation ends at 2.
  // Channel 3 (both 0): f = 1.
  std::vector<float> f = dmq({4, 0, 9, 0}, {1, 4, 0, 0}, 0.5f);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_FLOAT_EQ(f[0], 2.0f);
  EXPECT_FLOAT_EQ(f[1], 0.5f);
  EXPECT_FLOAT_EQ(f[2], 4.5f);
  EXPECT_EQ(f[3], 1.0f);
  // Below FLT_EPSILON counts as zero.
  f = dmq({4, 1e-8f}, {1, 4}, 0.5f);
  EXPECT_FLOAT_EQ(f[1], 0.5f);
  // No normal channel to take the level from: 1.
  f = dmq({4, 0}, {0, 4}, 0.5f);
  EXPECT_EQ(f, (std::vector<float>{1, 1}));
  // An all-zero side: all ones.
  f = dmq({0, 0, 0}, {1, 2, 3}, 0.5f);
  EXPECT_EQ(f, (std::vector<float>{1, 1, 1}));
  f = dmq({1, 2, 3}, {0, 0, 0}, 0.5f);
  EXPECT_EQ(f, (std::vector<float>{1, 1, 1}));
  EXPECT_TRUE(dmq({}, {}, 0.5f).empty());
}

TEST(Dmq, Errors) {
  const float act[2] = {1, 2}, wts[2] = {3, 4};
  std::string error;
  for (float a : {0.1f, 0.19f, 0.81f, 0.9f, kNaN}) {
    error.clear();
    EXPECT_FALSE(dmqBalanceFactors(act, wts, 2, a, error)) << a;
    EXPECT_NE(error.find("[0.2, 0.8]"), std::string::npos) << error;
  }
  const float negative[2] = {1, -2};
  EXPECT_FALSE(dmqBalanceFactors(negative, wts, 2, 0.5f, error));
  EXPECT_NE(error.find("channel 1"), std::string::npos) << error;
  const float inf[2] = {1, kInf};
  EXPECT_FALSE(dmqBalanceFactors(act, inf, 2, 0.5f, error));
  // (2e-7)^0.8 / (1e30)^0.2 ~ 4.4e-12 is below FLT_EPSILON, as AMCT rejects.
  const float tinyAct[1] = {2e-7f}, hugeWts[1] = {1e30f};
  error.clear();
  EXPECT_FALSE(dmqBalanceFactors(tinyAct, hugeWts, 1, 0.8f, error));
  EXPECT_NE(error.find("outside"), std::string::npos) << error;
}

} // namespace
