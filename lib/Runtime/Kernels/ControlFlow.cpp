//===- ControlFlow.cpp - If, Loop and Scan --------------------------------===//
//
// The control-flow ops run their subgraphs (regions of the generic node,
// compiled by the executor) with the enclosing graph's values. Loop and
// Scan stack their per-iteration scan outputs along a new axis. A Loop
// without a trip count stops after ExecutorOptions::maxLoopIterations (10
// million by default) with an error rather than hang.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

FailureOr<bool> boolScalar(KernelContext &ctx, const Tensor &t, StringRef what) {
  if (t.dtype() != DType::Bool || t.numElements() != 1)
    return ctx.error() << what << " must be one bool, found " << t.numElements() << " "
                       << dtypeName(t.dtype());
  return t.data<uint8_t>()[0] != 0;
}

LogicalResult ifKernel(KernelContext &ctx) {
  FailureOr<bool> cond = boolScalar(ctx, ctx.in(0), "cond");
  if (failed(cond))
    return failure();
  int region = ctx.regionIndex(*cond ? "then_branch" : "else_branch");
  if (region < 0)
    return ctx.error() << "If has no " << (*cond ? "then_branch" : "else_branch");
  FailureOr<std::vector<Tensor>> out = ctx.runRegion(region, {});
  if (failed(out))
    return failure();
  if (out->size() != ctx.op->getNumResults())
    return ctx.error() << "the branch returns " << out->size() << " values for "
                       << ctx.op->getNumResults() << " outputs";
  ctx.outputs = std::move(*out);
  return success();
}

/// Stacks equally shaped tensors along a new axis `axis` (0: Loop; Scan's
/// scan_output_axes), in order or reversed.
FailureOr<Tensor> stack(KernelContext &ctx, const std::vector<Tensor> &parts, int64_t axis,
                        bool reverse, Type emptyType) {
  if (parts.empty()) {
    // No iteration: an empty tensor, shaped by the declared type if it can.
    Shape shape = {0};
    DType dtype = DType::F32;
    if (auto t = dyn_cast_or_null<RankedTensorType>(emptyType)) {
      if (auto d = getDType(t.getElementType()))
        dtype = *d;
      if (t.hasStaticShape() && t.getRank() >= 1) {
        shape.assign(t.getShape().begin(), t.getShape().end());
        shape[0] = 0;
      }
    }
    std::optional<Tensor> e = Tensor::zeros(dtype, shape);
    if (!e)
      return ctx.error() << "cannot allocate an empty scan output";
    return *e;
  }
  const Tensor &first = parts.front();
  for (const Tensor &p : parts)
    if (p.shape() != first.shape() || p.dtype() != first.dtype())
      return ctx.error() << "scan output changes shape across iterations: "
                         << formatShape(first.shape()) << " then " << formatShape(p.shape());
  if (axis < 0)
    axis += first.rank() + 1;
  if (axis < 0 || axis > first.rank())
    return ctx.error() << "scan output axis out of range";
  Shape shape = first.shape();
  shape.insert(shape.begin() + axis, parts.size());
  std::optional<Tensor> out = Tensor::uninitialized(first.dtype(), shape);
  if (!out)
    return ctx.error() << "cannot allocate a " << formatShape(shape) << " scan output";
  int64_t outer = product(first.shape(), 0, axis),
          inner = product(first.shape(), axis) * dtypeSize(first.dtype());
  int64_t n = parts.size();
  for (int64_t k = 0; k < n; ++k) {
    const Tensor &p = parts[reverse ? n - 1 - k : k];
    for (int64_t o = 0; o < outer; ++o)
      memcpy(out->mutableData<char>() + (o * n + k) * inner, p.data<char>() + o * inner, inner);
  }
  return *out;
}

/// Loop: runs the body while the iteration count is below M (if given) and
/// the condition holds; carries the state, stacks the scan outputs.
LogicalResult loopKernel(KernelContext &ctx) {
  int body = ctx.regionIndex("body");
  if (body < 0)
    return ctx.error() << "Loop has no body";
  std::optional<int64_t> tripCount;
  if (ctx.has(0)) {
    if (failed(requireInts(ctx, ctx.in(0), "M")) || ctx.in(0).numElements() != 1)
      return ctx.error() << "M must be one int64";
    tripCount = readInts(ctx.in(0))[0];
  }
  bool cond = true;
  if (ctx.has(1)) {
    FailureOr<bool> c = boolScalar(ctx, ctx.in(1), "cond");
    if (failed(c))
      return failure();
    cond = *c;
  }
  size_t numCarried = ctx.op->getNumOperands() >= 2 ? ctx.op->getNumOperands() - 2 : 0;
  std::vector<Tensor> carried;
  for (size_t i = 0; i < numCarried; ++i) {
    if (!ctx.has(2 + i))
      return ctx.error() << "loop-carried input #" << i << " is missing";
    carried.push_back(ctx.in(2 + i));
  }
  size_t numScan = ctx.op->getNumResults() - numCarried;
  if (ctx.op->getNumResults() < numCarried)
    return ctx.error() << "Loop has fewer outputs than loop-carried values";
  std::vector<std::vector<Tensor>> scans(numScan);
  for (int64_t i = 0; cond && (!tripCount || i < *tripCount); ++i) {
    int64_t maxIterations = ctx.run ? ctx.run->maxLoopIterations : 10'000'000;
    if (i >= maxIterations)
      return ctx.error() << "Loop ran " << maxIterations
                         << " iterations without reaching its trip count or condition";
    std::vector<Tensor> args;
    std::optional<Tensor> iter = Tensor::zeros(DType::I64, {});
    std::optional<Tensor> c = Tensor::zeros(DType::Bool, {});
    if (!iter || !c)
      return ctx.error() << "cannot allocate";
    *iter->mutableData<int64_t>() = i;
    *c->mutableData<uint8_t>() = cond;
    args.push_back(*iter);
    args.push_back(*c);
    args.insert(args.end(), carried.begin(), carried.end());
    FailureOr<std::vector<Tensor>> out = ctx.runRegion(body, args);
    if (failed(out))
      return failure();
    if (out->size() != 1 + numCarried + numScan)
      return ctx.error() << "the body returns " << out->size() << " values, expected "
                         << 1 + numCarried + numScan;
    FailureOr<bool> next = boolScalar(ctx, (*out)[0], "the body's condition output");
    if (failed(next))
      return failure();
    cond = *next;
    for (size_t k = 0; k < numCarried; ++k)
      carried[k] = (*out)[1 + k];
    for (size_t k = 0; k < numScan; ++k)
      scans[k].push_back((*out)[1 + numCarried + k]);
  }
  ctx.outputs = carried;
  for (size_t k = 0; k < numScan; ++k) {
    FailureOr<Tensor> s =
        stack(ctx, scans[k], 0, false, ctx.op->getResult(numCarried + k).getType());
    if (failed(s))
      return failure();
    ctx.outputs.push_back(std::move(*s));
  }
  return success();
}

/// Scan (opset 9+): slices the scan inputs along their axes, runs the body
/// per slice with the state, stacks the scan outputs.
LogicalResult scanKernel(KernelContext &ctx) {
  int body = ctx.regionIndex("body");
  if (body < 0)
    return ctx.error() << "Scan has no body";
  OnnxAttrs a = ctx.attrs();
  int64_t numScanIn = a.getInt("num_scan_inputs", 0);
  int64_t numIn = ctx.op->getNumOperands();
  if (numScanIn < 1 || numScanIn > numIn)
    return ctx.error() << "num_scan_inputs must be in [1, " << numIn << "]";
  int64_t numState = numIn - numScanIn;
  int64_t numScanOut = ctx.op->getNumResults() - numState;
  if (numScanOut < 0)
    return ctx.error() << "Scan has fewer outputs than state variables";
  auto list = [&](StringRef name, int64_t n) {
    std::vector<int64_t> v = a.getInts(name).value_or(std::vector<int64_t>(n, 0));
    v.resize(n, 0);
    return v;
  };
  std::vector<int64_t> inAxes = list("scan_input_axes", numScanIn),
                       inDirs = list("scan_input_directions", numScanIn),
                       outAxes = list("scan_output_axes", numScanOut),
                       outDirs = list("scan_output_directions", numScanOut);
  std::vector<Tensor> state;
  for (int64_t i = 0; i < numState; ++i)
    state.push_back(ctx.in(i));
  int64_t steps = -1;
  std::vector<const Tensor *> scanIns;
  for (int64_t j = 0; j < numScanIn; ++j) {
    const Tensor &t = ctx.in(numState + j);
    int64_t ax = inAxes[j] < 0 ? inAxes[j] + t.rank() : inAxes[j];
    if (ax < 0 || ax >= t.rank())
      return ctx.error() << "scan_input_axes[" << j << "] is out of range";
    inAxes[j] = ax;
    if (steps >= 0 && t.dim(ax) != steps)
      return ctx.error() << "scan inputs differ in length along their axes";
    steps = t.dim(ax);
    scanIns.push_back(&t);
  }
  std::vector<std::vector<Tensor>> scans(numScanOut);
  for (int64_t s = 0; s < steps; ++s) {
    std::vector<Tensor> args = state;
    for (int64_t j = 0; j < numScanIn; ++j) {
      const Tensor &t = *scanIns[j];
      int64_t ax = inAxes[j], k = inDirs[j] ? steps - 1 - s : s;
      Shape shape = t.shape();
      shape.erase(shape.begin() + ax);
      std::optional<Tensor> slice = Tensor::uninitialized(t.dtype(), shape);
      if (!slice)
        return ctx.error() << "cannot allocate a scan slice";
      int64_t outer = product(t.shape(), 0, ax),
              inner = product(t.shape(), ax + 1) * dtypeSize(t.dtype());
      for (int64_t o = 0; o < outer; ++o)
        memcpy(slice->mutableData<char>() + o * inner,
               t.data<char>() + (o * t.dim(ax) + k) * inner, inner);
      args.push_back(std::move(*slice));
    }
    FailureOr<std::vector<Tensor>> out = ctx.runRegion(body, args);
    if (failed(out))
      return failure();
    if ((int64_t)out->size() != numState + numScanOut)
      return ctx.error() << "the body returns " << out->size() << " values, expected "
                         << numState + numScanOut;
    for (int64_t i = 0; i < numState; ++i)
      state[i] = (*out)[i];
    for (int64_t k = 0; k < numScanOut; ++k)
      scans[k].push_back((*out)[numState + k]);
  }
  ctx.outputs = state;
  for (int64_t k = 0; k < numScanOut; ++k) {
    FailureOr<Tensor> st = stack(ctx, scans[k], outAxes[k], outDirs[k] != 0,
                                 ctx.op->getResult(numState + k).getType());
    if (failed(st))
      return failure();
    ctx.outputs.push_back(std::move(*st));
  }
  return success();
}

} // namespace

void registerControlFlowKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "If", 1, any, ifKernel).outputs(~0u).half();
  r.add("", "Loop", 1, any, loopKernel).inputs(0).outputs(~0u).half();
  r.add("", "Scan", 9, any, scanKernel).outputs(~0u).half();
}

} // namespace amct::rt
