//===- QuantKernelsTest.cpp - fake_quant, Ascend ops, int8 layers ---------===//
//
// Edge values of the quantization arithmetic: ties (half to even), clamping
// at the int8 limits, the zero point, per-channel parameters, each Ascend
// rounding mode and sqrt_mode; int8 layers with int32 accumulation, an
// int32 bias and offset_x (whose padding is the real zero), checked
// against integer reference loops in int64.
//
//===----------------------------------------------------------------------===//

#include "KernelTest.h"

#include <cmath>
#include <cstring>

using namespace amct::rt;
using namespace amct::rt::test;

namespace {

/// deq_scale encoding: the fp32 bit pattern in the low 32 bits.
uint64_t deqBits(float scale) {
  uint32_t bits;
  std::memcpy(&bits, &scale, 4);
  return bits;
}

std::vector<int8_t> int8Data(int64_t n, uint64_t seed) {
  std::vector<int8_t> v;
  for (float f : smallInts(n, seed, -128, 127))
    v.push_back(static_cast<int8_t>(f));
  return v;
}

class QuantKernelsTest : public KernelTest {
protected:
  /// Runs `amct.fake_quant` (custom assembly: one operand, one type).
  Tensor fakeQuant(const Tensor &x, const std::string &attrs) {
    std::string t = tensorType(x);
    std::string src = "func.func @main(%x: " + t + ") -> " + t + " {\n  %y = amct.fake_quant %x {" +
                      attrs + "} : " + t + "\n  return %y : " + t + "\n}\n";
    auto r = runFunc(src, {x});
    if (failed(r)) {
      ADD_FAILURE() << diagnostics << src;
      return Tensor();
    }
    return r->front();
  }

  /// Runs `amct.fake_quant_per_token` (custom assembly).
  Tensor perToken(const Tensor &x, bool asymmetric) {
    std::string t = tensorType(x);
    std::string src = "func.func @main(%x: " + t + ") -> " + t +
                      " {\n  %y = amct.fake_quant_per_token %x " +
                      (asymmetric ? "{asymmetric = true} " : "") + ": " + t +
                      "\n  return %y : " + t + "\n}\n";
    auto r = runFunc(src, {x});
    if (failed(r)) {
      ADD_FAILURE() << diagnostics << src;
      return Tensor();
    }
    return r->front();
  }
};

//===----------------------------------------------------------------------===//
// fake_quant
//===----------------------------------------------------------------------===//

TEST_F(QuantKernelsTest, FakeQuantRoundsHalfToEven) {
  // x / 0.5 = 0.5 1.5 2.5 -0.5 -1.5 0.4 0.6 -> 0 2 2 -0 -2 0 1.
  Tensor y = fakeQuant(f32({7}, {0.25, 0.75, 1.25, -0.25, -0.75, 0.2f, 0.3f}),
                       "scale = array<f32: 0.5>, offset = array<i64: 0>");
  EXPECT_TRUE(matches<float>(y, {7}, {0, 1, 1, 0, -1, 0, 0.5}));
}

TEST_F(QuantKernelsTest, FakeQuantClampsAtInt8Limits) {
  // 127.5 rounds to 128 (even) and clamps to 127; -128.5 rounds to -128.
  Tensor y = fakeQuant(f32({8}, {127.4f, 127.5f, 128, 1e9f, -128.4f, -128.5f, -129, -1e9f}),
                       "scale = array<f32: 1.0>, offset = array<i64: 0>");
  EXPECT_TRUE(matches<float>(y, {8}, {127, 127, 127, 127, -128, -128, -128, -128}));
}

TEST_F(QuantKernelsTest, FakeQuantOffsetShiftsRepresentableRange) {
  // scale 0.25, offset -128: q = rint(x / 0.25) - 128 in [-128, 127], so
  // the range is [0, 63.75]; 0.375 / 0.25 = 1.5 rounds to 2.
  Tensor y = fakeQuant(f32({6}, {-1, 0, 0.125, 0.375, 63.75, 100}),
                       "scale = array<f32: 0.25>, offset = array<i64: -128>");
  EXPECT_TRUE(matches<float>(y, {6}, {0, 0, 0, 0.5, 63.75, 63.75}));
}

TEST_F(QuantKernelsTest, FakeQuantPerChannelOnAxis1) {
  // Channel 0: scale 0.5, offset 0. Channel 1: scale 2, offset 1, so q =
  // rint(x / 2) + 1 clamps to [-128, 127] and the range is [-258, 252].
  Tensor y = fakeQuant(f32({2, 2, 2}, {0.25, 0.3f, 3, -255, 1, -1000, 300, -257}),
                       "axis = 1 : i64, scale = array<f32: 0.5, 2.0>, offset = array<i64: 0, 1>");
  EXPECT_TRUE(matches<float>(y, {2, 2, 2}, {0, 0.5, 4, -256, 1, -64, 252, -256}));
}

TEST_F(QuantKernelsTest, FakeQuantFourBitsClampsAtMinus8And7) {
  Tensor y = fakeQuant(f32({4}, {7.5, -8.5, 3.5, -9}),
                       "num_bits = 4 : i64, scale = array<f32: 1.0>, offset = array<i64: 0>");
  EXPECT_TRUE(matches<float>(y, {4}, {7, -8, 4, -8}));
}

TEST_F(QuantKernelsTest, FakeQuant32BitsIsTheInt32Bias) {
  // No int8 clamp; half to even; int32 limits: rint(+-1e10 / 0.5) saturates
  // at 2147483647 and -2147483648, whose float values are +-2^31, times 0.5.
  Tensor y = fakeQuant(f32({5}, {1000, 0.25, 0.75, 1e10f, -1e10f}),
                       "num_bits = 32 : i64, scale = array<f32: 0.5>, offset = array<i64: 0>");
  EXPECT_TRUE(matches<float>(y, {5}, {1000, 0, 1, 1073741824.0f, -1073741824.0f}));
}

TEST_F(QuantKernelsTest, FakeQuant32BitsPerChannelIsFloatOfQTimesScale) {
  // [0.5, -0.25] / [0.0005, 0.001] = [1000, -250]; the result is float(q) *
  // scale in float, as DequantizeLinear computes it from the int32 value.
  Tensor y = fakeQuant(f32({2}, {0.5, -0.25}), "axis = 0 : i64, num_bits = 32 : i64, "
                                               "scale = array<f32: 0.0005, 0.001>, "
                                               "offset = array<i64: 0, 0>");
  EXPECT_TRUE(matches<float>(y, {2}, {1000.0f * 0.0005f, -250.0f * 0.001f}));
}

//===----------------------------------------------------------------------===//
// ONNX QuantizeLinear / DequantizeLinear (a QDQ model on the executor)
//===----------------------------------------------------------------------===//

TEST_F(QuantKernelsTest, QuantizeLinearWithoutZeroPointIsUint8) {
  // x / 2 = 0 1 1.5 2.5 500 -2 -> 0 1 2 2 (half to even), 255 and 0 saturated.
  Tensor y = runOne("amct.QuantizeLinear", {f32({6}, {0, 2, 3, 5, 1000, -4}), f32({}, {2}), kNone},
                    "", "tensor<6xui8>");
  EXPECT_TRUE(matches<uint8_t>(y, {6}, {0, 1, 2, 2, 255, 0}));
}

TEST_F(QuantKernelsTest, QuantizeLinearInt8PerAxisAddsZeroPointThenSaturates) {
  // Axis 1: channel 0 scale 1, zero point 0: 1.4 -> 1, -200 -> -128;
  // channel 1 scale 0.5, zero point -10: 1.25 -> 2.5 -> 2 - 10 = -8,
  // 100 -> 200 - 10 = 190 -> 127.
  Tensor y = runOne("amct.QuantizeLinear",
                    {f32({1, 2, 2}, {1.4f, -200, 1.25f, 100}), f32({2}, {1, 0.5f}),
                     make<int8_t>({2}, {0, -10})},
                    "axis = 1 : i64", "tensor<1x2x2xi8>");
  EXPECT_TRUE(matches<int8_t>(y, {1, 2, 2}, {1, -128, -8, 127}));
}

TEST_F(QuantKernelsTest, QuantizeLinearNaNIsTheZeroPoint) {
  Tensor y = runOne("amct.QuantizeLinear",
                    {f32({2}, {std::nanf(""), 1}), f32({}, {1}), make<int8_t>({}, {5})}, "",
                    "tensor<2xi8>");
  EXPECT_TRUE(matches<int8_t>(y, {2}, {5, 6}));
}

TEST_F(QuantKernelsTest, DequantizeLinearUint8SubtractsZeroPoint) {
  Tensor y = runOne("amct.DequantizeLinear",
                    {make<uint8_t>({3}, {0, 128, 255}), f32({}, {0.5f}), make<uint8_t>({}, {128})},
                    "", "tensor<3xf32>");
  EXPECT_TRUE(matches<float>(y, {3}, {-64, 0, 63.5f}));
}

TEST_F(QuantKernelsTest, DequantizeLinearInt32PerAxisIsFloatOfQTimesScale) {
  // The int32 bias of a QDQ model: float(q) * scale in float.
  Tensor y = runOne("amct.DequantizeLinear",
                    {make<int32_t>({2}, {1000, -250}), f32({2}, {0.0005f, 0.001f}),
                     make<int32_t>({2}, {0, 0})},
                    "axis = 0 : i64", "tensor<2xf32>");
  EXPECT_TRUE(matches<float>(y, {2}, {1000.0f * 0.0005f, -250.0f * 0.001f}));
}

TEST_F(QuantKernelsTest, QuantizeLinearScaleCountMustMatchAxis) {
  // The dim is dynamic, so the verifier cannot see it; the kernel does.
  std::string src = "func.func @main(%x: tensor<?x3xf32>, %s: tensor<2xf32>) -> tensor<?x3xui8> {\n"
                    "  %n = amct.none\n"
                    "  %y = amct.QuantizeLinear %x, %s, %n {axis = 0 : i64} : (tensor<?x3xf32>, tensor<2xf32>, none)"
                    " -> tensor<?x3xui8>\n  return %y : tensor<?x3xui8>\n}\n";
  EXPECT_TRUE(failed(runFunc(src, {f32({4, 3}, iota(12)), f32({2}, {1, 1})})));
  EXPECT_NE(diagnostics.find("2 scales for axis 0 of 4x3"), std::string::npos) << diagnostics;
}

//===----------------------------------------------------------------------===//
// AscendQuant, AscendDequant, AscendAntiQuant
//===----------------------------------------------------------------------===//

TEST_F(QuantKernelsTest, AscendQuantRoundsHalfToEvenAndSaturates) {
  Tensor y = runOne("ascend.AscendQuant",
                    {f32({10}, {0.5, 1.5, 2.5, -0.5, -1.5, 126.5, 127.5, 1000, -128.5, -1000})},
                    "dst_type = \"INT8\", offset = 0.0 : f32, scale = 1.0 : f32", tensorType({10}, DType::I8));
  EXPECT_TRUE(matches<int8_t>(y, {10}, {0, 2, 2, 0, -2, 126, 127, 127, -128, -128}));
}

TEST_F(QuantKernelsTest, AscendQuantAddsOffsetBeforeRounding) {
  // round(x * 2 + 3): 3.5 -> 4, -0.5 -> -0, 4.5 -> 4. Rounding first and
  // adding 3 after would give 3, -1, 5.
  Tensor y = runOne("ascend.AscendQuant", {f32({3}, {0.25, -1.75, 0.75})},
                    "dst_type = \"INT8\", offset = 3.0 : f32, scale = 2.0 : f32", tensorType({3}, DType::I8));
  EXPECT_TRUE(matches<int8_t>(y, {3}, {4, 0, 4}));
}

TEST_F(QuantKernelsTest, AscendQuantOffsetSaturatesAtBothEnds) {
  // offset -128 moves [0, 255] onto [-128, 127].
  Tensor y = runOne("ascend.AscendQuant", {f32({4}, {-1, 0, 255, 256})},
                    "dst_type = \"INT8\", offset = -128.0 : f32, scale = 1.0 : f32", tensorType({4}, DType::I8));
  EXPECT_TRUE(matches<int8_t>(y, {4}, {-128, -128, 127, 127}));
}

TEST_F(QuantKernelsTest, AscendQuantRoundModes) {
  Tensor x = f32({4}, {-1.5, -0.5, 0.5, 1.5});
  struct {
    const char *mode;
    std::vector<int8_t> want;
  } cases[] = {{"Floor", {-2, -1, 0, 1}}, {"Ceil", {-1, 0, 1, 2}}, {"Trunc", {-1, 0, 0, 1}}};
  for (auto &c : cases) {
    Tensor y = runOne("ascend.AscendQuant", {x},
                      std::string("dst_type = \"INT8\", offset = 0.0 : f32, round_mode = \"") + c.mode +
                          "\", scale = 1.0 : f32",
                      tensorType({4}, DType::I8));
    EXPECT_TRUE(matches<int8_t>(y, {4}, c.want)) << c.mode;
  }
}

TEST_F(QuantKernelsTest, AscendQuantSqrtModeAppliesScaleTwice) {
  // scale 3 squared is 9: 1 -> 9, 14.2 -> 127.8 -> 127, -0.5 -> -4.5 -> -4.
  Tensor y =
      runOne("ascend.AscendQuant", {f32({3}, {1, 14.2f, -0.5})},
             "dst_type = \"INT8\", offset = 0.0 : f32, scale = 3.0 : f32, sqrt_mode = true", tensorType({3}, DType::I8));
  EXPECT_TRUE(matches<int8_t>(y, {3}, {9, 127, -4}));
}

TEST_F(QuantKernelsTest, AscendDequantPerTensorWithRelu) {
  // float(INT32_MAX) is 2^31, times 0.5.
  Tensor y =
      runOne("ascend.AscendDequant",
             {make<int32_t>({4}, {-3, 0, 5, 2147483647}), make<uint64_t>({1}, {deqBits(0.5f)})},
             "dtype = 0 : i64, relu_flag = true", f32Type({4}));
  EXPECT_TRUE(matches<float>(y, {4}, {0, 0, 2.5, 1073741824.0f}));
}

TEST_F(QuantKernelsTest, AscendDequantPerChannelOnDim1) {
  // NCHW [1, 2, 2, 1]: channel 0 times 0.5, channel 1 times 0.25; negative kept.
  Tensor y = runOne("ascend.AscendDequant",
                    {make<int32_t>({1, 2, 2, 1}, {2, -4, 8, -16}),
                     make<uint64_t>({2}, {deqBits(0.5f), deqBits(0.25f)})},
                    "dtype = 0 : i64", f32Type({1, 2, 2, 1}));
  EXPECT_TRUE(matches<float>(y, {1, 2, 2, 1}, {1, -2, 2, -4}));
}

TEST_F(QuantKernelsTest, AscendDequantAmbiguousChannelAxisIsAnError) {
  // [1, 2, 1, 2] with 2 scales and no layer producing the data: dim 1 and
  // the last dim both fit, so the kernel refuses to guess.
  std::string src = R"(
func.func @main(%x: tensor<1x2x1x2xi32>, %s: tensor<2xui64>) -> tensor<1x2x1x2xf32> {
  %y = ascend.AscendDequant %x, %s {dtype = 0 : i64} : (tensor<1x2x1x2xi32>, tensor<2xui64>) -> tensor<1x2x1x2xf32>
  return %y : tensor<1x2x1x2xf32>
})";
  auto r = runFunc(src, {make<int32_t>({1, 2, 1, 2}, {2, -4, 8, -16}),
                         make<uint64_t>({2}, {deqBits(0.5f), deqBits(0.25f)})});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("ambiguous"), std::string::npos) << diagnostics;
}

TEST_F(QuantKernelsTest, AscendDequantAfterConvUsesDim1EvenWhenLastDimMatches) {
  // An int8 1x1 Conv giving [1, 2, 1, 2]: the channels are dim 1 although
  // the last dim has as many entries as deq_scale.
  std::string src = R"(
func.func @main(%x: tensor<1x1x1x2xi8>, %w: tensor<2x1x1x1xi8>, %s: tensor<2xui64>)
    -> tensor<1x2x1x2xf32> {
  %n = amct.none
  %c = amct.Conv %x, %w, %n : (tensor<1x1x1x2xi8>, tensor<2x1x1x1xi8>, none) -> tensor<1x2x1x2xi32>
  %y = ascend.AscendDequant %c, %s {dtype = 0 : i64} : (tensor<1x2x1x2xi32>, tensor<2xui64>) -> tensor<1x2x1x2xf32>
  return %y : tensor<1x2x1x2xf32>
})";
  auto r = runFunc(src, {make<int8_t>({1, 1, 1, 2}, {2, -4}), make<int8_t>({2, 1, 1, 1}, {1, 4}),
                         make<uint64_t>({2}, {deqBits(0.5f), deqBits(0.25f)})});
  ASSERT_TRUE(succeeded(r)) << diagnostics;
  EXPECT_TRUE(matches<float>(r->front(), {1, 2, 1, 2}, {1, -2, 2, -4}));
}

TEST_F(QuantKernelsTest, AscendDequantPerChannelOnLastDimOfLinear) {
  // [1, 2, 3] with 3 scales: the channels are the last dim.
  Tensor y = runOne("ascend.AscendDequant",
                    {make<int32_t>({1, 2, 3}, {4, 4, 4, 8, 8, 8}),
                     make<uint64_t>({3}, {deqBits(1.0f), deqBits(0.5f), deqBits(0.25f)})},
                    "dtype = 0 : i64", f32Type({1, 2, 3}));
  EXPECT_TRUE(matches<float>(y, {1, 2, 3}, {4, 2, 1, 8, 4, 2}));
}

TEST_F(QuantKernelsTest, AscendDequantSqrtModeSquaresScale) {
  Tensor y = runOne("ascend.AscendDequant",
                    {make<int32_t>({2}, {8, -8}), make<uint64_t>({1}, {deqBits(0.5f)})},
                    "dtype = 0 : i64, sqrt_mode = true", f32Type({2}));
  EXPECT_TRUE(matches<float>(y, {2}, {2, -2}));
}

TEST_F(QuantKernelsTest, AscendDequantRefusesOffsetWBits) {
  // offset_w sits in bits 47:40; AMCT's symmetric weights keep it 0.
  std::string src = R"(
func.func @main(%x: tensor<2xi32>, %s: tensor<1xui64>) -> tensor<2xf32> {
  %y = ascend.AscendDequant %x, %s {dtype = 0 : i64} : (tensor<2xi32>, tensor<1xui64>) -> tensor<2xf32>
  return %y : tensor<2xf32>
})";
  auto r = runFunc(src, {make<int32_t>({2}, {8, -8}),
                         make<uint64_t>({1}, {deqBits(0.5f) | (uint64_t(3) << 40)})});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("offset_w"), std::string::npos) << diagnostics;
}

TEST_F(QuantKernelsTest, DeployAvgPoolAveragesTheIntegersLessTheirZeroPoint) {
  // AMCT's AvgPool2d: AscendQuant(offset -128) -> AveragePool on int8 ->
  // AscendDequant(scale_d). q = [-128, -126, -125, -121] is x * 2 - 128
  // with x = [0, 1, 1.5, 3.5]; the pool averages q + 128 = [0, 2, 3, 7]
  // to 3, and the dequant multiplies by scale_d = 0.5: 1.5, the mean of x.
  std::string src = R"(
func.func @main(%q: tensor<1x1x2x2xi8>, %s: tensor<1xui64>) -> tensor<1x1x1x1xf32> {
  %p = amct.AveragePool %q {kernel_shape = array<i64: 2, 2>, offset_x = -128 : i64} : (tensor<1x1x2x2xi8>) -> tensor<1x1x1x1xf32>
  %y = ascend.AscendDequant %p, %s {dtype = 0 : i64} : (tensor<1x1x1x1xf32>, tensor<1xui64>) -> tensor<1x1x1x1xf32>
  return %y : tensor<1x1x1x1xf32>
})";
  auto r = runFunc(src, {make<int8_t>({1, 1, 2, 2}, {-128, -126, -125, -121}),
                         make<uint64_t>({1}, {deqBits(0.5f)})});
  ASSERT_TRUE(succeeded(r)) << diagnostics;
  EXPECT_TRUE(matches<float>(r->front(), {1, 1, 1, 1}, {1.5f}));
}

TEST_F(QuantKernelsTest, AscendAntiQuantAddsOffsetThenScales) {
  Tensor y = runOne("ascend.AscendAntiQuant", {make<int8_t>({3}, {-128, 0, 127})},
                    "dst_type = \"INT8\", offset = 3.0 : f32, scale = 5.000000e-01 : f32", f32Type({3}));
  EXPECT_TRUE(matches<float>(y, {3}, {-62.5, 1.5, 65}));
}

//===----------------------------------------------------------------------===//
// int8 layers (int32 accumulation)
//===----------------------------------------------------------------------===//

/// int8 Conv (2-d, group 1) by definition in int64: bias[m] + sum over the
/// taps on the image of (x - offsetX) * w; padding adds nothing.
std::vector<int32_t> refInt8Conv2D(const std::vector<int8_t> &x, const Shape &xs, int64_t offsetX,
                                   const std::vector<int8_t> &w, const Shape &ws,
                                   const std::vector<int32_t> &bias, int64_t pad, int64_t stride,
                                   Shape &outShape) {
  int64_t c = xs[1], h = xs[2], wd = xs[3], m = ws[0], k = ws[2];
  int64_t oh = (h + 2 * pad - k) / stride + 1, ow = (wd + 2 * pad - k) / stride + 1;
  outShape = {xs[0], m, oh, ow};
  std::vector<int32_t> y;
  for (int64_t n = 0; n < xs[0]; ++n)
    for (int64_t om = 0; om < m; ++om)
      for (int64_t y0 = 0; y0 < oh; ++y0)
        for (int64_t x0 = 0; x0 < ow; ++x0) {
          int64_t acc = bias.empty() ? 0 : bias[om];
          for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t a = 0; a < k; ++a)
              for (int64_t e = 0; e < k; ++e) {
                int64_t iy = y0 * stride - pad + a, ix = x0 * stride - pad + e;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd)
                  continue;
                acc += (x[((n * c + ic) * h + iy) * wd + ix] - offsetX) *
                       int64_t(w[((om * c + ic) * k + a) * k + e]);
              }
          y.push_back(static_cast<int32_t>(acc));
        }
  return y;
}

TEST_F(QuantKernelsTest, Int8ConvPaddingIsTheZeroPoint) {
  // offset_x -128: x - offset_x = [2, 0]. Kernel [1, 10, 100], pads 1:
  // y0 = pad*1 + 2*10 + 0*100 = 20, y1 = 2*1 + 0*10 + pad*100 = 2, where a
  // pad is a real zero (not the raw int8 0, which would be 128).
  Tensor y = runOne(
      "amct.Conv",
      {make<int8_t>({1, 1, 1, 2}, {-126, -128}), make<int8_t>({1, 1, 1, 3}, {1, 10, 100}), kNone},
      "offset_x = -128 : i64, pads = array<i64: 0, 1, 0, 1>", tensorType({1, 1, 1, 2}, DType::I32));
  EXPECT_TRUE(matches<int32_t>(y, {1, 1, 1, 2}, {20, 2}));
}

TEST_F(QuantKernelsTest, Int8ConvWithOffsetXAndBiasMatchesIntegerReference) {
  // Full-range data (the limits included), stride 2, pads 1.
  Shape xs{2, 3, 5, 5}, ws{4, 3, 3, 3};
  std::vector<int8_t> x = int8Data(numel(xs), 81), w = int8Data(numel(ws), 82);
  x[0] = -128, x[1] = 127, w[0] = -128, w[1] = 127;
  std::vector<int32_t> bias = {-100000, 0, 7, 123456};
  Shape outShape;
  std::vector<int32_t> want = refInt8Conv2D(x, xs, 13, w, ws, bias, 1, 2, outShape);
  Tensor y =
      runOne("amct.Conv", {make<int8_t>(xs, x), make<int8_t>(ws, w), make<int32_t>({4}, bias)},
             "offset_x = 13 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>",
             tensorType(outShape, DType::I32));
  EXPECT_TRUE(matches(y, outShape, want));
}

// Regression: the int8 layers used to run the float kernel (sgemm) on
// converted data, so sums past 2^24 rounded (output 0 came out 33879308,
// not 33879306).
TEST_F(QuantKernelsTest, Int8ConvAccumulatesExactlyPast2To24) {
  // 256 channels x 3x3 taps of products up to 255 * 127: partial sums pass
  // 2^24, where float can no longer hold every integer; int32 accumulation
  // (the NPU's) is exact.
  Shape xs{1, 256, 3, 3}, ws{2, 256, 3, 3};
  std::vector<int8_t> x = int8Data(numel(xs), 83), w(numel(ws));
  std::vector<float> r = smallInts(numel(ws), 89, 100, 127);
  // Filter 0 all positive (a large sum), filter 1 alternating signs.
  for (int64_t i = 0; i < numel(ws); ++i)
    w[i] = i < numel(ws) / 2 ? static_cast<int8_t>(r[i]) : (i % 2 ? 127 : -128);
  Shape outShape;
  std::vector<int32_t> want = refInt8Conv2D(x, xs, -128, w, ws, {}, 0, 1, outShape);
  ASSERT_GT(std::abs((int64_t)want[0]), int64_t(1) << 24);
  Tensor y = runOne("amct.Conv", {make<int8_t>(xs, x), make<int8_t>(ws, w), kNone},
                    "offset_x = -128 : i64", tensorType(outShape, DType::I32));
  EXPECT_TRUE(matches(y, outShape, want));
}

// Regression: the int32 bias used to be converted to float before it was
// added (16777217 came out as 16777216, -2147483647 as -2147483648).
TEST_F(QuantKernelsTest, Int8ConvAddsLargeInt32BiasExactly) {
  // Data at the zero point contribute nothing: the output is the bias, which
  // an int32 adder keeps exactly (2^24 + 1 and -(2^31 - 1) are not floats).
  std::vector<int32_t> bias = {16777217, -2147483647, 123};
  Tensor y = runOne("amct.Conv",
                    {make<int8_t>({1, 1, 1, 1}, {5}), make<int8_t>({3, 1, 1, 1}, {1, -1, 127}),
                     make<int32_t>({3}, bias)},
                    "offset_x = 5 : i64", tensorType({1, 3, 1, 1}, DType::I32));
  EXPECT_TRUE(matches<int32_t>(y, {1, 3, 1, 1}, bias));
}

TEST_F(QuantKernelsTest, Int8GemmTransBWithOffsetXAndInt32C) {
  // y[i][j] = sum_k (a[i][k] - 5) * b[j][k] + c[j].
  std::vector<int8_t> a = {-128, 127, 5, 0, 1, -1}, b = int8Data(12, 84);
  std::vector<int32_t> c = {1, -2, 1000, -70000}, want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      int64_t acc = c[j];
      for (int k = 0; k < 3; ++k)
        acc += (a[i * 3 + k] - 5) * int64_t(b[j * 3 + k]);
      want.push_back(acc);
    }
  Tensor y =
      runOne("amct.Gemm", {make<int8_t>({2, 3}, a), make<int8_t>({4, 3}, b), make<int32_t>({4}, c)},
             "offset_x = 5 : i64, transB = 1 : i64", tensorType({2, 4}, DType::I32));
  EXPECT_TRUE(matches(y, {2, 4}, want));
}

TEST_F(QuantKernelsTest, Int8GemmAddsLargeInt32CExactly) {
  // A at the zero point: the output is C broadcast over the rows, kept
  // exactly (not a float's 2^24 or -2^31).
  std::vector<int32_t> c = {16777217, -2147483647};
  Tensor y = runOne("amct.Gemm",
                    {make<int8_t>({2, 1}, {3, 3}), make<int8_t>({1, 2}, {127, -128}),
                     make<int32_t>({1, 2}, c)},
                    "offset_x = 3 : i64", tensorType({2, 2}, DType::I32));
  EXPECT_TRUE(matches<int32_t>(y, {2, 2}, {c[0], c[1], c[0], c[1]}));
}

TEST_F(QuantKernelsTest, Int8MatMulWithOffsetXShiftsOnlyA) {
  // [2, 2, 3] x [3, 2]; the zero point applies to A, not to the weights.
  std::vector<int8_t> a = int8Data(12, 85), b = int8Data(6, 86);
  std::vector<int32_t> want;
  for (int bi = 0; bi < 2; ++bi)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) {
        int64_t acc = 0;
        for (int k = 0; k < 3; ++k)
          acc += (a[(bi * 2 + i) * 3 + k] - (-7)) * int64_t(b[k * 2 + j]);
        want.push_back(acc);
      }
  Tensor y = runOne("amct.MatMul", {make<int8_t>({2, 2, 3}, a), make<int8_t>({3, 2}, b)},
                    "offset_x = -7 : i64", tensorType({2, 2, 2}, DType::I32));
  EXPECT_TRUE(matches(y, {2, 2, 2}, want));
}

TEST_F(QuantKernelsTest, Int8ConvTransposeWithOffsetX) {
  // x - 1 = [0, 1, 2] through kernel [1, 2] at stride 2.
  Tensor y =
      runOne("amct.ConvTranspose",
             {make<int8_t>({1, 1, 3}, {1, 2, 3}), make<int8_t>({1, 1, 2}, {1, 2}), kNone},
             "offset_x = 1 : i64, strides = array<i64: 2>", tensorType({1, 1, 6}, DType::I32));
  EXPECT_TRUE(matches<int32_t>(y, {1, 1, 6}, {0, 0, 1, 2, 2, 4}));
}

//===----------------------------------------------------------------------===//
// Deploy chains
//===----------------------------------------------------------------------===//

TEST_F(QuantKernelsTest, QuantConvDequantChainMatchesIntegerDefinition) {
  // AscendQuant(scale 4, offset -3) -> int8 Conv (offset_x -3, int32 bias,
  // pads 1) -> AscendDequant per channel: the deploy model's arithmetic.
  Shape xs{1, 2, 3, 3}, ws{2, 2, 3, 3};
  std::vector<float> x = smallInts(numel(xs), 87, -40, 40);
  for (float &v : x)
    v /= 8; // Multiples of 1/8: x * 4 lands on halves, so ties occur.
  std::vector<int8_t> w = int8Data(numel(ws), 88);
  std::vector<int32_t> bias = {500, -500};
  float deq[2] = {0.015625f, 0.001953125f};
  std::vector<int8_t> q;
  for (float v : x)
    q.push_back(static_cast<int8_t>(std::clamp(std::nearbyint(v * 4.0f + -3.0f), -128.0f, 127.0f)));
  Shape outShape;
  std::vector<int32_t> acc = refInt8Conv2D(q, xs, -3, w, ws, bias, 1, 1, outShape);
  std::vector<float> want;
  for (size_t i = 0; i < acc.size(); ++i)
    want.push_back(static_cast<float>(acc[i]) * deq[i / 9]);
  std::string src = R"(
func.func @main(%x: tensor<1x2x3x3xf32>, %w: tensor<2x2x3x3xi8>, %b: tensor<2xi32>,
                %s: tensor<2xui64>) -> tensor<1x2x3x3xf32> {
  %q = ascend.AscendQuant %x {dst_type = "INT8", offset = -3.0 : f32, scale = 4.0 : f32}
      : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xi8>
  %c = amct.Conv %q, %w, %b {offset_x = -3 : i64, pads = array<i64: 1, 1, 1, 1>}
      : (tensor<1x2x3x3xi8>, tensor<2x2x3x3xi8>, tensor<2xi32>) -> tensor<1x2x3x3xi32>
  %y = ascend.AscendDequant %c, %s {dtype = 0 : i64}
      : (tensor<1x2x3x3xi32>, tensor<2xui64>) -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
})";
  auto r = runFunc(src, {f32(xs, x), make<int8_t>(ws, w), make<int32_t>({2}, bias),
                         make<uint64_t>({2}, {deqBits(deq[0]), deqBits(deq[1])})});
  ASSERT_TRUE(succeeded(r)) << diagnostics;
  EXPECT_TRUE(matches(r->front(), outShape, want));
}

// Regression: AscendDequant used to take the channels on dim 1 whenever dim
// 1 had as many entries as deq_scale, so here it scaled rows, not columns
// (y[0][1] came out 2, expected 1). The channel axis now follows the layer
// producing the data (MatMul: the last dim).
TEST_F(QuantKernelsTest, LinearOnRank3DequantizesLastDimWhenSeqLenEqualsFeatures) {
  // --amct-convert turns a Linear (MatMul by a [K, N] weight) on a [B, T, K]
  // input into int8 MatMul -> AscendDequant with N per-channel scales for the
  // last dim. With T == N the channel dim must still be the last one.
  std::vector<int8_t> a = {1, 2, 3, 4, 5, 6}, b = {1, 0, 2, 0, 1, 3};
  std::vector<float> scales = {1.0f, 0.5f, 0.25f};
  std::vector<float> want;
  for (int t = 0; t < 3; ++t)
    for (int n = 0; n < 3; ++n)
      want.push_back((a[t * 2] * b[n] + a[t * 2 + 1] * b[3 + n]) * scales[n]);
  std::string src = R"(
func.func @main(%x: tensor<1x3x2xi8>, %w: tensor<2x3xi8>, %s: tensor<3xui64>) -> tensor<1x3x3xf32> {
  %c = amct.MatMul %x, %w : (tensor<1x3x2xi8>, tensor<2x3xi8>) -> tensor<1x3x3xi32>
  %y = ascend.AscendDequant %c, %s {dtype = 0 : i64} : (tensor<1x3x3xi32>, tensor<3xui64>) -> tensor<1x3x3xf32>
  return %y : tensor<1x3x3xf32>
})";
  auto r = runFunc(src, {make<int8_t>({1, 3, 2}, a), make<int8_t>({2, 3}, b),
                         make<uint64_t>({3}, {deqBits(1.0f), deqBits(0.5f), deqBits(0.25f)})});
  ASSERT_TRUE(succeeded(r)) << diagnostics;
  EXPECT_TRUE(matches(r->front(), {1, 3, 3}, want));
}


//===----------------------------------------------------------------------===//
// Weight-only quantization: amct.dequantize_weight, WeightQuantBatchMatmulV2
//===----------------------------------------------------------------------===//

TEST_F(QuantKernelsTest, DequantizeWeightPerGroupWithShortLastGroup) {
  // K = 5 in groups of 2 (groups {0, 1}, {2, 3}, {4}), N = 2:
  // w[r][c] = (q - o[g][c]) * s[g][c].
  Tensor q = make<int8_t>({5, 2}, {1, -2, 3, 4, -8, 7, 0, 5, 2, -1});
  Tensor s = f32({3, 2}, {0.5f, 0.25f, 2.0f, 1.0f, 0.125f, 4.0f});
  Tensor o = f32({3, 2}, {1, 0, -1, 2, 0, -3});
  auto r = runOp("amct.dequantize_weight", {q, s, o}, "num_bits = 4 : i64, group_size = 2 : i64",
                 {f32Type({5, 2})});
  ASSERT_TRUE(succeeded(r)) << diagnostics << lastSource;
  EXPECT_TRUE(matches<float>(r->front(), {5, 2},
                             {(1 - 1) * 0.5f, (-2 - 0) * 0.25f, (3 - 1) * 0.5f, (4 - 0) * 0.25f,
                              (-8 + 1) * 2.0f, (7 - 2) * 1.0f, (0 + 1) * 2.0f, (5 - 2) * 1.0f,
                              2 * 0.125f, (-1 + 3) * 4.0f}));
}

TEST_F(QuantKernelsTest, DequantizeWeightPerChannelAndPerTensor) {
  Tensor q = make<int8_t>({2, 3}, {1, -2, 3, -4, 5, -6});
  auto channel = runOp("amct.dequantize_weight", {q, f32({1, 3}, {0.5f, 2.0f, 0.25f}), kNone},
                       "num_bits = 8 : i64", {f32Type({2, 3})});
  ASSERT_TRUE(succeeded(channel)) << diagnostics << lastSource;
  EXPECT_TRUE(matches<float>(channel->front(), {2, 3}, {0.5f, -4, 0.75f, -2, 10, -1.5f}));
  auto tensor = runOp("amct.dequantize_weight", {q, f32({1, 1}, {0.5f}), kNone},
                      "num_bits = 8 : i64", {f32Type({2, 3})});
  ASSERT_TRUE(succeeded(tensor)) << diagnostics << lastSource;
  EXPECT_TRUE(matches<float>(tensor->front(), {2, 3}, {0.5f, -1, 1.5f, -2, 2.5f, -3}));
}

TEST_F(QuantKernelsTest, WeightQuantBatchMatmulUnpacksInt4AndAddsBias) {
  // q [4, 2] = [[1, -2], [3, -8], [7, 0], [-1, 5]] packed along K low
  // nibble first: [[0x31, 0x8E], [0xF7, 0x50]]; groups of 2 with scales
  // [[0.5, 0.25], [0.125, 1]] and antiquant_offset = -offset, offset
  // [[1, 0], [2, -1]]; bias [1, -1].
  Tensor packed = make<int8_t>({2, 2}, {0x31, int8_t(0x8E), int8_t(0xF7), 0x50});
  Tensor scale = f32({2, 2}, {0.5f, 0.25f, 0.125f, 1.0f});
  Tensor antiOffset = f32({2, 2}, {-1, 0, -2, 1});
  Tensor bias = f32({2}, {1, -1});
  Tensor x = f32({2, 1, 4}, {1, 2, 3, 4, -1, 0, 2, 1});
  auto r = runOp("ascend.WeightQuantBatchMatmulV2", {x, packed, scale, antiOffset, bias},
                 "antiquant_group_size = 2 : i64, weight_dtype = \"INT4\"", {f32Type({2, 1, 2})});
  ASSERT_TRUE(succeeded(r)) << diagnostics << lastSource;
  // w = [[0, -0.5], [1, -2], [0.625, 1], [-0.375, 6]].
  const float w[4][2] = {{0, -0.5f}, {1, -2}, {0.625f, 1}, {-0.375f, 6}};
  std::vector<float> want;
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 2; ++c) {
      float acc = 0;
      for (int k = 0; k < 4; ++k)
        acc += valuesOf<float>(x)[b * 4 + k] * w[k][c];
      want.push_back(acc + (c == 0 ? 1.0f : -1.0f));
    }
  EXPECT_TRUE(matches<float>(r->front(), {2, 1, 2}, want));
}

TEST_F(QuantKernelsTest, WeightQuantBatchMatmulEqualsDequantizeThenMatMul) {
  // The deploy op and the fake-quant form give the same bits.
  std::vector<int8_t> qv = int8Data(64 * 8, 3);
  for (int8_t &v : qv)
    v = int8_t(v % 8);
  Tensor q = make<int8_t>({64, 8}, qv);
  std::vector<float> sv(2 * 8);
  for (size_t i = 0; i < sv.size(); ++i)
    sv[i] = 0.01f * float(i + 1) / 3.0f;
  Tensor s = f32({2, 8}, sv);
  Tensor x = f32({3, 64}, smallInts(3 * 64, 5));
  std::string src = R"(func.func @main(%x: tensor<3x64xf32>, %q: tensor<64x8xi8>, %s: tensor<2x8xf32>) -> tensor<3x8xf32> {
  %n = amct.none
  %w = amct.dequantize_weight %q, %s, %n {num_bits = 4 : i64, group_size = 32 : i64} : (tensor<64x8xi8>, tensor<2x8xf32>, none) -> tensor<64x8xf32>
  %y = amct.MatMul %x, %w : (tensor<3x64xf32>, tensor<64x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
})";
  auto fake = runFunc(src, {x, q, s});
  ASSERT_TRUE(succeeded(fake)) << diagnostics;
  std::vector<float> fakeValues = valuesOf<float>(fake->front());
  auto deploy = runOp("ascend.WeightQuantBatchMatmulV2", {x, q, s, kNone, kNone},
                      "antiquant_group_size = 32 : i64", {f32Type({3, 8})});
  ASSERT_TRUE(succeeded(deploy)) << diagnostics << lastSource;
  std::vector<float> deployValues = valuesOf<float>(deploy->front());
  ASSERT_EQ(fakeValues.size(), deployValues.size());
  EXPECT_EQ(0, std::memcmp(fakeValues.data(), deployValues.data(), fakeValues.size() * 4));
}

//===----------------------------------------------------------------------===//
// Per-token (W8A8): fake_quant_per_token, DynamicQuant(V2), QuantBatchMatmulV3
//===----------------------------------------------------------------------===//

TEST_F(QuantKernelsTest, FakeQuantPerTokenSymmetricRowScales) {
  // Row 0: max|x| 127 -> s 1: -63.5 ties to -64. Row 1: all zero -> 0 (the
  // FLT_MIN floor keeps it finite). Row 2: s 2: 0.5 and -0.5 tie to 0, 1.5
  // to 2.
  Tensor x = f32({3, 4}, {127, -63.5f, 0.25f, 2, 0, 0, 0, 0, 254, 1, -1, 3});
  Tensor y = perToken(x, false);
  EXPECT_TRUE(matches<float>(y, {3, 4}, {127, -64, 0, 2, 0, 0, 0, 0, 254, 0, 0, 4}));
}

TEST_F(QuantKernelsTest, FakeQuantPerTokenAsymmetricZeroPoint) {
  // Row 0: lo -1, hi 254 -> s 1, offset -128 - rint(-1) = -127: exact.
  // Row 1: positive only, the range widened to 0: s 6 / 255, offset -128,
  // so 2, 4, 6 come back within half a step.
  Tensor x = f32({2, 3}, {-1, 0, 254, 2, 4, 6});
  Tensor y = perToken(x, true);
  EXPECT_TRUE(matches<float>(y, {2, 3}, {-1, 0, 254, 2, 4, 6}, 6.0f / 255 / 2));
  std::vector<float> v = valuesOf<float>(y);
  EXPECT_EQ(v[5], 6.0f); // hi is a grid point: 255 steps of s
}

TEST_F(QuantKernelsTest, DynamicQuantGivesTheFakeQuantIntegersAndScales) {
  // y_fake = (q - offset) * scale, bit for bit, for both forms.
  Tensor x = f32({2, 3, 16}, smallInts(96, 11, -50, 90));
  for (bool asymmetric : {false, true}) {
    Tensor fake = perToken(x, asymmetric);
    std::vector<std::string> types{"tensor<2x3x16xi8>", f32Type({2, 3})};
    if (asymmetric)
      types.push_back(f32Type({2, 3}));
    auto deploy = runOp(asymmetric ? "ascend.DynamicQuantV2" : "ascend.DynamicQuant", {x}, "",
                        types);
    ASSERT_TRUE(succeeded(deploy)) << diagnostics << lastSource;
    std::vector<int8_t> q = valuesOf<int8_t>((*deploy)[0]);
    std::vector<float> s = valuesOf<float>((*deploy)[1]), f = valuesOf<float>(fake);
    std::vector<float> o = asymmetric ? valuesOf<float>((*deploy)[2]) : std::vector<float>(6, 0);
    for (int64_t i = 0; i < 96; ++i)
      EXPECT_EQ(f[i], (float(q[i]) - o[i / 16]) * s[i / 16]) << "element " << i;
  }
}

TEST_F(QuantKernelsTest, QuantBatchMatmulV3AgainstInt64Reference) {
  // acc = sum (x1 - offset) * x2 in integers, then (acc * scale) * token
  // scale + bias in float32.
  int64_t m = 3, k = 5, n = 4;
  std::vector<int8_t> a = int8Data(m * k, 21), w = int8Data(k * n, 22);
  std::vector<float> scale{0.5f, 0.25f, 0.125f, 1.0f}, pts{0.1f, 0.2f, 0.3f},
      offset{0, -3, 7}, bias{1, -2, 0.5f, 0};
  auto y = runOp("ascend.QuantBatchMatmulV3",
                 {make<int8_t>({m, k}, a), make<int8_t>({k, n}, w), f32({n}, scale),
                  f32({m}, pts), f32({m}, offset), f32({n}, bias)},
                 "", {f32Type({m, n})});
  ASSERT_TRUE(succeeded(y)) << diagnostics << lastSource;
  std::vector<float> want;
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      int64_t acc = 0;
      for (int64_t i = 0; i < k; ++i)
        acc += (int64_t(a[r * k + i]) - int64_t(offset[r])) * w[i * n + c];
      want.push_back(float(acc) * scale[c] * pts[r] + bias[c]);
    }
  EXPECT_TRUE(matches<float>(y->front(), {m, n}, want));
}

TEST_F(QuantKernelsTest, QuantBatchMatmulV3RefusesTokenScaleCount) {
  auto y = runOp("ascend.QuantBatchMatmulV3",
                 {make<int8_t>({2, 4}, int8Data(8, 1)), make<int8_t>({4, 3}, int8Data(12, 2)),
                  f32({1}, {1}), f32({3}, {1, 1, 1}), kNone, kNone},
                 "", {f32Type({2, 3})});
  EXPECT_TRUE(failed(y));
}

TEST_F(QuantKernelsTest, AscendQuantV2AndAntiQuantV2PerChannelRoundTrip) {
  // Channel 0: x * 2 + 1, channel 1: x * 4 - 2; back: (q - 1) * 0.5,
  // (q + 2) * 0.25.
  Tensor q = runOne("ascend.AscendQuantV2",
                    {f32({2, 2}, {1, 1, -1, 2}), f32({2}, {2, 4}), f32({2}, {1, -2})}, "",
                    "tensor<2x2xi8>");
  EXPECT_TRUE(matches<int8_t>(q, {2, 2}, {3, 2, -1, 6}));
  Tensor y = runOne("ascend.AscendAntiQuantV2", {q, f32({2}, {0.5f, 0.25f}), f32({2}, {-1, 2})},
                    "", f32Type({2, 2}));
  EXPECT_TRUE(matches<float>(y, {2, 2}, {1, 1, -1, 2}));
}

} // namespace
