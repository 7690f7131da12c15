//===- DataMovementTest.cpp - Concat, Transpose, Gather, Slice, Pad, ... --===//
//
// Negative axes everywhere ONNX allows them, negative indices and steps,
// clamping of out-of-range slice bounds, and every Pad mode, with values
// written out by hand (x[i][j] = 4i + j style data make them readable).
//
//===----------------------------------------------------------------------===//

#include "KernelTest.h"

#include <limits>

using namespace amct::rt;
using namespace amct::rt::test;

namespace {

using DataMovementTest = KernelTest;

constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();

//===----------------------------------------------------------------------===//
// Concat, Transpose, Gather
//===----------------------------------------------------------------------===//

TEST_F(DataMovementTest, ConcatNegativeAxisIsLast) {
  Tensor y = runOne("amct.Concat", {f32({2, 2}, {1, 2, 3, 4}), f32({2, 1}, {5, 6})},
                    "axis = -1 : i64", f32Type({2, 3}));
  EXPECT_TRUE(matches<float>(y, {2, 3}, {1, 2, 5, 3, 4, 6}));
}

TEST_F(DataMovementTest, ConcatNegativeAxisOfRank3WithThreeInputs) {
  // Axis -2 of [2, n, 2]: per leading index, the rows of each input in turn.
  Tensor y = runOne(
      "amct.Concat",
      {f32({2, 1, 2}, {0, 1, 2, 3}), f32({2, 2, 2}, iota(8, 10)), f32({2, 1, 2}, {-1, -2, -3, -4})},
      "axis = -2 : i64", f32Type({2, 4, 2}));
  EXPECT_TRUE(
      matches<float>(y, {2, 4, 2}, {0, 1, 10, 11, 12, 13, -1, -2, 2, 3, 14, 15, 16, 17, -3, -4}));
}

TEST_F(DataMovementTest, ConcatOfInt64) {
  Tensor y = runOne("amct.Concat", {i64({1}, {7}), i64({2}, {-1, 9})}, "axis = 0 : i64",
                    tensorType({3}, DType::I64));
  EXPECT_TRUE(matches<int64_t>(y, {3}, {7, -1, 9}));
}

TEST_F(DataMovementTest, TransposePermutes) {
  // x[i][j][k] = 12i + 4j + k; y[j][k][i] = x[i][j][k].
  Tensor y = runOne("amct.Transpose", {f32({2, 3, 4}, iota(24))}, "perm = array<i64: 1, 2, 0>",
                    f32Type({3, 4, 2}));
  std::vector<float> want;
  for (int j = 0; j < 3; ++j)
    for (int k = 0; k < 4; ++k)
      for (int i = 0; i < 2; ++i)
        want.push_back(12 * i + 4 * j + k);
  EXPECT_TRUE(matches(y, {3, 4, 2}, want));
}

TEST_F(DataMovementTest, TransposeWithoutPermReversesDims) {
  Tensor y = runOne("amct.Transpose", {f32({2, 3, 4}, iota(24))}, "", f32Type({4, 3, 2}));
  std::vector<float> want;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i)
        want.push_back(12 * i + 4 * j + k);
  EXPECT_TRUE(matches(y, {4, 3, 2}, want));
}

TEST_F(DataMovementTest, GatherNegativeAxisAndNegativeIndices) {
  // Axis -1 of [2, 3, 4] with indices [[-1, 0], [1, -2]] -> [2, 3, 2, 2]:
  // y[i][j][p][q] = x[i][j][idx[p][q] mod 4].
  std::vector<int64_t> idx = {-1, 0, 1, -2};
  Tensor y = runOne("amct.Gather", {f32({2, 3, 4}, iota(24)), i64({2, 2}, idx)}, "axis = -1 : i64",
                    f32Type({2, 3, 2, 2}));
  std::vector<float> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int64_t k : idx)
        want.push_back(12 * i + 4 * j + (k + 4) % 4);
  EXPECT_TRUE(matches(y, {2, 3, 2, 2}, want));
}

TEST_F(DataMovementTest, GatherScalarIndexDropsAxis) {
  Tensor y = runOne("amct.Gather", {f32({3, 2}, iota(6)), i64({}, {-1})}, "", f32Type({2}));
  EXPECT_TRUE(matches<float>(y, {2}, {4, 5}));
}

TEST_F(DataMovementTest, GatherMiddleAxisWithInt32Indices) {
  Tensor y = runOne("amct.Gather", {f32({2, 3, 2}, iota(12)), make<int32_t>({2}, {2, 0})},
                    "axis = 1 : i64", f32Type({2, 2, 2}));
  EXPECT_TRUE(matches<float>(y, {2, 2, 2}, {4, 5, 0, 1, 10, 11, 6, 7}));
}

TEST_F(DataMovementTest, GatherOutOfRangeIndexFails) {
  auto r = runOp("amct.Gather", {f32({3}, iota(3)), i64({1}, {3})}, "", {f32Type({1})});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("out of range"), std::string::npos) << diagnostics;
}

//===----------------------------------------------------------------------===//
// Slice
//===----------------------------------------------------------------------===//

// x[i][j] = 4i + j over [3, 4] in all slice tests.

TEST_F(DataMovementTest, SliceNegativeStartsEndsAndAxes) {
  // Columns -3 .. -1 (exclusive) = 1, 2.
  Tensor y = runOne("amct.Slice",
                    {f32({3, 4}, iota(12)), i64({1}, {-3}), i64({1}, {-1}), i64({1}, {-1}), kNone},
                    "", f32Type({3, 2}));
  EXPECT_TRUE(matches<float>(y, {3, 2}, {1, 2, 5, 6, 9, 10}));
}

TEST_F(DataMovementTest, SliceNegativeStepReversesWholeAxis) {
  // start -1, end INT64_MIN, step -1: every row, last first.
  Tensor y = runOne(
      "amct.Slice",
      {f32({3, 4}, iota(12)), i64({1}, {-1}), i64({1}, {kMin64}), i64({1}, {0}), i64({1}, {-1})},
      "", f32Type({3, 4}));
  EXPECT_TRUE(matches<float>(y, {3, 4}, {8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3}));
}

TEST_F(DataMovementTest, SliceNegativeStepClampsStartAndEnd) {
  // Start 10 clamps to 3; end -5 is before the axis (-> -1): columns 3, 1.
  Tensor y = runOne(
      "amct.Slice",
      {f32({3, 4}, iota(12)), i64({1}, {10}), i64({1}, {-5}), i64({1}, {-1}), i64({1}, {-2})}, "",
      f32Type({3, 2}));
  EXPECT_TRUE(matches<float>(y, {3, 2}, {3, 1, 7, 5, 11, 9}));
}

TEST_F(DataMovementTest, SliceClampsOutOfRangeBoundsWithDefaultAxes) {
  // Rows -100 .. 100 -> all; columns 1 .. 1000 -> 1, 2, 3.
  Tensor y =
      runOne("amct.Slice",
             {f32({3, 4}, iota(12)), i64({2}, {-100, 1}), i64({2}, {100, 1000}), kNone, kNone}, "",
             f32Type({3, 3}));
  EXPECT_TRUE(matches<float>(y, {3, 3}, {1, 2, 3, 5, 6, 7, 9, 10, 11}));
}

TEST_F(DataMovementTest, SliceStepsOnTwoAxes) {
  // Rows 0, 2 (step 2); columns 3, 1 (step -2 from -1 to 0 exclusive).
  Tensor y = runOne("amct.Slice",
                    {f32({3, 4}, iota(12)), i64({2}, {0, -1}), i64({2}, {3, 0}), i64({2}, {-2, 1}),
                     i64({2}, {2, -2})},
                    "", f32Type({2, 2}));
  EXPECT_TRUE(matches<float>(y, {2, 2}, {3, 1, 11, 9}));
}

TEST_F(DataMovementTest, SliceEmptyWhenEndBeforeStart) {
  Tensor y = runOne("amct.Slice",
                    {f32({3, 4}, iota(12)), i64({1}, {2}), i64({1}, {1}), i64({1}, {0}), kNone}, "",
                    f32Type({0, 4}));
  EXPECT_TRUE(matches<float>(y, {0, 4}, {}));
}

//===----------------------------------------------------------------------===//
// Squeeze, Unsqueeze, Flatten, Reshape, Shape, Cast
//===----------------------------------------------------------------------===//

TEST_F(DataMovementTest, SqueezeNegativeAxis) {
  Tensor y =
      runOne("amct.Squeeze", {f32({1, 3, 1}, {1, 2, 3}), i64({1}, {-1})}, "", f32Type({1, 3}));
  EXPECT_TRUE(matches<float>(y, {1, 3}, {1, 2, 3}));
}

TEST_F(DataMovementTest, SqueezeWithoutAxesDropsEveryOne) {
  Tensor y = runOne("amct.Squeeze", {f32({1, 3, 1}, {1, 2, 3}), kNone}, "", f32Type({3}));
  EXPECT_TRUE(matches<float>(y, {3}, {1, 2, 3}));
}

TEST_F(DataMovementTest, UnsqueezeNegativeAxesCountInOutputRank) {
  // Output rank 3: -1 is dim 2.
  Tensor y =
      runOne("amct.Unsqueeze", {f32({3}, {1, 2, 3}), i64({2}, {-1, 0})}, "", f32Type({1, 3, 1}));
  EXPECT_TRUE(matches<float>(y, {1, 3, 1}, {1, 2, 3}));
}

TEST_F(DataMovementTest, FlattenNegativeAxis) {
  Tensor y = runOne("amct.Flatten", {f32({2, 3, 4}, iota(24))}, "axis = -1 : i64", f32Type({6, 4}));
  EXPECT_TRUE(matches(y, {6, 4}, iota(24)));
}

TEST_F(DataMovementTest, FlattenAxisZero) {
  Tensor y = runOne("amct.Flatten", {f32({2, 3}, iota(6))}, "axis = 0 : i64", f32Type({1, 6}));
  EXPECT_TRUE(matches(y, {1, 6}, iota(6)));
}

TEST_F(DataMovementTest, ReshapeZeroCopiesDimAndMinusOneInfers) {
  Tensor y =
      runOne("amct.Reshape", {f32({2, 3, 4}, iota(24)), i64({2}, {0, -1})}, "", f32Type({2, 12}));
  EXPECT_TRUE(matches(y, {2, 12}, iota(24)));
}

TEST_F(DataMovementTest, ShapeNegativeStart) {
  Tensor y = runOne("amct.Shape", {f32({2, 3, 4}, iota(24))}, "start = -2 : i64",
                    tensorType({2}, DType::I64));
  EXPECT_TRUE(matches<int64_t>(y, {2}, {3, 4}));
}

TEST_F(DataMovementTest, CastFloatToInt64TruncatesTowardZero) {
  // to = 7 is TensorProto INT64.
  Tensor y = runOne("amct.Cast", {f32({4}, {2.9f, -2.9f, 0.5f, -0.5f})}, "to = 7 : i64",
                    tensorType({4}, DType::I64));
  EXPECT_TRUE(matches<int64_t>(y, {4}, {2, -2, 0, 0}));
}

//===----------------------------------------------------------------------===//
// Pad
//===----------------------------------------------------------------------===//

// x = [[1, 2, 3], [4, 5, 6]] padded by 2 before and 1 after the columns.
class PadTest : public KernelTest {
protected:
  Tensor pad(const std::string &mode, std::vector<Operand> extra = {kNone, kNone},
             Tensor pads = i64({4}, {0, 2, 0, 1})) {
    std::vector<Operand> operands = {f32({2, 3}, iota(6, 1)), pads};
    operands.insert(operands.end(), extra.begin(), extra.end());
    return runOne("amct.Pad", operands, "mode = \"" + mode + "\"", f32Type({2, 6}));
  }
};

TEST_F(PadTest, ConstantModeFillsValue) {
  EXPECT_TRUE(matches<float>(pad("constant", {f32({}, {9}), kNone}), {2, 6},
                             {9, 9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9}));
}

TEST_F(PadTest, ConstantModeDefaultsToZero) {
  EXPECT_TRUE(matches<float>(pad("constant"), {2, 6}, {0, 0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0}));
}

TEST_F(PadTest, EdgeModeRepeatsBorder) {
  EXPECT_TRUE(matches<float>(pad("edge"), {2, 6}, {1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6}));
}

TEST_F(PadTest, ReflectModeMirrorsWithoutEdge) {
  EXPECT_TRUE(matches<float>(pad("reflect"), {2, 6}, {3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5}));
}

TEST_F(PadTest, WrapModeRepeatsPeriodically) {
  EXPECT_TRUE(matches<float>(pad("wrap"), {2, 6}, {2, 3, 1, 2, 3, 1, 5, 6, 4, 5, 6, 4}));
}

TEST_F(PadTest, NegativeAxesInput) {
  // axes [-1] with pads [2, 1]: the same padding of the columns only.
  EXPECT_TRUE(matches<float>(pad("reflect", {kNone, i64({1}, {-1})}, i64({2}, {2, 1})), {2, 6},
                             {3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5}));
}

TEST_F(PadTest, NegativePadsCrop) {
  Tensor y = runOne("amct.Pad", {f32({2, 3}, iota(6, 1)), i64({4}, {0, -1, -1, 0}), kNone, kNone},
                    "", f32Type({1, 2}));
  EXPECT_TRUE(matches<float>(y, {1, 2}, {2, 3}));
}

} // namespace
