//===- Decompose.h - tensor decomposition of layers -------------*- C++ -*-===//
//
// AMCT's auto_decomposition / decompose_network on the IR: a KxK Conv2d
// becomes 1x1 -> KxK -> 1x1 (Tucker-2 on the channel modes), a Linear
// (Gemm, MatMul by a constant) or 1x1 Conv2d two thin layers (truncated
// SVD); ranks from an energy or a FLOPs ratio, only where FLOPs drop. The
// numbers are amct/Quant/Decomposition.h's.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_TRANSFORMS_DECOMPOSE_H
#define AMCT_TRANSFORMS_DECOMPOSE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LogicalResult.h"

#include <optional>
#include <string>
#include <vector>

namespace amct {

struct DecomposeSettings {
  /// One of: keep this share of the singular values' energy, in (0, 1];
  /// or keep at most this share of each layer's FLOPs, in (0, 1).
  std::optional<double> energy, ratio;
  /// Decompose even where the factors cost as much as the layer or more
  /// (full-rank checks).
  bool evenIfLarger = false;
  std::vector<std::string> skipLayers;
};

/// One decomposed layer: the decomposition info file's entry.
struct DecomposedLayer {
  std::string name, type;
  /// "svd" (ranks: [R]) or "tucker2" (ranks: [R_in, R_out]).
  std::string method;
  std::vector<int64_t> ranks;
  std::vector<std::string> newLayers;
  /// Multiply-adds per output position, before and after.
  double costBefore = 0, costAfter = 0;
};

/// A layer left as it was, with the reason.
struct KeptLayer {
  std::string name, reason;
};

/// Decomposes the layers of `func` the settings choose (or, with
/// `fromInfo`, exactly those layers at those ranks: re-applying an info
/// file). Errors (a layer of the info missing or of another shape) are
/// emitted on the function and fail.
mlir::FailureOr<std::vector<DecomposedLayer>>
decomposeLayers(mlir::func::FuncOp func, const DecomposeSettings &settings,
                const std::vector<DecomposedLayer> *fromInfo, std::vector<KeptLayer> *kept);

/// The info file (JSON) and back; reading names the file in errors.
std::string writeDecomposeInfo(const std::vector<DecomposedLayer> &layers);
std::optional<std::vector<DecomposedLayer>> parseDecomposeInfo(const std::string &text,
                                                               const std::string &fileName,
                                                               std::string &error);

} // namespace amct

#endif // AMCT_TRANSFORMS_DECOMPOSE_H
