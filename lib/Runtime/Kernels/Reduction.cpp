//===- Reduction.cpp - reduction kernels --------------------------------===//
//
// ReduceMean.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

LogicalResult reduceMeanKernel(KernelContext &ctx) {
  auto op = cast<ReduceMeanOp>(ctx.op);
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "input")))
    return failure();
  int64_t rank = x.rank();
  std::vector<bool> reduced(rank, true);
  if (auto axes = op.getAxes(); axes && !axes->empty()) {
    reduced.assign(rank, false);
    for (int64_t a : *axes)
      reduced[normAxis(a, rank)] = true;
  }
  Shape keep, out;
  for (int64_t i = 0; i < rank; ++i) {
    keep.push_back(reduced[i] ? 1 : x.dim(i));
    if (!reduced[i] || op.getKeepdims())
      out.push_back(reduced[i] ? 1 : x.dim(i));
  }
  if (failed(ctx.alloc(0, DType::F32, out)))
    return failure();
  // Accumulate in double into the kept-dims layout, then divide.
  std::vector<double> acc(product(keep), 0.0);
  std::array<std::vector<int64_t>, 1> strides{broadcastStrides(keep, x.shape())};
  const float *in = x.data<float>();
  forEachBroadcast<1>(x.shape(), strides, [&](int64_t i, auto &offs) { acc[offs[0]] += in[i]; });
  int64_t count = product(x.shape()) / std::max<int64_t>(1, product(keep));
  float *dst = ctx.outputs[0].mutableData<float>();
  for (size_t i = 0; i < acc.size(); ++i)
    dst[i] = count ? acc[i] / count : std::numeric_limits<float>::quiet_NaN();
  return success();
}


} // namespace

void registerReductionKernels(KernelRegistry &r) {
  r.add("", "ReduceMean", 1, 17, reduceMeanKernel).typed();
}

} // namespace amct::rt
