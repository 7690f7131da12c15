//===- DmqCalibration.h - DMQ balance factors from calibration --*- C++ -*-===//
//
// AMCT's quantize_preprocess: before activation calibration, the layers
// whose config enables the DMQ balancer get balance factors from the
// calibration data; --amct-dmq-balance (applyDmqBalance) then applies them.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_PIPELINES_DMQCALIBRATION_H
#define AMCT_PIPELINES_DMQCALIBRATION_H

#include "amct/Runtime/Tensor.h"
#include "amct/Support/QuantConfig.h"
#include "amct/Support/RecordFile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace amct {

/// For every quantized layer of `config` with DMQ enabled, runs `func` on
/// the batches, takes max |x| per input channel of the layer's input and
/// max |w| per input channel of its weight, and stores
/// quant::dmqBalanceFactors (with the layer's migration strength) as the
/// layer's tensor_balance_factor in `record`. `func` is left as it was.
/// Does nothing (and runs nothing) when no layer asks for DMQ. Errors name
/// the layer.
mlir::LogicalResult computeDmqFactors(mlir::func::FuncOp func, const QuantConfig &config,
                                      const std::vector<std::vector<rt::Tensor>> &batches,
                                      int threads, Record &record);

} // namespace amct

#endif // AMCT_PIPELINES_DMQCALIBRATION_H
