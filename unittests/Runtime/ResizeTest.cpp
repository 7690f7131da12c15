//===- ResizeTest.cpp - Resize coordinate modes and rounding --------------===//
//
// One-axis resizes of [1, 2] (up by 2) and [1, 2, 3, 4] (down by 2) whose
// every output is worked out by hand from ONNX's formulas: the original
// coordinate of output i under each coordinate_transformation_mode, then
// linear interpolation (clamped at the edges) or each nearest_mode.
//
//===----------------------------------------------------------------------===//

#include "KernelTest.h"

using namespace amct::rt;
using namespace amct::rt::test;

namespace {

class ResizeTest : public KernelTest {
protected:
  /// Resizes a 1x1x1xN tensor along its last axis by `scale`.
  Tensor resize(const std::vector<float> &x, float scale, int64_t outLen,
                const std::string &attrs) {
    int64_t n = x.size();
    return runOne("amct.Resize",
                  {f32({1, 1, 1, n}, x), kNone, f32({4}, {1, 1, 1, scale}), kNone}, attrs,
                  f32Type({1, 1, 1, outLen}));
  }
};

TEST_F(ResizeTest, LinearUpsampleUnderEachCoordinateMode) {
  // half_pixel: x = (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped
  // to [0, 1]: 1, 1.25, 1.75, 2.
  EXPECT_TRUE(matches<float>(resize({1, 2}, 2, 4, "mode = \"linear\""), {1, 1, 1, 4},
                             {1, 1.25, 1.75, 2}));
  // align_corners: x = i * (2 - 1) / (4 - 1) = 0, 1/3, 2/3, 1.
  EXPECT_TRUE(matches<float>(
      resize({1, 2}, 2, 4,
             "mode = \"linear\", coordinate_transformation_mode = \"align_corners\""),
      {1, 1, 1, 4}, {1, 4.0f / 3, 5.0f / 3, 2}, 1e-6));
  // asymmetric: x = i / 2 = 0, 0.5, 1, 1.5 -> 1, 1.5, 2, 2.
  EXPECT_TRUE(matches<float>(
      resize({1, 2}, 2, 4,
             "mode = \"linear\", coordinate_transformation_mode = \"asymmetric\""),
      {1, 1, 1, 4}, {1, 1.5, 2, 2}));
  // pytorch_half_pixel equals half_pixel when the output is longer than 1.
  EXPECT_TRUE(matches<float>(
      resize({1, 2}, 2, 4,
             "mode = \"linear\", coordinate_transformation_mode = \"pytorch_half_pixel\""),
      {1, 1, 1, 4}, {1, 1.25, 1.75, 2}));
}

TEST_F(ResizeTest, PytorchHalfPixelToLengthOneTakesTheFirstElement) {
  // Output length floor(4 * 0.25) = 1: x = 0 (half_pixel would give 1.5).
  EXPECT_TRUE(matches<float>(
      resize({1, 2, 3, 4}, 0.25, 1,
             "mode = \"linear\", coordinate_transformation_mode = \"pytorch_half_pixel\""),
      {1, 1, 1, 1}, {1}));
  EXPECT_TRUE(matches<float>(resize({1, 2, 3, 4}, 0.25, 1, "mode = \"linear\""),
                             {1, 1, 1, 1}, {2.5}));
}

TEST_F(ResizeTest, NearestModesRoundTheHalfwayCoordinate) {
  // asymmetric, scale 2: x = i / 2 = 0, 0.5, 1, 1.5.
  std::string base = "coordinate_transformation_mode = \"asymmetric\", nearest_mode = ";
  EXPECT_TRUE(matches<float>(resize({1, 2}, 2, 4, base + "\"round_prefer_floor\""),
                             {1, 1, 1, 4}, {1, 1, 2, 2})); // 0.5 -> 0, 1.5 -> 1
  EXPECT_TRUE(matches<float>(resize({1, 2}, 2, 4, base + "\"round_prefer_ceil\""),
                             {1, 1, 1, 4}, {1, 2, 2, 2})); // 0.5 -> 1, 1.5 -> 2 (clamped)
  EXPECT_TRUE(matches<float>(resize({1, 2}, 2, 4, base + "\"floor\""), {1, 1, 1, 4},
                             {1, 1, 2, 2}));
  EXPECT_TRUE(matches<float>(resize({1, 2}, 2, 4, base + "\"ceil\""), {1, 1, 1, 4},
                             {1, 2, 2, 2}));
}

TEST_F(ResizeTest, NearestDownsampleUnderHalfPixelAndTfHalfPixel) {
  // half_pixel, scale 0.5: x = (i + 0.5) * 2 - 0.5 = 0.5, 2.5 -> prefer
  // floor: 0, 2 -> values 1, 3.
  EXPECT_TRUE(
      matches<float>(resize({1, 2, 3, 4}, 0.5, 2, ""), {1, 1, 1, 2}, {1, 3}));
  // tf_half_pixel_for_nn: x = (i + 0.5) * 2 = 1, 3 -> values 2, 4.
  EXPECT_TRUE(matches<float>(
      resize({1, 2, 3, 4}, 0.5, 2,
             "coordinate_transformation_mode = \"tf_half_pixel_for_nn\""),
      {1, 1, 1, 2}, {2, 4}));
}

TEST_F(ResizeTest, SizesInputFixesTheOutputLength) {
  // sizes [1,1,1,3] from 2: scale 1.5; half_pixel linear x = (i + 0.5) / 1.5
  // - 0.5 = -1/6, 1/2, 7/6 -> clamped 0, 0.5, 1 -> 10, 15, 20.
  Tensor y = runOne("amct.Resize",
                    {f32({1, 1, 1, 2}, {10, 20}), kNone, kNone, i64({4}, {1, 1, 1, 3})},
                    "mode = \"linear\"", f32Type({1, 1, 1, 3}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 1, 3}, {10, 15, 20}, 1e-5));
}

} // namespace
