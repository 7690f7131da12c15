//===- NormalizationTest.cpp - Softmax, ReduceMean, LayerNorm, BatchNorm --===//
//
// Axis handling (negative axes, a non-last softmax axis, several reduced
// axes with and without keepdims) and the normalization formulas, against
// hand values or plain loops in double.
//
//===----------------------------------------------------------------------===//

#include "KernelTest.h"

#include <cmath>

using namespace amct::rt;
using namespace amct::rt::test;

namespace {

using NormalizationTest = KernelTest;

/// Softmax of x viewed as [outer, len, inner] along the middle dim.
std::vector<float> refSoftmax(const std::vector<float> &x, int64_t outer, int64_t len,
                              int64_t inner) {
  std::vector<float> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < len; ++j)
        sum += std::exp((double)x[(o * len + j) * inner + i]);
      for (int64_t j = 0; j < len; ++j)
        y[(o * len + j) * inner + i] = std::exp((double)x[(o * len + j) * inner + i]) / sum;
    }
  return y;
}

TEST_F(NormalizationTest, SoftmaxNegativeAxisNotLast) {
  // Axis -2 of [2, 3, 2]: normalizes over the 3, separately per last index.
  std::vector<float> x = smallInts(12, 71);
  Tensor y = runOne("amct.Softmax", {f32({2, 3, 2}, x)}, "axis = -2 : i64", f32Type({2, 3, 2}));
  EXPECT_TRUE(matches(y, {2, 3, 2}, refSoftmax(x, 2, 3, 2), 1e-6));
}

TEST_F(NormalizationTest, SoftmaxDefaultAxisIsLast) {
  std::vector<float> x = smallInts(12, 72);
  Tensor y = runOne("amct.Softmax", {f32({3, 4}, x)}, "", f32Type({3, 4}));
  EXPECT_TRUE(matches(y, {3, 4}, refSoftmax(x, 3, 4, 1), 1e-6));
}

TEST_F(NormalizationTest, SoftmaxAxisZeroOfRank3) {
  std::vector<float> x = smallInts(12, 73);
  Tensor y = runOne("amct.Softmax", {f32({2, 3, 2}, x)}, "axis = 0 : i64", f32Type({2, 3, 2}));
  EXPECT_TRUE(matches(y, {2, 3, 2}, refSoftmax(x, 1, 2, 6), 1e-6));
}

TEST_F(NormalizationTest, SoftmaxIsStableForLargeInputs) {
  // exp(1000) overflows float; shifting by the max gives softmax([0, 1, 2]).
  Tensor y = runOne("amct.Softmax", {f32({3}, {1000, 1001, 1002})}, "", f32Type({3}));
  EXPECT_TRUE(matches<float>(y, {3}, {0.09003057f, 0.24472847f, 0.66524096f}, 1e-6));
}

TEST_F(NormalizationTest, ReduceMeanNegativeAxesKeepDims) {
  // x[i][j][k] = 12i + 4j + k over [2, 3, 4]; mean over i and k is 6 + 4j + 1.5.
  Tensor y = runOne("amct.ReduceMean", {f32({2, 3, 4}, iota(24))}, "axes = array<i64: -1, -3>",
                    f32Type({1, 3, 1}));
  EXPECT_TRUE(matches<float>(y, {1, 3, 1}, {7.5, 11.5, 15.5}));
}

TEST_F(NormalizationTest, ReduceMeanNegativeAxesDropDims) {
  Tensor y = runOne("amct.ReduceMean", {f32({2, 3, 4}, iota(24))},
                    "axes = array<i64: -1, -3>, keepdims = 0 : i64", f32Type({3}));
  EXPECT_TRUE(matches<float>(y, {3}, {7.5, 11.5, 15.5}));
}

TEST_F(NormalizationTest, ReduceMeanMiddleAxis) {
  // Mean over j: 12i + k + 4.
  Tensor y = runOne("amct.ReduceMean", {f32({2, 3, 4}, iota(24))},
                    "axes = array<i64: 1>, keepdims = 0 : i64", f32Type({2, 4}));
  EXPECT_TRUE(matches<float>(y, {2, 4}, {4, 5, 6, 7, 16, 17, 18, 19}));
}

TEST_F(NormalizationTest, ReduceMeanWithoutAxesReducesAll) {
  Tensor y = runOne("amct.ReduceMean", {f32({2, 3, 4}, iota(24))}, "", f32Type({1, 1, 1}));
  EXPECT_TRUE(matches<float>(y, {1, 1, 1}, {11.5}));
}

TEST_F(NormalizationTest, BatchNormalizationHandComputed) {
  // epsilon 0: channel 0: (x - 1) / 2 * 1 + 0.5; channel 1: (x + 1) / 0.5 * 2 - 1.
  Tensor y = runOne("amct.BatchNormalization",
                    {f32({2, 2, 1, 2}, {1, 3, 0, -1, 5, -1, 1, 0.5}), f32({2}, {1, 2}),
                     f32({2}, {0.5, -1}), f32({2}, {1, -1}), f32({2}, {4, 0.25})},
                    "epsilon = 0.000000e+00 : f32", f32Type({2, 2, 1, 2}));
  EXPECT_TRUE(matches<float>(y, {2, 2, 1, 2}, {0.5, 1.5, 3, -1, 2.5, -0.5, 7, 5}));
}

TEST_F(NormalizationTest, BatchNormalizationUsesEpsilon) {
  // Default epsilon 1e-5 with var 0: scale / sqrt(1e-5) on (x - mean).
  std::vector<float> x = smallInts(2 * 3 * 2 * 2, 74);
  std::vector<float> scale = {1, -2, 0.5}, bias = {0, 1, -1}, mean = {0.5, -1, 2}, var = {0, 1, 3};
  std::vector<float> want;
  for (int64_t i = 0; i < (int64_t)x.size(); ++i) {
    int64_t c = (i / 4) % 3;
    want.push_back((x[i] - mean[c]) / std::sqrt((double)var[c] + 1e-5) * scale[c] + bias[c]);
  }
  Tensor y =
      runOne("amct.BatchNormalization",
             {f32({2, 3, 2, 2}, x), f32({3}, scale), f32({3}, bias), f32({3}, mean), f32({3}, var)},
             "", f32Type({2, 3, 2, 2}));
  // Values reach ~3000, where float steps are ~2.4e-4.
  EXPECT_TRUE(matches(y, {2, 3, 2, 2}, want, 1e-2));
}

TEST_F(NormalizationTest, BatchNormalizationOf2DInput) {
  // [N, C] input: no spatial dims.
  Tensor y = runOne("amct.BatchNormalization",
                    {f32({2, 2}, {1, 2, 3, 4}), f32({2}, {2, 1}), f32({2}, {0, 10}),
                     f32({2}, {1, 0}), f32({2}, {1, 4})},
                    "epsilon = 0.000000e+00 : f32", f32Type({2, 2}));
  EXPECT_TRUE(matches<float>(y, {2, 2}, {0, 11, 4, 12}));
}

TEST_F(NormalizationTest, BatchNormalizationTrainingModeFails) {
  auto r =
      runOp("amct.BatchNormalization",
            {f32({1, 1, 1, 1}, {1}), f32({1}, {1}), f32({1}, {0}), f32({1}, {0}), f32({1}, {1})},
            "training_mode = 1 : i64", {f32Type({1, 1, 1, 1})});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("training_mode"), std::string::npos) << diagnostics;
}

TEST_F(NormalizationTest, LayerNormalizationNegativeAxisCoversTrailingDims) {
  // Axis -2 of [2, 2, 3]: each group of 6 values is normalized together.
  std::vector<float> x = smallInts(12, 75), scale = smallInts(6, 76), bias = smallInts(6, 77);
  std::vector<float> want;
  for (int g = 0; g < 2; ++g) {
    double mean = 0, var = 0;
    for (int i = 0; i < 6; ++i)
      mean += x[g * 6 + i] / 6.0;
    for (int i = 0; i < 6; ++i)
      var += (x[g * 6 + i] - mean) * (x[g * 6 + i] - mean) / 6.0;
    for (int i = 0; i < 6; ++i)
      want.push_back((x[g * 6 + i] - mean) / std::sqrt(var + 1e-5) * scale[i] + bias[i]);
  }
  Tensor y =
      runOne("amct.LayerNormalization", {f32({2, 2, 3}, x), f32({2, 3}, scale), f32({2, 3}, bias)},
             "axis = -2 : i64", f32Type({2, 2, 3}));
  EXPECT_TRUE(matches(y, {2, 2, 3}, want, 1e-5));
}

} // namespace
