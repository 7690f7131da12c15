//===- AutoCalibrate.h - accuracy-based auto calibration --------*- C++ -*-===//
//
// AMCT's accuracy_based_auto_calibration: quantize with a config, measure
// a metric on evaluation data, and when the target is missed find a config
// that meets it. Before giving any layer up to float, the whole model
// tries the cheaper repairs in order of cost (per-channel Linear weights,
// HFMG instead of IFMR, DMQ, ADA), each kept only if it raises the metric;
// then the layers are ranked by sensitivity (AMCT: the cosine of each
// layer's output, fp32 against quantized; lowest first) and a binary
// search (AMCT's BinarySearch strategy) finds the fewest most-sensitive
// layers to leave in float. Every trial is reported (change, metric, time).
// Deterministic.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_PIPELINES_AUTOCALIBRATE_H
#define AMCT_PIPELINES_AUTOCALIBRATE_H

#include "amct/Pipelines/Quantize.h"

#include <functional>
#include <optional>

namespace amct {

enum class AutoMetric { Accuracy, Agreement, Cosine, Score };

/// "accuracy", "agreement", "cosine", "score", or nullopt.
std::optional<AutoMetric> parseAutoMetric(llvm::StringRef name);
llvm::StringRef autoMetricName(AutoMetric metric);

/// What `--target METRIC>=VALUE` or `--max-drop [METRIC=]D` say.
struct AutoTarget {
  std::optional<AutoMetric> metric;
  std::optional<double> target, maxDrop;
};

/// Parses exactly one of the two (the other empty); nullopt with `error`
/// (the option and what was expected) otherwise. Values must be finite,
/// a drop >= 0.
std::optional<AutoTarget> parseAutoTarget(llvm::StringRef target, llvm::StringRef maxDrop,
                                          std::string &error);

/// The last number in what a user's evaluator printed, a word of its own
/// once punctuation around it is dropped ("top-1 accuracy: 0.981" ->
/// 0.981); nullopt when there is none.
std::optional<double> lastNumberIn(llvm::StringRef output);

struct AutoCalibrateOptions {
  /// The quantize job: calibration data, batches, threads and the starting
  /// config (configPath; empty: the default config).
  QuantizeOptions quantize;
  /// Evaluation inputs by graph input name (samples along dim 0).
  std::map<std::string, rt::Tensor> evalData;
  AutoMetric metric = AutoMetric::Cosine;
  /// Accuracy: one label per evaluation sample.
  std::optional<rt::Tensor> labels;
  /// Agreement / cosine: the model whose output is the reference (null:
  /// the fp32 model being quantized).
  mlir::ModuleOp referenceModel;
  /// Score: the number a user's evaluator gives a (fake-quant) model.
  std::function<mlir::FailureOr<double>(mlir::ModuleOp)> score;
  /// The target: metric >= target, or metric >= (fp32's metric - maxDrop).
  std::optional<double> target, maxDrop;
  /// Repairs to try, in this order: "channel", "hfmg", "dmq", "ada".
  std::vector<std::string> repairs = {"channel", "hfmg", "dmq", "ada"};
  /// Called once per trial, with its log line.
  std::function<void(const std::string &)> onTrial;
};

struct AutoCalibrateTrial {
  std::string change;
  double metric = 0;
  double seconds = 0;
  bool kept = false;
};

struct AutoCalibrateResult {
  /// The final job (models, record, summary) and its config.
  QuantizeResult quantized;
  QuantConfig config;
  double fp32Metric = 0, target = 0, metric = 0;
  std::vector<std::string> floatLayers, repairsKept;
  std::vector<AutoCalibrateTrial> trials;
};

/// Runs the search on `model`. When no config meets the target, an error
/// says the best metric reached and with which config; `trials` (if
/// given) still receives every trial.
mlir::FailureOr<AutoCalibrateResult>
autoCalibrate(mlir::ModuleOp model, const AutoCalibrateOptions &options,
              std::vector<AutoCalibrateTrial> *trials = nullptr);

} // namespace amct

#endif // AMCT_PIPELINES_AUTOCALIBRATE_H
