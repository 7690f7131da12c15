//===- Loss.cpp - loss kernels --------------------------------------------===//
//
// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (training graphs
// and exported evaluation heads), with class weights, ignore_index and the
// none / sum / mean reductions; computed in double, stored in the input's
// float type.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

/// loss[n][d] = -logp[n][t][d] * w[t] (0 where t is ignore_index), then
/// reduced. `logp` is [N, C, D] flattened (D the product of the trailing
/// dims), `labels` [N, D].
template <typename T>
LogicalResult nll(KernelContext &ctx, const T *logp, const Shape &scoreShape,
                  const Tensor &labels, const Tensor *weight) {
  int64_t n = scoreShape[0], c = scoreShape[1], d = product(scoreShape, 2);
  Shape labelShape(scoreShape);
  labelShape.erase(labelShape.begin() + 1);
  if (labels.shape() != labelShape || failed(requireInts(ctx, labels, "target")))
    return ctx.error() << "target must be int32/int64 of shape " << formatShape(labelShape);
  if (weight && (weight->numElements() != c || weight->dtype() != realDType<T>()))
    return ctx.error() << "weight must hold " << c << " values of the input's type";
  std::string reduction = ctx.attrs().getString("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean")
    return ctx.error() << "reduction must be none, sum or mean, found '" << reduction << "'";
  bool hasIgnore = ctx.attrs().has("ignore_index");
  int64_t ignore = ctx.attrs().getInt("ignore_index", 0);
  std::vector<int64_t> target = readInts(labels);
  std::vector<double> loss(n * d);
  double weightSum = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t j = 0; j < d; ++j) {
      int64_t t = target[b * d + j];
      if (hasIgnore && t == ignore) {
        loss[b * d + j] = 0;
        continue;
      }
      if (t < 0 || t >= c)
        return ctx.error() << "target " << t << " is outside [0, " << c << ")";
      double w = weight ? double(weight->data<T>()[t]) : 1.0;
      loss[b * d + j] = -double(logp[(b * c + t) * d + j]) * w;
      weightSum += w;
    }
  if (reduction == "none") {
    if (failed(ctx.alloc(0, realDType<T>(), labelShape)))
      return failure();
    for (size_t i = 0; i < loss.size(); ++i)
      ctx.outputs[0].mutableData<T>()[i] = T(loss[i]);
    return success();
  }
  double sum = 0;
  for (double l : loss)
    sum += l;
  if (failed(ctx.alloc(0, realDType<T>(), {})))
    return failure();
  *ctx.outputs[0].mutableData<T>() = T(reduction == "sum" ? sum : sum / weightSum);
  return success();
}

LogicalResult nllKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (x.rank() < 2)
    return ctx.error() << "input must have rank >= 2 ([N, C, ...])";
  const Tensor *weight = ctx.has(2) ? &ctx.in(2) : nullptr;
  if (x.dtype() == DType::F64)
    return nll<double>(ctx, x.data<double>(), x.shape(), ctx.in(1), weight);
  if (failed(requireF32(ctx, x, "input")))
    return failure();
  return nll<float>(ctx, x.data<float>(), x.shape(), ctx.in(1), weight);
}

/// SoftmaxCrossEntropyLoss: NLL of log_softmax(scores) over dim 1; the
/// optional second output is that log_softmax.
template <typename T>
LogicalResult sce(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  int64_t n = x.dim(0), c = x.dim(1), d = product(x.shape(), 2);
  std::optional<Tensor> logp = Tensor::uninitialized(realDType<T>(), x.shape());
  if (!logp)
    return ctx.error() << "cannot allocate log-probabilities";
  const T *in = x.data<T>();
  T *lp = logp->mutableData<T>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t j = 0; j < d; ++j) {
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < c; ++k)
        mx = std::max(mx, double(in[(b * c + k) * d + j]));
      double sum = 0;
      for (int64_t k = 0; k < c; ++k)
        sum += std::exp(double(in[(b * c + k) * d + j]) - mx);
      double logSum = std::log(sum) + mx;
      for (int64_t k = 0; k < c; ++k)
        lp[(b * c + k) * d + j] = T(double(in[(b * c + k) * d + j]) - logSum);
    }
  if (failed(nll<T>(ctx, lp, x.shape(), ctx.in(1), ctx.has(2) ? &ctx.in(2) : nullptr)))
    return failure();
  if (ctx.op->getNumResults() > 1) {
    ctx.outputs.resize(2);
    ctx.outputs[1] = std::move(*logp);
  }
  return success();
}

LogicalResult sceKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (x.rank() < 2)
    return ctx.error() << "scores must have rank >= 2 ([N, C, ...])";
  if (x.dtype() == DType::F64)
    return sce<double>(ctx);
  if (failed(requireF32(ctx, x, "scores")))
    return failure();
  return sce<float>(ctx);
}

} // namespace

void registerLossKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "NegativeLogLikelihoodLoss", 12, any, nllKernel).inputs(2);
  r.add("", "SoftmaxCrossEntropyLoss", 12, any, sceKernel).inputs(2).outputs(2);
}

} // namespace amct::rt
