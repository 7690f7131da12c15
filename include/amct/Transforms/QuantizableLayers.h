//===- QuantizableLayers.h - which layers AMCT quantizes --------*- C++ -*-===//
//
// AMCT's table of quantizable layers (reference 004) over amct ops: Conv2d,
// Conv3d (depth dilation 1), ConvTranspose2d, Linear (Gemm, or MatMul by a
// constant 2-D matrix) and AvgPool2d, each with a node name (the config and
// record key) and, for weighted layers, a constant weight no other layer
// shares. Everything else is reported with the reason it is skipped.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_TRANSFORMS_QUANTIZABLELAYERS_H
#define AMCT_TRANSFORMS_QUANTIZABLELAYERS_H

#include "amct/Dialect/Amct/IR/Amct.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <optional>
#include <string>
#include <vector>

namespace amct {

/// One layer to quantize: what QuantizableLayerOpInterface answers for its
/// op, read once, plus its node name.
struct QuantizableLayer {
  QuantizableLayerOpInterface op;
  std::string name;
  LayerKind kind;
  /// AMCT's layer type name (stringifyLayerKind(kind)), the config's key.
  std::string type;
  /// Operand index of the data input and of the weight (-1: no weight).
  unsigned dataOperand;
  int weightOperand;
  /// Weight dimension that indexes output channels.
  int64_t weightChannelAxis;
  /// The layer's bias, which becomes int32 when the layer is quantized:
  /// operand `biasOperand` of `biasOp`, which is the layer itself (Conv,
  /// ConvTranspose, Gemm's C) or, for a MatMul, the Add of a constant that
  /// is its only user (the bias of an N-d Linear, which fusion cannot turn
  /// into a Gemm). biasOp is null when there is no bias.
  mlir::Operation *biasOp = nullptr;
  int biasOperand = -1;

  /// Output channels (the int32 accumulator's channels), for a weighted layer.
  int64_t outputChannels() const;
};

struct SkippedLayer {
  mlir::Operation *op;
  std::string name;
  std::string reason;
  /// The layer kind, as QuantizableLayer::type (or "Conv" for a conv AMCT
  /// has no type for).
  std::string type;
};

/// Finds the layers of `func` AMCT can quantize, in IR order; layers of a
/// quantizable kind that cannot be quantized go to `skipped` with a reason.
/// `weightOnly` (the language-model weight flow) also takes float16 and
/// bfloat16 layers, and a bias that cannot become int32 stays a float Add
/// instead of making the layer unquantizable (biasOp is then null).
std::vector<QuantizableLayer> findQuantizableLayers(mlir::func::FuncOp func,
                                                    std::vector<SkippedLayer> *skipped,
                                                    bool weightOnly = false);

/// The (name, AMCT type) list of `layers`, as the config parsers take it.
std::vector<std::pair<std::string, std::string>>
getLayerList(const std::vector<QuantizableLayer> &layers);

} // namespace amct

#endif // AMCT_TRANSFORMS_QUANTIZABLELAYERS_H
