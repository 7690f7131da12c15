//===- QuantizableLayerTest.cpp - the layer interface's answers -----------===//
//
// Each case parses one layer and checks what QuantizableLayerOpInterface
// and findQuantizableLayers answer against the ONNX operator definitions:
// the AMCT kind, the operands, the channel axes and counts, the bias, the
// input-channel layout (checked element by element against the weight's
// index arithmetic), and the reasons a layer is skipped.
//
//===----------------------------------------------------------------------===//

#include "amct/Transforms/Passes.h"
#include "amct/Transforms/QuantizableLayers.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassRegistry.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace amct;

namespace {
class QuantizableLayerTest : public ::testing::Test {
protected:
  QuantizableLayerTest() { ctx.loadDialect<AmctDialect, func::FuncDialect>(); }

  /// Parses a function and returns its layers; `skipped` gets the rest.
  std::vector<QuantizableLayer> layers(StringRef src,
                                       std::vector<SkippedLayer> *skipped = nullptr) {
    module = parseSourceString<ModuleOp>(src, &ctx);
    EXPECT_TRUE(module) << src.str();
    if (!module)
      return {};
    func::FuncOp f = *module->getOps<func::FuncOp>().begin();
    return findQuantizableLayers(f, skipped);
  }

  MLIRContext ctx;
  OwningOpRef<ModuleOp> module;
};

TEST_F(QuantizableLayerTest, GroupedConv2d) {
  // W [M=6, C/g=2, 3, 3], group 2: input channel c = g*2 + l feeds output
  // channels g*3 .. g*3+2.
  auto found = layers(R"(
func.func @f(%x: tensor<1x4x8x8xf32>) -> tensor<1x6x6x6xf32> {
  %w = amct.const dense<0.5> : tensor<6x2x3x3xf32>
  %b = amct.const dense<0.1> : tensor<6xf32>
  %y = amct.Conv %x, %w, %b {group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x6x6xf32> loc("conv")
  return %y : tensor<1x6x6x6xf32>
})");
  ASSERT_EQ(found.size(), 1u);
  QuantizableLayer &l = found[0];
  EXPECT_EQ(l.kind, LayerKind::Conv2d);
  EXPECT_EQ(l.type, "Conv2d");
  EXPECT_EQ(l.name, "conv");
  EXPECT_EQ(l.dataOperand, 0u);
  EXPECT_EQ(l.weightOperand, 1);
  EXPECT_EQ(l.weightChannelAxis, 0);
  EXPECT_EQ(l.outputChannels(), 6);
  EXPECT_EQ(l.op.getResultChannelAxis(), 1);
  EXPECT_EQ(l.biasOp, l.op.getOperation());
  EXPECT_EQ(l.biasOperand, 2);
  EXPECT_TRUE(l.op.supportsOffsetX());
  std::string why;
  std::optional<InputChannelLayout> layout = l.op.getInputChannelLayout(why);
  ASSERT_TRUE(layout) << why;
  EXPECT_EQ(layout->channels(), 4);
  // Every weight element w[m][l][kh][kw] belongs to input channel
  // (m / 3) * 2 + l.
  std::vector<int64_t> channelOf(6 * 2 * 3 * 3, -1);
  layout->forEach([&](int64_t c, int64_t i) { channelOf[i] = c; });
  for (int64_t m = 0; m < 6; ++m)
    for (int64_t li = 0; li < 2; ++li)
      for (int64_t k = 0; k < 9; ++k)
        EXPECT_EQ(channelOf[(m * 2 + li) * 9 + k], (m / 3) * 2 + li);
}

TEST_F(QuantizableLayerTest, ConvTransposeGrouped) {
  // W [C=4, M/g=3, 2, 2], group 2: 6 output channels on weight dim 1.
  auto found = layers(R"(
func.func @f(%x: tensor<1x4x3x3xf32>) -> tensor<1x6x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<4x3x2x2xf32>
  %y = amct.ConvTranspose %x, %w, %n {group = 2 : i64} : (tensor<1x4x3x3xf32>, tensor<4x3x2x2xf32>, none) -> tensor<1x6x4x4xf32> loc("deconv")
  return %y : tensor<1x6x4x4xf32>
})");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, LayerKind::ConvTranspose2d);
  EXPECT_EQ(found[0].weightChannelAxis, 1);
  EXPECT_EQ(found[0].outputChannels(), 6);
  EXPECT_EQ(found[0].biasOp, nullptr);
  std::string why;
  auto layout = found[0].op.getInputChannelLayout(why);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->channels(), 4);
  EXPECT_EQ(layout->inner, 3 * 2 * 2);
}

TEST_F(QuantizableLayerTest, GemmAndMatMulLinear) {
  auto found = layers(R"(
func.func @f(%a: tensor<2x5x4xf32>, %g: tensor<3x4xf32>) -> (tensor<2x5x7xf32>, tensor<3x2xf32>) {
  %w = amct.const dense<0.5> : tensor<4x7xf32>
  %bias = amct.const dense<0.25> : tensor<7xf32>
  %m = amct.MatMul %a, %w : (tensor<2x5x4xf32>, tensor<4x7xf32>) -> tensor<2x5x7xf32> loc("mm")
  %y = amct.Add %m, %bias : (tensor<2x5x7xf32>, tensor<7xf32>) -> tensor<2x5x7xf32> loc("mm_bias")
  %wg = amct.const dense<0.5> : tensor<2x4xf32>
  %n = amct.none
  %z = amct.Gemm %g, %wg, %n {transB = 1 : i64} : (tensor<3x4xf32>, tensor<2x4xf32>, none) -> tensor<3x2xf32> loc("fc")
  return %y, %z : tensor<2x5x7xf32>, tensor<3x2xf32>
})");
  ASSERT_EQ(found.size(), 2u);
  QuantizableLayer &mm = found[0], &fc = found[1];
  EXPECT_EQ(mm.kind, LayerKind::Linear);
  EXPECT_EQ(mm.weightChannelAxis, 1);
  EXPECT_EQ(mm.outputChannels(), 7);
  EXPECT_EQ(mm.op.getResultChannelAxis(), 2); // the last dim of [2, 5, 7]
  ASSERT_NE(mm.biasOp, nullptr);
  EXPECT_EQ(getNodeName(mm.biasOp), "mm_bias");
  EXPECT_EQ(mm.biasOperand, 1);
  std::string why;
  auto layout = mm.op.getInputChannelLayout(why);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->dataAxis, 2);
  EXPECT_EQ(layout->channels(), 4);
  EXPECT_EQ(layout->inner, 7);

  EXPECT_EQ(fc.kind, LayerKind::Linear);
  EXPECT_EQ(fc.weightChannelAxis, 0); // transB: [N, K]
  EXPECT_EQ(fc.outputChannels(), 2);
  EXPECT_EQ(fc.op.getResultChannelAxis(), 1);
  auto gl = fc.op.getInputChannelLayout(why);
  ASSERT_TRUE(gl);
  EXPECT_EQ(gl->outPerGroup, 2);
  EXPECT_EQ(gl->channelsPerGroup, 4);
  EXPECT_EQ(gl->inner, 1);
}

TEST_F(QuantizableLayerTest, MatMulBiasNeedsOnePerChannel) {
  // An Add of [5, 7] broadcasts over rows: not a per-channel bias, so the
  // MatMul has none (and stays quantizable).
  auto found = layers(R"(
func.func @f(%a: tensor<5x4xf32>) -> tensor<5x7xf32> {
  %w = amct.const dense<0.5> : tensor<4x7xf32>
  %bias = amct.const dense<0.25> : tensor<5x7xf32>
  %m = amct.MatMul %a, %w : (tensor<5x4xf32>, tensor<4x7xf32>) -> tensor<5x7xf32> loc("mm")
  %y = amct.Add %m, %bias : (tensor<5x7xf32>, tensor<5x7xf32>) -> tensor<5x7xf32> loc("add")
  return %y : tensor<5x7xf32>
})");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].biasOp, nullptr);
}

TEST_F(QuantizableLayerTest, AvgPoolHasNoWeight) {
  auto found = layers(R"(
func.func @f(%x: tensor<1x3x4x4xf32>) -> tensor<1x3x2x2xf32> {
  %y = amct.AveragePool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x3x4x4xf32>) -> tensor<1x3x2x2xf32> loc("pool")
  return %y : tensor<1x3x2x2xf32>
})");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, LayerKind::AvgPool2d);
  EXPECT_EQ(found[0].weightOperand, -1);
  EXPECT_TRUE(found[0].op.supportsOffsetX());
  EXPECT_EQ(found[0].op.getDataOffsetX(), 0);
  found[0].op.setDataOffsetX(-128);
  EXPECT_EQ(found[0].op.getDataOffsetX(), -128);
  std::string why;
  EXPECT_FALSE(found[0].op.getInputChannelLayout(why));
  EXPECT_EQ(why, "the layer has no weight");
}

TEST_F(QuantizableLayerTest, SkippedWithReasons) {
  std::vector<SkippedLayer> skipped;
  auto found = layers(R"(
func.func @f(%x1: tensor<1x2x8xf32>, %x: tensor<1x2x4x4xf32>, %a: tensor<3x4xf32>, %b: tensor<4x2xf32>) -> (tensor<1x2x8xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %n = amct.none
  %w1 = amct.const dense<0.5> : tensor<2x2x1xf32>
  %c1 = amct.Conv %x1, %w1, %n : (tensor<1x2x8xf32>, tensor<2x2x1xf32>, none) -> tensor<1x2x8xf32> loc("conv1d")
  %act = amct.MatMul %a, %b : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32> loc("scores")
  %wg = amct.const dense<0.5> : tensor<4x2xf32>
  %g = amct.Gemm %a, %wg, %n {alpha = 2.0 : f32} : (tensor<3x4xf32>, tensor<4x2xf32>, none) -> tensor<3x2xf32> loc("scaled")
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %s1 = amct.Conv %x, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("shared_a")
  %s2 = amct.Conv %x, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("shared_b")
  return %c1, %act, %g, %s1, %s2 : tensor<1x2x8xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
})",
                      &skipped);
  EXPECT_TRUE(found.empty());
  // The activation x activation MatMul is not a layer at all.
  ASSERT_EQ(skipped.size(), 4u);
  EXPECT_EQ(skipped[0].name, "conv1d");
  EXPECT_EQ(skipped[0].type, "Conv");
  EXPECT_EQ(skipped[0].reason, "only Conv2d and Conv3d are quantizable (this conv has rank 3)");
  EXPECT_EQ(skipped[1].name, "scaled");
  EXPECT_EQ(skipped[1].reason, "Gemm with alpha or beta other than 1");
  EXPECT_EQ(skipped[2].reason,
            "the weight is shared with another layer (AMCT does not quantize shared weights)");
  EXPECT_EQ(skipped[3].name, "shared_b");
}

TEST_F(QuantizableLayerTest, EveryPassIsDefinedInTheTransformsLibrary) {
  // Linking AmctTransforms alone must define every pass it registers.
  registerAmctPasses();
  for (StringRef name : {"amct-fold-constants", "amct-fuse", "amct-insert-calibration",
                         "amct-dmq-balance", "amct-fold-observers", "amct-convert"})
    EXPECT_NE(PassInfo::lookup(name), nullptr) << name.str();
  EXPECT_EQ(PassInfo::lookup("amct-quantize"), nullptr)
      << "amct-quantize runs the executor; it registers with the pipelines";
}

} // namespace
