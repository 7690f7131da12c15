//===- Refit.h - least-squares refit of a layer after pruning ---*- C++ -*-===//
//
// Pruning without retraining: after some weights of a layer are forced to
// zero (its input channels removed, or 2:4 sparsity), the kept weights of
// each output row (and its bias) are refitted so that the layer's output on
// the calibration data stays as close as possible, in least squares, to
// the unpruned model's: min over kept w, b of
//   sum over positions (w . c + b - (w0 . c_f + b0))^2,
// c the layer's input columns in the pruned model, c_f in the original.
// The data enter as Gram matrices (rt::InputGrams): with the bias, centred
// by the column means, and the bias is what the means leave. MLIR-free.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_QUANT_REFIT_H
#define AMCT_QUANT_REFIT_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace amct::quant {

struct RefitProblem {
  int64_t groups = 1, rows = 0, k = 0;
  /// The original weight as matrices, [groups][rows][k].
  const float *weight = nullptr;
  /// keep[(g * rows + row) * k + j]: whether entry j of that row stays.
  const std::vector<bool> *keep = nullptr;
  /// Per group (k x k, row-major): C C^T (pruned input), C C_f^T; column
  /// sums of C and C_f (k each); positions summed over.
  const double *gram = nullptr, *crossGram = nullptr, *floatGram = nullptr;
  const double *sumQ = nullptr, *sumF = nullptr;
  double positions = 0;
  /// Refit the bias too (the layer has one, or may get one).
  bool withBias = true;
};

struct RefitResult {
  /// The refitted weight, [groups][rows][k], 0 where !keep.
  std::vector<float> weight;
  /// What to add to each row's bias (0 without withBias).
  std::vector<double> biasDelta;
  /// Mean squared output error per position and row, summed over rows:
  /// with the kept weights as they were (bias unchanged), and after.
  double errorBefore = 0, errorAfter = 0;
};

/// Solves each row's normal equations on its kept entries (Cholesky), with
/// a ridge towards the original weights of 1e-4 of the mean diagonal
/// (raised tenfold while the factorisation fails), so directions the data
/// do not determine keep their weights; rows that share a mask share one
/// factorisation. Nothing on a bad
/// problem, with the reason.
std::optional<RefitResult> refitPrunedWeights(const RefitProblem &problem, std::string &error);

} // namespace amct::quant

#endif // AMCT_QUANT_REFIT_H
