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

struct CalibrationOptions {
  int threads = 0;
  /// Called after each batch with (batches done, total), for progress bars.
  std::function<void(int, int)> progress;
};

/// Runs `func` (which holds amct.observer ops) on each batch of inputs and
/// computes the record. Emits diagnostics (naming the layer) and fails on
/// bad data (NaN/Inf values, an empty set) or numerics errors.
mlir::LogicalResult calibrate(mlir::func::FuncOp func,
                              const std::vector<std::vector<rt::Tensor>> &batches,
                              const CalibrationOptions &options, Record &record);

/// The weight of `layer` laid out channel-major ([channels][rest]), as ARQ
/// expects, given the axis that indexes output channels.
std::vector<float> toChannelMajor(const std::vector<float> &weights,
                                  llvm::ArrayRef<int64_t> shape, int64_t axis);

} // namespace amct

#endif // AMCT_PIPELINES_CALIBRATION_H
