//===- Normalization.cpp - normalization kernels ------------------------===//
//
// BatchNormalization (inference), Softmax, LayerNormalization.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

LogicalResult batchNormKernel(KernelContext &ctx) {
  auto op = cast<BatchNormalizationOp>(ctx.op);
  const Tensor &x = ctx.in(0);
  if (op.getTrainingMode() != 0)
    return ctx.error() << "BatchNormalization with training_mode=1 (batch statistics) "
                          "is not supported; export the model in eval mode";
  if (failed(requireF32(ctx, x, "input")) ||
      failed(ctx.allocInPlace(0, 0, DType::F32, x.shape())))
    return failure();
  int64_t c = x.dim(1), spatial = product(x.shape(), 2);
  for (unsigned i = 1; i < 5; ++i)
    if (ctx.in(i).numElements() != c || failed(requireF32(ctx, ctx.in(i), "parameter")))
      return ctx.error() << "BatchNormalization parameter #" << i << " has "
                         << ctx.in(i).numElements() << " elements, expected " << c;
  float eps = op.getEpsilon().convertToFloat();
  const float *scale = ctx.in(1).data<float>(), *bias = ctx.in(2).data<float>(),
              *mean = ctx.in(3).data<float>(), *var = ctx.in(4).data<float>();
  float *y = ctx.outputs[0].mutableData<float>();
  std::vector<float> muls(c), adds(c);
  for (int64_t ch = 0; ch < c; ++ch) {
    muls[ch] = scale[ch] / std::sqrt(var[ch] + eps);
    adds[ch] = bias[ch] - mean[ch] * muls[ch];
  }
  // Work items are runs of whole planes.
  int64_t planes = x.dim(0) * c;
  int64_t grain = std::max<int64_t>(1, kElementGrain / std::max<int64_t>(1, spatial));
  parallelFor(ctx.threads, planes, grain, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p) {
      float mul = muls[p % c], add = adds[p % c];
      const float *src = x.data<float>() + p * spatial;
      float *dst = y + p * spatial;
      // `dst` may be `src` (in place): no dependence across iterations.
#pragma GCC ivdep
      for (int64_t i = 0; i < spatial; ++i)
        dst[i] = src[i] * mul + add;
    }
  });
  return success();
}

LogicalResult softmaxKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "input")) || failed(ctx.alloc(0, DType::F32, x.shape())))
    return failure();
  int64_t axis = normAxis(cast<SoftmaxOp>(ctx.op).getAxis(), x.rank());
  int64_t outer = product(x.shape(), 0, axis), len = x.dim(axis),
          inner = product(x.shape(), axis + 1);
  const float *in = x.data<float>();
  float *out = ctx.outputs[0].mutableData<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float *src = in + o * len * inner + i;
      float *dst = out + o * len * inner + i;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < len; ++j)
        mx = std::max(mx, src[j * inner]);
      double sum = 0;
      for (int64_t j = 0; j < len; ++j)
        sum += dst[j * inner] = std::exp(src[j * inner] - mx);
      for (int64_t j = 0; j < len; ++j)
        dst[j * inner] /= sum;
    }
  return success();
}

LogicalResult layerNormKernel(KernelContext &ctx) {
  auto op = cast<LayerNormalizationOp>(ctx.op);
  const Tensor &x = ctx.in(0), &scale = ctx.in(1);
  if (failed(requireF32(ctx, x, "input")) || failed(ctx.alloc(0, DType::F32, x.shape())))
    return failure();
  int64_t axis = normAxis(op.getAxis(), x.rank());
  int64_t outer = product(x.shape(), 0, axis), inner = product(x.shape(), axis);
  auto paramAt = [&](const Tensor &t, int64_t i) {
    return t.data<float>()[t.numElements() == 1 ? 0 : i % t.numElements()];
  };
  float eps = op.getEpsilon().convertToFloat();
  for (int64_t o = 0; o < outer; ++o) {
    const float *src = x.data<float>() + o * inner;
    float *dst = ctx.outputs[0].mutableData<float>() + o * inner;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < inner; ++i)
      mean += src[i];
    mean /= inner;
    for (int64_t i = 0; i < inner; ++i)
      var += (src[i] - mean) * (src[i] - mean);
    var /= inner;
    float inv = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < inner; ++i)
      dst[i] = (src[i] - mean) * inv * paramAt(scale, i) +
               (ctx.has(2) ? paramAt(ctx.in(2), i) : 0.0f);
  }
  return success();
}


} // namespace

void registerNormalizationKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "BatchNormalization", 9, any, batchNormKernel).typedOnly = true;
  r.add("", "Softmax", 13, any, softmaxKernel).typedOnly = true;
  r.add("", "LayerNormalization", 17, any, layerNormKernel).typedOnly = true;
}

} // namespace amct::rt
