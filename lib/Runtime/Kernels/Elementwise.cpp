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
        double v = std::pow((double)px[offs[0]], (double)py[offs[1]]);
        if constexpr (std::is_same_v<X, bool>)
          out[o] = v != 0;
        else if constexpr (std::is_integral_v<X>)
          out[o] = saturateCast<X>(v);
        else
          out[o] = static_cast<X>(v);
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
    if (ctx.opset < 11) {
      // Before opset 11 the bounds are float attributes.
      lo = static_cast<T>(ctx.attrs().getFloat("min", -std::numeric_limits<float>::max()));
      hi = static_cast<T>(ctx.attrs().getFloat("max", std::numeric_limits<float>::max()));
    }
    for (unsigned i = 1; i < 3; ++i) {
      if (ctx.opset < 11 || !ctx.has(i) || !ctx.in(i).numElements())
        continue;
      if (ctx.in(i).dtype() != x.dtype() || ctx.in(i).numElements() != 1)
        return ctx.error() << (i == 1 ? "min" : "max") << " must be one "
                           << dtypeName(x.dtype()) << " value";
      (i == 1 ? lo : hi) = ctx.in(i).data<T>()[0];
    }
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


/// A binary op with numpy broadcasting whose operands share a dtype:
/// out[o] = fn(a, b) with the result type R computed per dtype T.
template <typename Fn>
LogicalResult broadcastBinary(KernelContext &ctx, DType outDType, bool sameOut, Fn &&fn,
                              bool allowInt = true) {
  const Tensor &a = ctx.in(0), &b = ctx.in(1);
  FailureOr<Shape> shape = broadcastSameType(ctx, a, b);
  if (failed(shape) || failed(ctx.alloc(0, sameOut ? a.dtype() : outDType, *shape)))
    return failure();
  std::array<std::vector<int64_t>, 2> strides{broadcastStrides(a.shape(), *shape),
                                              broadcastStrides(b.shape(), *shape)};
  return dispatch(
      ctx, a.dtype(),
      [&](auto tag) -> LogicalResult {
        using T = decltype(tag);
        return fn(tag, a.data<T>(), b.data<T>(), *shape, strides);
      },
      allowInt);
}

/// Max, Min, Sum, Mean of any number of inputs, numpy-broadcast to one
/// shape (Max and Min propagate NaN, as numpy's maximum does).
template <int Kind> // 0 Max, 1 Min, 2 Sum, 3 Mean
LogicalResult variadicKernel(KernelContext &ctx) {
  unsigned n = ctx.inputs.size();
  Shape shape = ctx.in(0).shape();
  DType dtype = ctx.in(0).dtype();
  for (unsigned i = 1; i < n; ++i) {
    if (!ctx.has(i) || ctx.in(i).dtype() != dtype)
      return ctx.error() << "inputs must all be present and of one type";
    FailureOr<Shape> s = broadcastShapes(ctx, shape, ctx.in(i).shape());
    if (failed(s))
      return failure();
    shape = *s;
  }
  if (failed(ctx.alloc(0, dtype, shape)))
    return failure();
  return dispatch(ctx, dtype, [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      return ctx.error() << "bool inputs are not supported";
    } else {
      T *out = ctx.outputs[0].mutableData<T>();
      for (unsigned i = 0; i < n; ++i) {
        const Tensor &t = ctx.in(i);
        std::array<std::vector<int64_t>, 1> strides{broadcastStrides(t.shape(), shape)};
        const T *in = t.data<T>();
        forEachBroadcast<1>(shape, strides, [&](int64_t o, auto &offs) {
          T v = in[offs[0]];
          if (i == 0) {
            out[o] = v;
          } else if constexpr (Kind == 0) {
            out[o] = (v != v || v > out[o]) ? v : out[o];
          } else if constexpr (Kind == 1) {
            out[o] = (v != v || v < out[o]) ? v : out[o];
          } else {
            out[o] = out[o] + v;
          }
        });
      }
      if constexpr (Kind == 3)
        for (int64_t i = 0, e = ctx.outputs[0].numElements(); i < e; ++i)
          out[i] = static_cast<T>(out[i] / static_cast<T>(n));
      return success();
    }
  });
}

/// Mod: fmod = 1 is C's fmod (the sign of the dividend, and the only form
/// floats take); fmod = 0 on integers is Python's % (the sign of the
/// divisor).
LogicalResult modKernel(KernelContext &ctx) {
  bool fmod = ctx.attrs().getInt("fmod", 0) != 0;
  bool zero = false;
  LogicalResult r = broadcastBinary(ctx, DType::F32, true, [&](auto tag, const auto *pa,
                                                               const auto *pb, const Shape &shape,
                                                               auto &strides) -> LogicalResult {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      return ctx.error() << "Mod does not take bool";
    } else {
      T *out = ctx.outputs[0].mutableData<T>();
      if constexpr (std::is_floating_point_v<T>) {
        if (!fmod)
          return ctx.error() << "Mod of floats needs fmod = 1";
        forEachBroadcast<2>(shape, strides, [&](int64_t o, auto &offs) {
          out[o] = std::fmod(pa[offs[0]], pb[offs[1]]);
        });
      } else {
        forEachBroadcast<2>(shape, strides, [&](int64_t o, auto &offs) {
          T x = pa[offs[0]], y = pb[offs[1]];
          if (y == 0) {
            zero = true;
            out[o] = 0;
            return;
          }
          T m = static_cast<T>(x % y);
          if constexpr (std::is_signed_v<T>)
            if (!fmod && m != 0 && ((m < 0) != (y < 0)))
              m = static_cast<T>(m + y);
          out[o] = m;
        });
      }
      return success();
    }
  });
  if (succeeded(r) && zero)
    return ctx.error() << "integer Mod by zero";
  return r;
}

/// And, Or, Xor on bools with numpy broadcasting.
template <int Kind> // 0 And, 1 Or, 2 Xor
LogicalResult logicalKernel(KernelContext &ctx) {
  if (ctx.in(0).dtype() != DType::Bool || ctx.in(1).dtype() != DType::Bool)
    return ctx.error() << "inputs must be bool";
  return broadcastBinary(ctx, DType::Bool, true, [&](auto tag, const auto *pa, const auto *pb,
                                                     const Shape &shape,
                                                     auto &strides) -> LogicalResult {
    uint8_t *out = ctx.outputs[0].mutableData<uint8_t>();
    const uint8_t *a = reinterpret_cast<const uint8_t *>(pa),
                  *b = reinterpret_cast<const uint8_t *>(pb);
    forEachBroadcast<2>(shape, strides, [&](int64_t o, auto &offs) {
      bool x = a[offs[0]], y = b[offs[1]];
      out[o] = Kind == 0 ? (x && y) : Kind == 1 ? (x || y) : (x != y);
    });
    return success();
  });
}

/// BitShift on unsigned integers; a shift by the width or more gives 0.
LogicalResult bitShiftKernel(KernelContext &ctx) {
  std::string dir = ctx.attrs().getString("direction", "");
  if (dir != "LEFT" && dir != "RIGHT")
    return ctx.error() << "direction must be LEFT or RIGHT, found '" << dir << "'";
  return broadcastBinary(ctx, DType::U8, true, [&](auto tag, const auto *pa, const auto *pb,
                                                   const Shape &shape,
                                                   auto &strides) -> LogicalResult {
    using T = decltype(tag);
    if constexpr (!std::is_unsigned_v<T> || std::is_same_v<T, bool>) {
      return ctx.error() << "BitShift takes unsigned integers";
    } else {
      T *out = ctx.outputs[0].mutableData<T>();
      forEachBroadcast<2>(shape, strides, [&](int64_t o, auto &offs) {
        T x = pa[offs[0]], y = pb[offs[1]];
        out[o] = y >= sizeof(T) * 8 ? T(0) : dir == "LEFT" ? T(x << y) : T(x >> y);
      });
      return success();
    }
  });
}

/// A float -> bool test per element (IsNaN, IsInf).
template <typename Fn>
LogicalResult floatPredicate(KernelContext &ctx, Fn fn) {
  const Tensor &x = ctx.in(0);
  if (failed(ctx.alloc(0, DType::Bool, x.shape())))
    return failure();
  return dispatch(
      ctx, x.dtype(),
      [&](auto tag) -> LogicalResult {
        using T = decltype(tag);
        const T *in = x.data<T>();
        uint8_t *out = ctx.outputs[0].mutableData<uint8_t>();
        for (int64_t i = 0, n = x.numElements(); i < n; ++i)
          out[i] = fn(double(in[i]));
        return success();
      },
      /*allowInt=*/false);
}

/// Sign, Abs and Neg for every numeric type (floats as unaryFloat does).
template <int Kind> // 0 Sign, 1 Abs, 2 Neg
LogicalResult signLikeKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(ctx.allocInPlace(0, 0, x.dtype(), x.shape())))
    return failure();
  return dispatch(ctx, x.dtype(), [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      return ctx.error() << "bool input is not supported";
    } else {
      const T *in = x.data<T>();
      T *out = ctx.outputs[0].mutableData<T>();
      for (int64_t i = 0, n = x.numElements(); i < n; ++i) {
        T v = in[i];
        if constexpr (Kind == 0)
          out[i] = v > T(0) ? T(1) : v < T(0) ? T(-1) : T(0);
        else if constexpr (Kind == 1)
          out[i] = v < T(0) ? T(-v) : v;
        else
          out[i] = T(-v);
      }
      return success();
    }
  });
}

/// A unary float kernel with float attributes read once per run.
template <typename Make>
Kernel unaryWithAttrs(Make make) {
  return [make](KernelContext &ctx) { return make(ctx)(ctx); };
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
  r.add("", "Neg", 1, any, signLikeKernel<2>);
  r.add("", "Abs", 1, any, signLikeKernel<1>);
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
  r.add("", "Clip", 6, any, clipKernel);
  r.add("", "Tan", 7, any, unaryFloat([](auto v) { return std::tan(v); }));
  r.add("", "Asin", 7, any, unaryFloat([](auto v) { return std::asin(v); }));
  r.add("", "Acos", 7, any, unaryFloat([](auto v) { return std::acos(v); }));
  r.add("", "Atan", 7, any, unaryFloat([](auto v) { return std::atan(v); }));
  r.add("", "Sinh", 9, any, unaryFloat([](auto v) { return std::sinh(v); }));
  r.add("", "Cosh", 9, any, unaryFloat([](auto v) { return std::cosh(v); }));
  r.add("", "Asinh", 9, any, unaryFloat([](auto v) { return std::asinh(v); }));
  r.add("", "Acosh", 9, any, unaryFloat([](auto v) { return std::acosh(v); }));
  r.add("", "Atanh", 9, any, unaryFloat([](auto v) { return std::atanh(v); }));
  r.add("", "Softsign", 1, any, unaryFloat([](auto v) {
          using T = decltype(v);
          return T(v / (T(1) + (v < T(0) ? T(-v) : v)));
        }));
  // Round half to even: the default floating-point rounding mode.
  r.add("", "Round", 11, any, unaryFloat([](auto v) { return std::nearbyint(v); }));
  r.add("", "Sign", 9, any, signLikeKernel<0>);
  r.add("", "Selu", 6, any, unaryWithAttrs([](KernelContext &ctx) {
          float alpha = ctx.attrs().getFloat("alpha", 1.67326319217681884765625f),
                gamma = ctx.attrs().getFloat("gamma", 1.05070102214813232421875f);
          return unaryFloat([alpha, gamma](auto v) {
            using T = decltype(v);
            return T(v > T(0) ? T(gamma) * v : T(gamma) * (T(alpha) * std::exp(v) - T(alpha)));
          });
        }));
  r.add("", "Celu", 12, any, unaryWithAttrs([](KernelContext &ctx) {
          float alpha = ctx.attrs().getFloat("alpha", 1.0f);
          return unaryFloat([alpha](auto v) {
            using T = decltype(v);
            return T(std::max(T(0), v) +
                     std::min(T(0), T(T(alpha) * (std::exp(v / T(alpha)) - T(1)))));
          });
        }));
  r.add("", "ThresholdedRelu", 10, any, unaryWithAttrs([](KernelContext &ctx) {
          float alpha = ctx.attrs().getFloat("alpha", 1.0f);
          return unaryFloat([alpha](auto v) {
            using T = decltype(v);
            return v > T(alpha) ? v : T(0);
          });
        }));
  r.add("", "Shrink", 9, any, unaryWithAttrs([](KernelContext &ctx) {
          float bias = ctx.attrs().getFloat("bias", 0.0f),
                lambd = ctx.attrs().getFloat("lambd", 0.5f);
          return unaryFloat([bias, lambd](auto v) {
            using T = decltype(v);
            return v < T(-lambd) ? T(v + T(bias)) : v > T(lambd) ? T(v - T(bias)) : T(0);
          });
        }));
  r.add("", "Mish", 18, any, unaryFloat([](auto v) {
          using T = decltype(v);
          return T(v * std::tanh(v > T(20) ? v : T(std::log1p(std::exp(v)))));
        }));
  r.add("", "Gelu", 20, any, unaryWithAttrs([](KernelContext &ctx) {
          bool tanh = ctx.attrs().getString("approximate", "none") == "tanh";
          return unaryFloat([tanh](auto v) {
            using T = decltype(v);
            if (tanh)
              return T(T(0.5) * v *
                       (T(1) + std::tanh(T(std::sqrt(2.0 / M_PI)) *
                                         (v + T(0.044715) * v * v * v))));
            return T(T(0.5) * v * (T(1) + std::erf(v / T(std::sqrt(2.0)))));
          });
        }));
  r.add("", "IsNaN", 9, any, [](KernelContext &ctx) {
    return floatPredicate(ctx, [](double v) { return std::isnan(v); });
  });
  r.add("", "IsInf", 10, any, [](KernelContext &ctx) {
    bool neg = ctx.attrs().getInt("detect_negative", 1) != 0,
         pos = ctx.attrs().getInt("detect_positive", 1) != 0;
    return floatPredicate(ctx, [neg, pos](double v) {
      return std::isinf(v) && ((v < 0 && neg) || (v > 0 && pos));
    });
  });
  r.add("", "Max", 8, any, variadicKernel<0>).outputs(1);
  r.add("", "Min", 8, any, variadicKernel<1>);
  r.add("", "Sum", 8, any, variadicKernel<2>);
  r.add("", "Mean", 8, any, variadicKernel<3>);
  r.add("", "Mod", 10, any, modKernel).inputs(2);
  r.add("", "And", 7, any, logicalKernel<0>).inputs(2);
  r.add("", "Or", 7, any, logicalKernel<1>).inputs(2);
  r.add("", "Xor", 7, any, logicalKernel<2>).inputs(2);
  r.add("", "BitShift", 11, any, bitShiftKernel).inputs(2);
}

} // namespace amct::rt
