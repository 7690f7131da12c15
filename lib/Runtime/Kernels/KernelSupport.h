//===- KernelSupport.h - helpers of the kernel families ---------*- C++ -*-===//
//
// Shapes, broadcasting, dtype dispatch, parallel element loops and BLAS
// wrappers that the kernel files under lib/Runtime/Kernels/ share. Every
// kernel follows the ONNX operator specification; the heavy ones split their
// work into items (planes, blocks of images x columns, element ranges) that
// parallelFor spreads over ctx.threads, every output element computed by one
// item in an order fixed by the shapes, so results do not depend on the
// thread count.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_LIB_RUNTIME_KERNELS_KERNELSUPPORT_H
#define AMCT_LIB_RUNTIME_KERNELS_KERNELSUPPORT_H

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/OnnxTypes.h"
#include "amct/Dialect/Ascend/IR/Ascend.h"
#include "amct/Runtime/Executor.h"
#include "amct/Runtime/KernelRegistry.h"
#include "../Parallel.h"

#include "llvm/ADT/StringExtras.h"

#include <algorithm>
#include <array>
#include <cblas.h>
#include <cmath>
#include <cstring>
#include <limits>

namespace amct::rt {

using mlir::failed;
using mlir::failure;
using mlir::FailureOr;
using mlir::LogicalResult;
using mlir::success;
using llvm::StringRef;

inline int64_t product(const Shape &s, size_t from = 0, size_t to = SIZE_MAX) {
  int64_t p = 1;
  for (size_t i = from; i < std::min(to, s.size()); ++i)
    p *= s[i];
  return p;
}

/// Calls f(T{}) with T the C++ type of `dtype` (numeric types only).
template <typename F>
LogicalResult dispatch(KernelContext &ctx, DType dtype, F &&f, bool allowInt = true) {
  switch (dtype) {
  case DType::F32: return f(float{});
  case DType::F64: return f(double{});
  default: break;
  }
  if (allowInt) {
    switch (dtype) {
    case DType::I64: return f(int64_t{});
    case DType::I32: return f(int32_t{});
    case DType::I16: return f(int16_t{});
    case DType::I8: return f(int8_t{});
    case DType::U64: return f(uint64_t{});
    case DType::U32: return f(uint32_t{});
    case DType::U16: return f(uint16_t{});
    case DType::U8: return f(uint8_t{});
    case DType::Bool: return f(bool{});
    default: break;
    }
  }
  return ctx.error() << "element type " << dtypeName(dtype)
                     << " is not supported by this kernel";
}

inline LogicalResult requireF32(KernelContext &ctx, const Tensor &t, StringRef what) {
  if (t.dtype() == DType::F32)
    return success();
  return ctx.error() << what << " is " << dtypeName(t.dtype())
                     << "; this kernel runs float32";
}

/// The DType of float or double.
template <typename T> constexpr DType realDType() {
  return std::is_same_v<T, double> ? DType::F64 : DType::F32;
}

/// requireF32 for the kernels instantiated on float and double (double runs
/// the int8 layers: see integerCapable).
template <typename T>
LogicalResult requireReal(KernelContext &ctx, const Tensor &t, StringRef what) {
  if (t.dtype() == realDType<T>())
    return success();
  return ctx.error() << what << " is " << dtypeName(t.dtype()) << "; this kernel runs "
                     << dtypeName(realDType<T>());
}

/// Row-major BLAS gemm on float (sgemm) or double (dgemm).
inline void blasGemm(decltype(CblasNoTrans) ta, decltype(CblasNoTrans) tb, int64_t m,
                     int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                     const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void blasGemm(decltype(CblasNoTrans) ta, decltype(CblasNoTrans) tb, int64_t m,
                     int64_t n, int64_t k, double alpha, const double *a, int64_t lda,
                     const double *b, int64_t ldb, double beta, double *c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/// Numpy broadcasting of two shapes.
inline FailureOr<Shape> broadcastShapes(KernelContext &ctx, const Shape &a, const Shape &b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return ctx.error() << "shapes " << formatShape(a) << " and " << formatShape(b)
                         << " do not broadcast";
    out[i] = da == 1 ? db : da;
  }
  return out;
}

/// Element strides of `s` aligned right to `out`, 0 on broadcast dims.
inline std::vector<int64_t> broadcastStrides(const Shape &s, const Shape &out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t stride = 1;
  for (int64_t i = (int64_t)s.size() - 1; i >= 0; --i) {
    size_t o = i + (out.size() - s.size());
    strides[o] = s[i] == 1 ? 0 : stride;
    stride *= s[i];
  }
  return strides;
}

/// Visits every output element in row-major order with the matching offsets
/// into each input: fn(outIndex, offsets...). The innermost dim is a tight loop.
template <size_t N, typename Fn>
void forEachBroadcast(const Shape &out, const std::array<std::vector<int64_t>, N> &strides,
                      Fn &&fn) {
  int64_t total = product(out);
  if (total == 0)
    return;
  size_t rank = out.size();
  if (rank == 0) {
    std::array<int64_t, N> offs{};
    fn(0, offs);
    return;
  }
  int64_t inner = out[rank - 1];
  std::vector<int64_t> idx(rank, 0);
  std::array<int64_t, N> base{};
  for (int64_t o = 0; o < total; o += inner) {
    std::array<int64_t, N> offs = base;
    for (int64_t j = 0; j < inner; ++j) {
      fn(o + j, offs);
      for (size_t k = 0; k < N; ++k)
        offs[k] += strides[k][rank - 1];
    }
    for (int64_t d = (int64_t)rank - 2; d >= 0; --d) {
      ++idx[d];
      for (size_t k = 0; k < N; ++k)
        base[k] += strides[k][d];
      if (idx[d] < out[d])
        break;
      for (size_t k = 0; k < N; ++k)
        base[k] -= strides[k][d] * out[d];
      idx[d] = 0;
    }
  }
}

inline int64_t normAxis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

/// Integer values of a (small) int32/int64 tensor.
inline std::vector<int64_t> readInts(const Tensor &t) {
  std::vector<int64_t> v(t.numElements());
  for (int64_t i = 0; i < t.numElements(); ++i)
    v[i] = t.dtype() == DType::I64 ? t.data<int64_t>()[i] : t.data<int32_t>()[i];
  return v;
}

inline LogicalResult requireInts(KernelContext &ctx, const Tensor &t, StringRef what) {
  if (t.dtype() == DType::I64 || t.dtype() == DType::I32)
    return success();
  return ctx.error() << what << " must be int32 or int64, found " << dtypeName(t.dtype());
}

/// A floating value as integer type I without the undefined behaviour of an
/// out-of-range conversion (data from a model can be anything): NaN becomes
/// 0, values beyond I's range saturate.
template <typename I, typename F> inline I saturateCast(F v) {
  static_assert(std::is_integral_v<I> && std::is_floating_point_v<F>);
  if (v != v)
    return I(0);
  if (v <= F(std::numeric_limits<I>::lowest()))
    return std::numeric_limits<I>::lowest();
  // F(max) may round up to 2^bits; anything at or above it saturates.
  if (v >= F(std::numeric_limits<I>::max()))
    return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}

/// a * b + c for shape arithmetic on values from the model; nullopt on
/// overflow (the caller reports the node).
inline std::optional<int64_t> checkedMulAdd(int64_t a, int64_t b, int64_t c = 0) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r) || __builtin_add_overflow(r, c, &r))
    return std::nullopt;
  return r;
}

/// Elements per work item of the memory-bound kernels: enough to hide the
/// cost of handing a range to another thread.
constexpr int64_t kElementGrain = 1 << 15;

/// fn(begin, end) over [0, n) in parallel; for kernels whose element i
/// depends on input element i only, so any split gives the same bytes.
template <typename Fn>
void parallelElements(const KernelContext &ctx, int64_t n, Fn &&fn) {
  int64_t grain = std::max(kElementGrain, (n + 4 * ctx.threads - 1) / (4 * ctx.threads));
  parallelFor(ctx.threads, n, grain, [&](int64_t b, int64_t e, int) { fn(b, e); });
}

/// Scratch buffers of `size` elements of `dtype`, one per thread of a
/// parallelFor over `items` items with grain 1 (it uses at most that many
/// threads).
inline FailureOr<std::vector<Tensor>> scratchBuffers(KernelContext &ctx, int64_t items,
                                              int64_t size, DType dtype = DType::F32) {
  std::vector<Tensor> buffers;
  for (int64_t i = 0, n = std::min<int64_t>(ctx.threads, items); i < n; ++i) {
    std::optional<Tensor> t = Tensor::uninitialized(dtype, {size});
    if (!t)
      return ctx.error() << "cannot allocate a " << size << "-element scratch buffer";
    buffers.push_back(std::move(*t));
  }
  return buffers;
}

template <typename Fn>
Kernel unaryFloat(Fn fn) {
  return [fn](KernelContext &ctx) -> LogicalResult {
    const Tensor &x = ctx.in(0);
    return dispatch(
        ctx, x.dtype(),
        [&](auto tag) -> LogicalResult {
          using T = decltype(tag);
          if (failed(ctx.allocInPlace(0, 0, x.dtype(), x.shape())))
            return failure();
          const T *in = x.data<T>();
          T *out = ctx.outputs[0].mutableData<T>();
          parallelElements(ctx, x.numElements(), [&](int64_t b, int64_t e) {
            // `out` may be `in` (in place): no dependence across iterations.
#pragma GCC ivdep
            for (int64_t i = b; i < e; ++i)
              out[i] = fn(in[i]);
          });
          return success();
        },
        /*allowInt=*/false);
  };
}

/// Add, Sub, Mul, Div with numpy broadcasting.
/// The broadcast shape of two operands that must have one element type.
inline FailureOr<Shape> broadcastSameType(KernelContext &ctx, const Tensor &a, const Tensor &b) {
  if (a.dtype() != b.dtype())
    return ctx.error() << "operand types differ: " << dtypeName(a.dtype()) << " vs "
                       << dtypeName(b.dtype());
  return broadcastShapes(ctx, a.shape(), b.shape());
}


/// The int64 values of a shape operand.
inline FailureOr<Shape> shapeOperand(KernelContext &ctx, const Tensor &t, StringRef what) {
  if (t.dtype() != DType::I64 || t.rank() != 1)
    return ctx.error() << what << " must be a 1-D int64 tensor, found " << formatShape(t.shape())
                       << " " << dtypeName(t.dtype());
  return Shape(t.data<int64_t>(), t.data<int64_t>() + t.numElements());
}


/// The `axes` of ops that took them as an attribute before `inputSince`
/// and as input `input` from then on (Squeeze, Unsqueeze, Reduce*): nullopt
/// when absent.
inline FailureOr<std::optional<std::vector<int64_t>>>
readAxes(KernelContext &ctx, unsigned input, int64_t inputSince, StringRef name = "axes") {
  if (ctx.opset < inputSince)
    return ctx.attrs().getInts(name);
  if (!ctx.has(input))
    return std::optional<std::vector<int64_t>>();
  if (failed(requireInts(ctx, ctx.in(input), name)))
    return failure();
  return std::optional<std::vector<int64_t>>(readInts(ctx.in(input)));
}

/// An integer tensor (int8, uint8, int32) minus its zero point (absent, a
/// scalar, or one value per index of `axis`), as doubles: the exact input
/// of a float kernel computing an integer product (ConvInteger,
/// MatMulInteger, the QLinear ops).
inline FailureOr<Tensor> shiftedToDouble(KernelContext &ctx, const Tensor &t, const Tensor *zp,
                                         int64_t axis, StringRef what) {
  if (t.dtype() != DType::I8 && t.dtype() != DType::U8 && t.dtype() != DType::I32)
    return ctx.error() << what << " is " << dtypeName(t.dtype())
                       << "; expected int8, uint8 or int32";
  std::vector<double> zps(1, 0.0);
  int64_t inner = 1, channels = 1;
  if (zp && zp->numElements()) {
    if (zp->dtype() != t.dtype())
      return ctx.error() << "the zero point of " << what << " is " << dtypeName(zp->dtype())
                         << ", the data " << dtypeName(t.dtype());
    zps.resize(zp->numElements());
    for (int64_t i = 0; i < zp->numElements(); ++i)
      zps[i] = t.dtype() == DType::I8    ? zp->data<int8_t>()[i]
               : t.dtype() == DType::U8 ? zp->data<uint8_t>()[i]
                                        : zp->data<int32_t>()[i];
    if (zps.size() > 1) {
      int64_t a = axis < 0 ? axis + t.rank() : axis;
      if (a < 0 || a >= t.rank() || t.dim(a) != (int64_t)zps.size())
        return ctx.error() << zps.size() << " zero points do not match " << what << " of shape "
                           << formatShape(t.shape());
      channels = zps.size();
      inner = product(t.shape(), a + 1);
    }
  }
  std::optional<Tensor> out = Tensor::uninitialized(DType::F64, t.shape());
  if (!out)
    return ctx.error() << "cannot allocate a conversion buffer";
  double *dst = out->mutableData<double>();
  for (int64_t i = 0; i < t.numElements(); ++i) {
    double v = t.dtype() == DType::I8    ? t.data<int8_t>()[i]
               : t.dtype() == DType::U8 ? t.data<uint8_t>()[i]
                                        : t.data<int32_t>()[i];
    dst[i] = v - zps[(i / inner) % channels];
  }
  return *out;
}

/// The float weight of weight-only quantization, [K, N] from int8 values
/// `q` [K, N]: (float(q) + offsetSign * offset) * scale with the parameters
/// of row r's group (r / groupSize; one group when groupSize is 0) and
/// column (or the single column of a [G, 1] scale). amct.dequantize_weight
/// subtracts its offset (offsetSign -1), the NPU's antiquant adds its
/// negation (+1): the same float operations, so the same bits.
FailureOr<Tensor> dequantizeWeight(KernelContext &ctx, const Tensor &q, const Tensor &scale,
                                   const Tensor *offset, int64_t groupSize, float offsetSign);

/// Runs `kernel` on the same op with other inputs (the converted ones of
/// an integer op); its outputs.
inline FailureOr<std::vector<Tensor>> runWithInputs(KernelContext &ctx,
                                                    LogicalResult (*kernel)(KernelContext &),
                                                    std::vector<const Tensor *> inputs) {
  KernelContext sub{ctx.op, std::move(inputs), {}, ctx.threads};
  sub.opset = ctx.opset;
  sub.opType = ctx.opType;
  sub.run = ctx.run;
  if (failed(kernel(sub)) || sub.attributeError)
    return failure();
  return std::move(sub.outputs);
}

/// y = saturate(rint(acc * multiplier[c]) + zp) into int8 / uint8, the way
/// ONNX Runtime requantizes (float multiplier, round half to even).
inline LogicalResult requantize(KernelContext &ctx, const Tensor &acc,
                                const std::vector<float> &multiplier, int64_t axis,
                                const Tensor &yZeroPoint, unsigned output) {
  DType dt = yZeroPoint.dtype();
  if (dt != DType::I8 && dt != DType::U8)
    return ctx.error() << "the output zero point must be int8 or uint8";
  if (failed(ctx.alloc(output, dt, acc.shape())))
    return failure();
  int64_t channels = multiplier.size(), inner = 1;
  if (channels > 1)
    inner = product(acc.shape(), axis + 1);
  int zp = dt == DType::I8 ? yZeroPoint.data<int8_t>()[0] : yZeroPoint.data<uint8_t>()[0];
  int lo = dt == DType::I8 ? -128 : 0, hi = dt == DType::I8 ? 127 : 255;
  for (int64_t i = 0; i < acc.numElements(); ++i) {
    float v = float(acc.data<double>()[i]) * multiplier[(i / inner) % channels];
    int q = int(std::nearbyint(v)) + zp;
    q = std::min(hi, std::max(lo, q));
    if (dt == DType::I8)
      ctx.outputs[output].mutableData<int8_t>()[i] = q;
    else
      ctx.outputs[output].mutableData<uint8_t>()[i] = q;
  }
  return success();
}

/// A product layer's float and double kernels made to run int8 data and
/// weights exactly (Quantization.cpp).
Kernel integerCapable(LogicalResult (*floatKernel)(KernelContext &),
                      LogicalResult (*doubleKernel)(KernelContext &));

} // namespace amct::rt

#endif // AMCT_LIB_RUNTIME_KERNELS_KERNELSUPPORT_H
