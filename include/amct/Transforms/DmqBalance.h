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

/// How a layer's weight lines up with the channels of its data input: the
/// weight viewed as [groups][outPerGroup][channelsPerGroup][inner], data
/// channel c = g * channelsPerGroup + l. Conv W [M, C/g, k...]: groups g;
/// ConvTranspose W [C, M/g, k...]: C channels of k = rest; Linear [K, N]:
/// K channels of inner N; Gemm transB [N, K]: outPerGroup N, inner 1.
struct InputChannelLayout {
  int64_t groups = 1, outPerGroup = 1, channelsPerGroup = 0, inner = 1;
  /// The data input's channel dimension (1 for convs and Gemm, the last
  /// for MatMul).
  int64_t dataAxis = 1;

  int64_t channels() const { return groups * channelsPerGroup; }
  /// Calls fn(channel, flat weight index) for every weight element.
  template <typename Fn> void forEach(Fn &&fn) const {
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t o = 0; o < outPerGroup; ++o)
        for (int64_t l = 0; l < channelsPerGroup; ++l)
          for (int64_t i = 0; i < inner; ++i)
            fn(g * channelsPerGroup + l,
               ((g * outPerGroup + o) * channelsPerGroup + l) * inner + i);
  }
};

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
