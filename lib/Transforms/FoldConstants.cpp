//===- FoldConstants.cpp - --amct-fold-constants --------------------------===//
//
// Constant computations exporters leave in graphs, folded so that layers see
// constant weights: Transpose of a float constant (how torch writes Linear
// layers on N-d inputs: MatMul(x, Transpose(W))) and Identity of a constant
// (how torch shares equal initializers between layers). Runs before layer
// discovery, so the config and the quantizer see the same layers.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Rewrite/FrozenRewritePatternSet.h"
#include "mlir/Rewrite/PatternApplicator.h"

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
    if (constOp->use_empty())
      rewriter.eraseOp(constOp);
    return success();
  }
};

/// Identity(constant)  ==>  a constant of its own: torch's exporter merges
/// equal initializers (the zero biases BatchNorm folding leaves, say) and
/// hands each user an Identity of the one left; every layer gets its bias
/// back as a constant, named as the Identity's output.
struct FoldIdentityOfConstant : OpRewritePattern<IdentityOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(IdentityOp op, PatternRewriter &rewriter) const override {
    auto constOp = op.getInput().getDefiningOp<ConstOp>();
    if (!constOp || op.getType() != constOp.getType())
      return rewriter.notifyMatchFailure(op, "not an Identity of a constant");
    SmallVector<std::string> outputs;
    for (StringRef name : getOutputNames(op))
      outputs.push_back(name.str());
    std::string name = outputs.empty() ? getNodeName(constOp).str() : outputs.front();
    auto folded = rewriter.create<ConstOp>(
        makeNodeLoc(op.getContext(), name, outputs, op.getLoc()), constOp.getType(),
        constOp.getValue());
    rewriter.replaceOp(op, folded.getResult());
    if (constOp->use_empty())
      rewriter.eraseOp(constOp);
    return success();
  }
};

struct AmctFoldConstantsPass : amct::impl::AmctFoldConstantsBase<AmctFoldConstantsPass> {
  // Not the greedy driver: it merges equal constants, which would make two
  // layers with equal weights (or biases) share one constant, and a shared
  // weight is not quantized. The patterns run on each op, to a fixpoint.
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFoldConstantsPatterns(patterns);
    FrozenRewritePatternSet frozen(std::move(patterns));
    PatternApplicator applicator(frozen);
    applicator.applyDefaultCostModel();
    PatternRewriter rewriter(&getContext());
    for (bool changed = true; changed;) {
      changed = false;
      SmallVector<Operation *> ops;
      getOperation().walk([&](Operation *op) {
        if (isa<TransposeOp, IdentityOp>(op))
          ops.push_back(op);
      });
      for (Operation *op : ops) {
        rewriter.setInsertionPoint(op);
        changed |= succeeded(applicator.matchAndRewrite(op, rewriter));
      }
    }
  }
};

} // namespace

void amct::populateFoldConstantsPatterns(RewritePatternSet &patterns) {
  patterns.add<FoldConstantTranspose, FoldIdentityOfConstant>(patterns.getContext());
}
