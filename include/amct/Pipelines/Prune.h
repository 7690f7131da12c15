//===- Prune.h - the prune job (amct prune) ---------------------*- C++ -*-===//
//
// AMCT's pruning without the retraining loop: the model's channels pruned
// (balanced L2 norm filter pruner) or its weights made 2:4 sparse, by the
// settings, a config file or a record (AMCT's restore); with calibration
// data, the layers that lose inputs are refitted by least squares so their
// outputs stay close to the unpruned model's (amct/Quant/Refit.h). The
// result is the pruned model, the record (AMCT's PruneRecord entries) and
// a summary with parameters and FLOPs before and after.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_PIPELINES_PRUNE_H
#define AMCT_PIPELINES_PRUNE_H

#include "amct/Runtime/Tensor.h"
#include "amct/Support/PruneConfig.h"
#include "amct/Support/RecordFile.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LogicalResult.h"

#include <map>
#include <string>
#include <vector>

namespace amct {

struct PruneJobOptions {
  /// What to prune: the settings (method, ratio, align, skip lists), or
  /// the prune records of `record` (restore; settings ignored).
  PruneSettings settings;
  std::optional<Record> record;
  /// Names the record in messages.
  std::string recordName = "the record";
  /// Calibration inputs by graph input name (samples along dim 0); empty:
  /// no refit.
  std::map<std::string, rt::Tensor> calibData;
  int batchNum = 1;
  int64_t batchSize = 0;
  /// Least-squares refit of the layers that lose inputs (needs calibData).
  bool reconstruct = true;
  int threads = 0;
};

/// One layer's refit: mean squared output error per position, summed over
/// rows, with the pruned weights as they are and after the refit.
struct RefitOutcome {
  std::string layer;
  double errorBefore = 0, errorAfter = 0;
};

struct PruneJobResult {
  mlir::OwningOpRef<mlir::ModuleOp> pruned;
  /// The prune records (and nothing else).
  Record record;
  /// Human-readable lines: what was pruned, what was not and why.
  std::vector<std::string> summary;
  std::vector<RefitOutcome> refits;
  /// Float parameters (constants of the weighted layers, BN, biases) and
  /// multiply-adds x 2 of the weighted layers for one sample.
  int64_t paramsBefore = 0, paramsAfter = 0;
  double flopsBefore = 0, flopsAfter = 0;
};

/// Runs the job on a copy of `model`. Emits diagnostics on failure.
mlir::FailureOr<PruneJobResult> pruneModel(mlir::ModuleOp model, const PruneJobOptions &options);

/// AMCT's auto_channel_prune_search: `compressRatio` of the model's FLOPs
/// to remove, at most `maxPruneRatio` of any group's channels, kept counts
/// multiples of 16 when `ascendOptimized`.
struct AutoPruneOptions {
  double compressRatio = 0.5;
  double maxPruneRatio = 1.0;
  bool ascendOptimized = true;
  std::map<std::string, rt::Tensor> calibData;
  /// Samples of the first calibration batch the sensitivities are
  /// measured on (0: all of it).
  int64_t samples = 32;
  int threads = 0;
};

struct AutoPruneResult {
  /// The per-layer config found (skip list and overrides), for pruneModel
  /// and P_prune_config.cfg.
  PruneSettings settings;
  /// One line per group: producers, channels removed, sensitivity, FLOPs.
  std::vector<std::string> table;
  double flopsBefore = 0, flopsRemoved = 0;
};

/// Per prune group and step (16 channels with ascendOptimized, else 1/8 of
/// the group; the least important first), the
/// sensitivity (1 - output cosine against the unpruned model on the
/// calibration samples, the group's channels removed by zeroing its
/// consumers' weights) and the gain (multiply-adds removed); then greedy
/// removal of the step with the lowest added sensitivity per gain until
/// the FLOPs target is met. Fails when the prunable groups cannot reach it.
mlir::FailureOr<AutoPruneResult> searchChannelPrune(mlir::ModuleOp model,
                                                    const AutoPruneOptions &options);

/// 2 x the multiply-adds of one weighted layer (Conv, ConvTranspose, Gemm,
/// MatMul) for one sample, dynamic dims taken as 1; 0 when its shapes are
/// not known.
double layerFlops(mlir::Operation *layer);

/// Parameters and FLOPs (2 x multiply-adds of Conv / ConvTranspose / Gemm /
/// MatMul, dynamic dims taken as 1) of `module`'s main function.
void countModelCost(mlir::ModuleOp module, int64_t &params, double &flops);

} // namespace amct

#endif // AMCT_PIPELINES_PRUNE_H
