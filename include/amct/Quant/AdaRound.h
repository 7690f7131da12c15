//===- AdaRound.h - adaptive rounding of a layer's weights -------*- C++ -*-===//
//
// AMCT's ada_quantize (AdaRound, Nagel et al. 2020): with the weight scales
// fixed (ARQ's), learn for every weight whether it rounds down or up so the
// layer's output on its calibration inputs changes least.
//
// A weighted layer is, per group g, a matrix product out_g = W_g C_g: rows
// of W_g are the group's output channels, C_g the input columns each output
// position reads (im2col for a convolution, the input rows for a Linear).
// Rounding W to W~ changes the output by (W~ - W) C, whose squared norm is
// tr(E_g G_g E_g^T) with E = W~ - W and G_g = C_g C_g^T, the K x K Gram
// matrix of the group's input columns: the calibration data enter only
// through G, accumulated once, so every iteration costs rows x K x K per
// group (sgemm) whatever the amount of data.
//
// The objective per iteration (AdaRound's, as AIMET implements it):
//   sum_g tr(E_g G_g E_g^T) / positions  +  reg * sum_w (1 - |2 h(V_w) - 1|^beta)
// with W~ = s * clamp(floor(W / s) + h(V), qmin, qmax), h the rectified
// sigmoid clip(sigmoid(V) * 1.2 - 0.1, 0, 1), V initialised so h(V) equals
// the fractional part of W / s (W~ = W to start), the regulariser off for
// the first warm_start of the iterations and beta annealed from
// beta_range[0] to beta_range[1] (cosine) after that; Adam (lr 1e-3,
// AdaRound's) on V, gradients by hand. At the end each weight rounds up
// where h(V) >= 0.5. Deterministic: no sampling, no random numbers.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_QUANT_ADAROUND_H
#define AMCT_QUANT_ADAROUND_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace amct::quant {

/// AMCT's ada_quantize keys (reference 004) and Adam's step.
struct AdaRoundOptions {
  int64_t iterations = 10000;
  double regParam = 0.01;
  double betaStart = 20, betaEnd = 2;
  double warmStart = 0.2;
  double learningRate = 1e-3;
  int numBits = 8;
  /// Workers (0: every core). Rows are optimised in fixed blocks, so the
  /// result does not depend on it.
  int threads = 0;
};

/// One layer: `groups` blocks of `rows` x `k` weights (row-major, group
/// after group), one scale per row (groups * rows), and each group's Gram
/// matrix (k x k, symmetric, group after group) accumulated over
/// `positions` output positions.
///
/// With `crossGram` (C C_f^T, C_f the columns of the layer's input in the
/// float model) and `floatGram` (C_f C_f^T), the target is the float
/// model's output W C_f instead of W C (AdaRound's asymmetric
/// reconstruction): the rounding then also makes up for the error the
/// quantized layers before it left in its input.
struct AdaRoundProblem {
  int64_t groups = 1, rows = 0, k = 0;
  const float *weight = nullptr;
  const float *rowScale = nullptr;
  const double *gram = nullptr;
  const double *crossGram = nullptr, *floatGram = nullptr;
  double positions = 1;
};

struct AdaRoundResult {
  /// The integers, laid out as the problem's weight.
  std::vector<int32_t> q;
  /// The objective's output term (squared output error per position) for
  /// nearest rounding and for the learnt rounding.
  double nearestError = 0, adaError = 0;
  /// Weights rounded the other way from nearest.
  int64_t flipped = 0;
};

/// Runs AdaRound on `problem`; nullopt with `error` on a bad problem
/// (non-positive scale, non-finite weight or Gram, sizes).
std::optional<AdaRoundResult> adaRound(const AdaRoundProblem &problem,
                                       const AdaRoundOptions &options, std::string &error);

/// The squared output error per position of integers `q` (W~ = s q) against
/// the target: sum_g ||W~_g C_g - W_g C_g||^2 / positions, or with the
/// float model's columns ||W~_g C_g - W_g C_f,g||^2 / positions.
double roundingOutputError(const AdaRoundProblem &problem, const int32_t *q);

} // namespace amct::quant

#endif // AMCT_QUANT_ADAROUND_H
