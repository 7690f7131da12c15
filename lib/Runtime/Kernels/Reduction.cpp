//===- Reduction.cpp - reduction kernels ----------------------------------===//
//
// Reduce* (Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp,
// SumSquare) over `axes` (an attribute before opset 13 for ReduceSum and
// before 18 for the rest, an input after), ArgMax / ArgMin, CumSum. Float
// sums accumulate in double, integer ones in int64; the result has the
// input's type.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

enum class Reduce { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

/// Which dims of `x` a Reduce* node reduces, and the shape it returns.
struct ReducePlan {
  Shape keep; // x's shape with the reduced dims set to 1
  Shape out;  // keep, or without the reduced dims if keepdims = 0
  bool identity = false;
};

FailureOr<ReducePlan> planReduce(KernelContext &ctx, const Tensor &x, int64_t axesInputSince) {
  auto axes = readAxes(ctx, 1, axesInputSince);
  if (failed(axes))
    return failure();
  bool keepdims = ctx.attrs().getInt("keepdims", 1) != 0;
  ReducePlan plan;
  int64_t rank = x.rank();
  std::vector<bool> reduced(rank, true);
  if (*axes && !(*axes)->empty()) {
    reduced.assign(rank, false);
    for (int64_t a : **axes) {
      if (a < -rank || a >= rank)
        return ctx.error() << "axis " << a << " is out of range for rank " << rank;
      reduced[normAxis(a, rank)] = true;
    }
  } else if (ctx.attrs().getInt("noop_with_empty_axes", 0) != 0) {
    plan.identity = true;
    plan.keep = plan.out = x.shape();
    return plan;
  }
  for (int64_t i = 0; i < rank; ++i) {
    plan.keep.push_back(reduced[i] ? 1 : x.dim(i));
    if (!reduced[i] || keepdims)
      plan.out.push_back(reduced[i] ? 1 : x.dim(i));
  }
  return plan;
}

template <Reduce K>
LogicalResult reduceKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  // ReduceSum took its axes as an input first (opset 13), the others at 18.
  FailureOr<ReducePlan> plan = planReduce(ctx, x, K == Reduce::Sum ? 13 : 18);
  if (failed(plan))
    return failure();
  if (plan->identity) {
    ctx.outputs = {x};
    return success();
  }
  if (failed(ctx.alloc(0, x.dtype(), plan->out)))
    return failure();
  return dispatch(ctx, x.dtype(), [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      return ctx.error() << "Reduce* does not take bool";
    } else {
      constexpr bool isFloat = std::is_floating_point_v<T>;
      if constexpr (!isFloat)
        if (K == Reduce::Mean || K == Reduce::L2 || K == Reduce::LogSum ||
            K == Reduce::LogSumExp)
          return ctx.error() << "this reduction needs a float input, found "
                             << dtypeName(x.dtype());
      using Acc = std::conditional_t<isFloat, double, int64_t>;
      int64_t groups = product(plan->keep);
      std::vector<Acc> acc(groups);
      Acc init = K == Reduce::Prod ? Acc(1)
                 : K == Reduce::Max ? (isFloat ? Acc(-std::numeric_limits<double>::infinity())
                                               : Acc(std::numeric_limits<T>::lowest()))
                 : K == Reduce::Min ? (isFloat ? Acc(std::numeric_limits<double>::infinity())
                                               : Acc(std::numeric_limits<T>::max()))
                                    : Acc(0);
      std::fill(acc.begin(), acc.end(), init);
      std::array<std::vector<int64_t>, 1> strides{broadcastStrides(plan->keep, x.shape())};
      const T *in = x.data<T>();
      std::vector<double> shift;
      if constexpr (K == Reduce::LogSumExp) {
        // log(sum(exp(x))) = m + log(sum(exp(x - m))), m the group's max.
        shift.assign(groups, -std::numeric_limits<double>::infinity());
        forEachBroadcast<1>(x.shape(), strides, [&](int64_t i, auto &offs) {
          shift[offs[0]] = std::max<double>(shift[offs[0]], in[i]);
        });
        for (double &m : shift)
          if (!std::isfinite(m))
            m = 0;
      }
      forEachBroadcast<1>(x.shape(), strides, [&](int64_t i, auto &offs) {
        Acc &a = acc[offs[0]];
        Acc v = static_cast<Acc>(in[i]);
        if constexpr (K == Reduce::Sum || K == Reduce::Mean || K == Reduce::LogSum)
          a += v;
        else if constexpr (K == Reduce::Max)
          a = (v > a || v != v) ? v : a;
        else if constexpr (K == Reduce::Min)
          a = (v < a || v != v) ? v : a;
        else if constexpr (K == Reduce::Prod)
          a *= v;
        else if constexpr (K == Reduce::L1)
          a += v < 0 ? -v : v;
        else if constexpr (K == Reduce::L2 || K == Reduce::SumSquare)
          a += v * v;
        else if constexpr (K == Reduce::LogSumExp)
          a += std::exp(double(v) - shift[offs[0]]);
      });
      int64_t count = x.numElements() / std::max<int64_t>(1, groups);
      T *out = ctx.outputs[0].mutableData<T>();
      for (int64_t g = 0; g < groups; ++g) {
        Acc a = acc[g];
        if constexpr (isFloat) {
          if constexpr (K == Reduce::Mean)
            a = count ? a / count : std::numeric_limits<double>::quiet_NaN();
          else if constexpr (K == Reduce::L2)
            a = std::sqrt(a);
          else if constexpr (K == Reduce::LogSum)
            a = std::log(a);
          else if constexpr (K == Reduce::LogSumExp)
            a = std::log(a) + shift[g];
        }
        out[g] = static_cast<T>(a);
      }
      return success();
    }
  });
}

/// ArgMax / ArgMin along `axis`: the first (or, with select_last_index,
/// the last) index of the extreme value, as int64.
template <bool IsMax>
LogicalResult argKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  OnnxAttrs a = ctx.attrs();
  int64_t axis = a.getInt("axis", 0);
  if (axis < -x.rank() || axis >= x.rank())
    return ctx.error() << "axis " << axis << " is out of range for rank " << x.rank();
  axis = normAxis(axis, x.rank());
  bool keepdims = a.getInt("keepdims", 1) != 0, last = a.getInt("select_last_index", 0) != 0;
  Shape out = x.shape();
  if (keepdims)
    out[axis] = 1;
  else
    out.erase(out.begin() + axis);
  if (failed(ctx.alloc(0, DType::I64, out)))
    return failure();
  int64_t outer = product(x.shape(), 0, axis), len = x.dim(axis),
          inner = product(x.shape(), axis + 1);
  if (len == 0)
    return ctx.error() << "ArgMax/ArgMin of an empty axis";
  return dispatch(ctx, x.dtype(), [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    const T *in = x.data<T>();
    int64_t *dst = ctx.outputs[0].mutableData<int64_t>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const T *src = in + o * len * inner + i;
        int64_t best = 0;
        for (int64_t j = 1; j < len; ++j) {
          T v = src[j * inner], b = src[best * inner];
          bool better = IsMax ? (last ? v >= b : v > b) : (last ? v <= b : v < b);
          if (better)
            best = j;
        }
        dst[o * inner + i] = best;
      }
    return success();
  });
}

/// CumSum along the scalar `axis` input; `exclusive` leaves out the element
/// itself, `reverse` sums from the end.
LogicalResult cumSumKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &axisT = ctx.in(1);
  if (failed(requireInts(ctx, axisT, "axis")) || axisT.numElements() != 1)
    return ctx.error() << "axis must be one int32 or int64";
  int64_t axis = readInts(axisT)[0];
  if (axis < -x.rank() || axis >= x.rank())
    return ctx.error() << "axis " << axis << " is out of range for rank " << x.rank();
  axis = normAxis(axis, x.rank());
  bool exclusive = ctx.attrs().getInt("exclusive", 0) != 0,
       reverse = ctx.attrs().getInt("reverse", 0) != 0;
  if (failed(ctx.alloc(0, x.dtype(), x.shape())))
    return failure();
  int64_t outer = product(x.shape(), 0, axis), len = x.dim(axis),
          inner = product(x.shape(), axis + 1);
  return dispatch(ctx, x.dtype(), [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      return ctx.error() << "CumSum does not take bool";
    } else {
      const T *in = x.data<T>();
      T *out = ctx.outputs[0].mutableData<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          T sum = 0;
          for (int64_t k = 0; k < len; ++k) {
            int64_t j = reverse ? len - 1 - k : k;
            int64_t at = (o * len + j) * inner + i;
            if (exclusive) {
              out[at] = sum;
              sum += in[at];
            } else {
              sum += in[at];
              out[at] = sum;
            }
          }
        }
      return success();
    }
  });
}

} // namespace

void registerReductionKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "ReduceSum", 1, any, reduceKernel<Reduce::Sum>);
  r.add("", "ReduceMean", 1, any, reduceKernel<Reduce::Mean>);
  r.add("", "ReduceMax", 1, any, reduceKernel<Reduce::Max>);
  r.add("", "ReduceMin", 1, any, reduceKernel<Reduce::Min>);
  r.add("", "ReduceProd", 1, any, reduceKernel<Reduce::Prod>);
  r.add("", "ReduceL1", 1, any, reduceKernel<Reduce::L1>);
  r.add("", "ReduceL2", 1, any, reduceKernel<Reduce::L2>);
  r.add("", "ReduceLogSum", 1, any, reduceKernel<Reduce::LogSum>);
  r.add("", "ReduceLogSumExp", 1, any, reduceKernel<Reduce::LogSumExp>);
  r.add("", "ReduceSumSquare", 1, any, reduceKernel<Reduce::SumSquare>);
  r.add("", "ArgMax", 1, any, argKernel<true>);
  r.add("", "ArgMin", 1, any, argKernel<false>);
  r.add("", "CumSum", 11, any, cumSumKernel).inputs(2);
}

} // namespace amct::rt
