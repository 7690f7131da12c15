//===- ShapeInferenceTest.cpp - result types of typed ONNX ops ------------===//
//
// Each case parses one op with unranked results and checks the inferred
// types against sizes computed by hand from the ONNX operator spec.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace amct;

namespace {
class ShapeInferenceTest : public ::testing::Test {
protected:
  ShapeInferenceTest() { ctx.loadDialect<AmctDialect, func::FuncDialect>(); }

  /// Parses `body` inside a function with the given arguments, without
  /// verification (results are unranked placeholders), and returns the type
  /// inferred for result `index` of the first typed op.
  std::string infer(StringRef args, StringRef body, unsigned index = 0) {
    std::string src = ("func.func @f(" + args + ") {\n" + body + "\n  return\n}").str();
    ParserConfig config(&ctx, /*verifyAfterParse=*/false);
    module = parseSourceString<ModuleOp>(src, config);
    if (!module)
      return "<parse error>";
    ShapeInferenceOpInterface op;
    module->walk([&](ShapeInferenceOpInterface o) {
      if (!op)
        op = o;
    });
    SmallVector<Type> types;
    if (!op || failed(op.inferResultTypes(types)) || index >= types.size())
      return "<failed>";
    std::string s;
    llvm::raw_string_ostream os(s);
    os << types[index];
    return s;
  }

  MLIRContext ctx;
  OwningOpRef<ModuleOp> module;
};
} // namespace

TEST_F(ShapeInferenceTest, ConvWithPaddingStrideDilation) {
  // H: floor((32 + 1 + 1 - ((3-1)*2+1)) / 2) + 1 = floor(29/2) + 1 = 15
  // W: floor((20 + 0 + 0 - 3) / 1) + 1 = 18
  EXPECT_EQ(infer("%x: tensor<2x6x32x20xf32>, %w: tensor<8x3x3x3xf32>",
                  "%n = amct.none\n%y = amct.Conv %x, %w, %n {group = 2 : i64, "
                  "pads = array<i64: 1, 0, 1, 0>, strides = array<i64: 2, 1>, "
                  "dilations = array<i64: 2, 1>} : (tensor<2x6x32x20xf32>, "
                  "tensor<8x3x3x3xf32>, none) -> tensor<*xf32>"),
            "tensor<2x8x15x18xf32>");
}

TEST_F(ShapeInferenceTest, ConvSameUpperIgnoresKernel) {
  // SAME_UPPER: ceil(in / stride) = ceil(7 / 2) = 4.
  EXPECT_EQ(infer("%x: tensor<1x1x7x7xf32>, %w: tensor<4x1x3x3xf32>",
                  "%n = amct.none\n%y = amct.Conv %x, %w, %n {auto_pad = \"SAME_UPPER\", "
                  "strides = array<i64: 2, 2>} : (tensor<1x1x7x7xf32>, "
                  "tensor<4x1x3x3xf32>, none) -> tensor<*xf32>"),
            "tensor<1x4x4x4xf32>");
}

TEST_F(ShapeInferenceTest, ConvRejectsChannelMismatch) {
  EXPECT_EQ(infer("%x: tensor<1x3x8x8xf32>, %w: tensor<4x5x3x3xf32>",
                  "%n = amct.none\n%y = amct.Conv %x, %w, %n : (tensor<1x3x8x8xf32>, "
                  "tensor<4x5x3x3xf32>, none) -> tensor<*xf32>"),
            "<failed>");
}

TEST_F(ShapeInferenceTest, ConvTransposeStrideAndOutputPadding) {
  // out = 2 * (5 - 1) + 1 + ((3 - 1) * 1 + 1) - 1 - 1 = 10
  EXPECT_EQ(infer("%x: tensor<1x4x5x5xf32>, %w: tensor<4x3x3x3xf32>",
                  "%n = amct.none\n%y = amct.ConvTranspose %x, %w, %n {strides = "
                  "array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, output_padding = "
                  "array<i64: 1, 1>, group = 2 : i64} : (tensor<1x4x5x5xf32>, "
                  "tensor<4x3x3x3xf32>, none) -> tensor<*xf32>"),
            "tensor<1x6x10x10xf32>");
}

TEST_F(ShapeInferenceTest, GemmTransposes) {
  EXPECT_EQ(infer("%a: tensor<7x3xf32>, %b: tensor<5x7xf32>",
                  "%n = amct.none\n%y = amct.Gemm %a, %b, %n {transA = 1 : i64, transB = "
                  "1 : i64} : (tensor<7x3xf32>, tensor<5x7xf32>, none) -> tensor<*xf32>"),
            "tensor<3x5xf32>");
}

TEST_F(ShapeInferenceTest, MatMulBroadcastsBatchAndDropsVectorDims) {
  EXPECT_EQ(infer("%a: tensor<2x1x4x3xf32>, %b: tensor<5x3x6xf32>",
                  "%y = amct.MatMul %a, %b : (tensor<2x1x4x3xf32>, tensor<5x3x6xf32>) "
                  "-> tensor<*xf32>"),
            "tensor<2x5x4x6xf32>");
  EXPECT_EQ(infer("%a: tensor<3xf32>, %b: tensor<2x3x6xf32>",
                  "%y = amct.MatMul %a, %b : (tensor<3xf32>, tensor<2x3x6xf32>) -> "
                  "tensor<*xf32>"),
            "tensor<2x6xf32>");
}

TEST_F(ShapeInferenceTest, BroadcastWithDynamicDims) {
  EXPECT_EQ(infer("%a: tensor<?x1x5xf32>, %b: tensor<4x1xf32>",
                  "%y = amct.Add %a, %b : (tensor<?x1x5xf32>, tensor<4x1xf32>) -> "
                  "tensor<*xf32>"),
            "tensor<?x4x5xf32>");
}

TEST_F(ShapeInferenceTest, MaxPoolCeilModeAndIndices) {
  // floor((9 - 3) / 2) + 1 = 4; with ceil_mode ceil(6 / 2) + 1 = 4 as well.
  EXPECT_EQ(infer("%x: tensor<1x2x9x9xf32>",
                  "%y, %i = amct.MaxPool %x {kernel_shape = array<i64: 3, 3>, strides = "
                  "array<i64: 2, 2>} : (tensor<1x2x9x9xf32>) -> (tensor<*xf32>, "
                  "tensor<*xi64>)",
                  1),
            "tensor<1x2x4x4xi64>");
}

TEST_F(ShapeInferenceTest, ReshapeWithZeroAndMinusOne) {
  EXPECT_EQ(infer("%x: tensor<2x3x4xf32>",
                  "%s = amct.const dense<[0, -1]> : tensor<2xi64>\n%y = amct.Reshape %x, "
                  "%s : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<*xf32>"),
            "tensor<2x12xf32>");
}

TEST_F(ShapeInferenceTest, SliceNegativeStep) {
  // starts -1 -> 9, ends -100 -> before the start: 10 elements, step -3: 4.
  EXPECT_EQ(infer("%x: tensor<10x4xf32>",
                  "%s = amct.const dense<[-1]> : tensor<1xi64>\n"
                  "%e = amct.const dense<[-100]> : tensor<1xi64>\n"
                  "%a = amct.const dense<[0]> : tensor<1xi64>\n"
                  "%t = amct.const dense<[-3]> : tensor<1xi64>\n"
                  "%y = amct.Slice %x, %s, %e, %a, %t : (tensor<10x4xf32>, tensor<1xi64>, "
                  "tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>"),
            "tensor<4x4xf32>");
}

TEST_F(ShapeInferenceTest, GatherAndFlatten) {
  EXPECT_EQ(infer("%x: tensor<5x6x7xf32>, %i: tensor<2x3xi64>",
                  "%y = amct.Gather %x, %i {axis = 1 : i64} : (tensor<5x6x7xf32>, "
                  "tensor<2x3xi64>) -> tensor<*xf32>"),
            "tensor<5x2x3x7xf32>");
  EXPECT_EQ(infer("%x: tensor<5x6x7xf32>",
                  "%y = amct.Flatten %x {axis = -1 : i64} : (tensor<5x6x7xf32>) -> "
                  "tensor<*xf32>"),
            "tensor<30x7xf32>");
}
