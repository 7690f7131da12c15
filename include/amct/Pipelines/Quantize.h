//===- Quantize.h - the whole PTQ job as one library call -------*- C++ -*-===//
//
// AMCT's quantize_model + calibration + save_model: fuse, insert observers,
// calibrate, fold into the fake-quant model. Used by `amct quantize` and
// available to compilers that link amct-mlir.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_PIPELINES_QUANTIZE_H
#define AMCT_PIPELINES_QUANTIZE_H

#include "amct/Runtime/Tensor.h"
#include "amct/Support/QuantConfig.h"
#include "amct/Support/RecordFile.h"
#include "amct/Transforms/QuantizableLayers.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <functional>
#include <map>

namespace amct {

struct QuantizeOptions {
  /// Quant config (AMCT JSON or .cfg); empty: the default config.
  std::string configPath;
  /// A layer config already in memory (auto calibration's candidates),
  /// used instead of configPath; it must name the model's layers.
  const QuantConfig *config = nullptr;
  /// KV-cache config (amct/Support/KvCacheConfig.h), alone or with a
  /// language-model configPath; empty: none.
  std::string kvCacheConfigPath;
  /// Calibration inputs by graph input name, all samples along dim 0.
  std::map<std::string, rt::Tensor> calibData;
  /// Batches to run (0: the config's batch_num) and samples per batch (0:
  /// all samples split evenly over the batches).
  int batchNum = 0;
  int64_t batchSize = 0;
  int threads = 0;
  /// Samples of the first calibration batch on which each layer's output is
  /// compared, fp32 against fake-quant (QuantizeResult::layerCosine); 0
  /// skips the comparison. Two extra runs of the model on that many samples.
  int64_t cosineSamples = 8;
  /// Draw progress bars on stderr (only when it is a terminal).
  bool showProgress = false;
};

/// One step of the job and its wall time.
struct PhaseTime {
  std::string name;
  double seconds;
};

struct QuantizeResult {
  /// The fused model (AMCT's modified model), the fake-quant model, the
  /// Ascend deploy model.
  mlir::OwningOpRef<mlir::ModuleOp> fused, fakeQuant, deploy;
  Record record;
  std::vector<QuantizableLayer> quantized;
  std::vector<SkippedLayer> skipped;
  /// Per quantized layer: cosine similarity of the layer's output in the
  /// fused fp32 model and in the fake-quant model, each run on its own
  /// (errors accumulate as they do in the quantized model), over the first
  /// `cosineSamples` samples of the first calibration batch.
  std::map<std::string, double> layerCosine;
  /// The same comparison as SQNR in dB (fp32 output as the signal).
  std::map<std::string, double> layerSqnr;
  /// The same for each graph output, by output name, in output order.
  std::vector<std::pair<std::string, double>> outputCosine;
  /// How many samples the cosines were computed on (0: not computed).
  int64_t cosineSamples = 0;
  /// Language-model weight quantization, per quantized layer: the method
  /// ("gptq int4 group 128") and the weight's relative error
  /// ||W - W_q|| / ||W||. Empty for the CNN flow.
  std::map<std::string, std::string> layerMethod;
  std::map<std::string, double> weightError;
  /// ADA layers (wts_algo ada_quantize): what the learnt rounding did, one
  /// line per layer (weights rounded the other way, output error before
  /// and after).
  std::map<std::string, std::string> weightRounding;
  /// Where the time went, step by step, in order.
  std::vector<PhaseTime> phases;
};

/// The K and V projection layers of `main` (the layers KV-cache
/// quantization takes when its config names none), in graph order: the
/// Linear layers on the keys and values of each attention and on the
/// present key / value outputs. An error on `main` when there are none.
mlir::FailureOr<std::vector<std::string>> findKvCacheProjections(mlir::func::FuncOp main);

/// Reads calibration inputs given as `NAME=FILE.npy` (NAME a graph input of
/// `main`) or `FILE.npy` alone for a model with one input: the one rule of
/// `amct quantize --calib-data` and `--amct-quantize{calib-data=...}`. A
/// name given twice, or a bare file for a model with several inputs, is an
/// error naming the entry; whether every input has data is checked by
/// quantizeModel.
std::optional<std::map<std::string, rt::Tensor>>
readCalibrationData(llvm::ArrayRef<std::string> entries, mlir::func::FuncOp main,
                    std::string &error);

/// Runs the job on `model` (not modified). Emits diagnostics on failure.
mlir::FailureOr<QuantizeResult> quantizeModel(mlir::ModuleOp model,
                                              const QuantizeOptions &options);

/// AMCT's convert from a record, without calibrating again: the fp32 model
/// fused and balanced as `quantizeModel` does, observers on the layers the
/// config quantizes (`configPath`; empty: every layer the record has an
/// activation scale for), their factors taken from `record`, then the
/// fake-quant and deploy models. A record that lacks a quantized layer or
/// does not fit it is an error naming the layer (`recordName` prefixes it).
mlir::FailureOr<QuantizeResult> convertModel(mlir::ModuleOp model, const std::string &configPath,
                                             const Record &record,
                                             const std::string &recordName);

} // namespace amct

#endif // AMCT_PIPELINES_QUANTIZE_H
