//===- Normalization.cpp - normalization kernels ------------------------===//
//
// BatchNormalization (inference), Softmax / LogSoftmax / Hardmax,
// LayerNormalization, InstanceNormalization, LRN, MeanVarianceNormalization,
// LpNormalization.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

LogicalResult batchNormKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (ctx.attrs().getInt("training_mode", 0) != 0)
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
  float eps = ctx.attrs().getFloat("epsilon", 1e-5f);
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

enum class SoftmaxKind { Softmax, LogSoftmax, Hardmax };

/// Softmax, LogSoftmax and Hardmax. From opset 13 they normalise along
/// `axis` (default -1); before, the input is read as a 2-d matrix of
/// [prod(dims before axis), prod(dims from axis)] (default axis 1) and each
/// row is normalised.
template <SoftmaxKind Kind>
LogicalResult softmaxKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "input")) || failed(ctx.alloc(0, DType::F32, x.shape())))
    return failure();
  bool flat = ctx.opset < 13;
  int64_t axis = ctx.attrs().getInt("axis", flat ? 1 : -1);
  if (axis < -x.rank() || axis >= std::max<int64_t>(1, x.rank()))
    return ctx.error() << "axis " << axis << " is out of range for rank " << x.rank();
  axis = normAxis(axis, x.rank());
  int64_t outer = product(x.shape(), 0, axis);
  int64_t len = flat ? product(x.shape(), axis) : (x.rank() ? x.dim(axis) : 1);
  int64_t inner = flat ? 1 : product(x.shape(), axis + 1);
  const float *in = x.data<float>();
  float *out = ctx.outputs[0].mutableData<float>();
  parallelFor(ctx.threads, outer * inner, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) {
      int64_t o = r / inner, i = r % inner;
      const float *src = in + o * len * inner + i;
      float *dst = out + o * len * inner + i;
      float mx = -std::numeric_limits<float>::infinity();
      int64_t arg = 0;
      for (int64_t j = 0; j < len; ++j)
        if (src[j * inner] > mx) {
          mx = src[j * inner];
          arg = j;
        }
      if constexpr (Kind == SoftmaxKind::Hardmax) {
        for (int64_t j = 0; j < len; ++j)
          dst[j * inner] = j == arg ? 1.0f : 0.0f;
      } else {
        // exp in float, summed in double.
        double sum = 0;
        if constexpr (Kind == SoftmaxKind::Softmax) {
          for (int64_t j = 0; j < len; ++j)
            sum += dst[j * inner] = std::exp(src[j * inner] - mx);
          for (int64_t j = 0; j < len; ++j)
            dst[j * inner] /= sum;
        } else {
          for (int64_t j = 0; j < len; ++j)
            sum += std::exp(src[j * inner] - mx);
          float logSum = std::log(sum);
          for (int64_t j = 0; j < len; ++j)
            dst[j * inner] = src[j * inner] - mx - logSum;
        }
      }
    }
  });
  return success();
}

/// LayerNormalization: normalises over the dims from `axis` on, then
/// scale and bias (broadcast to those dims); outputs 1 and 2 (optional) are
/// the mean and 1 / sqrt(var + epsilon), with the normalised dims kept as 1.
LogicalResult layerNormKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &scale = ctx.in(1);
  if (failed(requireF32(ctx, x, "input")) || failed(requireF32(ctx, scale, "scale")) ||
      (ctx.has(2) && failed(requireF32(ctx, ctx.in(2), "bias"))) ||
      failed(ctx.alloc(0, DType::F32, x.shape())))
    return failure();
  int64_t axis = ctx.attrs().getInt("axis", -1);
  if (axis < -x.rank() || axis >= x.rank())
    return ctx.error() << "axis " << axis << " is out of range for rank " << x.rank();
  axis = normAxis(axis, x.rank());
  int64_t outer = product(x.shape(), 0, axis), inner = product(x.shape(), axis);
  Shape normShape(x.shape().begin() + axis, x.shape().end());
  for (unsigned i = 1; i < 3; ++i) {
    if (!ctx.has(i))
      continue;
    FailureOr<Shape> b = broadcastShapes(ctx, ctx.in(i).shape(), normShape);
    if (failed(b) || *b != normShape)
      return ctx.error() << (i == 1 ? "scale" : "bias") << " of shape "
                         << formatShape(ctx.in(i).shape()) << " does not broadcast to "
                         << formatShape(normShape);
  }
  Shape statShape = x.shape();
  for (int64_t d = axis; d < x.rank(); ++d)
    statShape[d] = 1;
  unsigned numOutputs = ctx.op->getNumResults();
  for (unsigned o = 1; o < numOutputs && o < 3; ++o)
    if (failed(ctx.alloc(o, DType::F32, statShape)))
      return failure();
  // Scale and bias expanded to the normalised dims once.
  std::vector<float> sc(inner), bi(inner, 0.0f);
  std::array<std::vector<int64_t>, 1> ss{broadcastStrides(scale.shape(), normShape)};
  forEachBroadcast<1>(normShape, ss, [&](int64_t o, auto &offs) { sc[o] = scale.data<float>()[offs[0]]; });
  if (ctx.has(2)) {
    std::array<std::vector<int64_t>, 1> bs{broadcastStrides(ctx.in(2).shape(), normShape)};
    forEachBroadcast<1>(normShape, bs,
                        [&](int64_t o, auto &offs) { bi[o] = ctx.in(2).data<float>()[offs[0]]; });
  }
  float eps = ctx.attrs().getFloat("epsilon", 1e-5f);
  parallelFor(ctx.threads, outer, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t o = b; o < e; ++o) {
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
        dst[i] = (src[i] - mean) * inv * sc[i] + bi[i];
      if (numOutputs > 1)
        ctx.outputs[1].mutableData<float>()[o] = mean;
      if (numOutputs > 2)
        ctx.outputs[2].mutableData<float>()[o] = inv;
    }
  });
  return success();
}

/// InstanceNormalization: each (n, c) plane normalised by its own mean and
/// variance, then scale[c] and bias[c].
LogicalResult instanceNormKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &scale = ctx.in(1), &bias = ctx.in(2);
  if (failed(requireF32(ctx, x, "input")) || x.rank() < 2)
    return ctx.error() << "input must be float32 of rank >= 2";
  int64_t c = x.dim(1), spatial = product(x.shape(), 2);
  if (scale.numElements() != c || bias.numElements() != c ||
      failed(requireF32(ctx, scale, "scale")) || failed(requireF32(ctx, bias, "B")))
    return ctx.error() << "scale and B must hold " << c << " float32 values";
  if (failed(ctx.allocInPlace(0, 0, DType::F32, x.shape())))
    return failure();
  float eps = ctx.attrs().getFloat("epsilon", 1e-5f);
  parallelFor(ctx.threads, x.dim(0) * c, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t p = b; p < e; ++p) {
      const float *src = x.data<float>() + p * spatial;
      float *dst = ctx.outputs[0].mutableData<float>() + p * spatial;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < spatial; ++i)
        mean += src[i];
      mean /= std::max<int64_t>(1, spatial);
      for (int64_t i = 0; i < spatial; ++i)
        var += (src[i] - mean) * (src[i] - mean);
      var /= std::max<int64_t>(1, spatial);
      float mul = scale.data<float>()[p % c] / std::sqrt(var + eps);
      float add = bias.data<float>()[p % c] - float(mean) * mul;
      for (int64_t i = 0; i < spatial; ++i)
        dst[i] = src[i] * mul + add;
    }
  });
  return success();
}

/// LRN across channels: x / (bias + alpha / size * sum of squares over the
/// `size` channels around c) ^ beta.
LogicalResult lrnKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "input")) || x.rank() < 2)
    return ctx.error() << "input must be float32 of rank >= 2";
  OnnxAttrs a = ctx.attrs();
  int64_t size = a.getInt("size", 0);
  if (size < 1)
    return ctx.error() << "size must be >= 1, found " << size;
  float alpha = a.getFloat("alpha", 1e-4f), beta = a.getFloat("beta", 0.75f),
        bias = a.getFloat("bias", 1.0f);
  if (failed(ctx.alloc(0, DType::F32, x.shape())))
    return failure();
  int64_t n = x.dim(0), c = x.dim(1), spatial = product(x.shape(), 2);
  int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
  const float *in = x.data<float>();
  float *out = ctx.outputs[0].mutableData<float>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < spatial; ++i) {
        double sq = 0;
        for (int64_t k = std::max<int64_t>(0, ch - lo); k <= std::min(c - 1, ch + hi); ++k) {
          double v = in[(b * c + k) * spatial + i];
          sq += v * v;
        }
        int64_t at = (b * c + ch) * spatial + i;
        out[at] = in[at] / std::pow(bias + alpha / size * sq, beta);
      }
  return success();
}

/// MeanVarianceNormalization: (x - mean) / sqrt(var), both over `axes`
/// (default 0, 2, 3). ONNX's reference adds no epsilon inside the root
/// beyond 1e-9 to the standard deviation.
LogicalResult mvnKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "input")))
    return failure();
  std::vector<int64_t> axes = ctx.attrs().getInts("axes").value_or(std::vector<int64_t>{0, 2, 3});
  Shape keep = x.shape();
  for (int64_t a : axes) {
    a = normAxis(a, x.rank());
    if (a < 0 || a >= x.rank())
      return ctx.error() << "axis out of range for rank " << x.rank();
    keep[a] = 1;
  }
  if (failed(ctx.alloc(0, DType::F32, x.shape())))
    return failure();
  int64_t groups = product(keep), count = x.numElements() / std::max<int64_t>(1, groups);
  std::vector<double> mean(groups, 0), sq(groups, 0);
  std::array<std::vector<int64_t>, 1> strides{broadcastStrides(keep, x.shape())};
  const float *in = x.data<float>();
  forEachBroadcast<1>(x.shape(), strides, [&](int64_t i, auto &offs) {
    mean[offs[0]] += in[i];
    sq[offs[0]] += double(in[i]) * in[i];
  });
  for (int64_t g = 0; g < groups; ++g) {
    mean[g] /= count;
    sq[g] = std::sqrt(std::max(0.0, sq[g] / count - mean[g] * mean[g])) + 1e-9;
  }
  float *out = ctx.outputs[0].mutableData<float>();
  forEachBroadcast<1>(x.shape(), strides, [&](int64_t i, auto &offs) {
    out[i] = (in[i] - mean[offs[0]]) / sq[offs[0]];
  });
  return success();
}

/// LpNormalization: x divided by its L1 or L2 norm along `axis`.
LogicalResult lpNormKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "input")))
    return failure();
  int64_t axis = normAxis(ctx.attrs().getInt("axis", -1), x.rank());
  int64_t p = ctx.attrs().getInt("p", 2);
  if (axis < 0 || axis >= x.rank() || (p != 1 && p != 2))
    return ctx.error() << "LpNormalization needs an axis inside the rank and p of 1 or 2";
  if (failed(ctx.alloc(0, DType::F32, x.shape())))
    return failure();
  int64_t outer = product(x.shape(), 0, axis), len = x.dim(axis),
          inner = product(x.shape(), axis + 1);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float *src = x.data<float>() + o * len * inner + i;
      float *dst = ctx.outputs[0].mutableData<float>() + o * len * inner + i;
      double norm = 0;
      for (int64_t j = 0; j < len; ++j)
        norm += p == 1 ? std::abs(src[j * inner]) : double(src[j * inner]) * src[j * inner];
      if (p == 2)
        norm = std::sqrt(norm);
      for (int64_t j = 0; j < len; ++j)
        dst[j * inner] = norm == 0 ? 0.0f : float(src[j * inner] / norm);
    }
  return success();
}

} // namespace

void registerNormalizationKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "BatchNormalization", 9, any, batchNormKernel).inputs(5);
  r.add("", "Softmax", 1, any, softmaxKernel<SoftmaxKind::Softmax>);
  r.add("", "LogSoftmax", 1, any, softmaxKernel<SoftmaxKind::LogSoftmax>);
  r.add("", "Hardmax", 1, any, softmaxKernel<SoftmaxKind::Hardmax>);
  r.add("", "LayerNormalization", 17, any, layerNormKernel).inputs(2).outputs(3);
  r.add("", "InstanceNormalization", 6, any, instanceNormKernel).inputs(3);
  r.add("", "LRN", 1, any, lrnKernel);
  r.add("", "MeanVarianceNormalization", 9, any, mvnKernel);
  r.add("", "LpNormalization", 1, any, lpNormKernel);
}

} // namespace amct::rt
