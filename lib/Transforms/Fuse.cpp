//===- Fuse.cpp - --amct-fuse: BatchNorm folding, MatMul+Add -> Gemm ------===//
//
// AMCT fuses before it quantizes so that the quantized layer sees the weights
// it will run with: a BatchNormalization after a convolution is folded into
// the convolution's weight and bias, and a 2-D MatMul plus bias becomes Gemm.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace amct {
#define GEN_PASS_DEF_AMCTFUSE
#include "amct/Transforms/Passes.h.inc"
} // namespace amct

using namespace mlir;
using namespace amct;

namespace {

bool isSkipped(Operation *op, ArrayRef<std::string> skipLayers) {
  return llvm::is_contained(skipLayers, getNodeName(op).str());
}

/// The location of a fused layer: the layer's node name, with the output
/// tensor name of the op it absorbed (so consumers keep their input names).
Location fusedLoc(Operation *layer, Operation *absorbed) {
  SmallVector<std::string> outputs;
  for (StringRef name : getOutputNames(absorbed))
    outputs.push_back(name.str());
  return makeNodeLoc(layer->getContext(), getNodeName(layer), outputs, layer->getLoc());
}

/// Conv/ConvTranspose -> BatchNormalization  ==>  Conv/ConvTranspose with
/// the BN's affine transform folded into weight and bias.
template <typename ConvT>
struct FoldBatchNormIntoConv : OpRewritePattern<BatchNormalizationOp> {
  FoldBatchNormIntoConv(MLIRContext *ctx, ArrayRef<std::string> skipLayers)
      : OpRewritePattern(ctx, /*benefit=*/2), skipLayers(skipLayers) {}

  LogicalResult matchAndRewrite(BatchNormalizationOp bn,
                                PatternRewriter &rewriter) const override {
    auto conv = bn.getX().template getDefiningOp<ConvT>();
    if (!conv)
      return rewriter.notifyMatchFailure(bn, "input is not produced by the conv kind");
    if (!conv->hasOneUse())
      return rewriter.notifyMatchFailure(bn, "the conv's output has other users");
    if (isSkipped(conv, skipLayers))
      return rewriter.notifyMatchFailure(bn, "layer is in skip_fusion_layers");
    if (bn.getTrainingMode() != 0)
      return rewriter.notifyMatchFailure(bn, "BatchNormalization in training mode");
    auto weightType = dyn_cast<RankedTensorType>(conv.getW().getType());
    if (!weightType || !weightType.getElementType().isF32() || !weightType.hasStaticShape())
      return rewriter.notifyMatchFailure(bn, "weight is not a static f32 tensor");
    std::optional<std::vector<float>> w = getConstantFloats(conv.getW());
    auto gamma = getConstantFloats(bn.getScale()), beta = getConstantFloats(bn.getB()),
         mean = getConstantFloats(bn.getInputMean()), var = getConstantFloats(bn.getInputVar());
    if (!w || !gamma || !beta || !mean || !var)
      return rewriter.notifyMatchFailure(bn, "weight or BN parameters are not constants");
    bool hasBias = !isa<NoneType>(conv.getB().getType());
    std::optional<std::vector<float>> bias;
    if (hasBias && !(bias = getConstantFloats(conv.getB())))
      return rewriter.notifyMatchFailure(bn, "bias is not a constant");

    int64_t group = conv.getGroup();
    // Output channels: Conv W is [M, C/g, k...]; ConvTranspose W is [C, M/g, k...].
    constexpr bool isTranspose = std::is_same_v<ConvT, ConvTransposeOp>;
    int64_t channels = isTranspose ? weightType.getDimSize(1) * group : weightType.getDimSize(0);
    if ((int64_t)gamma->size() != channels || (int64_t)beta->size() != channels ||
        (int64_t)mean->size() != channels || (int64_t)var->size() != channels ||
        (hasBias && (int64_t)bias->size() != channels))
      return rewriter.notifyMatchFailure(bn, "parameter sizes differ from the channel count");

    float eps = bn.getEpsilon().convertToFloat();
    std::vector<float> factor(channels), newBias(channels);
    for (int64_t c = 0; c < channels; ++c) {
      factor[c] = (*gamma)[c] / std::sqrt((*var)[c] + eps);
      newBias[c] = ((hasBias ? (*bias)[c] : 0.0f) - (*mean)[c]) * factor[c] + (*beta)[c];
    }
    int64_t kernel = weightType.getNumElements() / (weightType.getDimSize(0) * weightType.getDimSize(1));
    if constexpr (isTranspose) {
      int64_t cIn = weightType.getDimSize(0), mPerGroup = weightType.getDimSize(1),
              cPerGroup = cIn / group;
      for (int64_t c = 0; c < cIn; ++c)
        for (int64_t m = 0; m < mPerGroup; ++m) {
          float f = factor[(c / cPerGroup) * mPerGroup + m];
          float *p = w->data() + (c * mPerGroup + m) * kernel;
          for (int64_t k = 0; k < kernel; ++k)
            p[k] *= f;
        }
    } else {
      int64_t perChannel = weightType.getNumElements() / channels;
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t i = 0; i < perChannel; ++i)
          (*w)[c * perChannel + i] *= factor[c];
    }

    Location weightLoc = conv.getW().getDefiningOp()->getLoc();
    Value newW = createFloatConstant(rewriter, weightLoc, weightType, *w,
                                     getNodeName(conv.getW().getDefiningOp()));
    StringRef biasName = hasBias ? getNodeName(conv.getB().getDefiningOp())
                                 : getNodeName(bn.getB().getDefiningOp());
    Location biasLoc = hasBias ? conv.getB().getDefiningOp()->getLoc()
                               : bn.getB().getDefiningOp()->getLoc();
    Value newB = createFloatConstant(
        rewriter, biasLoc,
        RankedTensorType::get({channels}, rewriter.getF32Type()), newBias, biasName);
    auto fused = rewriter.create<ConvT>(fusedLoc(conv, bn), TypeRange{bn.getY().getType()},
                                        ValueRange{conv.getX(), newW, newB},
                                        conv->getAttrs());
    rewriter.replaceOp(bn, fused);
    rewriter.eraseOp(conv);
    return success();
  }

  ArrayRef<std::string> skipLayers;
};

/// MatMul(A[M,K], B[K,N] const) -> Add(bias[N] const)  ==>  Gemm(A, B, bias).
struct FuseMatMulAddIntoGemm : OpRewritePattern<AddOp> {
  FuseMatMulAddIntoGemm(MLIRContext *ctx, ArrayRef<std::string> skipLayers)
      : OpRewritePattern(ctx, /*benefit=*/1), skipLayers(skipLayers) {}

  LogicalResult matchAndRewrite(AddOp add, PatternRewriter &rewriter) const override {
    Value bias = add.getB();
    auto matmul = add.getA().getDefiningOp<MatMulOp>();
    if (!matmul) {
      matmul = add.getB().getDefiningOp<MatMulOp>();
      bias = add.getA();
    }
    if (!matmul || !matmul->hasOneUse())
      return rewriter.notifyMatchFailure(add, "not the only user of a MatMul");
    if (isSkipped(matmul, skipLayers))
      return rewriter.notifyMatchFailure(add, "layer is in skip_fusion_layers");
    auto a = dyn_cast<RankedTensorType>(matmul.getA().getType());
    auto b = dyn_cast<RankedTensorType>(matmul.getB().getType());
    auto c = dyn_cast<RankedTensorType>(bias.getType());
    // Gemm is 2-D only; a batched MatMul stays MatMul + Add.
    if (!a || !b || !c || a.getRank() != 2 || b.getRank() != 2 || !b.hasStaticShape() ||
        !a.getElementType().isF32())
      return rewriter.notifyMatchFailure(add, "not a 2-D f32 MatMul");
    if (!getConstantFloats(matmul.getB()) || !getConstantFloats(bias))
      return rewriter.notifyMatchFailure(add, "weight or bias is not a constant");
    int64_t n = b.getDimSize(1);
    bool vector = c.getRank() == 1 && c.getDimSize(0) == n;
    bool row = c.getRank() == 2 && c.getDimSize(0) == 1 && c.getDimSize(1) == n;
    if (!vector && !row)
      return rewriter.notifyMatchFailure(add, "bias is not [N] or [1, N]");
    auto gemm = rewriter.create<GemmOp>(fusedLoc(matmul, add), TypeRange{add.getC().getType()},
                                        ValueRange{matmul.getA(), matmul.getB(), bias},
                                        ArrayRef<NamedAttribute>{});
    rewriter.replaceOp(add, gemm);
    rewriter.eraseOp(matmul);
    return success();
  }

  ArrayRef<std::string> skipLayers;
};

struct AmctFusePass : amct::impl::AmctFuseBase<AmctFusePass> {
  using AmctFuseBase::AmctFuseBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    skipList.assign(skipLayers.begin(), skipLayers.end());
    populateFusePatterns(patterns, skipList);
    GreedyRewriteConfig config;
    config.enableRegionSimplification = GreedySimplifyRegionLevel::Disabled;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
  std::vector<std::string> skipList;
};

} // namespace

void amct::populateFusePatterns(RewritePatternSet &patterns,
                                ArrayRef<std::string> skipLayers) {
  patterns.add<FoldBatchNormIntoConv<ConvOp>, FoldBatchNormIntoConv<ConvTransposeOp>,
               FuseMatMulAddIntoGemm>(patterns.getContext(), skipLayers);
}
