//===- PoolTest.cpp - MaxPool, AveragePool, GlobalAveragePool -------------===//
//
// Hand-computed windows for the rules that differ between frameworks
// (padding never wins a max; count_include_pad counts the pads but not the
// ceil-mode overhang; a ceil-mode window starting in the end padding is
// dropped) and a direct-definition reference for larger cases.
//
//===----------------------------------------------------------------------===//

#include "KernelTest.h"

#include <array>
#include <limits>

using namespace amct::rt;
using namespace amct::rt::test;

namespace {

struct PoolSpec {
  std::array<int64_t, 2> kernel{1, 1}, strides{1, 1}, dilations{1, 1};
  /// ONNX order: begin H, begin W, end H, end W.
  std::array<int64_t, 4> pads{0, 0, 0, 0};
  bool isMax = true;
  bool countIncludePad = false;
};

/// 2-d pooling by definition over the output size `oh` x `ow` (given, so the
/// ceil/floor rule is the test's, not the kernel's): window tap k of output
/// o reads position o*s - padBegin + k*d; taps off the image are skipped for
/// the max and the sum. The average divides by the taps on the image, or
/// with count_include_pad by the taps on the image or its pads (the
/// ceil-mode overhang past the end padding is never counted).
std::vector<float> refPool2D(const std::vector<float> &x, const Shape &xs, const PoolSpec &p,
                             int64_t oh, int64_t ow) {
  int64_t planes = xs[0] * xs[1], h = xs[2], w = xs[3];
  std::vector<float> y(planes * oh * ow);
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t y0 = 0; y0 < oh; ++y0)
      for (int64_t x0 = 0; x0 < ow; ++x0) {
        double acc = p.isMax ? -std::numeric_limits<double>::infinity() : 0.0;
        int64_t onImage = 0, onPadded = 0;
        for (int64_t a = 0; a < p.kernel[0]; ++a)
          for (int64_t e = 0; e < p.kernel[1]; ++e) {
            int64_t iy = y0 * p.strides[0] - p.pads[0] + a * p.dilations[0];
            int64_t ix = x0 * p.strides[1] - p.pads[1] + e * p.dilations[1];
            if (iy >= -p.pads[0] && iy < h + p.pads[2] && ix >= -p.pads[1] && ix < w + p.pads[3])
              ++onPadded;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w)
              continue;
            ++onImage;
            double v = x[(pl * h + iy) * w + ix];
            acc = p.isMax ? std::max(acc, v) : acc + v;
          }
        y[(pl * oh + y0) * ow + x0] =
            p.isMax ? acc : acc / (p.countIncludePad ? onPadded : onImage);
      }
  return y;
}

using PoolTest = KernelTest;

//===----------------------------------------------------------------------===//
// MaxPool
//===----------------------------------------------------------------------===//

TEST_F(PoolTest, MaxPoolPaddingNeverWins) {
  // All values negative: a zero-padded max would return 0 at the borders.
  // Windows (3x3, stride 2, pads 1) over -(1..16) in a 4x4 grid.
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i)
    x[i] = -(i + 1);
  Tensor y = runOne("amct.MaxPool", {f32({1, 1, 4, 4}, x)},
                    "kernel_shape = " + ints({3, 3}) + ", pads = " + ints({1, 1, 1, 1}) +
                        ", strides = " + ints({2, 2}),
                    f32Type({1, 1, 2, 2}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 2, 2}, {-1, -2, -5, -6}));
}

TEST_F(PoolTest, MaxPoolCeilModeKeepsPartialLastWindow) {
  // 1-d, kernel 2, stride 2 over 5 values: ceil gives a third window [3].
  Tensor y = runOne("amct.MaxPool", {f32({1, 1, 5}, {1, 5, 2, 4, 3})},
                    "ceil_mode = 1 : i64, kernel_shape = " + ints({2}) + ", strides = " + ints({2}),
                    f32Type({1, 1, 3}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 3}, {5, 4, 3}));
  Tensor floorY =
      runOne("amct.MaxPool", {f32({1, 1, 5}, {1, 5, 2, 4, 3})},
             "kernel_shape = " + ints({2}) + ", strides = " + ints({2}), f32Type({1, 1, 2}));
  EXPECT_TRUE(matches<float>(floorY, {1, 1, 2}, {5, 4}));
}

TEST_F(PoolTest, MaxPoolCeilModeDropsWindowStartingInEndPadding) {
  // 4 values, kernel 2, stride 2, one pad at the end: ceil((4+1-2)/2)+1 = 3
  // windows, but the third would start at 4, inside the padding: dropped.
  Tensor y = runOne("amct.MaxPool", {f32({1, 1, 4}, {1, 2, 3, 4})},
                    "ceil_mode = 1 : i64, kernel_shape = " + ints({2}) +
                        ", pads = " + ints({0, 1}) + ", strides = " + ints({2}),
                    f32Type({1, 1, 2}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 2}, {2, 4}));
}

TEST_F(PoolTest, MaxPoolDilationsSkipTaps) {
  // 2x2 kernel dilated by 2 over x[r][c] = 4r + c reads rows {r, r+2}, cols {c, c+2}.
  Tensor y = runOne("amct.MaxPool", {f32({1, 1, 4, 4}, iota(16))},
                    "dilations = " + ints({2, 2}) + ", kernel_shape = " + ints({2, 2}),
                    f32Type({1, 1, 2, 2}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 2, 2}, {10, 11, 14, 15}));
}

TEST_F(PoolTest, MaxPoolIndicesAreFlatOverBatchAndChannels) {
  // Row-major indices into the whole input: the channel-1 maximum 7 sits at
  // element 2 of the second plane, index 4 + 2.
  auto r = runOp("amct.MaxPool", {f32({1, 2, 2, 2}, {1, 4, 3, 2, 5, 0, 7, 6})},
                 "kernel_shape = " + ints({2, 2}),
                 {f32Type({1, 2, 1, 1}), tensorType({1, 2, 1, 1}, DType::I64)});
  ASSERT_TRUE(succeeded(r)) << diagnostics;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_TRUE(matches<float>((*r)[0], {1, 2, 1, 1}, {4, 7}));
  EXPECT_TRUE(matches<int64_t>((*r)[1], {1, 2, 1, 1}, {1, 6}));
}

TEST_F(PoolTest, MaxPoolSameUpperMatchesDefinition) {
  // H: out ceil(5/2) = 3, total (3-1)*2 + 3 - 5 = 2 -> 1, 1.
  // W: out ceil(6/2) = 3, total 4 + 2 - 6 = 0.
  std::vector<float> x = smallInts(2 * 3 * 5 * 6, 31, -50, 50);
  PoolSpec p;
  p.kernel = {3, 2};
  p.strides = {2, 2};
  p.pads = {1, 0, 1, 0};
  Tensor y = runOne("amct.MaxPool", {f32({2, 3, 5, 6}, x)},
                    "auto_pad = \"SAME_UPPER\", kernel_shape = " + ints({3, 2}) +
                        ", strides = " + ints({2, 2}),
                    f32Type({2, 3, 3, 3}));
  EXPECT_TRUE(matches(y, {2, 3, 3, 3}, refPool2D(x, {2, 3, 5, 6}, p, 3, 3)));
}

TEST_F(PoolTest, MaxPoolAsymmetricPadsStridesDilationsMatchDefinition) {
  // H: (7 + 2 + 0 - 3) / 2 + 1 = 4; W: dilated kernel spans 5, (8 + 1 + 2 - 5) / 3 + 1 = 3.
  std::vector<float> x = smallInts(1 * 2 * 7 * 8, 32, -50, 50);
  PoolSpec p;
  p.kernel = {3, 3};
  p.strides = {2, 3};
  p.dilations = {1, 2};
  p.pads = {2, 1, 0, 2};
  Tensor y = runOne("amct.MaxPool", {f32({1, 2, 7, 8}, x)},
                    "dilations = " + ints({1, 2}) + ", kernel_shape = " + ints({3, 3}) +
                        ", pads = " + ints({2, 1, 0, 2}) + ", strides = " + ints({2, 3}),
                    f32Type({1, 2, 4, 3}));
  EXPECT_TRUE(matches(y, {1, 2, 4, 3}, refPool2D(x, {1, 2, 7, 8}, p, 4, 3)));
}

//===----------------------------------------------------------------------===//
// AveragePool
//===----------------------------------------------------------------------===//

// 3x3 windows, pads 1, stride 1 over 1..9: window sums 12 21 16 / 27 45 33 /
// 24 39 28 over 4 6 4 / 6 9 6 / 4 6 4 real taps.
TEST_F(PoolTest, AveragePoolExcludesPaddingByDefault) {
  Tensor y = runOne("amct.AveragePool", {f32({1, 1, 3, 3}, iota(9, 1))},
                    "kernel_shape = " + ints({3, 3}) + ", pads = " + ints({1, 1, 1, 1}),
                    f32Type({1, 1, 3, 3}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 3, 3}, {3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7}));
}

TEST_F(PoolTest, AveragePoolCountIncludePadDividesByKernelSize) {
  Tensor y = runOne("amct.AveragePool", {f32({1, 1, 3, 3}, iota(9, 1))},
                    "count_include_pad = 1 : i64, kernel_shape = " + ints({3, 3}) +
                        ", pads = " + ints({1, 1, 1, 1}),
                    f32Type({1, 1, 3, 3}));
  std::vector<float> want;
  for (float sum : {12, 21, 16, 27, 45, 33, 24, 39, 28})
    want.push_back(sum / 9.0f);
  EXPECT_TRUE(matches<float>(y, {1, 1, 3, 3}, want, 1e-6));
}

// 1..6, kernel 3, stride 2, pads 1, ceil: 4 windows starting at -1, 1, 3, 5;
// the last covers 6, the end pad and one position past it.
TEST_F(PoolTest, AveragePoolCeilModeCountIncludePadStopsAtPaddedEdge) {
  // Divisors 3 3 3 2: the overhang past the padding is not counted.
  Tensor y =
      runOne("amct.AveragePool", {f32({1, 1, 6}, iota(6, 1))},
             "ceil_mode = 1 : i64, count_include_pad = 1 : i64, kernel_shape = " + ints({3}) +
                 ", pads = " + ints({1, 1}) + ", strides = " + ints({2}),
             f32Type({1, 1, 4}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 4}, {1, 3, 5, 3}));
}

TEST_F(PoolTest, AveragePoolCeilModeExcludingPadCountsOnlyImage) {
  // Divisors 2 3 3 1.
  Tensor y = runOne("amct.AveragePool", {f32({1, 1, 6}, iota(6, 1))},
                    "ceil_mode = 1 : i64, kernel_shape = " + ints({3}) +
                        ", pads = " + ints({1, 1}) + ", strides = " + ints({2}),
                    f32Type({1, 1, 4}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 4}, {1.5, 3, 5, 6}));
}

TEST_F(PoolTest, AveragePoolSameLowerCountIncludePadMatchesDefinition) {
  // H: out 3, total (3-1)*2 + 3 - 6 = 1 -> 1 before, 0 after.
  // W: out 5, total 4 + 2 - 5 = 1 -> 1 before, 0 after. Auto pads count.
  std::vector<float> x = smallInts(1 * 2 * 6 * 5, 33, -50, 50);
  PoolSpec p;
  p.isMax = false;
  p.countIncludePad = true;
  p.kernel = {3, 2};
  p.strides = {2, 1};
  p.pads = {1, 1, 0, 0};
  Tensor y = runOne("amct.AveragePool", {f32({1, 2, 6, 5}, x)},
                    "auto_pad = \"SAME_LOWER\", count_include_pad = 1 : i64, kernel_shape = " +
                        ints({3, 2}) + ", strides = " + ints({2, 1}),
                    f32Type({1, 2, 3, 5}));
  EXPECT_TRUE(matches(y, {1, 2, 3, 5}, refPool2D(x, {1, 2, 6, 5}, p, 3, 5), 1e-5));
}

TEST_F(PoolTest, AveragePoolAsymmetricPadsAndStridesMatchDefinition) {
  // H: (7 + 0 + 1 - 2) / 3 + 1 = 3; W: (5 + 1 + 1 - 3) / 2 + 1 = 3.
  std::vector<float> x = smallInts(2 * 2 * 7 * 5, 34, -50, 50);
  PoolSpec p;
  p.isMax = false;
  p.kernel = {2, 3};
  p.strides = {3, 2};
  p.pads = {0, 1, 1, 1};
  Tensor y = runOne("amct.AveragePool", {f32({2, 2, 7, 5}, x)},
                    "kernel_shape = " + ints({2, 3}) + ", pads = " + ints({0, 1, 1, 1}) +
                        ", strides = " + ints({3, 2}),
                    f32Type({2, 2, 3, 3}));
  EXPECT_TRUE(matches(y, {2, 2, 3, 3}, refPool2D(x, {2, 2, 7, 5}, p, 3, 3), 1e-5));
}

TEST_F(PoolTest, GlobalAveragePoolAveragesEachPlane) {
  Tensor y =
      runOne("amct.GlobalAveragePool", {f32({2, 2, 2, 2}, iota(16, 1))}, "", f32Type({2, 2, 1, 1}));
  EXPECT_TRUE(matches<float>(y, {2, 2, 1, 1}, {2.5, 6.5, 10.5, 14.5}));
}

} // namespace
