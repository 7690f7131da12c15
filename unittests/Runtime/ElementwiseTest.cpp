//===- ElementwiseTest.cpp - broadcasting binary ops, Pow, Clip, unary ----===//
//
// Numpy broadcasting of Add/Sub/Mul/Div ((3,1) with (1,4), rank-0 scalars on
// either side, trailing vectors, size-1 middle dims), integer arithmetic,
// and the unary ops against the C library.
//
//===----------------------------------------------------------------------===//

#include "KernelTest.h"

#include <cmath>
#include <limits>

using namespace amct::rt;
using namespace amct::rt::test;

namespace {

using ElementwiseTest = KernelTest;

/// out[i...] = f(a[broadcast i...], b[broadcast i...]) for 3-d shapes
/// already right-aligned to rank 3 (size-1 dims broadcast).
template <typename F>
std::vector<float> refBroadcast3(const std::vector<float> &a, const Shape &as,
                                 const std::vector<float> &b, const Shape &bs, const Shape &out,
                                 F f) {
  std::vector<float> y;
  for (int64_t i = 0; i < out[0]; ++i)
    for (int64_t j = 0; j < out[1]; ++j)
      for (int64_t k = 0; k < out[2]; ++k) {
        auto idx = [&](const Shape &s) {
          int64_t ii = s[0] == 1 ? 0 : i, jj = s[1] == 1 ? 0 : j, kk = s[2] == 1 ? 0 : k;
          return (ii * s[1] + jj) * s[2] + kk;
        };
        y.push_back(f(a[idx(as)], b[idx(bs)]));
      }
  return y;
}

TEST_F(ElementwiseTest, AddBroadcastsColumnAgainstRow) {
  Tensor y = runOne("amct.Add", {f32({3, 1}, {1, 2, 3}), f32({1, 4}, {10, 20, 30, 40})}, "",
                    f32Type({3, 4}));
  EXPECT_TRUE(matches<float>(y, {3, 4}, {11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43}));
}

TEST_F(ElementwiseTest, SubWithRankZeroScalarOnEitherSide) {
  Tensor left = runOne("amct.Sub", {f32({}, {10}), f32({2, 3}, iota(6))}, "", f32Type({2, 3}));
  EXPECT_TRUE(matches<float>(left, {2, 3}, {10, 9, 8, 7, 6, 5}));
  Tensor right = runOne("amct.Sub", {f32({2, 3}, iota(6)), f32({}, {10})}, "", f32Type({2, 3}));
  EXPECT_TRUE(matches<float>(right, {2, 3}, {-10, -9, -8, -7, -6, -5}));
}

TEST_F(ElementwiseTest, RankZeroWithRankZeroIsRankZero) {
  Tensor y = runOne("amct.Mul", {f32({}, {3}), f32({}, {-4})}, "", f32Type({}));
  EXPECT_TRUE(matches<float>(y, {}, {-12}));
}

TEST_F(ElementwiseTest, MulBroadcastsTrailingVector) {
  // [2, 3, 4] * [4]: the vector is right-aligned (as [1, 1, 4]).
  std::vector<float> a = smallInts(24, 61), b = {1, -2, 3, -4};
  Tensor y = runOne("amct.Mul", {f32({2, 3, 4}, a), f32({4}, b)}, "", f32Type({2, 3, 4}));
  EXPECT_TRUE(matches(y, {2, 3, 4},
                      refBroadcast3(a, {2, 3, 4}, b, {1, 1, 4}, {2, 3, 4},
                                    [](float x, float z) { return x * z; })));
}

TEST_F(ElementwiseTest, DivBroadcastsSizeOneDimsOfBothOperands) {
  // [2, 1, 4] / [3, 1] -> [2, 3, 4]: each operand is stretched on another dim.
  std::vector<float> a = iota(8, 1), b = {1, 2, 4};
  Tensor y = runOne("amct.Div", {f32({2, 1, 4}, a), f32({3, 1}, b)}, "", f32Type({2, 3, 4}));
  EXPECT_TRUE(matches(y, {2, 3, 4},
                      refBroadcast3(a, {2, 1, 4}, b, {1, 3, 1}, {2, 3, 4},
                                    [](float x, float z) { return x / z; })));
}

TEST_F(ElementwiseTest, IntegerAddBroadcasts) {
  Tensor y = runOne("amct.Add", {make<int64_t>({2, 1}, {100, 200}), make<int64_t>({3}, {1, 2, 3})},
                    "", tensorType({2, 3}, DType::I64));
  EXPECT_TRUE(matches<int64_t>(y, {2, 3}, {101, 102, 103, 201, 202, 203}));
}

TEST_F(ElementwiseTest, IntegerDivTruncatesPositiveQuotients) {
  Tensor y = runOne("amct.Div", {make<int32_t>({3}, {7, 9, 1}), make<int32_t>({}, {2})}, "",
                    tensorType({3}, DType::I32));
  EXPECT_TRUE(matches<int32_t>(y, {3}, {3, 4, 0}));
}

TEST_F(ElementwiseTest, IntegerDivByZeroFails) {
  auto r = runOp("amct.Div", {make<int32_t>({2}, {1, 2}), make<int32_t>({2}, {1, 0})}, "",
                 {tensorType({2}, DType::I32)});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("division by zero"), std::string::npos) << diagnostics;
}

TEST_F(ElementwiseTest, FloatDivByZeroGivesInfinityAndNaN) {
  float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  Tensor y = runOne("amct.Div", {f32({3}, {1, -1, 0}), f32({}, {0})}, "", f32Type({3}));
  EXPECT_TRUE(matches<float>(y, {3}, {inf, -inf, nan}));
}

TEST_F(ElementwiseTest, AddRejectsIncompatibleShapesAtRunTime) {
  std::string src = R"(
func.func @main(%a: tensor<?xf32>, %b: tensor<?xf32>) -> tensor<?xf32> {
  %y = amct.Add %a, %b : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %y : tensor<?xf32>
})";
  auto r = runFunc(src, {f32({3}, iota(3)), f32({2}, iota(2))});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("do not broadcast"), std::string::npos) << diagnostics;
}

TEST_F(ElementwiseTest, SameComputedValueAsBothOperands) {
  // One slot read twice by the step that uses it last (and frees it after).
  std::string src = R"(
func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
  %r = amct.Relu %x : (tensor<3xf32>) -> tensor<3xf32>
  %y = amct.Mul %r, %r : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %y : tensor<3xf32>
})";
  auto r = runFunc(src, {f32({3}, {-2, 3, 0.5})});
  ASSERT_TRUE(succeeded(r)) << diagnostics;
  EXPECT_TRUE(matches<float>(r->front(), {3}, {0, 9, 0.25}));
}

TEST_F(ElementwiseTest, PowBroadcastsExponentOfOtherType) {
  // Float base, int64 exponent per column.
  Tensor y = runOne("amct.Pow", {f32({2, 2}, {2, 3, -2, 4}), make<int64_t>({2}, {3, 2})}, "",
                    f32Type({2, 2}));
  EXPECT_TRUE(matches<float>(y, {2, 2}, {8, 9, -8, 16}));
}

TEST_F(ElementwiseTest, ClipWithOnlyMaxLeavesLowSide) {
  Tensor y = runOne("amct.Clip", {f32({4}, {-5, 0, 1, 5}), kNone, f32({}, {1})}, "", f32Type({4}));
  EXPECT_TRUE(matches<float>(y, {4}, {-5, 0, 1, 1}));
}

TEST_F(ElementwiseTest, ClipWithBothBounds) {
  Tensor y = runOne("amct.Clip", {f32({5}, {-5, -1, 0, 2, 7}), f32({}, {-1}), f32({}, {6})}, "",
                    f32Type({5}));
  EXPECT_TRUE(matches<float>(y, {5}, {-1, -1, 0, 2, 6}));
}

TEST_F(ElementwiseTest, UnaryOpsMatchDefinitions) {
  std::vector<float> x = {-3, -0.5, 0, 0.25, 2};
  struct Case {
    const char *op;
    double (*f)(double);
  } cases[] = {
      {"amct.Relu", [](double v) { return v > 0 ? v : 0.0; }},
      {"amct.Sigmoid", [](double v) { return 1.0 / (1.0 + std::exp(-v)); }},
      {"amct.Tanh", [](double v) { return std::tanh(v); }},
      {"amct.Erf", [](double v) { return std::erf(v); }},
  };
  for (const Case &c : cases) {
    std::vector<float> want;
    for (float v : x)
      want.push_back(c.f(v));
    Tensor y = runOne(c.op, {f32({5}, x)}, "", f32Type({5}));
    EXPECT_TRUE(matches(y, {5}, want, 1e-6)) << c.op;
  }
  Tensor s = runOne("amct.Sqrt", {f32({3}, {0, 2.25, -1})}, "", f32Type({3}));
  EXPECT_TRUE(matches<float>(s, {3}, {0, 1.5, std::nanf("")}));
}

} // namespace
