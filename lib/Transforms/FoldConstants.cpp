//===- FoldConstants.cpp - --amct-fold-constants --------------------------===//
//
// Constant computations exporters leave in graphs, folded so that layers see
// constant weights: Transpose of a float constant (how torch writes Linear
// layers on N-d inputs: MatMul(x, Transpose(W))). Runs before layer
// discovery, so the config and the quantizer see the same layers.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace amct {
#define GEN_PASS_DEF_AMCTFOLDCONSTANTS
#include "amct/Transforms/Passes.h.inc"
} // namespace amct

using namespace mlir;
using namespace amct;

namespace {

/// Transpose(constant)  ==>  constant: exporters write Linear layers as
/// MatMul(x, Transpose(W)); folding makes the weight a constant layer input.
struct FoldConstantTranspose : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getData().getType());
    auto constOp = op.getData().getDefiningOp<ConstOp>();
    if (!type || !type.hasStaticShape() || !constOp)
      return rewriter.notifyMatchFailure(op, "not a static constant");
    std::optional<std::vector<float>> data = getConstantFloats(op.getData());
    if (!data)
      return rewriter.notifyMatchFailure(op, "not a float32 constant");
    int64_t rank = type.getRank();
    SmallVector<int64_t> perm;
    if (auto p = op.getPerm())
      perm.assign(p->begin(), p->end());
    else
      for (int64_t i = rank - 1; i >= 0; --i)
        perm.push_back(i);
    SmallVector<int64_t> inStrides(rank, 1), outShape;
    for (int64_t i = rank - 2; i >= 0; --i)
      inStrides[i] = inStrides[i + 1] * type.getDimSize(i + 1);
    for (int64_t p : perm)
      outShape.push_back(type.getDimSize(p));
    std::vector<float> out(data->size());
    SmallVector<int64_t> idx(rank, 0);
    for (size_t o = 0; o < out.size(); ++o) {
      int64_t src = 0;
      for (int64_t d = 0; d < rank; ++d)
        src += idx[d] * inStrides[perm[d]];
      out[o] = (*data)[src];
      for (int64_t d = rank - 1; d >= 0 && ++idx[d] == outShape[d]; --d)
        idx[d] = 0;
    }
    SmallVector<std::string> outputs;
    for (StringRef name : getOutputNames(op))
      outputs.push_back(name.str());
    Value folded = createFloatConstant(
        rewriter, makeNodeLoc(op.getContext(), getNodeName(constOp), outputs, op.getLoc()),
        RankedTensorType::get(outShape, type.getElementType()), out, getNodeName(constOp));
    rewriter.replaceOp(op, folded);
    return success();
  }
};

struct AmctFoldConstantsPass : amct::impl::AmctFoldConstantsBase<AmctFoldConstantsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFoldConstantsPatterns(patterns);
    GreedyRewriteConfig config;
    config.enableRegionSimplification = GreedySimplifyRegionLevel::Disabled;
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace

void amct::populateFoldConstantsPatterns(RewritePatternSet &patterns) {
  patterns.add<FoldConstantTranspose>(patterns.getContext());
}
