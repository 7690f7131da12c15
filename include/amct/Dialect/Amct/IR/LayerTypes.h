//===- LayerTypes.h - types the quantizable-layer interface uses -*- C++ -*-===//
//
// AMCT's layer kinds (generated from AmctEnums.td) and the input-channel
// layout of a layer's weight, as QuantizableLayerOpInterface returns them.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_DIALECT_AMCT_IR_LAYERTYPES_H
#define AMCT_DIALECT_AMCT_IR_LAYERTYPES_H

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

#include "amct/Dialect/Amct/IR/AmctEnums.h.inc"

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

} // namespace amct

#endif // AMCT_DIALECT_AMCT_IR_LAYERTYPES_H
