//===- Passes.h - amct passes -----------------------------------*- C++ -*-===//

#ifndef AMCT_TRANSFORMS_PASSES_H
#define AMCT_TRANSFORMS_PASSES_H

#include "amct/Dialect/Amct/IR/Amct.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace amct {

#define GEN_PASS_DECL
#include "amct/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "amct/Transforms/Passes.h.inc"

struct QuantConfig;
struct QuantizableLayer;
struct Record;
struct LayerRecord;

/// Function attribute --amct-insert-calibration sets to the config's
/// batch_num, so a later calibration step (`amct calibrate`,
/// --amct-calibrate) runs as many batches as the one-shot flow would;
/// --amct-fold-observers removes it.
constexpr llvm::StringLiteral kBatchNumAttr = "amct.batch_num";

/// --amct-insert-calibration with a parsed config: an observer on the data
/// input of every layer of `func` the config quantizes.
mlir::LogicalResult insertCalibration(mlir::func::FuncOp func, const QuantConfig &config);

/// --amct-fold-observers with the record in memory; `recordName` names it
/// in diagnostics (the file, or "the record").
mlir::LogicalResult foldObservers(mlir::func::FuncOp func, const Record &record,
                                  llvm::StringRef recordName);

/// A layer's weight as a fake_quant with the record's scale_w / offset_w
/// (per tensor, or per channel along the layer's weight channel axis) and
/// `weightBits`; with `scaleD` (a static activation scale) its bias as the
/// int32 the deploy model adds to its accumulator. What --amct-fold-observers
/// does per layer, and the language-model W8A8 flow too.
mlir::LogicalResult fakeQuantizeWeights(mlir::OpBuilder &b, const QuantizableLayer &layer,
                                        const LayerRecord &entry, int64_t weightBits,
                                        std::optional<float> scaleD,
                                        llvm::StringRef recordName);

/// Rewrite patterns of --amct-fuse, for use in other pipelines.
void populateFusePatterns(mlir::RewritePatternSet &patterns,
                          llvm::ArrayRef<std::string> skipLayers);

/// Rewrite patterns of --amct-fold-constants.
void populateFoldConstantsPatterns(mlir::RewritePatternSet &patterns);

} // namespace amct

#endif // AMCT_TRANSFORMS_PASSES_H
