//===- DmqBalance.h - AMCT's DMQ balancer over amct IR ----------*- C++ -*-===//
//
// DMQ (AMCT's quantize_preprocess, like SmoothQuant) moves quantization
// difficulty from a layer's activations to its weights: per input channel c
// the weights are multiplied by a factor f_c and the activations divided by
// it, so the layer computes the same function. The factors come from
// calibration (amct::quant::dmqBalanceFactors) and are recorded as
// `tensor_balance_factor`; this applies them to the IR.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_TRANSFORMS_DMQBALANCE_H
#define AMCT_TRANSFORMS_DMQBALANCE_H

#include "amct/Support/RecordFile.h"
#include "amct/Transforms/QuantizableLayers.h"

#include <optional>
#include <string>
#include <vector>

namespace amct {

/// The layout of `layer`'s weight, or nullopt with the reason in `why`
/// (no weight, dynamic shape).
std::optional<InputChannelLayout> getInputChannelLayout(const QuantizableLayer &layer,
                                                        std::string &why);

/// max |w| over each input channel's weights.
std::vector<float> weightAbsMaxPerInputChannel(llvm::ArrayRef<float> weights,
                                               const InputChannelLayout &layout);

/// Applies the `tensor_balance_factor` of every layer of `func` that has
/// one in `record`: the weight's input-channel slices are multiplied by
/// the factors, and the data input is divided by them, folded into the
/// producer when the input comes (through Relu / MaxPool, used only here)
/// from a Conv or BatchNormalization with constant parameters, otherwise by
/// an inserted `amct.Mul` with 1/f. Errors (factor count, non-constant
/// weight) name the layer.
mlir::LogicalResult applyDmqBalance(mlir::func::FuncOp func, const Record &record);

} // namespace amct

#endif // AMCT_TRANSFORMS_DMQBALANCE_H
