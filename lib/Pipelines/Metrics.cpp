//===- Metrics.cpp - how close a model's output is ------------------------===//

#include "amct/Pipelines/Metrics.h"

#include "amct/Quant/Quant.h"

#include <algorithm>
#include <cmath>

using namespace amct;

std::optional<OutputMetrics> amct::computeOutputMetrics(const rt::Tensor &output,
                                                        const rt::Tensor *labels,
                                                        const rt::Tensor *reference,
                                                        std::string &error) {
  if (output.dtype() != rt::DType::F32 || output.rank() == 0) {
    error = "the output must be a float32 tensor with samples along dim 0, found " +
            rt::formatShape(output.shape()) + " " + rt::dtypeName(output.dtype());
    return std::nullopt;
  }
  OutputMetrics m;
  int64_t n = output.dim(0), k = output.numElements() / std::max<int64_t>(1, n);
  m.samples = n;
  const float *out = output.data<float>();
  auto argmax = [&](const float *row) { return std::max_element(row, row + k) - row; };
  if (labels) {
    if ((labels->dtype() != rt::DType::I64 && labels->dtype() != rt::DType::I32) ||
        labels->numElements() != n) {
      error = "expected " + std::to_string(n) + " int64 or int32 labels, found " +
              rt::formatShape(labels->shape()) + " " + rt::dtypeName(labels->dtype());
      return std::nullopt;
    }
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) {
      int64_t label = labels->dtype() == rt::DType::I64 ? labels->data<int64_t>()[i]
                                                        : labels->data<int32_t>()[i];
      correct += argmax(out + i * k) == label;
    }
    m.top1Accuracy = n ? double(correct) / double(n) : 0.0;
  }
  if (reference) {
    if (reference->dtype() != rt::DType::F32 || reference->shape() != output.shape()) {
      error = "the reference is " + rt::formatShape(reference->shape()) + " " +
              rt::dtypeName(reference->dtype()) + ", expected " +
              rt::formatShape(output.shape()) + " float32";
      return std::nullopt;
    }
    const float *ref = reference->data<float>();
    double sumCos = 0, minCos = 1, maxDiff = 0;
    int64_t agree = 0;
    for (int64_t i = 0; i < n; ++i) {
      quant::Cosine cosine;
      for (int64_t j = 0; j < k; ++j) {
        cosine.add(out[i * k + j], ref[i * k + j]);
        maxDiff = std::max(maxDiff, std::abs(double(out[i * k + j]) - ref[i * k + j]));
      }
      double cos = cosine.value();
      sumCos += cos;
      minCos = std::min(minCos, cos);
      agree += argmax(out + i * k) == argmax(ref + i * k);
    }
    double count = double(std::max<int64_t>(1, n));
    m.top1Agreement = agree / count;
    m.meanCosine = sumCos / count;
    m.minCosine = minCos;
    m.maxAbsDiff = maxDiff;
  }
  return m;
}
