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

#include <functional>

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
  /// Called as the batches run with (steps done, total steps), a step being
  /// one layer's observer in one batch: a bar that moves within a batch.
  std::function<void(int64_t, int64_t)> progress;
  /// If set, receives the time spent.
  CalibrationTimes *times = nullptr;
};

/// Runs `func` (which holds amct.observer ops) on each batch of inputs and
/// computes the record. An IFMR layer is searched as soon as the last batch
/// has passed it, on the executor's buffer, and its values are freed then:
/// calibrating in one batch keeps no copy of any activation. Emits
/// diagnostics (naming the layer) and fails on bad data (NaN/Inf values, an
/// empty set) or numerics errors.
mlir::LogicalResult calibrate(mlir::func::FuncOp func,
                              const std::vector<std::vector<rt::Tensor>> &batches,
                              const CalibrationOptions &options, Record &record);

/// The weight of `layer` laid out channel-major ([channels][rest]), as ARQ
/// expects, given the axis that indexes output channels.
std::vector<float> toChannelMajor(const std::vector<float> &weights,
                                  llvm::ArrayRef<int64_t> shape, int64_t axis);

} // namespace amct

#endif // AMCT_PIPELINES_CALIBRATION_H
