//===- Metrics.h - how close a model's output is ----------------*- C++ -*-===//
//
// AMCT's ModelEvaluator numbers for one float output with samples along
// dim 0: top-1 accuracy against labels; top-1 agreement, mean and minimum
// row cosine and the largest difference against a reference output. Used
// by `amct evaluate` and by auto calibration.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_PIPELINES_METRICS_H
#define AMCT_PIPELINES_METRICS_H

#include "amct/Runtime/Tensor.h"

#include <optional>
#include <string>

namespace amct {

struct OutputMetrics {
  int64_t samples = 0;
  std::optional<double> top1Accuracy;
  std::optional<double> top1Agreement, meanCosine, minCosine, maxAbsDiff;
};

/// The metrics of `output` (float32, samples along dim 0), with `labels`
/// (int64 or int32, one per sample) and / or `reference` (the same shape)
/// when given; nullopt with `error` when a shape or type does not fit.
std::optional<OutputMetrics> computeOutputMetrics(const rt::Tensor &output,
                                                  const rt::Tensor *labels,
                                                  const rt::Tensor *reference,
                                                  std::string &error);

} // namespace amct

#endif // AMCT_PIPELINES_METRICS_H
