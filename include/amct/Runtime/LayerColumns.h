//===- LayerColumns.h - a weighted layer as matrix products -----*- C++ -*-===//
//
// A Conv, ConvTranspose or Linear (Gemm, MatMul by a constant weight) as,
// per group g, out_g[row, position] = sum_j W_g[row, j] * C_g[j, position]:
// rows are the group's output channels, C_g the input values each output
// position reads (im2col). Weight-rounding searches (ADA) need the weight
// in that form and the Gram matrices C_g C_g^T of the calibration inputs.
//
// The columns come from the layer's own kernel run on an identity weight
// (one output channel per column entry), so padding, strides, dilations,
// auto_pad, output_padding and groups mean exactly what they mean when
// the executor runs the layer: no second copy of ONNX's convolution
// geometry.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_RUNTIME_LAYERCOLUMNS_H
#define AMCT_RUNTIME_LAYERCOLUMNS_H

#include "amct/Dialect/Amct/IR/LayerTypes.h"
#include "amct/Runtime/Tensor.h"

#include "mlir/IR/Operation.h"
#include "mlir/Support/LogicalResult.h"

#include <vector>

namespace amct::rt {

struct LayerMatrices {
  LayerKind kind;
  int64_t groups = 1, rows = 0, k = 0;
  /// For matrix entry (g, row, j), at (g * rows + row) * k + j: its index in
  /// the layer's weight tensor (row-major).
  std::vector<int64_t> weightIndex;
  /// For each (g, row): its index along the weight's output-channel axis
  /// (the per-channel weight scale it uses).
  std::vector<int64_t> rowChannel;
};

/// The matrix form of `layer` (a Conv2d, ConvTranspose2d or Linear of
/// `kind`) whose weight operand has `weightShape`; an error on the op for
/// any other layer.
mlir::FailureOr<LayerMatrices> describeLayerMatrices(mlir::Operation *layer, LayerKind kind,
                                                     llvm::ArrayRef<int64_t> weightShape);

/// The Gram matrices of a layer's input columns over the calibration data,
/// per group (groups * k * k each, row-major): qq = C C^T of the input in
/// the quantized model; with the float model's input too, qf = C C_f^T and
/// ff = C_f C_f^T (AdaRound's asymmetric reconstruction, whose target is
/// the float model's output). `positions`: output positions summed over.
struct InputGrams {
  std::vector<double> qq, qf, ff;
  /// Column sums per group (groups * k): of the input, and of the float
  /// model's input when given (a refit with a bias centres the Grams).
  std::vector<double> sumQ, sumF;
  double positions = 0;
};

/// Adds the columns of `data` (the layer's data operand in a run) and, when
/// given, of `fp` (the same operand in the float model's run) to `grams`.
/// `threads` 0: every core.
mlir::LogicalResult accumulateInputGram(mlir::Operation *layer, const LayerMatrices &matrices,
                                        const Tensor &data, const Tensor *fp, int threads,
                                        InputGrams &grams);

} // namespace amct::rt

#endif // AMCT_RUNTIME_LAYERCOLUMNS_H
