//===- QuantizeSupport.h - pieces the quantize flows share ------*- C++ -*-===//
//
// Internal to lib/Pipelines: what quantizeModel (the CNN flow) and
// quantizeLlmModel (the language-model weight flow) both use.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_LIB_PIPELINES_QUANTIZESUPPORT_H
#define AMCT_LIB_PIPELINES_QUANTIZESUPPORT_H

#include "amct/Pipelines/Quantize.h"
#include "amct/Support/KvCacheConfig.h"
#include "amct/Support/LlmConfig.h"
#include "amct/Support/QuantConfig.h"

#include "amct/Runtime/Executor.h"

#include "mlir/Pass/Pass.h"

#include <chrono>

namespace amct {

/// The calibration batches run side by side on one function, stopping
/// before each op of `stops` (ADA and the pruning refit gather a layer's
/// inputs over all batches, change its weight, and go on).
class SteppedBatches {
public:
  static mlir::FailureOr<SteppedBatches>
  start(mlir::func::FuncOp func, llvm::ArrayRef<mlir::Operation *> stops,
        const std::vector<std::vector<rt::Tensor>> &batches, int threads);
  /// Advances every run to its next stop: that op, or null at the end.
  mlir::FailureOr<mlir::Operation *> next();
  /// Operand `i` of the op stopped at, in run `b`.
  const rt::Tensor &operand(size_t b, unsigned i) const { return runs[b]->operand(i); }
  size_t size() const { return runs.size(); }
  /// Replaces operand `i` of the op stopped at in every run.
  void setOperand(unsigned i, const rt::Tensor &value);
  /// Checks every run ended without an error.
  mlir::LogicalResult finish();

private:
  std::unique_ptr<rt::Executor> executor;
  std::vector<std::unique_ptr<rt::SteppedRun>> runs;
};

/// What ADA did to one layer: the rounded weight (scale * q, in the
/// weight's layout), how many weights it rounded the other way from
/// nearest, and the layer's output error (AdaRound's objective term) for
/// nearest and for its rounding.
struct AdaLayerOutcome {
  std::vector<float> weights;
  int64_t flipped = 0, count = 0;
  double nearestError = 0, adaError = 0, positions = 0;
};
struct AdaOutcome {
  std::map<std::string, AdaLayerOutcome> layers;
};

/// ADA (AdaQuantize.cpp) on the folded fake-quant function `main`: every
/// layer the config gives wts_algo ada_quantize, in graph order, on the
/// calibration batches, its output matched to the same layer's in the
/// float function `fp32`; its weight constant becomes the rounded one.
mlir::LogicalResult adaQuantizeWeights(mlir::func::FuncOp main, mlir::func::FuncOp fp32,
                                       const QuantConfig &config, const Record &record,
                                       const std::vector<std::vector<rt::Tensor>> &batches,
                                       int threads, AdaOutcome &outcome);
/// The rounded weights into the fused (AMCT's modified) model, so a convert
/// of it with the record reproduces them (save_model).
mlir::LogicalResult applyAdaWeights(mlir::func::FuncOp fused, const AdaOutcome &outcome);
/// "12 of 864 weights rounded the other way; output error ... -> ... (-35.2%)".
std::string describeAdaOutcome(const AdaLayerOutcome &outcome);
/// convert with an ada_quantize config: each such layer's weights must be
/// on the record's grid already (a modified model quantize wrote), or the
/// conversion would round them to nearest; an error naming the layer.
mlir::LogicalResult checkAdaWeightsOnGrid(mlir::func::FuncOp main, const QuantConfig &config,
                                          llvm::StringRef recordName);

/// Runs one function pass on every function of `module`.
mlir::LogicalResult runFuncPass(mlir::ModuleOp module, std::unique_ptr<mlir::Pass> pass);

/// Runs the fp32 model and the fake-quant model on `inputs` and fills the
/// result's layer cosines (the layers `names`) and output cosines. The fp32
/// layer outputs are held until the fake-quant run reaches the same layer,
/// then compared and dropped.
mlir::LogicalResult compareWithFp32(mlir::ModuleOp fp32, mlir::ModuleOp fakeQuant,
                                    const std::vector<std::string> &names,
                                    const std::vector<rt::Tensor> &inputs, int threads,
                                    bool showProgress, QuantizeResult &result);

/// Wall time of successive steps.
class PhaseClock {
public:
  explicit PhaseClock(std::vector<PhaseTime> &phases) : phases(phases) {}
  /// Ends the running step as `name`; the next one starts now.
  void lap(llvm::StringRef name) {
    auto now = std::chrono::steady_clock::now();
    phases.push_back({name.str(), std::chrono::duration<double>(now - start).count()});
    start = now;
  }
  void add(llvm::StringRef name, double seconds) { phases.push_back({name.str(), seconds}); }
  void restart() { start = std::chrono::steady_clock::now(); }

private:
  std::vector<PhaseTime> &phases;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

/// The last steps of both flows: the layer and output cosines against
/// `result.fused` on a prefix of `firstBatch` (all of it when the model
/// fixes its batch size or the inputs do not share dim 0), then the deploy
/// model; `module` (the fake-quant model) becomes result.fakeQuant.
mlir::LogicalResult compareAndConvert(mlir::OwningOpRef<mlir::ModuleOp> module,
                                      const std::vector<std::string> &names,
                                      const std::vector<rt::Tensor> &firstBatch,
                                      const QuantizeOptions &options,
                                      PhaseClock &clock, QuantizeResult &result);

/// compareAndConvert with the layers of result.quantized.
mlir::LogicalResult compareAndConvertQuantized(mlir::OwningOpRef<mlir::ModuleOp> module,
                                               const std::vector<rt::Tensor> &firstBatch,
                                               const QuantizeOptions &options, PhaseClock &clock,
                                               QuantizeResult &result);

/// --amct-convert on a copy of the fake-quant `module` gives
/// result.deploy; `module` becomes result.fakeQuant.
mlir::LogicalResult convertToDeploy(mlir::OwningOpRef<mlir::ModuleOp> module,
                                    QuantizeResult &result);

/// The language-model weight-only flow (lib/Pipelines/LlmQuantize.cpp):
/// what quantizeModel runs for a quantize() config (`configName` names it
/// in messages).
mlir::FailureOr<QuantizeResult> quantizeLlmModel(mlir::ModuleOp model,
                                                 const LlmQuantConfig &config,
                                                 const std::string &configName,
                                                 const KvCacheConfig *kvCache,
                                                 const QuantizeOptions &options);

/// KV-cache quantization alone: the model's constants folded, the K / V
/// projections' outputs calibrated and fake-quantized, compared and
/// converted as the other flows do.
mlir::FailureOr<QuantizeResult> quantizeKvCacheModel(mlir::ModuleOp model,
                                                     const KvCacheConfig &config,
                                                     const std::string &configName,
                                                     const QuantizeOptions &options);

/// convertModel for a quantize() config: the layers the config quantizes
/// get the record's scale_w / offset_w (and AWQ's tensor_balance_factor),
/// their weights rounded to nearest with them. Reproduces minmax and AWQ
/// exactly; GPTQ's updated integers are not in any record (AMCT's
/// neither), so a GPTQ record gives round-to-nearest with GPTQ's scales.
mlir::FailureOr<QuantizeResult> convertLlmModel(mlir::ModuleOp model,
                                                const LlmQuantConfig &config,
                                                const std::string &configName,
                                                const Record &record,
                                                const std::string &recordName);

/// The K and V projection layers of a KV-cache config (lib/Pipelines/
/// KvCacheQuantize.cpp): the named ones, each a Linear layer of `main`,
/// else those found on attention's keys and values and the present key /
/// value outputs. Errors name the config and the layer.
mlir::FailureOr<std::vector<QuantizableLayer>>
findKvCacheLayers(mlir::func::FuncOp main, const KvCacheConfig &config,
                  const std::string &configName);

/// Calibrates the outputs of `layers` in `module` on `batches` as `config`
/// says, puts an 8-bit fake_quant on each and records the factors as
/// kv_cache_value entries (and the layers, their method) in `result`.
mlir::LogicalResult quantizeKvCache(mlir::ModuleOp module,
                                    const std::vector<QuantizableLayer> &layers,
                                    const KvCacheConfig &config,
                                    const std::vector<std::vector<rt::Tensor>> &batches,
                                    int threads, bool showProgress, QuantizeResult &result);

/// The record's kv_cache_value entries on `module` (the fused or
/// quantized model): an 8-bit fake_quant with each layer's factors (per
/// tensor or per channel) on its output. Errors name the record and layer.
mlir::LogicalResult applyKvCacheRecord(mlir::ModuleOp module, const Record &record,
                                       const std::string &recordName, QuantizeResult &result);

/// amct convert of a record holding KV-cache factors only.
mlir::FailureOr<QuantizeResult> convertKvCacheModel(mlir::ModuleOp model, const Record &record,
                                                    const std::string &recordName);

} // namespace amct

#endif // AMCT_LIB_PIPELINES_QUANTIZESUPPORT_H
