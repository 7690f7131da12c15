//===- ConvTest.cpp - Conv and ConvTranspose kernels ----------------------===//
//
// Hand-computed cases that pin each geometry rule down (where SAME puts the
// odd padding, what output_padding adds, which taps padding hides), plus
// larger cases against direct-definition reference loops written here.
// Data are small integers, so every sum is exact in float and results
// compare exactly whatever order the kernel adds in.
//
//===----------------------------------------------------------------------===//

#include "KernelTest.h"

#include <array>

using namespace amct::rt;
using namespace amct::rt::test;

namespace {

struct ConvSpec {
  int64_t group = 1;
  std::array<int64_t, 2> strides{1, 1}, dilations{1, 1};
  /// ONNX order: begin H, begin W, end H, end W.
  std::array<int64_t, 4> pads{0, 0, 0, 0};
  /// ConvTranspose only.
  std::array<int64_t, 2> outputPadding{0, 0};
};

/// ONNX Conv (2-d, NCHW) by its definition:
///   y[n][m][oh][ow] = b[m] + sum over c < C/group, kh, kw of
///     x[n][g*C/group + c][oh*sh - padTop + kh*dh][ow*sw - padLeft + kw*dw]
///       * w[m][c][kh][kw],   g = m / (M/group),
/// where taps outside the image add nothing.
std::vector<float> refConv2D(const std::vector<float> &x, const Shape &xs,
                             const std::vector<float> &w, const Shape &ws,
                             const std::vector<float> &b, const ConvSpec &p, Shape &outShape) {
  int64_t n = xs[0], c = xs[1], h = xs[2], wd = xs[3];
  int64_t m = ws[0], cg = ws[1], kh = ws[2], kw = ws[3];
  int64_t mg = m / p.group;
  EXPECT_EQ(c, cg * p.group);
  int64_t oh = (h + p.pads[0] + p.pads[2] - ((kh - 1) * p.dilations[0] + 1)) / p.strides[0] + 1;
  int64_t ow = (wd + p.pads[1] + p.pads[3] - ((kw - 1) * p.dilations[1] + 1)) / p.strides[1] + 1;
  outShape = {n, m, oh, ow};
  std::vector<float> y(n * m * oh * ow);
  for (int64_t in = 0; in < n; ++in)
    for (int64_t om = 0; om < m; ++om)
      for (int64_t y0 = 0; y0 < oh; ++y0)
        for (int64_t x0 = 0; x0 < ow; ++x0) {
          double acc = b.empty() ? 0.0 : b[om];
          int64_t g = om / mg;
          for (int64_t ic = 0; ic < cg; ++ic)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t e = 0; e < kw; ++e) {
                int64_t iy = y0 * p.strides[0] - p.pads[0] + a * p.dilations[0];
                int64_t ix = x0 * p.strides[1] - p.pads[1] + e * p.dilations[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd)
                  continue;
                acc += x[((in * c + g * cg + ic) * h + iy) * wd + ix] *
                       w[((om * cg + ic) * kh + a) * kw + e];
              }
          y[((in * m + om) * oh + y0) * ow + x0] = acc;
        }
  return y;
}

/// ONNX ConvTranspose (2-d) by its definition as the scatter of every input
/// pixel through the kernel:
///   y[n][g*M/group + m][ih*sh - padTop + kh*dh][iw*sw - padLeft + kw*dw]
///     += x[n][g*C/group + c][ih][iw] * w[g*C/group + c][m][kh][kw],
/// keeping positions inside the output, whose size is
///   s * (in - 1) + output_padding + (k - 1) * d + 1 - pad_begin - pad_end.
std::vector<float> refConvTranspose2D(const std::vector<float> &x, const Shape &xs,
                                      const std::vector<float> &w, const Shape &ws,
                                      const std::vector<float> &b, const ConvSpec &p,
                                      Shape &outShape) {
  int64_t n = xs[0], c = xs[1], h = xs[2], wd = xs[3];
  int64_t mg = ws[1], kh = ws[2], kw = ws[3], m = mg * p.group, cg = c / p.group;
  EXPECT_EQ(ws[0], c);
  int64_t oh = p.strides[0] * (h - 1) + p.outputPadding[0] + (kh - 1) * p.dilations[0] + 1 -
               p.pads[0] - p.pads[2];
  int64_t ow = p.strides[1] * (wd - 1) + p.outputPadding[1] + (kw - 1) * p.dilations[1] + 1 -
               p.pads[1] - p.pads[3];
  outShape = {n, m, oh, ow};
  std::vector<double> acc(n * m * oh * ow, 0.0);
  for (int64_t in = 0; in < n; ++in)
    for (int64_t ic = 0; ic < c; ++ic) {
      int64_t g = ic / cg;
      for (int64_t iy = 0; iy < h; ++iy)
        for (int64_t ix = 0; ix < wd; ++ix)
          for (int64_t om = 0; om < mg; ++om)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t e = 0; e < kw; ++e) {
                int64_t y0 = iy * p.strides[0] - p.pads[0] + a * p.dilations[0];
                int64_t x0 = ix * p.strides[1] - p.pads[1] + e * p.dilations[1];
                if (y0 < 0 || y0 >= oh || x0 < 0 || x0 >= ow)
                  continue;
                acc[((in * m + g * mg + om) * oh + y0) * ow + x0] +=
                    x[((in * c + ic) * h + iy) * wd + ix] * w[((ic * mg + om) * kh + a) * kw + e];
              }
    }
  std::vector<float> y(acc.size());
  for (size_t i = 0; i < acc.size(); ++i) {
    int64_t om = (i / (oh * ow)) % m;
    y[i] = acc[i] + (b.empty() ? 0.0 : b[om]);
  }
  return y;
}

class ConvTest : public KernelTest {
protected:
  /// Runs amct.Conv with random small-integer data and checks it against
  /// refConv2D; `attrs` must say what `spec` says.
  void checkConvAgainstReference(const Shape &xs, const Shape &ws, bool bias, const ConvSpec &spec,
                                 const std::string &attrs, uint64_t seed) {
    std::vector<float> x = smallInts(numel(xs), seed), w = smallInts(numel(ws), seed + 1),
                       b = bias ? smallInts(ws[0], seed + 2, -20, 20) : std::vector<float>{};
    Shape outShape;
    std::vector<float> want = refConv2D(x, xs, w, ws, b, spec, outShape);
    Tensor y =
        runOne("amct.Conv", {f32(xs, x), f32(ws, w), bias ? Operand(f32({ws[0]}, b)) : kNone},
               attrs, f32Type(outShape));
    EXPECT_TRUE(matches(y, outShape, want));
  }

  void checkConvTransposeAgainstReference(const Shape &xs, const Shape &ws, bool bias,
                                          const ConvSpec &spec, const std::string &attrs,
                                          uint64_t seed) {
    int64_t m = ws[1] * spec.group;
    std::vector<float> x = smallInts(numel(xs), seed), w = smallInts(numel(ws), seed + 1),
                       b = bias ? smallInts(m, seed + 2, -20, 20) : std::vector<float>{};
    Shape outShape;
    std::vector<float> want = refConvTranspose2D(x, xs, w, ws, b, spec, outShape);
    Tensor y =
        runOne("amct.ConvTranspose", {f32(xs, x), f32(ws, w), bias ? Operand(f32({m}, b)) : kNone},
               attrs, f32Type(outShape));
    EXPECT_TRUE(matches(y, outShape, want));
  }
};

//===----------------------------------------------------------------------===//
// Conv: hand-computed
//===----------------------------------------------------------------------===//

TEST_F(ConvTest, Conv2DHandComputedWithBias) {
  // 2x2 ones over 1..9: window sums 12 16 / 24 28, plus bias 10.
  Tensor y = runOne(
      "amct.Conv", {f32({1, 1, 3, 3}, iota(9, 1)), f32({1, 1, 2, 2}, {1, 1, 1, 1}), f32({1}, {10})},
      "", f32Type({1, 1, 2, 2}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 2, 2}, {22, 26, 34, 38}));
}

TEST_F(ConvTest, Conv2DHandComputedPaddingAddsNothing) {
  // 3x3 ones, pads 1, stride 2 over 1..9: each window sees a 2x2 corner.
  Tensor y =
      runOne("amct.Conv",
             {f32({1, 1, 3, 3}, iota(9, 1)), f32({1, 1, 3, 3}, std::vector<float>(9, 1)), kNone},
             "pads = " + ints({1, 1, 1, 1}) + ", strides = " + ints({2, 2}), f32Type({1, 1, 2, 2}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 2, 2}, {12, 16, 24, 28}));
}

TEST_F(ConvTest, AutoPadSameUpperPutsOddPaddingAtEnd) {
  // Kernel [1, 10] over [1, 2, 3, 4], stride 1: total padding 1 goes after.
  Tensor y =
      runOne("amct.Conv", {f32({1, 1, 1, 4}, {1, 2, 3, 4}), f32({1, 1, 1, 2}, {1, 10}), kNone},
             "auto_pad = \"SAME_UPPER\"", f32Type({1, 1, 1, 4}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 1, 4}, {21, 32, 43, 4}));
}

TEST_F(ConvTest, AutoPadSameLowerPutsOddPaddingAtBeginning) {
  Tensor y =
      runOne("amct.Conv", {f32({1, 1, 1, 4}, {1, 2, 3, 4}), f32({1, 1, 1, 2}, {1, 10}), kNone},
             "auto_pad = \"SAME_LOWER\"", f32Type({1, 1, 1, 4}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 1, 4}, {10, 21, 32, 43}));
}

TEST_F(ConvTest, Conv3DHandComputedPadOnDepthOnly) {
  // 2x2x2 ones over 3x3x3 ones with one plane of depth padding in front:
  // the first output plane sees 4 real taps, the others 8.
  Tensor y = runOne("amct.Conv",
                    {f32({1, 1, 3, 3, 3}, std::vector<float>(27, 1)),
                     f32({1, 1, 2, 2, 2}, std::vector<float>(8, 1)), kNone},
                    "pads = " + ints({1, 0, 0, 0, 0, 0}), f32Type({1, 1, 3, 2, 2}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 3, 2, 2}, {4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8}));
}

//===----------------------------------------------------------------------===//
// Conv: against the reference
//===----------------------------------------------------------------------===//

TEST_F(ConvTest, AsymmetricPadsAndStridesMatchDefinition) {
  // H: (7 + 2 + 1 - 3) / 2 + 1 = 4; W: (6 + 0 + 1 - 2) / 3 + 1 = 2.
  ConvSpec s;
  s.strides = {2, 3};
  s.pads = {2, 0, 1, 1};
  checkConvAgainstReference({2, 3, 7, 6}, {4, 3, 3, 2}, true, s,
                            "pads = " + ints({2, 0, 1, 1}) + ", strides = " + ints({2, 3}), 1);
}

TEST_F(ConvTest, DilationsMatchDefinition) {
  // Effective kernel 5x4; H: (9 + 2 - 5) + 1 = 7; W: (8 + 4 - 4) / 2 + 1 = 5.
  ConvSpec s;
  s.strides = {1, 2};
  s.dilations = {2, 3};
  s.pads = {1, 2, 1, 2};
  checkConvAgainstReference({1, 2, 9, 8}, {3, 2, 3, 2}, true, s,
                            "dilations = " + ints({2, 3}) + ", pads = " + ints({1, 2, 1, 2}) +
                                ", strides = " + ints({1, 2}),
                            2);
}

TEST_F(ConvTest, GroupedConvMatchesDefinition) {
  // 2 groups of 2 input and 3 output channels, batch 2.
  ConvSpec s;
  s.group = 2;
  s.pads = {1, 1, 1, 1};
  checkConvAgainstReference({2, 4, 5, 5}, {6, 2, 3, 3}, true, s,
                            "group = 2 : i64, pads = " + ints({1, 1, 1, 1}), 3);
}

TEST_F(ConvTest, DepthwiseConvMatchesDefinition) {
  // group == C == M takes the kernel's direct depthwise loop; batch 2 checks
  // the channel of each plane.
  ConvSpec s;
  s.group = 3;
  s.strides = {2, 1};
  s.dilations = {1, 2};
  s.pads = {1, 2, 0, 1};
  checkConvAgainstReference({2, 3, 6, 7}, {3, 1, 3, 3}, true, s,
                            "dilations = " + ints({1, 2}) + ", group = 3 : i64, pads = " +
                                ints({1, 2, 0, 1}) + ", strides = " + ints({2, 1}),
                            4);
}

TEST_F(ConvTest, DepthwiseConvWithoutBiasMatchesDefinition) {
  ConvSpec s;
  s.group = 4;
  checkConvAgainstReference({1, 4, 4, 5}, {4, 1, 2, 2}, false, s, "group = 4 : i64", 5);
}

TEST_F(ConvTest, DepthwiseConvWithChannelMultiplierMatchesDefinition) {
  // Two output channels per input channel: not the direct depthwise loop.
  ConvSpec s;
  s.group = 2;
  s.pads = {1, 1, 1, 1};
  checkConvAgainstReference({1, 2, 5, 5}, {4, 1, 3, 3}, true, s,
                            "group = 2 : i64, pads = " + ints({1, 1, 1, 1}), 6);
}

TEST_F(ConvTest, AutoPadSameUpperWithStrideMatchesExplicitPads) {
  // H: out ceil(6/2) = 3, total (3-1)*2 + 3 - 6 = 1 -> pads 0 before, 1 after.
  // W: out 5, total 4 + 4 - 5 = 3 -> 1 before, 2 after.
  ConvSpec s;
  s.strides = {2, 1};
  s.pads = {0, 1, 1, 2};
  checkConvAgainstReference({1, 2, 6, 5}, {2, 2, 3, 4}, true, s,
                            "auto_pad = \"SAME_UPPER\", strides = " + ints({2, 1}), 7);
}

TEST_F(ConvTest, AutoPadSameLowerWithStrideMatchesExplicitPads) {
  // Same totals as above, the odd unit before.
  ConvSpec s;
  s.strides = {2, 1};
  s.pads = {1, 2, 0, 1};
  checkConvAgainstReference({1, 2, 6, 5}, {2, 2, 3, 4}, true, s,
                            "auto_pad = \"SAME_LOWER\", strides = " + ints({2, 1}), 8);
}

TEST_F(ConvTest, AutoPadSameUpperWithDilationMatchesExplicitPads) {
  // W: kernel 2 dilated by 3 spans 4; out ceil(7/2) = 4, total 3*2 + 4 - 7 = 3
  // -> 1 before, 2 after. H: kernel 1, stride 1: no padding.
  ConvSpec s;
  s.strides = {1, 2};
  s.dilations = {1, 3};
  s.pads = {0, 1, 0, 2};
  checkConvAgainstReference(
      {1, 1, 3, 7}, {2, 1, 1, 2}, false, s,
      "auto_pad = \"SAME_UPPER\", dilations = " + ints({1, 3}) + ", strides = " + ints({1, 2}), 9);
}

TEST_F(ConvTest, AutoPadValidUsesNoPaddingAndDropsRemainder) {
  // H: (7 - 3) / 2 + 1 = 3; W: (6 - 2) / 3 + 1 = 2 (the last column is unused).
  ConvSpec s;
  s.strides = {2, 3};
  checkConvAgainstReference({1, 2, 7, 6}, {3, 2, 3, 2}, true, s,
                            "auto_pad = \"VALID\", strides = " + ints({2, 3}), 10);
}

TEST_F(ConvTest, Conv1DMatchesDefinition) {
  // The 2-d reference with H = 1: (9 + 2 + 1 - 5) / 2 + 1 = 4 outputs.
  Shape xs{1, 2, 9}, ws{3, 2, 3};
  std::vector<float> x = smallInts(18, 11), w = smallInts(18, 12), b = {1, -2, 3};
  ConvSpec s;
  s.strides = {1, 2};
  s.dilations = {1, 2};
  s.pads = {0, 2, 0, 1};
  Shape outShape;
  std::vector<float> want = refConv2D(x, {1, 2, 1, 9}, w, {3, 2, 1, 3}, b, s, outShape);
  Tensor y =
      runOne("amct.Conv", {f32(xs, x), f32(ws, w), f32({3}, b)},
             "dilations = " + ints({2}) + ", pads = " + ints({2, 1}) + ", strides = " + ints({2}),
             f32Type({1, 3, 4}));
  EXPECT_TRUE(matches(y, {1, 3, 4}, want));
}

TEST_F(ConvTest, RejectsChannelMismatchAtRunTime) {
  // Dynamic channels get past the verifier; the kernel must refuse.
  std::string src = R"(
func.func @main(%x: tensor<1x?x3x3xf32>, %w: tensor<1x2x1x1xf32>) -> tensor<1x1x3x3xf32> {
  %n = amct.none
  %y = amct.Conv %x, %w, %n
      : (tensor<1x?x3x3xf32>, tensor<1x2x1x1xf32>, none) -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
})";
  auto r = runFunc(src, {f32({1, 3, 3, 3}, std::vector<float>(27, 1)), f32({1, 2, 1, 1}, {1, 1})});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("channels"), std::string::npos) << diagnostics;
}

//===----------------------------------------------------------------------===//
// ConvTranspose
//===----------------------------------------------------------------------===//

TEST_F(ConvTest, ConvTransposeStrideScattersEachInput) {
  // [1, 2, 3] through kernel [1, 2] at stride 2: 1 2 | 2 4 | 3 6.
  Tensor y =
      runOne("amct.ConvTranspose", {f32({1, 1, 3}, {1, 2, 3}), f32({1, 1, 2}, {1, 2}), kNone},
             "strides = " + ints({2}), f32Type({1, 1, 6}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 6}, {1, 2, 2, 4, 3, 6}));
}

TEST_F(ConvTest, ConvTransposeOutputPaddingAppendsBiasOnlyElements) {
  // One more output at the end, which no input reaches: just the bias.
  Tensor y = runOne(
      "amct.ConvTranspose", {f32({1, 1, 3}, {1, 2, 3}), f32({1, 1, 2}, {1, 2}), f32({1}, {10})},
      "output_padding = " + ints({1}) + ", strides = " + ints({2}), f32Type({1, 1, 7}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 7}, {11, 12, 12, 14, 13, 16, 10}));
}

TEST_F(ConvTest, ConvTransposePadsTrimBothEnds) {
  Tensor y =
      runOne("amct.ConvTranspose", {f32({1, 1, 3}, {1, 2, 3}), f32({1, 1, 2}, {1, 2}), kNone},
             "pads = " + ints({1, 1}) + ", strides = " + ints({2}), f32Type({1, 1, 4}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 4}, {2, 2, 4, 3}));
}

// [1, 2, 3] through kernel [1, 1, 1] at stride 2 gives the full output
// 1 1 3 2 5 3 3 (length 7); SAME asks for 3 * 2 = 6, so one is trimmed.
TEST_F(ConvTest, ConvTransposeAutoPadSameUpperTrimsEnd) {
  // ONNX: pads[begin] = total / 2 = 0 for SAME_UPPER.
  Tensor y =
      runOne("amct.ConvTranspose", {f32({1, 1, 3}, {1, 2, 3}), f32({1, 1, 3}, {1, 1, 1}), kNone},
             "auto_pad = \"SAME_UPPER\", strides = " + ints({2}), f32Type({1, 1, 6}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 6}, {1, 1, 3, 2, 5, 3}));
}

TEST_F(ConvTest, ConvTransposeAutoPadSameLowerTrimsBeginning) {
  Tensor y =
      runOne("amct.ConvTranspose", {f32({1, 1, 3}, {1, 2, 3}), f32({1, 1, 3}, {1, 1, 1}), kNone},
             "auto_pad = \"SAME_LOWER\", strides = " + ints({2}), f32Type({1, 1, 6}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 6}, {1, 3, 2, 5, 3, 3}));
}

TEST_F(ConvTest, ConvTransposeOutputShapeSmallerThanFullTrimsBeginning) {
  // output_shape without auto_pad: ONNX's "else" branch, begin = total - total/2.
  Tensor y =
      runOne("amct.ConvTranspose", {f32({1, 1, 3}, {1, 2, 3}), f32({1, 1, 3}, {1, 1, 1}), kNone},
             "output_shape = " + ints({6}) + ", strides = " + ints({2}), f32Type({1, 1, 6}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 6}, {1, 3, 2, 5, 3, 3}));
}

TEST_F(ConvTest, ConvTransposeOutputShapeLargerThanFullExtendsEnd) {
  // total = -1: floor division gives begin 0, end -1, i.e. a zero appended.
  Tensor y =
      runOne("amct.ConvTranspose", {f32({1, 1, 3}, {1, 2, 3}), f32({1, 1, 3}, {1, 1, 1}), kNone},
             "output_shape = " + ints({8}) + ", strides = " + ints({2}), f32Type({1, 1, 8}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 8}, {1, 1, 3, 2, 5, 3, 3, 0}));
}

TEST_F(ConvTest, ConvTransposeStridesPadsOutputPaddingMatchDefinition) {
  // H: 2*2 + 1 + 3 - 1 - 0 = 7; W: 3*3 + 2 + 2 - 0 - 1 = 12.
  ConvSpec s;
  s.strides = {2, 3};
  s.pads = {1, 0, 0, 1};
  s.outputPadding = {1, 2};
  checkConvTransposeAgainstReference({2, 2, 3, 4}, {2, 3, 3, 2}, true, s,
                                     "output_padding = " + ints({1, 2}) + ", pads = " +
                                         ints({1, 0, 0, 1}) + ", strides = " + ints({2, 3}),
                                     21);
}

TEST_F(ConvTest, ConvTransposeGroupsAndDilationsMatchDefinition) {
  // 2 groups of 2 input and 2 output channels. H: 2 + 3 - 1 = 4; W: 4 + 3 - 1 = 6.
  ConvSpec s;
  s.group = 2;
  s.strides = {1, 2};
  s.dilations = {2, 1};
  s.pads = {0, 1, 1, 0};
  checkConvTransposeAgainstReference({1, 4, 3, 3}, {4, 2, 2, 3}, true, s,
                                     "dilations = " + ints({2, 1}) + ", group = 2 : i64, pads = " +
                                         ints({0, 1, 1, 0}) + ", strides = " + ints({1, 2}),
                                     22);
}

TEST_F(ConvTest, ConvTransposeDepthwiseMatchesDefinition) {
  ConvSpec s;
  s.group = 3;
  s.strides = {2, 2};
  s.outputPadding = {1, 0};
  checkConvTransposeAgainstReference(
      {2, 3, 2, 3}, {3, 1, 3, 3}, false, s,
      "group = 3 : i64, output_padding = " + ints({1, 0}) + ", strides = " + ints({2, 2}), 23);
}

} // namespace
