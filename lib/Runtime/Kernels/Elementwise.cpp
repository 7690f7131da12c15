//===- Elementwise.cpp - elementwise kernels ----------------------------===//
//
// Unary math, binary arithmetic and comparison with numpy broadcasting,
// Where, PRelu, Pow, Clip. Unary kernels write over their input when the
// executor allows it.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

/// Equal, Less, Greater, LessOrEqual, GreaterOrEqual with numpy
/// broadcasting; a bool result.
LogicalResult compareKernel(KernelContext &ctx) {
  const Tensor &a = ctx.in(0), &b = ctx.in(1);
  FailureOr<Shape> shape = broadcastSameType(ctx, a, b);
  if (failed(shape) || failed(ctx.alloc(0, DType::Bool, *shape)))
    return failure();
  std::array<std::vector<int64_t>, 2> strides{broadcastStrides(a.shape(), *shape),
                                              broadcastStrides(b.shape(), *shape)};
  StringRef name = ctx.opType;
  return dispatch(ctx, a.dtype(), [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    uint8_t *out = ctx.outputs[0].mutableData<uint8_t>();
    auto run = [&](auto cmp) {
      forEachBroadcast<2>(*shape, strides,
                          [&](int64_t o, auto &offs) { out[o] = cmp(pa[offs[0]], pb[offs[1]]); });
    };
    if (name == "Equal")
      run([](T x, T y) { return x == y; });
    else if (name == "Less")
      run([](T x, T y) { return x < y; });
    else if (name == "Greater")
      run([](T x, T y) { return x > y; });
    else if (name == "LessOrEqual")
      run([](T x, T y) { return x <= y; });
    else
      run([](T x, T y) { return x >= y; });
    return success();
  });
}

LogicalResult notKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (x.dtype() != DType::Bool)
    return ctx.error() << "Not takes bool, found " << dtypeName(x.dtype());
  if (failed(ctx.allocInPlace(0, 0, DType::Bool, x.shape())))
    return failure();
  const uint8_t *in = x.data<uint8_t>();
  uint8_t *out = ctx.outputs[0].mutableData<uint8_t>();
  for (int64_t i = 0, n = x.numElements(); i < n; ++i)
    out[i] = !in[i];
  return success();
}

/// Where: condition ? X : Y, all three broadcast to one shape.
LogicalResult whereKernel(KernelContext &ctx) {
  const Tensor &c = ctx.in(0), &x = ctx.in(1), &y = ctx.in(2);
  if (c.dtype() != DType::Bool)
    return ctx.error() << "condition is " << dtypeName(c.dtype()) << "; expected bool";
  if (x.dtype() != y.dtype())
    return ctx.error() << "X and Y types differ: " << dtypeName(x.dtype()) << " vs "
                       << dtypeName(y.dtype());
  FailureOr<Shape> cx = broadcastShapes(ctx, c.shape(), x.shape());
  if (failed(cx))
    return failure();
  FailureOr<Shape> shape = broadcastShapes(ctx, *cx, y.shape());
  if (failed(shape) || failed(ctx.alloc(0, x.dtype(), *shape)))
    return failure();
  std::array<std::vector<int64_t>, 3> strides{broadcastStrides(c.shape(), *shape),
                                              broadcastStrides(x.shape(), *shape),
                                              broadcastStrides(y.shape(), *shape)};
  const uint8_t *pc = c.data<uint8_t>();
  size_t size = dtypeSize(x.dtype());
  const char *px = static_cast<const char *>(x.raw()), *py = static_cast<const char *>(y.raw());
  char *out = static_cast<char *>(ctx.outputs[0].mutableRaw());
  forEachBroadcast<3>(*shape, strides, [&](int64_t o, auto &offs) {
    memcpy(out + o * size, pc[offs[0]] ? px + offs[1] * size : py + offs[2] * size, size);
  });
  return success();
}


/// PRelu: x < 0 ? slope * x : x, the slope broadcast to x's shape (ONNX's
/// unidirectional broadcasting: the result has x's shape).
LogicalResult preluKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &slope = ctx.in(1);
  FailureOr<Shape> shape = broadcastSameType(ctx, x, slope);
  if (failed(shape))
    return failure();
  if (*shape != x.shape())
    return ctx.error() << "slope " << formatShape(slope.shape())
                       << " does not broadcast to X " << formatShape(x.shape());
  if (failed(ctx.alloc(0, x.dtype(), x.shape())))
    return failure();
  std::array<std::vector<int64_t>, 2> strides{broadcastStrides(x.shape(), *shape),
                                              broadcastStrides(slope.shape(), *shape)};
  return dispatch(
      ctx, x.dtype(),
      [&](auto tag) -> LogicalResult {
        using T = decltype(tag);
        if constexpr (std::is_floating_point_v<T>) {
          const T *px = x.data<T>(), *ps = slope.data<T>();
          T *out = ctx.outputs[0].mutableData<T>();
          forEachBroadcast<2>(*shape, strides, [&](int64_t o, auto &offs) {
            T v = px[offs[0]];
            out[o] = v < T(0) ? T(ps[offs[1]] * v) : v;
          });
        }
        return success();
      },
      /*allowInt=*/false);
}

LogicalResult binaryKernel(KernelContext &ctx) {
  const Tensor &a = ctx.in(0), &b = ctx.in(1);
  FailureOr<Shape> shape = broadcastSameType(ctx, a, b);
  if (failed(shape))
    return failure();
  StringRef name = ctx.opType;
  if (a.shape() == b.shape() && a.dtype() == DType::F32 && name != "Div") {
    // Same shapes (residual adds): a flat loop, in place when allowed.
    unsigned over = !ctx.canOverwrite(0, a.dtype(), *shape) &&
                    ctx.canOverwrite(1, a.dtype(), *shape);
    if (failed(ctx.allocInPlace(0, over, a.dtype(), *shape)))
      return failure();
    const float *pa = a.data<float>(), *pb = b.data<float>();
    float *out = ctx.outputs[0].mutableData<float>();
    parallelElements(ctx, a.numElements(), [&](int64_t lo, int64_t hi) {
      // `out` may be `pa` or `pb` (in place): no dependence across iterations.
      if (name == "Add") {
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; ++i)
          out[i] = pa[i] + pb[i];
      } else if (name == "Sub") {
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; ++i)
          out[i] = pa[i] - pb[i];
      } else {
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; ++i)
          out[i] = pa[i] * pb[i];
      }
    });
    return success();
  }
  if (failed(ctx.alloc(0, a.dtype(), *shape)))
    return failure();
  std::array<std::vector<int64_t>, 2> strides{broadcastStrides(a.shape(), *shape),
                                              broadcastStrides(b.shape(), *shape)};
  // Fixed operator per loop, so the compiler vectorises it.
  return dispatch(ctx, a.dtype(), [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    T *out = ctx.outputs[0].mutableData<T>();
    if constexpr (std::is_integral_v<T>) {
      if (name == "Div") {
        bool zero = false;
        forEachBroadcast<2>(*shape, strides, [&](int64_t o, auto &offs) {
          T d = pb[offs[1]];
          if (d == 0) {
            zero = true;
            out[o] = 0;
          } else {
            out[o] = pa[offs[0]] / d;
          }
        });
        if (zero)
          return ctx.error() << "integer division by zero";
        return success();
      }
    }
    if (name == "Add")
      forEachBroadcast<2>(*shape, strides, [&](int64_t o, auto &offs) { out[o] = pa[offs[0]] + pb[offs[1]]; });
    else if (name == "Sub")
      forEachBroadcast<2>(*shape, strides, [&](int64_t o, auto &offs) { out[o] = pa[offs[0]] - pb[offs[1]]; });
    else if (name == "Mul")
      forEachBroadcast<2>(*shape, strides, [&](int64_t o, auto &offs) { out[o] = pa[offs[0]] * pb[offs[1]]; });
    else
      forEachBroadcast<2>(*shape, strides, [&](int64_t o, auto &offs) { out[o] = pa[offs[0]] / pb[offs[1]]; });
    return success();
  });
}

LogicalResult powKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &y = ctx.in(1);
  FailureOr<Shape> shape = broadcastShapes(ctx, x.shape(), y.shape());
  if (failed(shape) || failed(ctx.alloc(0, x.dtype(), *shape)))
    return failure();
  std::array<std::vector<int64_t>, 2> strides{broadcastStrides(x.shape(), *shape),
                                              broadcastStrides(y.shape(), *shape)};
  return dispatch(ctx, x.dtype(), [&](auto xt) -> LogicalResult {
    using X = decltype(xt);
    return dispatch(ctx, y.dtype(), [&](auto yt) -> LogicalResult {
      using Y = decltype(yt);
      const X *px = x.data<X>();
      const Y *py = y.data<Y>();
      X *out = ctx.outputs[0].mutableData<X>();
      forEachBroadcast<2>(*shape, strides, [&](int64_t o, auto &offs) {
        out[o] = static_cast<X>(std::pow((double)px[offs[0]], (double)py[offs[1]]));
      });
      return success();
    });
  });
}

LogicalResult clipKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(ctx.allocInPlace(0, 0, x.dtype(), x.shape())))
    return failure();
  return dispatch(ctx, x.dtype(), [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
    if (ctx.has(1) && ctx.in(1).numElements())
      lo = ctx.in(1).data<T>()[0];
    if (ctx.has(2) && ctx.in(2).numElements())
      hi = ctx.in(2).data<T>()[0];
    const T *in = x.data<T>();
    T *out = ctx.outputs[0].mutableData<T>();
    parallelElements(ctx, x.numElements(), [&](int64_t b, int64_t e) {
      // `out` may be `in` (in place): no dependence across iterations.
#pragma GCC ivdep
      for (int64_t i = b; i < e; ++i)
        out[i] = std::min(std::max(in[i], lo), hi);
    });
    return success();
  });
}


} // namespace

void registerElementwiseKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "Relu", 1, any, unaryFloat([](auto v) { return v > 0 ? v : decltype(v)(0); }));
  r.add("", "Sigmoid", 1, any,
        unaryFloat([](auto v) { return decltype(v)(1) / (decltype(v)(1) + std::exp(-v)); }));
  r.add("", "Tanh", 1, any, unaryFloat([](auto v) { return std::tanh(v); }));
  r.add("", "Sqrt", 1, any, unaryFloat([](auto v) { return std::sqrt(v); }));
  r.add("", "Erf", 1, any, unaryFloat([](auto v) { return std::erf(v); }));
  r.add("", "Neg", 1, any, unaryFloat([](auto v) { return -v; }));
  r.add("", "Abs", 1, any,
        unaryFloat([](auto v) { return v < decltype(v)(0) ? decltype(v)(-v) : v; }));
  r.add("", "Exp", 1, any, unaryFloat([](auto v) { return std::exp(v); }));
  r.add("", "Log", 1, any, unaryFloat([](auto v) { return std::log(v); }));
  r.add("", "Reciprocal", 1, any, unaryFloat([](auto v) { return decltype(v)(1) / v; }));
  r.add("", "Floor", 1, any, unaryFloat([](auto v) { return std::floor(v); }));
  r.add("", "Ceil", 1, any, unaryFloat([](auto v) { return std::ceil(v); }));
  r.add("", "Sin", 1, any, unaryFloat([](auto v) { return std::sin(v); }));
  r.add("", "Cos", 1, any, unaryFloat([](auto v) { return std::cos(v); }));
  // log1p(exp(x)) loses nothing for large negative x; for large x it is x.
  r.add("", "Softplus", 1, any, unaryFloat([](auto v) {
          using T = decltype(v);
          return v > T(20) ? v : T(std::log1p(std::exp(v)));
        }));
  r.add("", "HardSwish", 1, any, unaryFloat([](auto v) {
          using T = decltype(v);
          return T(v * std::max(T(0), std::min(T(1), T(v / T(6) + T(0.5)))));
        }));
  r.add("", "HardSigmoid", 1, any, [](KernelContext &ctx) {
    float alpha = ctx.attrs().getFloat("alpha", 0.2f), beta = ctx.attrs().getFloat("beta", 0.5f);
    return unaryFloat([alpha, beta](auto v) {
      using T = decltype(v);
      return std::max(T(0), std::min(T(1), T(T(alpha) * v + T(beta))));
    })(ctx);
  });
  r.add("", "LeakyRelu", 1, any, [](KernelContext &ctx) {
    float alpha = ctx.attrs().getFloat("alpha", 0.01f);
    return unaryFloat([alpha](auto v) {
      using T = decltype(v);
      return v < T(0) ? T(T(alpha) * v) : v;
    })(ctx);
  });
  r.add("", "Elu", 1, any, [](KernelContext &ctx) {
    float alpha = ctx.attrs().getFloat("alpha", 1.0f);
    return unaryFloat([alpha](auto v) {
      using T = decltype(v);
      return v < T(0) ? T(T(alpha) * (std::exp(v) - T(1))) : v;
    })(ctx);
  });
  r.add("", "PRelu", 1, any, preluKernel).inputs(2);
  for (StringRef name : {"Equal", "Less", "Greater"})
    r.add("", name, 7, any, compareKernel).inputs(2);
  for (StringRef name : {"LessOrEqual", "GreaterOrEqual"})
    r.add("", name, 12, any, compareKernel).inputs(2);
  r.add("", "Not", 1, any, notKernel);
  r.add("", "Where", 9, any, whereKernel).inputs(3);
  for (StringRef name : {"Add", "Sub", "Mul", "Div"})
    r.add("", name, 7, any, binaryKernel).inputs(2);
  r.add("", "Pow", 7, any, powKernel).inputs(2);
  r.add("", "Clip", 11, any, clipKernel);
}

} // namespace amct::rt
