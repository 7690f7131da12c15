//===- MatMulTest.cpp - Gemm and MatMul -----------------------------------===//
//
// Gemm's transposes, alpha, beta and the unidirectional broadcast of C;
// MatMul's numpy semantics: batch broadcasting and 1-d operands (a
// prepended or appended 1 that is removed again). Expected values by hand
// or by plain triple loops over small integers (exact in float).
//
//===----------------------------------------------------------------------===//

#include "KernelTest.h"

#include <functional>

using namespace amct::rt;
using namespace amct::rt::test;

namespace {

using MatMulTest = KernelTest;

/// A (rows x cols) matrix stored row-major, read transposed if `t`.
float at(const std::vector<float> &m, int64_t cols, bool t, int64_t i, int64_t j) {
  return t ? m[j * cols + i] : m[i * cols + j];
}

/// Gemm by definition: alpha * A' B' + beta * C, C read through `c(i, j)`.
template <typename CFn>
std::vector<float> refGemm(const std::vector<float> &a, const Shape &as, bool ta,
                           const std::vector<float> &b, const Shape &bs, bool tb, float alpha,
                           float beta, CFn c) {
  int64_t m = ta ? as[1] : as[0], k = ta ? as[0] : as[1], n = tb ? bs[0] : bs[1];
  std::vector<float> y(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t l = 0; l < k; ++l)
        acc += at(a, as[1], ta, i, l) * at(b, bs[1], tb, l, j);
      y[i * n + j] = alpha * acc + beta * c(i, j);
    }
  return y;
}

TEST_F(MatMulTest, GemmHandComputed) {
  Tensor y = runOne("amct.Gemm", {f32({2, 2}, {1, 2, 3, 4}), f32({2, 2}, {5, 6, 7, 8}), kNone}, "",
                    f32Type({2, 2}));
  EXPECT_TRUE(matches<float>(y, {2, 2}, {19, 22, 43, 50}));
}

TEST_F(MatMulTest, GemmTransposesAlphaBetaAndRowBroadcastC) {
  // A stored 3x2 (K x M), B stored 4x3 (N x K); C of shape [N] spans rows.
  std::vector<float> a = smallInts(6, 41), b = smallInts(12, 42), c = {1, 2, 3, 4};
  std::vector<float> want = refGemm(a, {3, 2}, true, b, {4, 3}, true, 0.5f, 2.0f,
                                    [&](int64_t, int64_t j) { return c[j]; });
  Tensor y = runOne("amct.Gemm", {f32({3, 2}, a), f32({4, 3}, b), f32({4}, c)},
                    "alpha = 5.000000e-01 : f32, beta = 2.000000e+00 : f32, transA = 1 : i64, "
                    "transB = 1 : i64",
                    f32Type({2, 4}));
  EXPECT_TRUE(matches(y, {2, 4}, want));
}

TEST_F(MatMulTest, GemmColumnBroadcastC) {
  // C of shape [M, 1] repeats across columns; only transB.
  std::vector<float> a = smallInts(6, 43), b = smallInts(12, 44), c = {-3, 7};
  std::vector<float> want = refGemm(a, {2, 3}, false, b, {4, 3}, true, 1.0f, -1.0f,
                                    [&](int64_t i, int64_t) { return c[i]; });
  Tensor y = runOne("amct.Gemm", {f32({2, 3}, a), f32({4, 3}, b), f32({2, 1}, c)},
                    "beta = -1.000000e+00 : f32, transB = 1 : i64", f32Type({2, 4}));
  EXPECT_TRUE(matches(y, {2, 4}, want));
}

TEST_F(MatMulTest, GemmScalarC) {
  // Rank-0 C broadcasts to every element; only transA.
  std::vector<float> a = smallInts(6, 45), b = smallInts(12, 46);
  std::vector<float> want = refGemm(a, {3, 2}, true, b, {3, 4}, false, 2.0f, 0.25f,
                                    [&](int64_t, int64_t) { return 8.0f; });
  Tensor y = runOne("amct.Gemm", {f32({3, 2}, a), f32({3, 4}, b), f32({}, {8})},
                    "alpha = 2.000000e+00 : f32, beta = 2.500000e-01 : f32, transA = 1 : i64",
                    f32Type({2, 4}));
  EXPECT_TRUE(matches(y, {2, 4}, want));
}

TEST_F(MatMulTest, GemmFullC) {
  std::vector<float> a = smallInts(6, 47), b = smallInts(12, 48), c = smallInts(8, 49);
  std::vector<float> want = refGemm(a, {2, 3}, false, b, {3, 4}, false, 1.0f, 1.0f,
                                    [&](int64_t i, int64_t j) { return c[i * 4 + j]; });
  Tensor y =
      runOne("amct.Gemm", {f32({2, 3}, a), f32({3, 4}, b), f32({2, 4}, c)}, "", f32Type({2, 4}));
  EXPECT_TRUE(matches(y, {2, 4}, want));
}

TEST_F(MatMulTest, GemmWithoutCAppliesAlpha) {
  std::vector<float> a = smallInts(6, 50), b = smallInts(6, 51);
  std::vector<float> want = refGemm(a, {2, 3}, false, b, {3, 2}, false, 3.0f, 0.0f,
                                    [&](int64_t, int64_t) { return 0.0f; });
  Tensor y = runOne("amct.Gemm", {f32({2, 3}, a), f32({3, 2}, b), kNone},
                    "alpha = 3.000000e+00 : f32", f32Type({2, 2}));
  EXPECT_TRUE(matches(y, {2, 2}, want));
}

/// Batched matmul by definition over explicit batch index maps.
std::vector<float> refBatchedMatMul(const std::vector<float> &a, const std::vector<float> &b,
                                    int64_t batches, int64_t m, int64_t k, int64_t n,
                                    const std::function<int64_t(int64_t)> &aBatch,
                                    const std::function<int64_t(int64_t)> &bBatch) {
  std::vector<float> y(batches * m * n);
  for (int64_t bi = 0; bi < batches; ++bi)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t l = 0; l < k; ++l)
          acc += a[(aBatch(bi) * m + i) * k + l] * b[(bBatch(bi) * k + l) * n + j];
        y[(bi * m + i) * n + j] = acc;
      }
  return y;
}

TEST_F(MatMulTest, MatMulBroadcastsBatchDimsBothWays) {
  // A [2, 1, 3, 4] x B [3, 4, 5] -> [2, 3, 3, 5]: A's batch index is d0,
  // B's is d1 (batch = d0 * 3 + d1).
  std::vector<float> a = smallInts(2 * 3 * 4, 52), b = smallInts(3 * 4 * 5, 53);
  std::vector<float> want = refBatchedMatMul(
      a, b, 6, 3, 4, 5, [](int64_t bi) { return bi / 3; }, [](int64_t bi) { return bi % 3; });
  Tensor y =
      runOne("amct.MatMul", {f32({2, 1, 3, 4}, a), f32({3, 4, 5}, b)}, "", f32Type({2, 3, 3, 5}));
  EXPECT_TRUE(matches(y, {2, 3, 3, 5}, want));
}

TEST_F(MatMulTest, MatMulBroadcasts2DAgainstBatch) {
  // A [2, 3] is shared by all 4 matrices of B [4, 3, 2].
  std::vector<float> a = smallInts(6, 54), b = smallInts(24, 55);
  std::vector<float> want = refBatchedMatMul(
      a, b, 4, 2, 3, 2, [](int64_t) { return 0; }, [](int64_t bi) { return bi; });
  Tensor y = runOne("amct.MatMul", {f32({2, 3}, a), f32({4, 3, 2}, b)}, "", f32Type({4, 2, 2}));
  EXPECT_TRUE(matches(y, {4, 2, 2}, want));
}

TEST_F(MatMulTest, MatMulOf1DVectorsIsScalar) {
  // 1*4 + 2*5 + 3*6; both inserted 1s are removed: rank 0.
  Tensor y = runOne("amct.MatMul", {f32({3}, {1, 2, 3}), f32({3}, {4, 5, 6})}, "", f32Type({}));
  EXPECT_TRUE(matches<float>(y, {}, {32}));
}

TEST_F(MatMulTest, MatMulOf1DByBatchDropsRowDim) {
  // [3] x [2, 3, 2] -> [2, 2]: the vector times each matrix.
  std::vector<float> b = iota(12, 1);
  Tensor y = runOne("amct.MatMul", {f32({3}, {1, 0, -1}), f32({2, 3, 2}, b)}, "", f32Type({2, 2}));
  // Row 0 minus row 2 of each matrix: (1-5, 2-6), (7-11, 8-12).
  EXPECT_TRUE(matches<float>(y, {2, 2}, {-4, -4, -4, -4}));
}

TEST_F(MatMulTest, MatMulOfBatchBy1DDropsColumnDim) {
  // [2, 2, 3] x [3] -> [2, 2]: each row dotted with [1, 10, 100].
  Tensor y = runOne("amct.MatMul", {f32({2, 2, 3}, iota(12)), f32({3}, {1, 10, 100})}, "",
                    f32Type({2, 2}));
  EXPECT_TRUE(matches<float>(y, {2, 2}, {210, 543, 876, 1209}));
}

TEST_F(MatMulTest, MatMulRejectsInnerDimMismatchAtRunTime) {
  std::string src = R"(
func.func @main(%a: tensor<2x?xf32>, %b: tensor<?x2xf32>) -> tensor<2x2xf32> {
  %y = amct.MatMul %a, %b : (tensor<2x?xf32>, tensor<?x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
})";
  auto r = runFunc(src, {f32({2, 3}, iota(6)), f32({4, 2}, iota(8))});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("inner dimensions differ"), std::string::npos) << diagnostics;
}

} // namespace
