//===- Kernels.cpp - CPU kernels of the typed amct ops --------------------===//
//
// One kernel per typed op, following the ONNX operator specification.
// Convolutions and matrix products go through OpenBLAS (im2col / col2im plus
// single-threaded sgemm; int8 layers: dgemm on exact integers, see
// integerCapable); the rest are plain loops. The heavy kernels split
// their work into items (planes, blocks of images x columns, element ranges)
// that parallelFor spreads over ctx.threads; every output element is
// computed by one item, in an order fixed by the shapes, so results do not
// depend on the thread count. Elementwise kernels write over their input
// when the executor allows it. Data-movement kernels (Concat, Gather,
// Transpose, Slice, Pad) work on raw bytes, so they serve every dtype;
// reshaping kernels return views of their input.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/OnnxTypes.h"
#include "amct/Dialect/Ascend/IR/Ascend.h"
#include "amct/Runtime/Executor.h"
#include "Parallel.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>
#include <cblas.h>
#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir;

namespace amct::rt {
namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

int64_t product(const Shape &s, size_t from = 0, size_t to = SIZE_MAX) {
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

LogicalResult requireF32(KernelContext &ctx, const Tensor &t, StringRef what) {
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
FailureOr<Shape> broadcastShapes(KernelContext &ctx, const Shape &a, const Shape &b) {
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
std::vector<int64_t> broadcastStrides(const Shape &s, const Shape &out) {
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

int64_t normAxis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

/// Integer values of a (small) int32/int64 tensor.
std::vector<int64_t> readInts(const Tensor &t) {
  std::vector<int64_t> v(t.numElements());
  for (int64_t i = 0; i < t.numElements(); ++i)
    v[i] = t.dtype() == DType::I64 ? t.data<int64_t>()[i] : t.data<int32_t>()[i];
  return v;
}

LogicalResult requireInts(KernelContext &ctx, const Tensor &t, StringRef what) {
  if (t.dtype() == DType::I64 || t.dtype() == DType::I32)
    return success();
  return ctx.error() << what << " must be int32 or int64, found " << dtypeName(t.dtype());
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

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
FailureOr<std::vector<Tensor>> scratchBuffers(KernelContext &ctx, int64_t items,
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
FailureOr<Shape> broadcastSameType(KernelContext &ctx, const Tensor &a, const Tensor &b) {
  if (a.dtype() != b.dtype())
    return ctx.error() << "operand types differ: " << dtypeName(a.dtype()) << " vs "
                       << dtypeName(b.dtype());
  return broadcastShapes(ctx, a.shape(), b.shape());
}

/// Equal, Less, Greater, LessOrEqual, GreaterOrEqual with numpy
/// broadcasting; a bool result.
LogicalResult compareKernel(KernelContext &ctx) {
  const Tensor &a = ctx.in(0), &b = ctx.in(1);
  FailureOr<Shape> shape = broadcastSameType(ctx, a, b);
  if (failed(shape) || failed(ctx.alloc(0, DType::Bool, *shape)))
    return failure();
  std::array<std::vector<int64_t>, 2> strides{broadcastStrides(a.shape(), *shape),
                                              broadcastStrides(b.shape(), *shape)};
  StringRef name = ctx.op->getName().getStringRef();
  return dispatch(ctx, a.dtype(), [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    uint8_t *out = ctx.outputs[0].mutableData<uint8_t>();
    auto run = [&](auto cmp) {
      forEachBroadcast<2>(*shape, strides,
                          [&](int64_t o, auto &offs) { out[o] = cmp(pa[offs[0]], pb[offs[1]]); });
    };
    if (name == "amct.Equal")
      run([](T x, T y) { return x == y; });
    else if (name == "amct.Less")
      run([](T x, T y) { return x < y; });
    else if (name == "amct.Greater")
      run([](T x, T y) { return x > y; });
    else if (name == "amct.LessOrEqual")
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

/// The int64 values of a shape operand.
FailureOr<Shape> shapeOperand(KernelContext &ctx, const Tensor &t, StringRef what) {
  if (t.dtype() != DType::I64 || t.rank() != 1)
    return ctx.error() << what << " must be a 1-D int64 tensor, found " << formatShape(t.shape())
                       << " " << dtypeName(t.dtype());
  return Shape(t.data<int64_t>(), t.data<int64_t>() + t.numElements());
}

/// Expand: the input broadcast with the shape operand (numpy rules).
LogicalResult expandKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  FailureOr<Shape> target = shapeOperand(ctx, ctx.in(1), "shape");
  if (failed(target))
    return failure();
  FailureOr<Shape> shape = broadcastShapes(ctx, x.shape(), *target);
  if (failed(shape) || failed(ctx.alloc(0, x.dtype(), *shape)))
    return failure();
  std::array<std::vector<int64_t>, 1> strides{broadcastStrides(x.shape(), *shape)};
  size_t size = dtypeSize(x.dtype());
  const char *in = static_cast<const char *>(x.raw());
  char *out = static_cast<char *>(ctx.outputs[0].mutableRaw());
  forEachBroadcast<1>(*shape, strides, [&](int64_t o, auto &offs) {
    memcpy(out + o * size, in + offs[0] * size, size);
  });
  return success();
}

/// ConstantOfShape: the shape operand's shape, every element `value`.
LogicalResult constantOfShapeKernel(KernelContext &ctx) {
  auto op = cast<ConstantOfShapeOp>(ctx.op);
  FailureOr<Shape> shape = shapeOperand(ctx, ctx.in(0), "input");
  if (failed(shape))
    return failure();
  for (int64_t d : *shape)
    if (d < 0)
      return ctx.error() << "input holds the negative dimension " << d;
  DType dtype = DType::F32;
  std::vector<char> value(4, 0);
  if (auto attr = op.getValueAttr()) {
    std::optional<DType> d = getDType(attr.getElementType());
    auto dense = dyn_cast<DenseElementsAttr>(attr);
    if (!d || !dense || dense.getNumElements() != 1)
      return ctx.error() << "'value' must be one numeric element held inline";
    dtype = *d;
    value.assign(dtypeSize(dtype), 0);
    if (dtype == DType::Bool)
      value[0] = *dense.getValues<bool>().begin();
    else
      memcpy(value.data(), dense.getRawData().data(), value.size());
  }
  if (failed(ctx.alloc(0, dtype, *shape)))
    return failure();
  char *out = static_cast<char *>(ctx.outputs[0].mutableRaw());
  for (int64_t i = 0, n = ctx.outputs[0].numElements(); i < n; ++i)
    memcpy(out + i * value.size(), value.data(), value.size());
  return success();
}

/// Range: start + i * delta for i in [0, max(ceil((limit - start) / delta), 0)).
LogicalResult rangeKernel(KernelContext &ctx) {
  const Tensor &a = ctx.in(0), &b = ctx.in(1), &c = ctx.in(2);
  if (a.dtype() != b.dtype() || a.dtype() != c.dtype() || a.numElements() != 1 ||
      b.numElements() != 1 || c.numElements() != 1)
    return ctx.error() << "start, limit and delta must be scalars of one type";
  return dispatch(ctx, a.dtype(), [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      return ctx.error() << "Range of bool";
    } else {
      T start = *a.data<T>(), limit = *b.data<T>(), delta = *c.data<T>();
      if (delta == T(0))
        return ctx.error() << "delta is 0";
      double n = std::ceil((double(limit) - double(start)) / double(delta));
      if (!(n <= double(int64_t(1) << 40)))
        return ctx.error() << "Range of " << n << " elements";
      int64_t count = std::max<int64_t>(0, (int64_t)n);
      if (failed(ctx.alloc(0, a.dtype(), {count})))
        return failure();
      T *out = ctx.outputs[0].mutableData<T>();
      for (int64_t i = 0; i < count; ++i)
        out[i] = T(start + T(i) * delta);
      return success();
    }
  });
}

/// Trilu: keeps element (i, j) of each matrix (the last two dims) when
/// j - i >= k (upper) or j - i <= k (lower); the rest are 0.
LogicalResult triluKernel(KernelContext &ctx) {
  auto op = cast<TriluOp>(ctx.op);
  const Tensor &x = ctx.in(0);
  if (x.rank() < 2)
    return ctx.error() << "input must have rank >= 2";
  int64_t k = 0;
  if (ctx.has(1)) {
    const Tensor &kt = ctx.in(1);
    if (kt.dtype() != DType::I64 || kt.numElements() != 1)
      return ctx.error() << "k must be one int64";
    k = *kt.data<int64_t>();
  }
  if (failed(ctx.alloc(0, x.dtype(), x.shape(), /*zeroed=*/true)))
    return failure();
  int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
  int64_t mats = rows * cols ? x.numElements() / (rows * cols) : 0;
  size_t size = dtypeSize(x.dtype());
  const char *in = static_cast<const char *>(x.raw());
  char *out = static_cast<char *>(ctx.outputs[0].mutableRaw());
  bool upper = op.getUpper() != 0;
  for (int64_t m = 0; m < mats; ++m)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        if (upper ? j - i >= k : j - i <= k) {
          int64_t at = (m * rows + i) * cols + j;
          memcpy(out + at * size, in + at * size, size);
        }
  return success();
}

/// Split: slabs of the input along `axis`, sized as shape inference sizes them.
LogicalResult splitKernel(KernelContext &ctx) {
  auto op = cast<SplitOp>(ctx.op);
  const Tensor &x = ctx.in(0);
  int64_t rank = x.rank(), axis = op.getAxis();
  if (axis < -rank || axis >= rank)
    return ctx.error() << "axis " << axis << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  std::optional<SmallVector<int64_t>> split;
  if (ctx.has(1)) {
    FailureOr<Shape> s = shapeOperand(ctx, ctx.in(1), "split");
    if (failed(s))
      return failure();
    split = SmallVector<int64_t>(s->begin(), s->end());
  }
  int64_t n = op->getNumResults();
  std::string why;
  std::optional<SmallVector<int64_t>> sizes =
      computeSplitSizes(x.dim(axis), n, split, op.getNumOutputs().has_value(), why);
  if (!sizes)
    return ctx.error() << why;
  int64_t outer = product(x.shape(), 0, axis), inner = product(x.shape(), axis + 1);
  size_t size = dtypeSize(x.dtype());
  const char *in = static_cast<const char *>(x.raw());
  int64_t offset = 0;
  for (int64_t o = 0; o < n; ++o) {
    Shape s = x.shape();
    s[axis] = (*sizes)[o];
    if (failed(ctx.alloc(o, x.dtype(), s)))
      return failure();
    char *out = static_cast<char *>(ctx.outputs[o].mutableRaw());
    size_t chunk = (*sizes)[o] * inner * size;
    for (int64_t i = 0; i < outer; ++i)
      memcpy(out + i * chunk, in + (i * x.dim(axis) + offset) * inner * size, chunk);
    offset += (*sizes)[o];
  }
  return success();
}

/// Resize, nearest and linear (separable: one axis at a time, which for
/// linear is exactly multilinear interpolation), with ONNX's coordinate
/// transformations (half_pixel, pytorch_half_pixel, align_corners,
/// asymmetric, tf_half_pixel_for_nn) and nearest modes.
LogicalResult resizeKernel(KernelContext &ctx) {
  auto op = cast<ResizeOp>(ctx.op);
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "X")))
    return failure();
  StringRef mode = op.getMode(), ctm = op.getCoordinateTransformationMode(),
            nearest = op.getNearestMode();
  if (mode == "cubic")
    return ctx.error() << "cubic Resize is not implemented (nearest and linear are)";
  if (ctm == "tf_crop_and_resize")
    return ctx.error() << "tf_crop_and_resize is not implemented";
  int64_t rank = x.rank();
  std::vector<double> scales(rank, 1.0);
  Shape outShape = x.shape();
  if (ctx.has(3) && ctx.in(3).numElements() > 0) {
    FailureOr<Shape> sizes = shapeOperand(ctx, ctx.in(3), "sizes");
    if (failed(sizes))
      return failure();
    if ((int64_t)sizes->size() != rank)
      return ctx.error() << "'sizes' has " << sizes->size() << " values for rank " << rank;
    outShape = *sizes;
    for (int64_t i = 0; i < rank; ++i)
      scales[i] = x.dim(i) ? double(outShape[i]) / double(x.dim(i)) : 1.0;
  } else if (ctx.has(2) && ctx.in(2).numElements() > 0) {
    const Tensor &s = ctx.in(2);
    if (s.dtype() != DType::F32 || s.numElements() != rank)
      return ctx.error() << "'scales' must hold " << rank << " float32 values";
    for (int64_t i = 0; i < rank; ++i) {
      scales[i] = s.data<float>()[i];
      if (!(scales[i] > 0))
        return ctx.error() << "scales[" << i << "] is " << scales[i] << "; must be positive";
      outShape[i] = (int64_t)std::floor(double(x.dim(i)) * double(s.data<float>()[i]));
    }
  } else {
    return ctx.error() << "Resize needs 'scales' or 'sizes'";
  }
  // ONNX's definition takes the resized length as length * scale (not
  // rounded) when scales are given, and the output size otherwise.
  bool fromScales = !(ctx.has(3) && ctx.in(3).numElements() > 0);
  auto original = [&](int64_t o, int64_t lenIn, int64_t lenOut, double scale) -> double {
    double xo = double(o);
    double resized = fromScales ? double(lenIn) * scale : double(lenOut);
    if (ctm == "half_pixel")
      return (xo + 0.5) / scale - 0.5;
    if (ctm == "pytorch_half_pixel")
      return resized > 1 ? (xo + 0.5) / scale - 0.5 : 0.0;
    if (ctm == "align_corners")
      return resized == 1 ? 0.0 : xo * double(lenIn - 1) / (resized - 1);
    if (ctm == "tf_half_pixel_for_nn")
      return (xo + 0.5) / scale;
    return xo / scale; // asymmetric
  };
  auto roundNearest = [&](double v) -> int64_t {
    if (nearest == "floor")
      return (int64_t)std::floor(v);
    if (nearest == "ceil")
      return (int64_t)std::ceil(v);
    double f = std::floor(v);
    if (v - f == 0.5)
      return nearest == "round_prefer_ceil" ? (int64_t)f + 1 : (int64_t)f;
    return (int64_t)std::lround(v);
  };
  if (mode != "nearest" && mode != "linear")
    return ctx.error() << "mode '" << mode << "' is not implemented";
  // One axis at a time, in double.
  Shape cur = x.shape();
  std::vector<double> data(x.data<float>(), x.data<float>() + x.numElements());
  for (int64_t ax = 0; ax < rank; ++ax) {
    int64_t lenIn = cur[ax], lenOut = outShape[ax];
    if (lenIn == lenOut && scales[ax] == 1.0)
      continue;
    int64_t outer = product(cur, 0, ax), inner = product(cur, ax + 1);
    std::vector<double> next(outer * lenOut * inner);
    for (int64_t o = 0; o < lenOut; ++o) {
      double xo = original(o, lenIn, lenOut, scales[ax]);
      int64_t i0, i1;
      double w1;
      if (mode == "nearest") {
        i0 = i1 = std::clamp<int64_t>(roundNearest(xo), 0, lenIn - 1);
        w1 = 0;
      } else {
        xo = std::clamp(xo, 0.0, double(lenIn - 1));
        i0 = (int64_t)std::floor(xo);
        i1 = std::min(i0 + 1, lenIn - 1);
        w1 = xo - double(i0);
      }
      for (int64_t a = 0; a < outer; ++a)
        for (int64_t b = 0; b < inner; ++b)
          next[(a * lenOut + o) * inner + b] = data[(a * lenIn + i0) * inner + b] * (1 - w1) +
                                               data[(a * lenIn + i1) * inner + b] * w1;
    }
    data = std::move(next);
    cur[ax] = lenOut;
  }
  if (failed(ctx.alloc(0, DType::F32, outShape)))
    return failure();
  float *out = ctx.outputs[0].mutableData<float>();
  for (size_t i = 0; i < data.size(); ++i)
    out[i] = static_cast<float>(data[i]);
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
  StringRef name = ctx.op->getName().getStringRef();
  if (a.shape() == b.shape() && a.dtype() == DType::F32 && name != "amct.Div") {
    // Same shapes (residual adds): a flat loop, in place when allowed.
    unsigned over = !ctx.canOverwrite(0, a.dtype(), *shape) &&
                    ctx.canOverwrite(1, a.dtype(), *shape);
    if (failed(ctx.allocInPlace(0, over, a.dtype(), *shape)))
      return failure();
    const float *pa = a.data<float>(), *pb = b.data<float>();
    float *out = ctx.outputs[0].mutableData<float>();
    parallelElements(ctx, a.numElements(), [&](int64_t lo, int64_t hi) {
      // `out` may be `pa` or `pb` (in place): no dependence across iterations.
      if (name == "amct.Add") {
#pragma GCC ivdep
        for (int64_t i = lo; i < hi; ++i)
          out[i] = pa[i] + pb[i];
      } else if (name == "amct.Sub") {
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
      if (name == "amct.Div") {
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
    if (name == "amct.Add")
      forEachBroadcast<2>(*shape, strides, [&](int64_t o, auto &offs) { out[o] = pa[offs[0]] + pb[offs[1]]; });
    else if (name == "amct.Sub")
      forEachBroadcast<2>(*shape, strides, [&](int64_t o, auto &offs) { out[o] = pa[offs[0]] - pb[offs[1]]; });
    else if (name == "amct.Mul")
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

//===----------------------------------------------------------------------===//
// Convolution and pooling geometry
//===----------------------------------------------------------------------===//

/// Spatial geometry with 1-d and 2-d problems padded to 3-d (size-1 dims).
struct Geometry {
  std::array<int64_t, 3> in{1, 1, 1}, kernel{1, 1, 1}, out{1, 1, 1}, stride{1, 1, 1},
      dilation{1, 1, 1}, padBegin{0, 0, 0}, padEnd{0, 0, 0};
  int64_t inSize() const { return in[0] * in[1] * in[2]; }
  int64_t outSize() const { return out[0] * out[1] * out[2]; }
  int64_t kernelSize() const { return kernel[0] * kernel[1] * kernel[2]; }
};

std::vector<int64_t> attrOr(std::optional<ArrayRef<int64_t>> attr, size_t n, int64_t def) {
  if (attr && attr->size() >= n)
    return std::vector<int64_t>(attr->begin(), attr->end());
  return std::vector<int64_t>(n, def);
}

/// Fills `g` for a sliding-window op; `outSizes` (if given) fixes the
/// output size instead of computing it (ConvTranspose does that itself).
LogicalResult makeGeometry(KernelContext &ctx, const Shape &x, ArrayRef<int64_t> kernel,
                           std::optional<ArrayRef<int64_t>> strides,
                           std::optional<ArrayRef<int64_t>> dilations,
                           std::optional<ArrayRef<int64_t>> pads, StringRef autoPad,
                           bool ceilMode, Geometry &g) {
  size_t n = kernel.size();
  if (n < 1 || n > 3 || x.size() != n + 2)
    return ctx.error() << "input of shape " << formatShape(x) << " does not fit a " << n
                       << "-d window";
  auto s = attrOr(strides, n, 1), d = attrOr(dilations, n, 1), p = attrOr(pads, 2 * n, 0);
  size_t off = 3 - n;
  for (size_t i = 0; i < n; ++i) {
    int64_t in = x[i + 2], k = kernel[i], eff = (k - 1) * d[i] + 1;
    g.in[off + i] = in;
    g.kernel[off + i] = k;
    g.stride[off + i] = s[i];
    g.dilation[off + i] = d[i];
    int64_t pb = p[i], pe = p[i + n], out;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      out = (in + s[i] - 1) / s[i];
      int64_t total = std::max<int64_t>(0, (out - 1) * s[i] + eff - in);
      pb = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe = total - pb;
    } else if (autoPad == "VALID") {
      pb = pe = 0;
      out = (in - eff) / s[i] + 1;
    } else {
      int64_t span = in + pb + pe - eff;
      if (ceilMode) {
        out = (span + s[i] - 1) / s[i] + 1;
        if ((out - 1) * s[i] >= in + pb)
          --out;
      } else {
        out = span / s[i] + 1;
      }
    }
    if (out <= 0 || in + pb + pe < eff)
      return ctx.error() << "spatial axis " << i << ": input size " << in
                         << " is smaller than the window " << eff;
    g.padBegin[off + i] = pb;
    g.padEnd[off + i] = pe;
    g.out[off + i] = out;
  }
  return success();
}

/// Output positions [n0, n1) (flattened od, oh, ow) of the im2col matrix:
/// col[(c*K + k) * (n1 - n0) + o - n0] = x[c][input position of window k at
/// output o], 0 in the padding.
template <typename T>
void im2colRange(const T *x, int64_t channels, const Geometry &g, int64_t n0,
                 int64_t n1, T *col) {
  int64_t inSize = g.inSize(), width = g.in[2], sw = g.stride[2];
  T *dst = col;
  for (int64_t c = 0; c < channels; ++c) {
    const T *xc = x + c * inSize;
    for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
          // Input column of output column ow: ow * sw + shift; [lo, hi) are
          // the output columns that read inside the row.
          int64_t shift = kw * g.dilation[2] - g.padBegin[2];
          int64_t lo = shift >= 0 ? 0 : (-shift + sw - 1) / sw;
          int64_t hi = width - 1 - shift < 0 ? 0 : (width - 1 - shift) / sw + 1;
          hi = std::min(hi, g.out[2]);
          lo = std::min(lo, hi);
          for (int64_t o = n0; o < n1;) {
            int64_t ow0 = o % g.out[2], r = o / g.out[2];
            int64_t oh = r % g.out[1], od = r / g.out[1];
            int64_t len = std::min(g.out[2] - ow0, n1 - o), end = ow0 + len;
            int64_t id = od * g.stride[0] - g.padBegin[0] + kd * g.dilation[0];
            int64_t ih = oh * g.stride[1] - g.padBegin[1] + kh * g.dilation[1];
            if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
              std::fill(dst, dst + len, T(0));
            } else {
              const T *row = xc + (id * g.in[1] + ih) * width;
              int64_t a = std::clamp(lo, ow0, end), b = std::clamp(hi, a, end);
              std::fill(dst, dst + (a - ow0), T(0));
              if (sw == 1)
                std::copy(row + a + shift, row + b + shift, dst + (a - ow0));
              else
                for (int64_t ow = a; ow < b; ++ow)
                  dst[ow - ow0] = row[ow * sw + shift];
              std::fill(dst + (b - ow0), dst + len, T(0));
            }
            dst += len;
            o += len;
          }
        }
  }
}

/// Inverse of im2col with accumulation (ConvTranspose): out[c][pos] += col.
template <typename T>
void col2im(const T *col, int64_t channels, const Geometry &g, T *out) {
  // Here g.in is the transposed conv's output (the image), g.out its input.
  int64_t colSize = g.outSize(), imgSize = g.inSize();
  for (int64_t c = 0; c < channels; ++c) {
    T *img = out + c * imgSize;
    for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
          const T *row = col + (((c * g.kernel[0] + kd) * g.kernel[1] + kh) * g.kernel[2] + kw) * colSize;
          for (int64_t od = 0; od < g.out[0]; ++od) {
            int64_t id = od * g.stride[0] - g.padBegin[0] + kd * g.dilation[0];
            if (id < 0 || id >= g.in[0])
              continue;
            for (int64_t oh = 0; oh < g.out[1]; ++oh) {
              int64_t ih = oh * g.stride[1] - g.padBegin[1] + kh * g.dilation[1];
              if (ih < 0 || ih >= g.in[1])
                continue;
              const T *src = row + (od * g.out[1] + oh) * g.out[2];
              T *dst = img + (id * g.in[1] + ih) * g.in[2];
              for (int64_t ow = 0; ow < g.out[2]; ++ow) {
                int64_t iw = ow * g.stride[2] - g.padBegin[2] + kw * g.dilation[2];
                if (iw >= 0 && iw < g.in[2])
                  dst[iw] += src[ow];
              }
            }
          }
        }
  }
}

template <typename T>
void addBias(T *out, const T *bias, int64_t batches, int64_t channels,
             int64_t spatial) {
  for (int64_t n = 0; n < batches; ++n)
    for (int64_t c = 0; c < channels; ++c) {
      T *p = out + (n * channels + c) * spatial;
      T b = bias[c];
      for (int64_t i = 0; i < spatial; ++i)
        p[i] += b;
    }
}

Shape outputShape(int64_t n, int64_t c, const Geometry &g, size_t spatial) {
  Shape s{n, c};
  for (size_t i = 3 - spatial; i < 3; ++i)
    s.push_back(g.out[i]);
  return s;
}

/// One output of a depthwise conv: the bias, then the taps inside the input
/// in (kd, kh, kw) order.
template <typename T>
T depthwisePoint(const T *img, const T *wc, T bias, const Geometry &g,
                     int64_t od, int64_t oh, int64_t ow) {
  T acc = bias;
  for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
    int64_t id = od * g.stride[0] - g.padBegin[0] + kd * g.dilation[0];
    if (id < 0 || id >= g.in[0])
      continue;
    for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
      int64_t ih = oh * g.stride[1] - g.padBegin[1] + kh * g.dilation[1];
      if (ih < 0 || ih >= g.in[1])
        continue;
      const T *row = img + (id * g.in[1] + ih) * g.in[2];
      const T *wr = wc + (kd * g.kernel[1] + kh) * g.kernel[2];
      for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
        int64_t iw = ow * g.stride[2] - g.padBegin[2] + kw * g.dilation[2];
        if (iw >= 0 && iw < g.in[2])
          acc += row[iw] * wr[kw];
      }
    }
  }
  return acc;
}

/// Output columns [lo, hi) of one row of a 3x3 depthwise conv whose taps
/// are all inside the input, with R kernel rows inside it. The same sums in
/// the same order as depthwisePoint, unrolled so that the loop over columns
/// vectorises.
template <typename T, int R, int SW>
void depthwiseRow3x3(T *dst, const T *const *rows, const T *const *wrows,
                     T bias, int64_t lo, int64_t hi, int64_t pad) {
  const T *r0 = rows[0], *r1 = rows[R > 1 ? 1 : 0], *r2 = rows[R > 2 ? 2 : 0];
  T a0 = wrows[0][0], a1 = wrows[0][1], a2 = wrows[0][2];
  T b0 = wrows[R > 1 ? 1 : 0][0], b1 = wrows[R > 1 ? 1 : 0][1], b2 = wrows[R > 1 ? 1 : 0][2];
  T c0 = wrows[R > 2 ? 2 : 0][0], c1 = wrows[R > 2 ? 2 : 0][1], c2 = wrows[R > 2 ? 2 : 0][2];
  for (int64_t ow = lo; ow < hi; ++ow) {
    int64_t iw = ow * SW - pad;
    T acc = bias;
    acc += r0[iw] * a0;
    acc += r0[iw + 1] * a1;
    acc += r0[iw + 2] * a2;
    if constexpr (R > 1) {
      acc += r1[iw] * b0;
      acc += r1[iw + 1] * b1;
      acc += r1[iw + 2] * b2;
    }
    if constexpr (R > 2) {
      acc += r2[iw] * c0;
      acc += r2[iw + 1] * c1;
      acc += r2[iw + 2] * c2;
    }
    dst[ow] = acc;
  }
}

/// One plane of a 2-d depthwise conv with a 3x3 kernel, dilation 1 and
/// width stride SW (MobileNet's): the border columns take depthwisePoint.
template <typename T, int SW>
void depthwisePlane3x3(const T *img, const T *wc, T bias, const Geometry &g,
                       T *dst) {
  int64_t height = g.in[1], width = g.in[2], outW = g.out[2], pad = g.padBegin[2];
  // Columns whose three taps are inside the row: 0 <= ow*SW - pad and
  // ow*SW - pad + 2 <= width - 1.
  int64_t lo = std::min(outW, pad > 0 ? (pad + SW - 1) / SW : 0);
  int64_t hi = width - 3 + pad < 0 ? 0 : (width - 3 + pad) / SW + 1;
  hi = std::clamp(hi, lo, outW);
  for (int64_t oh = 0; oh < g.out[1]; ++oh) {
    const T *rows[3], *wrows[3];
    int n = 0;
    for (int64_t kh = 0; kh < 3; ++kh) {
      int64_t ih = oh * g.stride[1] - g.padBegin[1] + kh;
      if (ih >= 0 && ih < height) {
        rows[n] = img + ih * width;
        wrows[n++] = wc + kh * 3;
      }
    }
    T *d = dst + oh * outW;
    for (int64_t ow = 0; ow < lo; ++ow)
      d[ow] = depthwisePoint(img, wc, bias, g, 0, oh, ow);
    switch (n) {
    case 3: depthwiseRow3x3<T, 3, SW>(d, rows, wrows, bias, lo, hi, pad); break;
    case 2: depthwiseRow3x3<T, 2, SW>(d, rows, wrows, bias, lo, hi, pad); break;
    case 1: depthwiseRow3x3<T, 1, SW>(d, rows, wrows, bias, lo, hi, pad); break;
    default: std::fill(d + lo, d + hi, bias); break;
    }
    for (int64_t ow = hi; ow < outW; ++ow)
      d[ow] = depthwisePoint(img, wc, bias, g, 0, oh, ow);
  }
}

/// Output columns per work item of a conv: the item's im2col block (K x
/// columns floats) should stay in L2 between im2col and sgemm. It depends
/// on the geometry only, so the sgemm calls are the same for any thread count.
int64_t convColumns(int64_t k, int64_t outSize) {
  int64_t maxCols = std::max<int64_t>(256, (int64_t(1) << 20) / (4 * std::max<int64_t>(1, k)));
  int64_t chunks = (outSize + maxCols - 1) / maxCols;
  int64_t cols = ((outSize + chunks - 1) / chunks + 15) / 16 * 16;
  return std::max<int64_t>(1, std::min(outSize, cols));
}

template <typename T>
LogicalResult convKernel(KernelContext &ctx) {
  auto op = cast<ConvOp>(ctx.op);
  const Tensor &x = ctx.in(0), &w = ctx.in(1);
  if (failed(requireReal<T>(ctx, x, "input")) || failed(requireReal<T>(ctx, w, "weight")))
    return failure();
  size_t n = x.rank() - 2;
  ArrayRef<int64_t> kernel(w.shape().data() + 2, w.rank() - 2);
  int64_t group = op.getGroup(), m = w.dim(0), cPerGroup = w.dim(1);
  if (x.dim(1) != cPerGroup * group)
    return ctx.error() << "input has " << x.dim(1) << " channels, expected "
                       << cPerGroup * group;
  Geometry g;
  if (failed(makeGeometry(ctx, x.shape(), kernel, op.getStrides(), op.getDilations(),
                          op.getPads(), op.getAutoPad(), false, g)) ||
      failed(ctx.alloc(0, realDType<T>(), outputShape(x.dim(0), m, g, n))))
    return failure();
  int64_t k = cPerGroup * g.kernelSize(), outSize = g.outSize(), mPerGroup = m / group;
  const T *xd = x.data<T>(), *wd = w.data<T>();
  const T *bias = ctx.has(2) ? ctx.in(2).data<T>() : nullptr;
  T *out = ctx.outputs[0].mutableData<T>();
  if (outSize == 0 || m == 0)
    return success();
  if (cPerGroup == 1 && mPerGroup == 1) {
    // Depthwise: a direct loop per plane; im2col + a 1-row sgemm would
    // spend its time building the column buffer.
    int64_t planes = x.dim(0) * m, kSize = g.kernelSize();
    bool flat = g.in[0] == 1 && g.kernel[0] == 1 && g.padBegin[0] == 0 && g.out[0] == 1;
    bool is3x3 = flat && g.kernel[1] == 3 && g.kernel[2] == 3 && g.dilation[1] == 1 &&
                 g.dilation[2] == 1 && g.padBegin[2] >= 0;
    parallelFor(ctx.threads, planes, std::max<int64_t>(1, 4096 / outSize),
                [&](int64_t begin, int64_t end, int) {
      for (int64_t p = begin; p < end; ++p) {
        int64_t c = p % m;
        const T *img = xd + p * g.inSize(), *wc = wd + c * kSize;
        T *dst = out + p * outSize, b = bias ? bias[c] : T(0);
        if (is3x3 && g.stride[2] == 1) {
          depthwisePlane3x3<T, 1>(img, wc, b, g, dst);
        } else if (is3x3 && g.stride[2] == 2) {
          depthwisePlane3x3<T, 2>(img, wc, b, g, dst);
        } else {
          for (int64_t od = 0; od < g.out[0]; ++od)
            for (int64_t oh = 0; oh < g.out[1]; ++oh)
              for (int64_t ow = 0; ow < g.out[2]; ++ow)
                dst[(od * g.out[1] + oh) * g.out[2] + ow] =
                    depthwisePoint(img, wc, b, g, od, oh, ow);
        }
      }
    });
    return success();
  }
  // Work items: (image, group, block of output columns, block of output
  // channels), each one sgemm of the block's weights by the block's im2col
  // columns. A 1x1 conv with stride 1 and no padding reads its input
  // directly: that is the matrix. Channels are split only when there are
  // few items otherwise (small batches), since each channel block repeats
  // the im2col. The split depends on the shapes only, never on the thread
  // count.
  bool direct = g.kernelSize() == 1 && g.in == g.out && g.padBegin == std::array<int64_t, 3>{} &&
                g.stride == std::array<int64_t, 3>{1, 1, 1};
  int64_t cols = convColumns(k, outSize), chunks = (outSize + cols - 1) / cols;
  int64_t items = x.dim(0) * group * chunks, rowBlocks = 1;
  constexpr int64_t kMinItems = 8, kMinRows = 16, kMinWork = int64_t(1) << 20;
  if (items < kMinItems && mPerGroup * k * outSize >= kMinWork)
    rowBlocks = std::min((kMinItems + items - 1) / items, (mPerGroup + kMinRows - 1) / kMinRows);
  int64_t rows = (mPerGroup + rowBlocks - 1) / rowBlocks;
  rowBlocks = (mPerGroup + rows - 1) / rows;
  items *= rowBlocks;
  FailureOr<std::vector<Tensor>> scratch = scratchBuffers(ctx, direct ? 0 : items, k * cols, realDType<T>());
  if (failed(scratch))
    return failure();
  parallelFor(ctx.threads, items, 1, [&](int64_t begin, int64_t end, int worker) {
    for (int64_t item = begin; item < end; ++item) {
      int64_t r0 = item % rowBlocks * rows, nr = std::min(mPerGroup - r0, rows);
      int64_t rest = item / rowBlocks, chunk = rest % chunks, gi = rest / chunks % group,
              b = rest / chunks / group;
      int64_t n0 = chunk * cols, nc = std::min(outSize, n0 + cols) - n0;
      const T *xg = xd + (b * x.dim(1) + gi * cPerGroup) * g.inSize();
      const T *mat = xg + n0;
      int64_t ld = outSize;
      if (!direct) {
        T *col = (*scratch)[worker].mutableData<T>();
        im2colRange(xg, cPerGroup, g, n0, n0 + nc, col);
        mat = col;
        ld = nc;
      }
      // The bias goes in first and sgemm adds to it (beta 1): it would
      // otherwise zero the block itself.
      int64_t m0 = gi * mPerGroup + r0;
      T *c = out + (b * m + m0) * outSize + n0;
      if (bias)
        for (int64_t r = 0; r < nr; ++r)
          std::fill(c + r * outSize, c + r * outSize + nc, bias[m0 + r]);
      blasGemm(CblasNoTrans, CblasNoTrans, nr, nc, k, T(1), wd + m0 * k, k, mat, ld,
               bias ? T(1) : T(0), c, outSize);
    }
  });
  return success();
}

template <typename T>
LogicalResult convTransposeKernel(KernelContext &ctx) {
  auto op = cast<ConvTransposeOp>(ctx.op);
  const Tensor &x = ctx.in(0), &w = ctx.in(1);
  if (failed(requireReal<T>(ctx, x, "input")) || failed(requireReal<T>(ctx, w, "weight")))
    return failure();
  size_t n = x.rank() - 2;
  if (n < 1 || n > 3 || w.rank() != x.rank())
    return ctx.error() << "input " << formatShape(x.shape()) << " and weight "
                       << formatShape(w.shape()) << " do not fit a 1-3 d ConvTranspose";
  int64_t group = op.getGroup(), cIn = x.dim(1), cPerGroup = cIn / group,
          mPerGroup = w.dim(1), m = mPerGroup * group;
  if (w.dim(0) != cIn)
    return ctx.error() << "input has " << cIn << " channels, weight dim 0 is " << w.dim(0);
  auto s = attrOr(op.getStrides(), n, 1), d = attrOr(op.getDilations(), n, 1),
       p = attrOr(op.getPads(), 2 * n, 0), outPad = attrOr(op.getOutputPadding(), n, 0);
  std::optional<ArrayRef<int64_t>> outputShapeAttr = op.getOutputShape();
  StringRef autoPad = op.getAutoPad();
  // Geometry of the equivalent forward conv: image = our output.
  Geometry g;
  size_t off = 3 - n;
  for (size_t i = 0; i < n; ++i) {
    int64_t in = x.dim(i + 2), k = w.dim(i + 2), eff = (k - 1) * d[i] + 1, out;
    int64_t pb = p[i], pe = p[i + n];
    if (outputShapeAttr || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      out = outputShapeAttr ? (*outputShapeAttr)[outputShapeAttr->size() - n + i] : in * s[i];
      // Floor division as ONNX's reference computes it: a negative total (the
      // requested output is larger) extends the end, not the beginning.
      int64_t total = s[i] * (in - 1) + outPad[i] + eff - out;
      int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      pb = autoPad == "SAME_UPPER" ? half : total - half;
      pe = total - pb;
    } else {
      if (autoPad == "VALID")
        pb = pe = 0;
      out = s[i] * (in - 1) + outPad[i] + eff - pb - pe;
    }
    if (out <= 0)
      return ctx.error() << "spatial axis " << i << " gives output size " << out;
    g.in[off + i] = out;
    g.out[off + i] = in;
    g.kernel[off + i] = k;
    g.stride[off + i] = s[i];
    g.dilation[off + i] = d[i];
    g.padBegin[off + i] = pb;
    g.padEnd[off + i] = pe;
  }
  Shape outShape{x.dim(0), m};
  for (size_t i = off; i < 3; ++i)
    outShape.push_back(g.in[i]);
  // col2im accumulates into the output.
  if (failed(ctx.alloc(0, realDType<T>(), outShape, /*zeroed=*/true)))
    return failure();
  int64_t kRows = mPerGroup * g.kernelSize(), inSize = g.outSize(), imgSize = g.inSize();
  T *out = ctx.outputs[0].mutableData<T>();
  const T *bias = ctx.has(2) ? ctx.in(2).data<T>() : nullptr;
  // Work items: (image, group), each with its own output planes.
  int64_t items = x.dim(0) * group;
  FailureOr<std::vector<Tensor>> cols = scratchBuffers(ctx, items, kRows * inSize, realDType<T>());
  if (failed(cols))
    return failure();
  parallelFor(ctx.threads, items, 1, [&](int64_t begin, int64_t end, int worker) {
    T *col = (*cols)[worker].mutableData<T>();
    for (int64_t item = begin; item < end; ++item) {
      int64_t b = item / group, gi = item % group;
      const T *xg = x.data<T>() + (b * cIn + gi * cPerGroup) * inSize;
      const T *wg = w.data<T>() + gi * cPerGroup * kRows;
      T *img = out + (b * m + gi * mPerGroup) * imgSize;
      blasGemm(CblasTrans, CblasNoTrans, kRows, inSize, cPerGroup, T(1), wg, kRows, xg,
               inSize, T(0), col, inSize);
      col2im(col, mPerGroup, g, img);
      if (bias)
        addBias(img, bias + gi * mPerGroup, 1, mPerGroup, imgSize);
    }
  });
  return success();
}

template <bool IsMax>
LogicalResult poolKernel(KernelContext &ctx, ArrayRef<int64_t> kernel,
                         std::optional<ArrayRef<int64_t>> strides,
                         std::optional<ArrayRef<int64_t>> dilations,
                         std::optional<ArrayRef<int64_t>> pads, StringRef autoPad,
                         bool ceilMode, bool countIncludePad) {
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "input")))
    return failure();
  Geometry g;
  size_t n = kernel.size();
  if (failed(makeGeometry(ctx, x.shape(), kernel, strides, dilations, pads, autoPad,
                          ceilMode, g)))
    return failure();
  Shape outShape = outputShape(x.dim(0), x.dim(1), g, n);
  if (failed(ctx.alloc(0, DType::F32, outShape)))
    return failure();
  bool wantIndices = IsMax && ctx.op->getNumResults() > 1;
  if (wantIndices && failed(ctx.alloc(1, DType::I64, outShape)))
    return failure();
  int64_t planes = x.dim(0) * x.dim(1), inSize = g.inSize(), outSize = g.outSize();
  float *out = ctx.outputs[0].mutableData<float>();
  int64_t *indices = wantIndices ? ctx.outputs[1].mutableData<int64_t>() : nullptr;
  // Per axis and output index: the window taps inside the input, [lo, hi)
  // (positions grow with the tap, so they are a run), and how many taps are
  // inside the padded input.
  struct Taps {
    int64_t lo, hi, padded;
  };
  std::array<std::vector<Taps>, 3> taps;
  for (int i = 0; i < 3; ++i)
    for (int64_t o = 0; o < g.out[i]; ++o) {
      Taps t{g.kernel[i], 0, 0};
      for (int64_t k = 0; k < g.kernel[i]; ++k) {
        int64_t pos = o * g.stride[i] - g.padBegin[i] + k * g.dilation[i];
        if (pos >= 0 && pos < g.in[i]) {
          t.lo = std::min(t.lo, k);
          t.hi = k + 1;
        }
        t.padded += pos >= -g.padBegin[i] && pos < g.in[i] + g.padEnd[i];
      }
      t.hi = std::max(t.hi, t.lo);
      taps[i].push_back(t);
    }
  // Visits the inside taps in (kd, kh, kw) order, as the operator's
  // definition does.
  parallelFor(ctx.threads, planes, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, outSize)),
              [&](int64_t begin, int64_t end, int) {
    for (int64_t pl = begin; pl < end; ++pl) {
      const float *img = x.data<float>() + pl * inSize;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            const Taps &td = taps[0][od], &th = taps[1][oh], &tw = taps[2][ow];
            float acc = IsMax ? -std::numeric_limits<float>::infinity() : 0.0f;
            int64_t best = -1;
            for (int64_t kd = td.lo; kd < td.hi; ++kd) {
              int64_t id = od * g.stride[0] - g.padBegin[0] + kd * g.dilation[0];
              for (int64_t kh = th.lo; kh < th.hi; ++kh) {
                int64_t ih = oh * g.stride[1] - g.padBegin[1] + kh * g.dilation[1];
                int64_t rowBase = (id * g.in[1] + ih) * g.in[2];
                for (int64_t kw = tw.lo; kw < tw.hi; ++kw) {
                  int64_t idx = rowBase + ow * g.stride[2] - g.padBegin[2] + kw * g.dilation[2];
                  float v = img[idx];
                  if (IsMax) {
                    if (v > acc || best < 0) {
                      acc = v;
                      best = idx;
                    }
                  } else {
                    acc += v;
                  }
                }
              }
            }
            int64_t oi = pl * outSize + (od * g.out[1] + oh) * g.out[2] + ow;
            if (IsMax) {
              out[oi] = acc;
              if (indices)
                indices[oi] = pl * inSize + std::max<int64_t>(best, 0);
            } else {
              int64_t div = countIncludePad
                                ? td.padded * th.padded * tw.padded
                                : (td.hi - td.lo) * (th.hi - th.lo) * (tw.hi - tw.lo);
              out[oi] = div ? acc / div : 0.0f;
            }
          }
    }
  });
  return success();
}

LogicalResult maxPoolKernel(KernelContext &ctx) {
  auto op = cast<MaxPoolOp>(ctx.op);
  if (op.getStorageOrder() != 0)
    return ctx.error() << "storage_order 1 (column-major indices) is not supported";
  return poolKernel<true>(ctx, op.getKernelShape(), op.getStrides(), op.getDilations(),
                          op.getPads(), op.getAutoPad(), op.getCeilMode(), false);
}

LogicalResult avgPoolKernel(KernelContext &ctx) {
  auto op = cast<AveragePoolOp>(ctx.op);
  auto pool = [&](KernelContext &c) {
    return poolKernel<false>(c, op.getKernelShape(), op.getStrides(), op.getDilations(),
                             op.getPads(), op.getAutoPad(), op.getCeilMode(),
                             op.getCountIncludePad());
  };
  if (ctx.inputs.empty() || !ctx.inputs[0] || ctx.in(0).dtype() != DType::I8)
    return pool(ctx);
  // AvgPool2d in the deploy model (AscendQuant -> AveragePool ->
  // AscendDequant): the float average of (q - offset_x), exactly what AMCT's
  // FakeQuantizedAvgPool2d computes before its dequant multiplies by scale_d.
  const Tensor &x = ctx.in(0);
  std::optional<Tensor> f = Tensor::uninitialized(DType::F32, x.shape());
  if (!f)
    return ctx.error() << "cannot allocate a " << x.numElements() << "-element conversion buffer";
  float shift = static_cast<float>(cast<QuantizableLayerOpInterface>(ctx.op).getDataOffsetX());
  float *dst = f->mutableData<float>();
  parallelElements(ctx, x.numElements(), [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j)
      dst[j] = static_cast<float>(x.data<int8_t>()[j]) - shift;
  });
  KernelContext fctx{ctx.op, {&*f}, {}, ctx.threads};
  if (failed(pool(fctx)))
    return failure();
  ctx.outputs = std::move(fctx.outputs);
  return success();
}

LogicalResult globalAvgPoolKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "input")))
    return failure();
  Shape s = x.shape();
  int64_t spatial = product(s, 2);
  for (size_t i = 2; i < s.size(); ++i)
    s[i] = 1;
  if (failed(ctx.alloc(0, DType::F32, s)))
    return failure();
  int64_t planes = x.dim(0) * x.dim(1);
  float *out = ctx.outputs[0].mutableData<float>();
  parallelFor(ctx.threads, planes, std::max<int64_t>(1, kElementGrain / std::max<int64_t>(1, spatial)),
              [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p) {
      double acc = 0;
      const float *src = x.data<float>() + p * spatial;
      for (int64_t i = 0; i < spatial; ++i)
        acc += src[i];
      out[p] = spatial ? acc / spatial : 0.0f;
    }
  });
  return success();
}

//===----------------------------------------------------------------------===//
// Matrix products and normalization
//===----------------------------------------------------------------------===//

/// Splits `batches` products of (m x k) by (k x n) into tiles, one sgemm
/// call each, and runs fn(batch, row0, rows, col0, cols) in parallel. Tile
/// sizes depend on the shapes only, so the calls (and their rounding) are
/// the same for any thread count.
template <typename Fn>
void forEachGemmTile(KernelContext &ctx, int64_t batches, int64_t m, int64_t n, int64_t k,
                     Fn &&fn) {
  // Below this many multiply-adds a product is one call: splitting would
  // cost more than it gains.
  constexpr int64_t kSplitWork = int64_t(1) << 22, kTile = 256;
  bool split = m * n * k >= kSplitWork;
  int64_t rowTiles = split ? (m + kTile - 1) / kTile : 1,
          colTiles = split ? (n + kTile - 1) / kTile : 1;
  int64_t rows = (m + rowTiles - 1) / std::max<int64_t>(1, rowTiles),
          cols = (n + colTiles - 1) / std::max<int64_t>(1, colTiles);
  int64_t tiles = rowTiles * colTiles;
  parallelFor(ctx.threads, batches * tiles, 1, [&](int64_t begin, int64_t end, int) {
    for (int64_t item = begin; item < end; ++item) {
      int64_t t = item % tiles, r0 = t / colTiles * rows, c0 = t % colTiles * cols;
      fn(item / tiles, r0, std::min(rows, m - r0), c0, std::min(cols, n - c0));
    }
  });
}

template <typename T>
LogicalResult gemmKernel(KernelContext &ctx) {
  auto op = cast<GemmOp>(ctx.op);
  const Tensor &a = ctx.in(0), &b = ctx.in(1);
  if (failed(requireReal<T>(ctx, a, "A")) || failed(requireReal<T>(ctx, b, "B")))
    return failure();
  if (a.rank() != 2 || b.rank() != 2)
    return ctx.error() << "A and B must be matrices, found " << formatShape(a.shape())
                       << " and " << formatShape(b.shape());
  bool ta = op.getTransA(), tb = op.getTransB();
  int64_t m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1);
  int64_t kb = tb ? b.dim(1) : b.dim(0), n = tb ? b.dim(0) : b.dim(1);
  if (k != kb)
    return ctx.error() << "inner dimensions differ: " << k << " vs " << kb;
  if (failed(ctx.alloc(0, realDType<T>(), {m, n})))
    return failure();
  T *y = ctx.outputs[0].mutableData<T>();
  T beta = T(0);
  if (ctx.has(2)) {
    const Tensor &c = ctx.in(2);
    Shape out{m, n};
    FailureOr<Shape> bs = broadcastShapes(ctx, c.shape(), out);
    if (failed(bs) || *bs != out)
      return ctx.error() << "C of shape " << formatShape(c.shape())
                         << " does not broadcast to " << formatShape(out);
    std::array<std::vector<int64_t>, 1> strides{broadcastStrides(c.shape(), out)};
    const T *pc = c.data<T>();
    forEachBroadcast<1>(out, strides, [&](int64_t o, auto &offs) { y[o] = pc[offs[0]]; });
    beta = op.getBeta().convertToDouble();
  }
  if (m == 0 || n == 0)
    return success();
  T alpha = op.getAlpha().convertToDouble();
  int64_t lda = a.dim(1), ldb = b.dim(1);
  forEachGemmTile(ctx, 1, m, n, k, [&](int64_t, int64_t r0, int64_t rows, int64_t c0,
                                       int64_t cols) {
    // Rows of op(A) are columns of A when transposed; likewise for B.
    const T *pa = a.data<T>() + (ta ? r0 : r0 * lda);
    const T *pb = b.data<T>() + (tb ? c0 * ldb : c0);
    blasGemm(ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, rows, cols, k,
             alpha, pa, lda, pb, ldb, beta, y + r0 * n + c0, n);
  });
  return success();
}

template <typename T>
LogicalResult matMulKernel(KernelContext &ctx) {
  const Tensor &a = ctx.in(0), &b = ctx.in(1);
  if (failed(requireReal<T>(ctx, a, "A")) || failed(requireReal<T>(ctx, b, "B")))
    return failure();
  if (a.rank() == 0 || b.rank() == 0)
    return ctx.error() << "operands must have rank >= 1";
  Shape as = a.shape(), bs = b.shape();
  if (as.size() == 1)
    as.insert(as.begin(), 1);
  if (bs.size() == 1)
    bs.push_back(1);
  int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  if (bs[bs.size() - 2] != k)
    return ctx.error() << "inner dimensions differ: " << formatShape(a.shape()) << " x "
                       << formatShape(b.shape());
  Shape aBatch(as.begin(), as.end() - 2), bBatch(bs.begin(), bs.end() - 2);
  FailureOr<Shape> batch = broadcastShapes(ctx, aBatch, bBatch);
  if (failed(batch))
    return failure();
  Shape out = *batch;
  if (a.rank() > 1)
    out.push_back(m);
  if (b.rank() > 1)
    out.push_back(n);
  if (failed(ctx.alloc(0, realDType<T>(), out)))
    return failure();
  std::array<std::vector<int64_t>, 2> strides{broadcastStrides(aBatch, *batch),
                                              broadcastStrides(bBatch, *batch)};
  T *y = ctx.outputs[0].mutableData<T>();
  if (m == 0 || n == 0)
    return success();
  // Operand offsets of each product of the batch.
  std::vector<std::array<int64_t, 2>> offsets;
  forEachBroadcast<2>(*batch, strides,
                      [&](int64_t, auto &offs) { offsets.push_back({offs[0], offs[1]}); });
  forEachGemmTile(ctx, offsets.size(), m, n, k, [&](int64_t o, int64_t r0, int64_t rows,
                                                    int64_t c0, int64_t cols) {
    blasGemm(CblasNoTrans, CblasNoTrans, rows, cols, k, T(1),
             a.data<T>() + offsets[o][0] * m * k + r0 * k, k,
             b.data<T>() + offsets[o][1] * k * n + c0, n, T(0), y + o * m * n + r0 * n + c0, n);
  });
  return success();
}

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

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult identityKernel(KernelContext &ctx) {
  ctx.outputs = {ctx.in(0)};
  return success();
}

LogicalResult reshapeKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &shapeT = ctx.in(1);
  if (failed(requireInts(ctx, shapeT, "shape")))
    return failure();
  bool allowZero = cast<ReshapeOp>(ctx.op).getAllowzero();
  std::vector<int64_t> target = readInts(shapeT);
  int64_t known = 1, infer = -1;
  Shape out;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == 0 && !allowZero) {
      if ((int64_t)i >= x.rank())
        return ctx.error() << "shape[" << i << "] is 0 but the input has rank " << x.rank();
      d = x.dim(i);
    }
    if (d == -1) {
      if (infer >= 0)
        return ctx.error() << "shape has more than one -1";
      infer = i;
    } else if (d < 0) {
      return ctx.error() << "shape value " << d << " is invalid";
    } else {
      known *= d;
    }
    out.push_back(d);
  }
  if (infer >= 0) {
    if (known == 0 || x.numElements() % known)
      return ctx.error() << "cannot reshape " << formatShape(x.shape()) << " into "
                         << formatShape(Shape(target.begin(), target.end()));
    out[infer] = x.numElements() / known;
  }
  if (product(out) != x.numElements())
    return ctx.error() << "cannot reshape " << formatShape(x.shape()) << " into "
                       << formatShape(out);
  ctx.outputs = {x.reshaped(out)};
  return success();
}

LogicalResult flattenKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  int64_t axis = normAxis(cast<FlattenOp>(ctx.op).getAxis(), x.rank());
  ctx.outputs = {x.reshaped({product(x.shape(), 0, axis), product(x.shape(), axis)})};
  return success();
}

LogicalResult squeezeKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  std::vector<bool> drop(x.rank(), false);
  if (ctx.has(1)) {
    if (failed(requireInts(ctx, ctx.in(1), "axes")))
      return failure();
    for (int64_t a : readInts(ctx.in(1))) {
      a = normAxis(a, x.rank());
      if (a < 0 || a >= x.rank() || x.dim(a) != 1)
        return ctx.error() << "cannot squeeze axis " << a << " of " << formatShape(x.shape());
      drop[a] = true;
    }
  } else {
    for (int64_t i = 0; i < x.rank(); ++i)
      drop[i] = x.dim(i) == 1;
  }
  Shape out;
  for (int64_t i = 0; i < x.rank(); ++i)
    if (!drop[i])
      out.push_back(x.dim(i));
  ctx.outputs = {x.reshaped(out)};
  return success();
}

LogicalResult unsqueezeKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(requireInts(ctx, ctx.in(1), "axes")))
    return failure();
  std::vector<int64_t> axes = readInts(ctx.in(1));
  int64_t rank = x.rank() + axes.size();
  std::vector<bool> ins(rank, false);
  for (int64_t a : axes) {
    a = normAxis(a, rank);
    if (a < 0 || a >= rank || ins[a])
      return ctx.error() << "invalid or repeated axis " << a;
    ins[a] = true;
  }
  Shape out;
  for (int64_t i = 0, j = 0; i < rank; ++i)
    out.push_back(ins[i] ? 1 : x.dim(j++));
  ctx.outputs = {x.reshaped(out)};
  return success();
}

LogicalResult concatKernel(KernelContext &ctx) {
  const Tensor &first = ctx.in(0);
  int64_t axis = normAxis(cast<ConcatOp>(ctx.op).getAxis(), first.rank());
  Shape out = first.shape();
  out[axis] = 0;
  for (const Tensor *t : ctx.inputs) {
    if (t->rank() != first.rank() || t->dtype() != first.dtype())
      return ctx.error() << "inputs differ in rank or type";
    for (int64_t i = 0; i < t->rank(); ++i)
      if (i != axis && t->dim(i) != first.dim(i))
        return ctx.error() << "input shapes " << formatShape(first.shape()) << " and "
                           << formatShape(t->shape()) << " differ off the concat axis";
    out[axis] += t->dim(axis);
  }
  if (failed(ctx.alloc(0, first.dtype(), out)))
    return failure();
  size_t elem = dtypeSize(first.dtype());
  int64_t outer = product(out, 0, axis), rowOut = product(out, axis) * elem;
  char *dst = ctx.outputs[0].mutableData<char>();
  int64_t at = 0;
  for (const Tensor *t : ctx.inputs) {
    int64_t row = product(t->shape(), axis) * elem;
    for (int64_t o = 0; o < outer; ++o)
      memcpy(dst + o * rowOut + at, t->data<char>() + o * row, row);
    at += row;
  }
  return success();
}

LogicalResult transposeKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  int64_t rank = x.rank();
  std::vector<int64_t> perm;
  if (auto p = cast<TransposeOp>(ctx.op).getPerm())
    perm.assign(p->begin(), p->end());
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  Shape out;
  for (int64_t p : perm)
    out.push_back(x.dim(p));
  if (failed(ctx.alloc(0, x.dtype(), out)))
    return failure();
  // Output element i reads input at the permuted strides.
  std::vector<int64_t> inStrides(rank, 1), permStrides(rank);
  for (int64_t i = rank - 2; i >= 0; --i)
    inStrides[i] = inStrides[i + 1] * x.dim(i + 1);
  for (int64_t i = 0; i < rank; ++i)
    permStrides[i] = inStrides[perm[i]];
  size_t elem = dtypeSize(x.dtype());
  const char *src = x.data<char>();
  char *dst = ctx.outputs[0].mutableData<char>();
  std::array<std::vector<int64_t>, 1> strides{permStrides};
  forEachBroadcast<1>(out, strides, [&](int64_t o, auto &offs) {
    memcpy(dst + o * elem, src + offs[0] * elem, elem);
  });
  return success();
}

LogicalResult gatherKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &idx = ctx.in(1);
  if (failed(requireInts(ctx, idx, "indices")))
    return failure();
  int64_t axis = normAxis(cast<GatherOp>(ctx.op).getAxis(), x.rank());
  Shape out(x.shape().begin(), x.shape().begin() + axis);
  out.insert(out.end(), idx.shape().begin(), idx.shape().end());
  out.insert(out.end(), x.shape().begin() + axis + 1, x.shape().end());
  if (failed(ctx.alloc(0, x.dtype(), out)))
    return failure();
  size_t elem = dtypeSize(x.dtype());
  int64_t outer = product(x.shape(), 0, axis), len = x.dim(axis),
          inner = product(x.shape(), axis + 1) * elem;
  std::vector<int64_t> indices = readInts(idx);
  char *dst = ctx.outputs[0].mutableData<char>();
  for (int64_t o = 0; o < outer; ++o)
    for (size_t j = 0; j < indices.size(); ++j) {
      int64_t i = indices[j] < 0 ? indices[j] + len : indices[j];
      if (i < 0 || i >= len)
        return ctx.error() << "index " << indices[j] << " is out of range for axis of size "
                           << len;
      memcpy(dst + (o * indices.size() + j) * inner, x.data<char>() + (o * len + i) * inner,
             inner);
    }
  return success();
}

LogicalResult sliceKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  for (unsigned i = 1; i < 5; ++i)
    if (ctx.has(i) && failed(requireInts(ctx, ctx.in(i), "starts/ends/axes/steps")))
      return failure();
  std::vector<int64_t> starts = readInts(ctx.in(1)), ends = readInts(ctx.in(2));
  std::vector<int64_t> axes, steps(starts.size(), 1);
  if (ctx.has(3))
    axes = readInts(ctx.in(3));
  else
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (ctx.has(4))
    steps = readInts(ctx.in(4));
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return ctx.error() << "starts, ends, axes and steps differ in length";
  int64_t rank = x.rank();
  std::vector<int64_t> begin(rank, 0), step(rank, 1);
  Shape out = x.shape();
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t a = normAxis(axes[i], rank), dim = x.dim(a), s = steps[i];
    if (a < 0 || a >= rank || s == 0)
      return ctx.error() << "invalid axis " << axes[i] << " or step " << s;
    auto clampIdx = [&](int64_t v, int64_t lo, int64_t hi) {
      if (v < 0)
        v += dim;
      return std::clamp(v, lo, hi);
    };
    int64_t b, e, n;
    if (s > 0) {
      b = clampIdx(starts[i], 0, dim);
      e = clampIdx(ends[i], 0, dim);
      n = e > b ? (e - b + s - 1) / s : 0;
    } else {
      b = clampIdx(starts[i], 0, dim - 1);
      e = ends[i] < -dim ? -1 : clampIdx(ends[i], -1, dim - 1);
      n = b > e ? (b - e + (-s) - 1) / (-s) : 0;
    }
    begin[a] = b;
    step[a] = s;
    out[a] = n;
  }
  if (failed(ctx.alloc(0, x.dtype(), out)))
    return failure();
  std::vector<int64_t> inStrides(rank, 1), strides(rank);
  for (int64_t i = rank - 2; i >= 0; --i)
    inStrides[i] = inStrides[i + 1] * x.dim(i + 1);
  int64_t base = 0;
  for (int64_t i = 0; i < rank; ++i) {
    strides[i] = inStrides[i] * step[i];
    base += begin[i] * inStrides[i];
  }
  size_t elem = dtypeSize(x.dtype());
  const char *src = x.data<char>();
  char *dst = ctx.outputs[0].mutableData<char>();
  std::array<std::vector<int64_t>, 1> st{strides};
  forEachBroadcast<1>(out, st, [&](int64_t o, auto &offs) {
    memcpy(dst + o * elem, src + (base + offs[0]) * elem, elem);
  });
  return success();
}

LogicalResult padKernel(KernelContext &ctx) {
  auto op = cast<PadOp>(ctx.op);
  const Tensor &x = ctx.in(0);
  if (failed(requireInts(ctx, ctx.in(1), "pads")))
    return failure();
  int64_t rank = x.rank();
  std::vector<int64_t> padsIn = readInts(ctx.in(1)), axes;
  if (ctx.has(3))
    axes = readInts(ctx.in(3));
  else
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  if (padsIn.size() != 2 * axes.size())
    return ctx.error() << "pads has " << padsIn.size() << " values, expected "
                       << 2 * axes.size();
  std::vector<int64_t> pb(rank, 0), pe(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = normAxis(axes[i], rank);
    pb[a] = padsIn[i];
    pe[a] = padsIn[i + axes.size()];
  }
  Shape out(rank);
  for (int64_t i = 0; i < rank; ++i) {
    out[i] = x.dim(i) + pb[i] + pe[i];
    if (out[i] < 0)
      return ctx.error() << "pads make axis " << i << " negative";
  }
  if (failed(ctx.alloc(0, x.dtype(), out)))
    return failure();
  StringRef mode = op.getMode();
  size_t elem = dtypeSize(x.dtype());
  std::vector<char> fill(elem, 0);
  if (ctx.has(2) && ctx.in(2).numElements())
    memcpy(fill.data(), ctx.in(2).raw(), elem);
  std::vector<int64_t> inStrides(rank, 1);
  for (int64_t i = rank - 2; i >= 0; --i)
    inStrides[i] = inStrides[i + 1] * x.dim(i + 1);
  if ((mode == "reflect" || mode == "edge" || mode == "wrap") && x.numElements() == 0)
    return ctx.error() << "mode '" << mode << "' cannot pad an empty tensor";
  std::vector<int64_t> idx(rank, 0);
  char *dst = ctx.outputs[0].mutableData<char>();
  for (int64_t o = 0, total = product(out); o < total; ++o) {
    int64_t rem = o, src = 0;
    bool outside = false;
    for (int64_t d = rank - 1; d >= 0; --d) {
      int64_t i = rem % out[d] - pb[d], n = x.dim(d);
      rem /= out[d];
      if (i < 0 || i >= n) {
        if (mode == "constant") {
          outside = true;
          break;
        }
        if (mode == "edge")
          i = std::clamp<int64_t>(i, 0, n - 1);
        else if (mode == "wrap")
          i = ((i % n) + n) % n;
        else { // reflect: mirror without repeating the edge
          int64_t period = 2 * (n - 1);
          if (period == 0)
            i = 0;
          else {
            i = ((i % period) + period) % period;
            if (i >= n)
              i = period - i;
          }
        }
      }
      src += i * inStrides[d];
    }
    memcpy(dst + o * elem, outside ? fill.data() : x.data<char>() + src * elem, elem);
  }
  return success();
}

LogicalResult shapeKernel(KernelContext &ctx) {
  auto op = cast<ShapeOp>(ctx.op);
  const Tensor &x = ctx.in(0);
  int64_t rank = x.rank();
  auto clampAxis = [&](int64_t a) { return std::clamp<int64_t>(a < 0 ? a + rank : a, 0, rank); };
  int64_t start = op.getStart() ? clampAxis(*op.getStart()) : 0;
  int64_t end = op.getEnd() ? clampAxis(*op.getEnd()) : rank;
  int64_t n = std::max<int64_t>(0, end - start);
  if (failed(ctx.alloc(0, DType::I64, {n})))
    return failure();
  for (int64_t i = 0; i < n; ++i)
    ctx.outputs[0].mutableData<int64_t>()[i] = x.dim(start + i);
  return success();
}

LogicalResult castKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  Type to = getElementTypeForOnnxDataType(ctx.op->getContext(), cast<CastOp>(ctx.op).getTo());
  std::optional<DType> dt = to ? getDType(to) : std::nullopt;
  if (!dt)
    return ctx.error() << "cannot cast to " << to;
  if (failed(ctx.alloc(0, *dt, x.shape())))
    return failure();
  return dispatch(ctx, x.dtype(), [&](auto st) -> LogicalResult {
    using S = decltype(st);
    return dispatch(ctx, *dt, [&](auto dtag) -> LogicalResult {
      using D = decltype(dtag);
      const S *src = x.data<S>();
      D *dst = ctx.outputs[0].mutableData<D>();
      for (int64_t i = 0, n = x.numElements(); i < n; ++i) {
        if constexpr (std::is_same_v<D, bool>)
          dst[i] = src[i] != S(0);
        else
          dst[i] = static_cast<D>(src[i]);
      }
      return success();
    });
  });
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

/// (clamp(rint(x / s) + o, qmin, qmax) - o) * s, per tensor or per channel;
/// x / s (not x * (1/s)) and rint, as ONNX QuantizeLinear computes it. A
/// 32-bit fake_quant (an int32 bias) divides in double and returns
/// float(q - o) * s, as amct.fake_quant defines it.
LogicalResult fakeQuantKernel(KernelContext &ctx) {
  auto op = cast<FakeQuantOp>(ctx.op);
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "input")) ||
      failed(ctx.allocInPlace(0, 0, DType::F32, x.shape())))
    return failure();
  ArrayRef<float> scale = op.getScale();
  ArrayRef<int64_t> offset = op.getOffset();
  int64_t bits = op.getNumBits();
  float lo = -std::ldexp(1.0f, bits - 1), hi = std::ldexp(1.0f, bits - 1) - 1;
  int64_t channels = 1, inner = x.numElements();
  if (std::optional<int64_t> axis = op.getAxis()) {
    channels = x.dim(*axis);
    inner = product(x.shape(), *axis + 1);
    if ((int64_t)scale.size() != channels)
      return ctx.error() << scale.size() << " scales for axis of size " << channels;
  }
  const float *in = x.data<float>();
  float *out = ctx.outputs[0].mutableData<float>();
  parallelElements(ctx, x.numElements(), [&](int64_t b, int64_t e) {
    // Runs of one channel: element i is in channel (i / inner) % channels.
    for (int64_t i = b; i < e;) {
      int64_t row = i / inner, stop = std::min(e, (row + 1) * inner);
      float s = scale[row % channels], off = offset[row % channels];
      if (bits > 16) {
        double dlo = -std::ldexp(1.0, bits - 1), dhi = std::ldexp(1.0, bits - 1) - 1;
        int64_t o = offset[row % channels];
        for (; i < stop; ++i) {
          double q = std::nearbyint(static_cast<double>(in[i]) / s) + o;
          q = std::isnan(q) ? o : std::clamp(q, dlo, dhi); // int64_t(NaN) is undefined
          out[i] = static_cast<float>(static_cast<int64_t>(q) - o) * s;
        }
        continue;
      }
      for (; i < stop; ++i) {
        float q = std::nearbyint(in[i] / s) + off;
        out[i] = (std::min(std::max(q, lo), hi) - off) * s;
      }
    }
  });
  return success();
}


/// Per tensor or per axis parameters of QuantizeLinear / DequantizeLinear
/// over `x`: element i uses parameter (i / inner) % channels.
struct QdqLayout {
  int64_t channels = 1, inner = 1;
};

FailureOr<QdqLayout> qdqLayout(KernelContext &ctx, const Tensor &x, const Tensor &scale,
                               std::optional<int64_t> axisAttr) {
  QdqLayout layout;
  layout.inner = x.numElements();
  if (scale.dtype() != DType::F32)
    return ctx.error() << "the scale is " << dtypeName(scale.dtype()) << "; expected float32";
  if (scale.rank() > 1)
    return ctx.error() << "the scale has shape " << formatShape(scale.shape())
                       << "; expected a scalar or 1-D";
  if (scale.rank() == 0 || scale.numElements() == 1)
    return layout;
  int64_t rank = x.rank(), axis = normAxis(axisAttr.value_or(1), rank);
  if (axis < 0 || axis >= rank || x.dim(axis) != scale.numElements())
    return ctx.error() << scale.numElements() << " scales for axis " << axisAttr.value_or(1)
                       << " of " << formatShape(x.shape());
  layout.channels = scale.numElements();
  layout.inner = product(x.shape(), axis + 1);
  return layout;
}

/// ONNX QuantizeLinear: saturate(rint(x / scale) + zero_point), x / scale a
/// float division as ONNX Runtime computes it; NaN (undefined in ONNX)
/// becomes the zero point.
LogicalResult quantizeLinearKernel(KernelContext &ctx) {
  auto op = cast<QuantizeLinearOp>(ctx.op);
  const Tensor &x = ctx.in(0), &scale = ctx.in(1);
  if (failed(requireF32(ctx, x, "input")))
    return failure();
  FailureOr<QdqLayout> layout = qdqLayout(ctx, x, scale, op.getAxis());
  if (failed(layout))
    return failure();
  const Tensor *zp = ctx.has(2) ? ctx.inputs[2] : nullptr;
  DType out = zp ? zp->dtype() : DType::U8;
  if (out != DType::I8 && out != DType::U8)
    return ctx.error() << "the zero point is " << dtypeName(out) << "; expected int8 or uint8";
  if (zp && zp->numElements() != scale.numElements())
    return ctx.error() << "the zero point has " << zp->numElements() << " values, the scale "
                       << scale.numElements();
  if (failed(ctx.alloc(0, out, x.shape())))
    return failure();
  return dispatch(ctx, out, [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>) {
      float lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
      const float *in = x.data<float>(), *s = scale.data<float>();
      const T *z = zp ? zp->data<T>() : nullptr;
      T *dst = ctx.outputs[0].mutableData<T>();
      int64_t channels = layout->channels, inner = layout->inner;
      parallelElements(ctx, x.numElements(), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          int64_t c = (i / inner) % channels;
          float zero = z ? static_cast<float>(z[c]) : 0.0f;
          float q = std::nearbyint(in[i] / s[c]) + zero;
          dst[i] = static_cast<T>(std::isnan(q) ? zero : std::clamp(q, lo, hi));
        }
      });
      return success();
    }
    return ctx.error() << "unreachable output type";
  });
}

/// ONNX DequantizeLinear: (x - zero_point) * scale, the difference taken in
/// integers and converted to float once (exact for int8, as ONNX Runtime
/// computes it for int32).
LogicalResult dequantizeLinearKernel(KernelContext &ctx) {
  auto op = cast<DequantizeLinearOp>(ctx.op);
  const Tensor &x = ctx.in(0), &scale = ctx.in(1);
  FailureOr<QdqLayout> layout = qdqLayout(ctx, x, scale, op.getAxis());
  if (failed(layout))
    return failure();
  const Tensor *zp = ctx.has(2) ? ctx.inputs[2] : nullptr;
  if (x.dtype() != DType::I8 && x.dtype() != DType::U8 && x.dtype() != DType::I32)
    return ctx.error() << "the input is " << dtypeName(x.dtype())
                       << "; expected int8, uint8 or int32";
  if (zp && (zp->dtype() != x.dtype() || zp->numElements() != scale.numElements()))
    return ctx.error() << "the zero point (" << dtypeName(zp->dtype()) << ", "
                       << zp->numElements() << " values) does not match the input type "
                       << dtypeName(x.dtype()) << " and the scale's " << scale.numElements()
                       << " values";
  if (failed(ctx.alloc(0, DType::F32, x.shape())))
    return failure();
  return dispatch(ctx, x.dtype(), [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t> ||
                  std::is_same_v<T, int32_t>) {
      const T *in = x.data<T>(), *z = zp ? zp->data<T>() : nullptr;
      const float *s = scale.data<float>();
      float *dst = ctx.outputs[0].mutableData<float>();
      int64_t channels = layout->channels, inner = layout->inner;
      parallelElements(ctx, x.numElements(), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          int64_t c = (i / inner) % channels;
          int64_t v = static_cast<int64_t>(in[i]) - (z ? static_cast<int64_t>(z[c]) : 0);
          dst[i] = static_cast<float>(v) * s[c];
        }
      });
      return success();
    }
    return ctx.error() << "unreachable input type";
  });
}

//===----------------------------------------------------------------------===//
// Ascend deploy ops and integer layers (bit-exact simulation of the NPU)
//===----------------------------------------------------------------------===//

float roundAscend(float v, StringRef mode) {
  if (mode == "Floor") return std::floor(v);
  if (mode == "Ceil") return std::ceil(v);
  if (mode == "Trunc") return std::trunc(v);
  return std::nearbyint(v); // "Round": half to even
}

LogicalResult ascendQuantKernel(KernelContext &ctx) {
  auto op = cast<ascend::QuantOp>(ctx.op);
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "input")))
    return failure();
  if (op.getDstType() != "INT8")
    return ctx.error() << "only INT8 AscendQuant is simulated, found " << op.getDstType();
  if (failed(ctx.alloc(0, DType::I8, x.shape())))
    return failure();
  float scale = op.getScale().convertToFloat(), offset = op.getOffset().convertToFloat();
  if (op.getSqrtMode())
    scale *= scale;
  StringRef mode = op.getRoundMode();
  const float *in = x.data<float>();
  int8_t *out = ctx.outputs[0].mutableData<int8_t>();
  parallelElements(ctx, x.numElements(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      out[i] = static_cast<int8_t>(
          std::clamp(roundAscend(in[i] * scale + offset, mode), -128.0f, 127.0f));
  });
  return success();
}

/// The axis of `data` (AscendDequant's input, of shape `x`) that its `n` > 1
/// deq_scale values run along, decided by the layer producing the input:
/// Conv and ConvTranspose put their output channels on dim 1, Gemm and
/// MatMul (Linear) on the last dim, whatever the other dims are (a Linear
/// on [B, T, N] with T == N). For any other producer (or a function
/// argument) the shapes decide, and a shape where both dim 1 and the last
/// dim have n entries is reported as ambiguous.
FailureOr<int64_t> dequantChannelAxis(KernelContext &ctx, ascend::DequantOp op, const Shape &x,
                                      int64_t n) {
  int64_t rank = x.size(), last = rank - 1;
  std::optional<int64_t> axis;
  Operation *producer = op->getOperand(0).getDefiningOp();
  // The int32 bias Add after an int8 MatMul keeps the MatMul's channels.
  if (auto add = dyn_cast_or_null<AddOp>(producer))
    for (Value operand : add->getOperands())
      if (isa_and_nonnull<QuantizableLayerOpInterface>(operand.getDefiningOp()))
        producer = operand.getDefiningOp();
  if (auto layer = dyn_cast_or_null<QuantizableLayerOpInterface>(producer);
      layer && layer.getWeightOperandIndex()) {
    axis = layer.getResultChannelAxis();
  } else {
    bool onDim1 = rank >= 2 && x[1] == n, onLast = rank >= 1 && x[last] == n;
    if (onDim1 && onLast && last != 1)
      return ctx.error() << "deq_scale has " << n << " values and data "
                         << formatShape(x)
                         << " has that many on both dim 1 and the last dim; the channel "
                            "axis is ambiguous when the input is not produced by a "
                            "quantizable layer (Conv, ConvTranspose, Gemm, MatMul)";
    if (onDim1)
      axis = 1;
    else if (onLast)
      axis = last;
  }
  if (!axis || *axis < 0 || *axis >= rank || x[*axis] != n)
    return ctx.error() << "deq_scale has " << n << " values for data " << formatShape(x)
                       << (axis ? " (channels on dim " + std::to_string(*axis) + ")"
                                : std::string());
  return *axis;
}

LogicalResult ascendDequantKernel(KernelContext &ctx) {
  auto op = cast<ascend::DequantOp>(ctx.op);
  const Tensor &x = ctx.in(0), &deq = ctx.in(1);
  if ((x.dtype() != DType::I32 && x.dtype() != DType::F32) || deq.dtype() != DType::U64)
    return ctx.error() << "AscendDequant takes int32 data (float32 after an AveragePool) and "
                          "uint64 deq_scale";
  if (op.getDtype() != 0)
    return ctx.error() << "only float32 output (dtype 0) is simulated";
  if (failed(ctx.alloc(0, DType::F32, x.shape())))
    return failure();
  std::vector<float> scales(deq.numElements());
  for (int64_t i = 0; i < deq.numElements(); ++i) {
    // Bits 47:40 hold offset_w, which AMCT's weights (symmetric) keep 0.
    if (uint64_t high = deq.data<uint64_t>()[i] >> 32)
      return ctx.error() << "deq_scale[" << i << "] has offset_w / high bits 0x"
                         << llvm::utohexstr(high)
                         << " set; only offset_w = 0 (symmetric weights) is simulated";
    uint32_t bits = static_cast<uint32_t>(deq.data<uint64_t>()[i] & 0xffffffffu);
    memcpy(&scales[i], &bits, 4);
    if (op.getSqrtMode())
      scales[i] *= scales[i];
  }
  int64_t n = scales.size(), inner = 1, channels = 1;
  if (n > 1) {
    FailureOr<int64_t> axis = dequantChannelAxis(ctx, op, x.shape(), n);
    if (failed(axis))
      return failure();
    channels = n;
    inner = product(x.shape(), *axis + 1);
  }
  bool isInt = x.dtype() == DType::I32;
  float *out = ctx.outputs[0].mutableData<float>();
  bool relu = op.getReluFlag();
  parallelElements(ctx, x.numElements(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float in = isInt ? static_cast<float>(x.data<int32_t>()[i]) : x.data<float>()[i];
      float v = in * scales[n > 1 ? (i / inner) % channels : 0];
      out[i] = relu ? std::max(v, 0.0f) : v;
    }
  });
  return success();
}

LogicalResult ascendAntiQuantKernel(KernelContext &ctx) {
  auto op = cast<ascend::AntiQuantOp>(ctx.op);
  const Tensor &x = ctx.in(0);
  if (x.dtype() != DType::I8 || op.getDtype() != 0)
    return ctx.error() << "AscendAntiQuant is simulated for int8 -> float32 only";
  if (failed(ctx.alloc(0, DType::F32, x.shape())))
    return failure();
  float scale = op.getScale().convertToFloat(), offset = op.getOffset().convertToFloat();
  if (op.getSqrtMode())
    scale *= scale;
  const int8_t *in = x.data<int8_t>();
  float *out = ctx.outputs[0].mutableData<float>();
  parallelElements(ctx, x.numElements(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      out[i] = (static_cast<float>(in[i]) + offset) * scale;
  });
  return success();
}

/// A product layer (Conv, ConvTranspose, Gemm, MatMul) on int8 data and
/// weights with an int32 bias, as the NPU computes it: exact integer
/// arithmetic with int32 accumulation. The products run in double (the
/// kernel instantiated on double, dgemm): each product of (q - offset_x) by
/// an int8 weight is below 2^16 in magnitude, so every partial sum is an
/// integer well inside double's 2^53 and the result is exact, whatever the
/// summation order or the thread count. The bias stays out of the double
/// kernel and is added in int64 afterwards; the sum is stored as int32
/// (wrapping like an int32 adder, exact whenever the result fits).
Kernel integerCapable(LogicalResult (*floatKernel)(KernelContext &),
                      LogicalResult (*doubleKernel)(KernelContext &)) {
  return [floatKernel, doubleKernel](KernelContext &ctx) -> LogicalResult {
    if (ctx.inputs.empty() || !ctx.inputs[0] || ctx.in(0).dtype() != DType::I8)
      return floatKernel(ctx);
    Operation *op = ctx.op;
    auto layer = cast<QuantizableLayerOpInterface>(op);
    if (auto gemm = dyn_cast<GemmOp>(op))
      if (gemm.getAlpha().convertToDouble() != 1.0 ||
          (ctx.has(2) && gemm.getBeta().convertToDouble() != 1.0))
        return ctx.error() << "an int8 Gemm needs alpha = beta = 1";
    // The int32 bias on the layer (Conv / ConvTranspose B, Gemm C) stays out
    // of the double kernel; a MatMul's bias is the Add after it.
    OpOperand *biasOperand = layer.getBiasOperand();
    const Tensor *bias = biasOperand && biasOperand->getOwner() == op &&
                                 ctx.has(biasOperand->getOperandNumber())
                             ? ctx.inputs[biasOperand->getOperandNumber()]
                             : nullptr;
    std::vector<Tensor> converted;
    converted.reserve(ctx.inputs.size());
    KernelContext dctx{ctx.op, {}, {}, ctx.threads};
    // The data input's zero point: computing on (q - offset_x) makes the
    // kernel's zero padding the real zero.
    double offsetX = static_cast<double>(layer.getDataOffsetX());
    for (size_t i = 0; i < ctx.inputs.size(); ++i) {
      const Tensor *t = ctx.inputs[i];
      if (!t || t == bias) {
        dctx.inputs.push_back(nullptr);
        continue;
      }
      if (t->dtype() != DType::I8 && t->dtype() != DType::F32)
        return ctx.error() << "operand " << i << " of an int8 layer is "
                           << dtypeName(t->dtype()) << "; expected int8";
      std::optional<Tensor> f = Tensor::uninitialized(DType::F64, t->shape());
      if (!f)
        return ctx.error() << "cannot allocate a " << t->numElements()
                           << "-element conversion buffer";
      double *dst = f->mutableData<double>();
      double shift = i == 0 ? offsetX : 0.0;
      bool isInt8 = t->dtype() == DType::I8;
      parallelElements(ctx, t->numElements(), [&](int64_t b, int64_t e) {
        for (int64_t j = b; j < e; ++j)
          dst[j] = isInt8 ? t->data<int8_t>()[j] - shift : double(t->data<float>()[j]);
      });
      converted.push_back(std::move(*f));
      dctx.inputs.push_back(&converted.back());
    }
    if (failed(doubleKernel(dctx)))
      return failure();
    const Tensor &y = dctx.outputs[0];
    const Shape &ys = y.shape();
    // The bias as int64, one value per output channel (Conv, ConvTranspose:
    // dim 1) or broadcast to the [M, N] output (Gemm's C).
    std::vector<int64_t> biasValues;
    int64_t inner = 1, channels = 1;
    if (bias) {
      std::vector<int64_t> values(bias->numElements());
      for (int64_t i = 0; i < bias->numElements(); ++i) {
        switch (bias->dtype()) {
        case DType::I32: values[i] = bias->data<int32_t>()[i]; break;
        case DType::I64: values[i] = bias->data<int64_t>()[i]; break;
        case DType::F32: values[i] = std::llround(bias->data<float>()[i]); break;
        default:
          return ctx.error() << "bias of an int8 layer is " << dtypeName(bias->dtype())
                             << "; expected int32";
        }
      }
      // Gemm's C broadcasts by ONNX's rules; a bias operand of any other
      // layer holds one value per output channel (the result channel axis).
      if (!isa<GemmOp>(op)) {
        int64_t axis = layer.getResultChannelAxis();
        channels = (int64_t)ys.size() > axis ? ys[axis] : 1;
        inner = product(ys, axis + 1);
        if ((int64_t)values.size() != channels)
          return ctx.error() << "bias has " << values.size() << " values for "
                             << channels << " output channels";
        biasValues = std::move(values);
      } else {
        FailureOr<Shape> bs = broadcastShapes(ctx, bias->shape(), ys);
        if (failed(bs) || *bs != ys)
          return ctx.error() << "C of shape " << formatShape(bias->shape())
                             << " does not broadcast to " << formatShape(ys);
        biasValues.resize(y.numElements());
        std::array<std::vector<int64_t>, 1> strides{broadcastStrides(bias->shape(), ys)};
        forEachBroadcast<1>(ys, strides,
                            [&](int64_t o, auto &offs) { biasValues[o] = values[offs[0]]; });
        channels = y.numElements();
      }
    }
    if (failed(ctx.alloc(0, DType::I32, ys)))
      return failure();
    const double *src = y.data<double>();
    int32_t *dst = ctx.outputs[0].mutableData<int32_t>();
    parallelElements(ctx, y.numElements(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        int64_t v = static_cast<int64_t>(src[i]);
        if (!biasValues.empty())
          v += biasValues[(i / inner) % channels];
        // int32 accumulation: wraps modulo 2^32 past the int32 range.
        dst[i] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v)));
      }
    });
    return success();
  };
}

} // namespace

void setKernelThreads(int) {
  // The kernels split their work themselves (Parallel.h) and call BLAS from
  // inside their work items.
  openblas_set_num_threads(1);
}

const llvm::StringMap<Kernel> &getKernels() {
  static const llvm::StringMap<Kernel> kernels = [] {
    llvm::StringMap<Kernel> k;
    k["amct.Relu"] = unaryFloat([](auto v) { return v > 0 ? v : decltype(v)(0); });
    k["amct.Sigmoid"] = unaryFloat([](auto v) { return decltype(v)(1) / (decltype(v)(1) + std::exp(-v)); });
    k["amct.Tanh"] = unaryFloat([](auto v) { return std::tanh(v); });
    k["amct.Sqrt"] = unaryFloat([](auto v) { return std::sqrt(v); });
    k["amct.Erf"] = unaryFloat([](auto v) { return std::erf(v); });
    k["amct.Neg"] = unaryFloat([](auto v) { return -v; });
    k["amct.Abs"] = unaryFloat([](auto v) { return v < decltype(v)(0) ? decltype(v)(-v) : v; });
    k["amct.Exp"] = unaryFloat([](auto v) { return std::exp(v); });
    k["amct.Log"] = unaryFloat([](auto v) { return std::log(v); });
    k["amct.Reciprocal"] = unaryFloat([](auto v) { return decltype(v)(1) / v; });
    k["amct.Floor"] = unaryFloat([](auto v) { return std::floor(v); });
    k["amct.Ceil"] = unaryFloat([](auto v) { return std::ceil(v); });
    k["amct.Sin"] = unaryFloat([](auto v) { return std::sin(v); });
    k["amct.Cos"] = unaryFloat([](auto v) { return std::cos(v); });
    // log1p(exp(x)) loses nothing for large negative x; for large x it is x.
    k["amct.Softplus"] = unaryFloat([](auto v) {
      using T = decltype(v);
      return v > T(20) ? v : T(std::log1p(std::exp(v)));
    });
    k["amct.HardSwish"] = unaryFloat([](auto v) {
      using T = decltype(v);
      return T(v * std::max(T(0), std::min(T(1), T(v / T(6) + T(0.5)))));
    });
    k["amct.HardSigmoid"] = [](KernelContext &ctx) {
      auto op = cast<HardSigmoidOp>(ctx.op);
      float alpha = op.getAlpha().convertToFloat(), beta = op.getBeta().convertToFloat();
      return unaryFloat([alpha, beta](auto v) {
        using T = decltype(v);
        return std::max(T(0), std::min(T(1), T(T(alpha) * v + T(beta))));
      })(ctx);
    };
    k["amct.LeakyRelu"] = [](KernelContext &ctx) {
      float alpha = cast<LeakyReluOp>(ctx.op).getAlpha().convertToFloat();
      return unaryFloat([alpha](auto v) {
        using T = decltype(v);
        return v < T(0) ? T(T(alpha) * v) : v;
      })(ctx);
    };
    k["amct.Elu"] = [](KernelContext &ctx) {
      float alpha = cast<EluOp>(ctx.op).getAlpha().convertToFloat();
      return unaryFloat([alpha](auto v) {
        using T = decltype(v);
        return v < T(0) ? T(T(alpha) * (std::exp(v) - T(1))) : v;
      })(ctx);
    };
    k["amct.PRelu"] = preluKernel;
    for (StringRef name : {"amct.Equal", "amct.Less", "amct.Greater", "amct.LessOrEqual",
                           "amct.GreaterOrEqual"})
      k[name] = compareKernel;
    k["amct.Not"] = notKernel;
    k["amct.Where"] = whereKernel;
    k["amct.Expand"] = expandKernel;
    k["amct.ConstantOfShape"] = constantOfShapeKernel;
    k["amct.Range"] = rangeKernel;
    k["amct.Trilu"] = triluKernel;
    k["amct.Split"] = splitKernel;
    k["amct.Resize"] = resizeKernel;
    k["amct.Identity"] = identityKernel;
    for (const char *name : {"amct.Add", "amct.Sub", "amct.Mul", "amct.Div"})
      k[name] = binaryKernel;
    k["amct.Pow"] = powKernel;
    k["amct.Clip"] = clipKernel;
    k["amct.Conv"] = integerCapable(convKernel<float>, convKernel<double>);
    k["amct.ConvTranspose"] =
        integerCapable(convTransposeKernel<float>, convTransposeKernel<double>);
    k["amct.Gemm"] = integerCapable(gemmKernel<float>, gemmKernel<double>);
    k["amct.MatMul"] = integerCapable(matMulKernel<float>, matMulKernel<double>);
    k["ascend.AscendQuant"] = ascendQuantKernel;
    k["ascend.AscendDequant"] = ascendDequantKernel;
    k["ascend.AscendAntiQuant"] = ascendAntiQuantKernel;
    k["amct.BatchNormalization"] = batchNormKernel;
    k["amct.MaxPool"] = maxPoolKernel;
    k["amct.AveragePool"] = avgPoolKernel;
    k["amct.GlobalAveragePool"] = globalAvgPoolKernel;
    k["amct.Concat"] = concatKernel;
    k["amct.Reshape"] = reshapeKernel;
    k["amct.Flatten"] = flattenKernel;
    k["amct.Transpose"] = transposeKernel;
    k["amct.Squeeze"] = squeezeKernel;
    k["amct.Unsqueeze"] = unsqueezeKernel;
    k["amct.Gather"] = gatherKernel;
    k["amct.Softmax"] = softmaxKernel;
    k["amct.LayerNormalization"] = layerNormKernel;
    k["amct.ReduceMean"] = reduceMeanKernel;
    k["amct.Pad"] = padKernel;
    k["amct.Shape"] = shapeKernel;
    k["amct.Slice"] = sliceKernel;
    k["amct.Cast"] = castKernel;
    k["amct.observer"] = identityKernel;
    k["amct.fake_quant"] = fakeQuantKernel;
    k["amct.QuantizeLinear"] = quantizeLinearKernel;
    k["amct.DequantizeLinear"] = dequantizeLinearKernel;
    return k;
  }();
  return kernels;
}

} // namespace amct::rt
