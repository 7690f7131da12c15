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
/// `adaByCaller`: the caller runs ADA (wts_algo ada_quantize) on the
/// calibration data after folding (the one-shot quantize job); otherwise
/// such a layer is an error, since the observers alone would round its
/// weights to nearest.
mlir::LogicalResult insertCalibration(mlir::func::FuncOp func, const QuantConfig &config,
                                      bool adaByCaller = false);

/// --amct-fold-observers with the record in memory; `recordName` names it
/// in diagnostics (the file, or "the record").
mlir::LogicalResult foldObservers(mlir::func::FuncOp func, const Record &record,
                                  llvm::StringRef recordName);

/// The layer's bias as the int32 the deploy model adds to its accumulator:
/// a 32-bit fake_quant with the accumulator scales scale_d * scale_w[c]
/// (what --amct-fold-observers does per layer, and the language-model W8A8
/// flow too). Fails with a diagnostic on a bias that is not a float32
/// constant or does not fit int32.
mlir::LogicalResult fakeQuantizeBias(mlir::OpBuilder &b, const QuantizableLayer &layer,
                                     float scaleD, llvm::ArrayRef<float> scaleW);

/// Rewrite patterns of --amct-fuse, for use in other pipelines.
void populateFusePatterns(mlir::RewritePatternSet &patterns,
                          llvm::ArrayRef<std::string> skipLayers);

/// Rewrite patterns of --amct-fold-constants.
void populateFoldConstantsPatterns(mlir::RewritePatternSet &patterns);

} // namespace amct

#endif // AMCT_TRANSFORMS_PASSES_H
