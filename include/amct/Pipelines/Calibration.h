//===- Calibration.h - run observers over calibration data ------*- C++ -*-===//
//
// The step between --amct-insert-calibration and --amct-fold-observers: the
// executor runs the calibration batches, every observer feeds its layer's
// IFMR / HFMG statistics, and the result is AMCT's record (scale_d,
// offset_d per layer; scale_w, offset_w from ARQ on the constant weights).
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_PIPELINES_CALIBRATION_H
#define AMCT_PIPELINES_CALIBRATION_H

#include "amct/Runtime/Tensor.h"
#include "amct/Support/RecordFile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <map>
#include <optional>

namespace amct {

/// Where calibration spends its time, in wall seconds.
struct CalibrationTimes {
  /// The executor's runs over the batches, without the searches done in them.
  double executor = 0;
  /// The IFMR / HFMG parameter searches.
  double activationSearch = 0;
  /// ARQ on the constant weights.
  double weights = 0;
};

struct CalibrationOptions {
  /// Threads of the executor and of the IFMR search (0: all cores).
  int threads = 0;
  /// Draw a progress bar on stderr while the batches run (only when stderr
  /// is a terminal); a step is one layer's observer in one batch, so the
  /// bar moves within a batch.
  bool showProgress = false;
  /// If set, receives the time spent.
  CalibrationTimes *times = nullptr;
};

/// The calibration set cut into batches for `func`: `data` holds every
/// graph input by name (all samples along dim 0), `batchNum` batches of
/// `batchSize` samples (0: all samples split evenly over the batches), as
/// views. With one batch and no batch size each input is one batch as it
/// is, whatever its dim 0 (sequence-first inputs, KV caches). Errors (an
/// input without data, data naming no input, a scalar, differing sample
/// counts, too few samples) are emitted on `func`. The one
/// place `amct quantize`, `amct calibrate` and the passes cut batches, so
/// a record made step by step equals the one-shot record.
mlir::FailureOr<std::vector<std::vector<rt::Tensor>>>
makeCalibrationBatches(mlir::func::FuncOp func, const std::map<std::string, rt::Tensor> &data,
                       int batchNum, int64_t batchSize);

/// Rows [b * batchSize, (b + 1) * batchSize) of every input, as views.
std::vector<rt::Tensor> sliceBatch(const std::vector<rt::Tensor> &inputs, int64_t b,
                                   int64_t batchSize);

/// Calibration batches recorded on a function by --amct-insert-calibration
/// (the config's batch_num), so a later calibration step uses the same
/// count; nullopt when absent.
std::optional<int64_t> getRecordedBatchNum(mlir::func::FuncOp func);

/// Runs `func` (which holds amct.observer ops) on each batch of inputs and
/// computes the record. An IFMR layer is searched as soon as the last batch
/// has passed it, on the executor's buffer, and its values are freed then:
/// calibrating in one batch keeps no copy of any activation. Emits
/// diagnostics (naming the layer) and fails on bad data (NaN/Inf values, an
/// empty set) or numerics errors.
mlir::LogicalResult calibrate(mlir::func::FuncOp func,
                              const std::vector<std::vector<rt::Tensor>> &batches,
                              const CalibrationOptions &options, Record &record);

/// Options of the calibration step on a module that already carries
/// observers (`amct calibrate`, --amct-calibrate).
struct CalibrateModuleOptions {
  /// Every graph input by name, all samples along dim 0.
  std::map<std::string, rt::Tensor> data;
  /// Batches (0: the count --amct-insert-calibration recorded, else 1) and
  /// samples per batch (0: split evenly).
  int batchNum = 0;
  int64_t batchSize = 0;
  int threads = 0;
  /// Draw a progress bar on stderr (only when it is a terminal).
  bool showProgress = false;
};

/// Calibration as a step of its own: cuts the batches and runs `calibrate`
/// on the module's main function, exactly as `quantizeModel` does, so the
/// record equals the one-shot record. A module without activation
/// observers is an error saying which pass puts them there.
mlir::LogicalResult calibrateModule(mlir::ModuleOp module, const CalibrateModuleOptions &options,
                                    Record &record);

/// The weight of `layer` laid out channel-major ([channels][rest]), as ARQ
/// expects, given the axis that indexes output channels.
std::vector<float> toChannelMajor(const std::vector<float> &weights,
                                  llvm::ArrayRef<int64_t> shape, int64_t axis);

} // namespace amct

#endif // AMCT_PIPELINES_CALIBRATION_H
