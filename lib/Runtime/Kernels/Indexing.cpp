//===- Indexing.cpp - indexing and rearranging kernels --------------------===//
//
// GatherElements, GatherND, ScatterElements (and the older Scatter),
// ScatterND, OneHot, EyeLike, Compress, NonZero, TopK, Tile, DepthToSpace,
// SpaceToDepth, ReverseSequence, Size, Dropout (inference),
// NonMaxSuppression, Unique. Kernels that
// only move elements copy raw bytes, so they serve every dtype; every index
// is checked against its axis, and a bad one is an error naming it.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

/// Row-major strides (in elements) of a shape.
std::vector<int64_t> stridesOf(const Shape &s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int64_t i = (int64_t)s.size() - 2; i >= 0; --i)
    st[i] = st[i + 1] * s[i + 1];
  return st;
}

/// An index along an axis of size `len` (negative counts from the end).
FailureOr<int64_t> checkedIndex(KernelContext &ctx, int64_t i, int64_t len, StringRef what) {
  int64_t j = i < 0 ? i + len : i;
  if (j < 0 || j >= len)
    return ctx.error() << what << " " << i << " is out of range for an axis of size " << len;
  return j;
}

FailureOr<int64_t> checkedAxis(KernelContext &ctx, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return ctx.error() << "axis " << axis << " is out of range for rank " << rank;
  return normAxis(axis, rank);
}

/// The element of `x` that GatherElements / ScatterElements pair with
/// element `o` of `idx` (same rank): idx's coordinates, with the one on
/// `axis` replaced by the index value there.
/// `xs` and `is` are the two shapes' strides (stridesOf).
FailureOr<int64_t> elementOffset(KernelContext &ctx, const Tensor &x, const Tensor &idx,
                                 const std::vector<int64_t> &xs, const std::vector<int64_t> &is,
                                 const std::vector<int64_t> &indices, int64_t axis, int64_t o) {
  int64_t off = 0, rem = o;
  for (int64_t d = 0; d < idx.rank(); ++d) {
    int64_t c = rem / is[d];
    rem %= is[d];
    if (d == axis) {
      FailureOr<int64_t> j = checkedIndex(ctx, indices[o], x.dim(d), "index");
      if (failed(j))
        return failure();
      c = *j;
    } else if (c >= x.dim(d)) {
      return ctx.error() << "indices dim " << d << " exceeds the data's";
    }
    off += c * xs[d];
  }
  return off;
}

/// GatherElements: out[i][j][k] = x[idx[i][j][k]][j][k] (axis 0), the
/// output shaped like the indices.
LogicalResult gatherElementsKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &idx = ctx.in(1);
  if (failed(requireInts(ctx, idx, "indices")))
    return failure();
  if (idx.rank() != x.rank())
    return ctx.error() << "indices must have the data's rank " << x.rank();
  FailureOr<int64_t> axis = checkedAxis(ctx, ctx.attrs().getInt("axis", 0), x.rank());
  if (failed(axis) || failed(ctx.alloc(0, x.dtype(), idx.shape())))
    return failure();
  std::vector<int64_t> xs = stridesOf(x.shape()), is = stridesOf(idx.shape());
  std::vector<int64_t> indices = readInts(idx);
  size_t elem = dtypeSize(x.dtype());
  const char *src = x.data<char>();
  char *dst = ctx.outputs[0].mutableData<char>();
  for (int64_t o = 0; o < idx.numElements(); ++o) {
    FailureOr<int64_t> off = elementOffset(ctx, x, idx, xs, is, indices, *axis, o);
    if (failed(off))
      return failure();
    memcpy(dst + o * elem, src + *off * elem, elem);
  }
  return success();
}

enum class ScatterReduce { None, Add, Mul, Max, Min };

FailureOr<ScatterReduce> scatterReduction(KernelContext &ctx) {
  std::string r = ctx.attrs().getString("reduction", "none");
  if (r == "none") return ScatterReduce::None;
  if (r == "add") return ScatterReduce::Add;
  if (r == "mul") return ScatterReduce::Mul;
  if (r == "max") return ScatterReduce::Max;
  if (r == "min") return ScatterReduce::Min;
  return ctx.error() << "reduction must be none, add, mul, max or min, found '" << r << "'";
}

/// dst[at] (op)= src[from], in the data's type.
LogicalResult scatterUpdate(KernelContext &ctx, DType dtype, ScatterReduce red, char *dst,
                            int64_t at, const char *src, int64_t from) {
  size_t elem = dtypeSize(dtype);
  if (red == ScatterReduce::None) {
    memcpy(dst + at * elem, src + from * elem, elem);
    return success();
  }
  return dispatch(ctx, dtype, [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    T &d = reinterpret_cast<T *>(dst)[at];
    T v = reinterpret_cast<const T *>(src)[from];
    switch (red) {
    case ScatterReduce::Add: d = T(d + v); break;
    case ScatterReduce::Mul: d = T(d * v); break;
    case ScatterReduce::Max: d = std::max(d, v); break;
    case ScatterReduce::Min: d = std::min(d, v); break;
    default: break;
    }
    return success();
  });
}

/// ScatterElements (and Scatter before opset 11): a copy of the data with
/// data[idx[i][j]][j] (op)= updates[i][j] (axis 0), in index order.
LogicalResult scatterElementsKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &idx = ctx.in(1), &upd = ctx.in(2);
  if (failed(requireInts(ctx, idx, "indices")))
    return failure();
  if (idx.shape() != upd.shape() || idx.rank() != x.rank() || upd.dtype() != x.dtype())
    return ctx.error() << "indices and updates must share a shape of the data's rank, "
                          "updates the data's type";
  FailureOr<int64_t> axis = checkedAxis(ctx, ctx.attrs().getInt("axis", 0), x.rank());
  FailureOr<ScatterReduce> red = scatterReduction(ctx);
  if (failed(axis) || failed(red))
    return failure();
  std::optional<Tensor> out = x.clone();
  if (!out)
    return ctx.error() << "cannot allocate the result";
  std::vector<int64_t> xs = stridesOf(x.shape()), is = stridesOf(idx.shape());
  std::vector<int64_t> indices = readInts(idx);
  for (int64_t o = 0; o < idx.numElements(); ++o) {
    FailureOr<int64_t> off = elementOffset(ctx, x, idx, xs, is, indices, *axis, o);
    if (failed(off))
      return failure();
    if (failed(scatterUpdate(ctx, x.dtype(), *red, out->mutableData<char>(), *off,
                             upd.data<char>(), o)))
      return failure();
  }
  ctx.outputs = {std::move(*out)};
  return success();
}

/// The element offset in `x` of the index tuple at row `r` of the last-dim
/// rows of `idx` (GatherND / ScatterND), after `batchOffset` leading dims.
FailureOr<int64_t> ndOffset(KernelContext &ctx, const std::vector<int64_t> &indices, int64_t r,
                            int64_t k, const Tensor &x, int64_t firstDim,
                            const std::vector<int64_t> &xs) {
  int64_t off = 0;
  for (int64_t j = 0; j < k; ++j) {
    FailureOr<int64_t> i =
        checkedIndex(ctx, indices[r * k + j], x.dim(firstDim + j), "index");
    if (failed(i))
      return failure();
    off += *i * xs[firstDim + j];
  }
  return off;
}

/// GatherND with batch_dims b: out[batch..., row...] = x[batch..., idx
/// tuple..., rest...].
LogicalResult gatherNDKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &idx = ctx.in(1);
  if (failed(requireInts(ctx, idx, "indices")) || idx.rank() < 1)
    return ctx.error() << "indices must be int64 of rank >= 1";
  int64_t b = ctx.attrs().getInt("batch_dims", 0), k = idx.dim(idx.rank() - 1);
  if (b < 0 || b >= std::min(x.rank(), idx.rank()) || b + k > x.rank())
    return ctx.error() << "batch_dims " << b << " and index depth " << k
                       << " do not fit data of rank " << x.rank();
  for (int64_t d = 0; d < b; ++d)
    if (x.dim(d) != idx.dim(d))
      return ctx.error() << "batch dim " << d << " differs between data and indices";
  Shape out(idx.shape().begin(), idx.shape().end() - 1);
  out.insert(out.end(), x.shape().begin() + b + k, x.shape().end());
  if (failed(ctx.alloc(0, x.dtype(), out)))
    return failure();
  int64_t batches = product(x.shape(), 0, b);
  int64_t rowsPerBatch = product(idx.shape(), b, idx.rank() - 1);
  int64_t slice = product(x.shape(), b + k) * dtypeSize(x.dtype());
  int64_t batchStride = product(x.shape(), b);
  std::vector<int64_t> xs = stridesOf(x.shape()), indices = readInts(idx);
  char *dst = ctx.outputs[0].mutableData<char>();
  for (int64_t bt = 0; bt < batches; ++bt)
    for (int64_t r = 0; r < rowsPerBatch; ++r) {
      int64_t row = bt * rowsPerBatch + r;
      FailureOr<int64_t> off = ndOffset(ctx, indices, row, k, x, b, xs);
      if (failed(off))
        return failure();
      memcpy(dst + row * slice,
             x.data<char>() + (bt * batchStride + *off) * dtypeSize(x.dtype()), slice);
    }
  return success();
}

/// ScatterND: a copy of the data with the slices at each index tuple
/// replaced by (or combined with) the matching updates.
LogicalResult scatterNDKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &idx = ctx.in(1), &upd = ctx.in(2);
  if (failed(requireInts(ctx, idx, "indices")) || idx.rank() < 1)
    return ctx.error() << "indices must be int64 of rank >= 1";
  int64_t k = idx.dim(idx.rank() - 1);
  if (k > x.rank() || upd.dtype() != x.dtype())
    return ctx.error() << "index depth " << k << " exceeds the data's rank, or updates "
                          "differ from the data in type";
  Shape want(idx.shape().begin(), idx.shape().end() - 1);
  want.insert(want.end(), x.shape().begin() + k, x.shape().end());
  if (upd.shape() != want)
    return ctx.error() << "updates have shape " << formatShape(upd.shape()) << ", expected "
                       << formatShape(want);
  FailureOr<ScatterReduce> red = scatterReduction(ctx);
  if (failed(red))
    return failure();
  std::optional<Tensor> out = x.clone();
  if (!out)
    return ctx.error() << "cannot allocate the result";
  int64_t rows = product(idx.shape(), 0, idx.rank() - 1), slice = product(x.shape(), k);
  std::vector<int64_t> xs = stridesOf(x.shape()), indices = readInts(idx);
  for (int64_t r = 0; r < rows; ++r) {
    FailureOr<int64_t> off = ndOffset(ctx, indices, r, k, x, 0, xs);
    if (failed(off))
      return failure();
    for (int64_t e = 0; e < slice; ++e)
      if (failed(scatterUpdate(ctx, x.dtype(), *red, out->mutableData<char>(), *off + e,
                               upd.data<char>(), r * slice + e)))
        return failure();
  }
  ctx.outputs = {std::move(*out)};
  return success();
}

/// A scalar (or one-element) input as double.
FailureOr<double> scalarOf(KernelContext &ctx, const Tensor &t, StringRef what) {
  if (t.numElements() != 1)
    return ctx.error() << what << " must hold one value, found " << t.numElements();
  double v = 0;
  LogicalResult r = dispatch(ctx, t.dtype(), [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    v = static_cast<double>(t.data<T>()[0]);
    return success();
  });
  if (failed(r))
    return failure();
  return v;
}

/// OneHot: a new axis of `depth` entries, values[1] where the index is,
/// values[0] elsewhere; negative indices count from the end, others out of
/// range give a row of off values (as ONNX specifies).
LogicalResult oneHotKernel(KernelContext &ctx) {
  const Tensor &idx = ctx.in(0), &values = ctx.in(2);
  FailureOr<double> depthV = scalarOf(ctx, ctx.in(1), "depth");
  if (failed(depthV))
    return failure();
  int64_t depth = saturateCast<int64_t>(*depthV);
  if (depth < 1 || values.numElements() != 2)
    return ctx.error() << "depth must be >= 1 and values hold [off, on]";
  int64_t rank = idx.rank() + 1;
  FailureOr<int64_t> axis = checkedAxis(ctx, ctx.attrs().getInt("axis", -1), rank);
  if (failed(axis))
    return failure();
  Shape out = idx.shape();
  out.insert(out.begin() + *axis, depth);
  if (failed(ctx.alloc(0, values.dtype(), out)))
    return failure();
  std::vector<double> index(idx.numElements());
  if (failed(dispatch(ctx, idx.dtype(), [&](auto tag) -> LogicalResult {
        using T = decltype(tag);
        for (int64_t i = 0; i < idx.numElements(); ++i)
          index[i] = static_cast<double>(idx.data<T>()[i]);
        return success();
      })))
    return failure();
  int64_t outer = product(idx.shape(), 0, *axis), inner = product(idx.shape(), *axis);
  size_t elem = dtypeSize(values.dtype());
  const char *off = values.data<char>(), *on = off + elem;
  char *dst = ctx.outputs[0].mutableData<char>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t d = 0; d < depth; ++d)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t k = saturateCast<int64_t>(index[o * inner + i]);
        if (k < 0)
          k += depth;
        memcpy(dst + ((o * depth + d) * inner + i) * elem, k == d ? on : off, elem);
      }
  return success();
}

/// EyeLike: ones on the k-th diagonal of a 2-d shape like the input.
LogicalResult eyeLikeKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (x.rank() != 2)
    return ctx.error() << "EyeLike takes a 2-d input";
  DType dtype = x.dtype();
  if (ctx.attrs().has("dtype")) {
    Type t = getElementTypeForOnnxDataType(ctx.op->getContext(), ctx.attrs().getInt("dtype", 1));
    std::optional<DType> d = t ? getDType(t) : std::nullopt;
    if (!d)
      return ctx.error() << "unsupported dtype " << ctx.attrs().getInt("dtype", 1);
    dtype = *d;
  }
  if (failed(ctx.alloc(0, dtype, x.shape(), /*zeroed=*/true)))
    return failure();
  int64_t k = ctx.attrs().getInt("k", 0);
  return dispatch(ctx, dtype, [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    T *out = ctx.outputs[0].mutableData<T>();
    for (int64_t i = 0; i < x.dim(0); ++i)
      if (i + k >= 0 && i + k < x.dim(1))
        out[i * x.dim(1) + i + k] = T(1);
    return success();
  });
}

/// Compress: the slices along `axis` (or the flattened input's elements)
/// whose condition entry is true.
LogicalResult compressKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &cond = ctx.in(1);
  if (cond.dtype() != DType::Bool || cond.rank() != 1)
    return ctx.error() << "condition must be a 1-d bool tensor";
  bool hasAxis = ctx.attrs().has("axis");
  int64_t axis = 0;
  Tensor src = x;
  if (hasAxis) {
    FailureOr<int64_t> a = checkedAxis(ctx, ctx.attrs().getInt("axis", 0), x.rank());
    if (failed(a))
      return failure();
    axis = *a;
  } else {
    src = x.reshaped({x.numElements()});
  }
  int64_t len = src.dim(axis);
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < std::min(len, cond.numElements()); ++i)
    if (cond.data<uint8_t>()[i])
      keep.push_back(i);
  Shape out = src.shape();
  out[axis] = keep.size();
  if (failed(ctx.alloc(0, x.dtype(), out)))
    return failure();
  int64_t outer = product(src.shape(), 0, axis),
          inner = product(src.shape(), axis + 1) * dtypeSize(x.dtype());
  char *dst = ctx.outputs[0].mutableData<char>();
  for (int64_t o = 0; o < outer; ++o)
    for (size_t j = 0; j < keep.size(); ++j)
      memcpy(dst + (o * keep.size() + j) * inner, src.data<char>() + (o * len + keep[j]) * inner,
             inner);
  return success();
}

/// NonZero: the indices of the non-zero elements, [rank, count], in
/// row-major order.
LogicalResult nonZeroKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  std::vector<int64_t> hits;
  if (failed(dispatch(ctx, x.dtype(), [&](auto tag) -> LogicalResult {
        using T = decltype(tag);
        for (int64_t i = 0; i < x.numElements(); ++i)
          if (x.data<T>()[i] != T(0))
            hits.push_back(i);
        return success();
      })))
    return failure();
  int64_t rank = std::max<int64_t>(1, x.rank()), n = hits.size();
  if (failed(ctx.alloc(0, DType::I64, {x.rank(), n})))
    return failure();
  std::vector<int64_t> st = stridesOf(x.shape());
  int64_t *out = ctx.outputs[0].mutableData<int64_t>();
  for (int64_t j = 0; j < n; ++j) {
    int64_t rem = hits[j];
    for (int64_t d = 0; d < x.rank(); ++d) {
      out[d * n + j] = rem / st[d];
      rem %= st[d];
    }
  }
  (void)rank;
  return success();
}

/// TopK: the k largest (or smallest) values along `axis` and their
/// indices; ties keep the lower index first, as ONNX specifies.
LogicalResult topKKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  int64_t k;
  if (ctx.opset < 10) {
    k = ctx.attrs().getInt("k", -1);
  } else {
    if (failed(requireInts(ctx, ctx.in(1), "K")) || ctx.in(1).numElements() != 1)
      return ctx.error() << "K must be one int64";
    k = readInts(ctx.in(1))[0];
  }
  FailureOr<int64_t> axis = checkedAxis(ctx, ctx.attrs().getInt("axis", -1), x.rank());
  if (failed(axis))
    return failure();
  int64_t len = x.dim(*axis);
  if (k < 0 || k > len)
    return ctx.error() << "K = " << k << " is outside [0, " << len << "]";
  bool largest = ctx.attrs().getInt("largest", 1) != 0;
  Shape out = x.shape();
  out[*axis] = k;
  if (failed(ctx.alloc(0, x.dtype(), out)) || failed(ctx.alloc(1, DType::I64, out)))
    return failure();
  int64_t outer = product(x.shape(), 0, *axis), inner = product(x.shape(), *axis + 1);
  return dispatch(ctx, x.dtype(), [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    const T *in = x.data<T>();
    T *vals = ctx.outputs[0].mutableData<T>();
    int64_t *idx = ctx.outputs[1].mutableData<int64_t>();
    std::vector<int64_t> order(len);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const T *src = in + o * len * inner + i;
        for (int64_t j = 0; j < len; ++j)
          order[j] = j;
        auto before = [&](int64_t a, int64_t b) {
          T va = src[a * inner], vb = src[b * inner];
          if (va != vb)
            return largest ? va > vb : va < vb;
          return a < b;
        };
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        for (int64_t j = 0; j < k; ++j) {
          int64_t at = (o * k + j) * inner + i;
          vals[at] = src[order[j] * inner];
          idx[at] = order[j];
        }
      }
    return success();
  });
}

/// Tile: the input repeated repeats[d] times along each dim d.
LogicalResult tileKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(requireInts(ctx, ctx.in(1), "repeats")))
    return failure();
  std::vector<int64_t> reps = readInts(ctx.in(1));
  if ((int64_t)reps.size() != x.rank())
    return ctx.error() << "repeats has " << reps.size() << " entries for rank " << x.rank();
  Shape out = x.shape();
  for (int64_t d = 0; d < x.rank(); ++d) {
    std::optional<int64_t> dim = checkedMulAdd(out[d], reps[d]);
    if (reps[d] < 0 || !dim)
      return ctx.error() << "repeats[" << d << "] = " << reps[d] << " is negative or too large";
    out[d] = *dim;
  }
  if (failed(ctx.alloc(0, x.dtype(), out)))
    return failure();
  size_t elem = dtypeSize(x.dtype());
  std::vector<int64_t> xs = stridesOf(x.shape()), os = stridesOf(out);
  char *dst = ctx.outputs[0].mutableData<char>();
  int64_t n = ctx.outputs[0].numElements();
  for (int64_t o = 0; o < n; ++o) {
    int64_t off = 0, rem = o;
    for (int64_t d = 0; d < x.rank(); ++d) {
      off += (rem / os[d]) % x.dim(d) * xs[d];
      rem %= os[d];
    }
    memcpy(dst + o * elem, x.data<char>() + off * elem, elem);
  }
  return success();
}

/// DepthToSpace (DCR or CRD) and SpaceToDepth on NCHW.
template <bool ToSpace>
LogicalResult depthSpaceKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  int64_t b = ctx.attrs().getInt("blocksize", 0);
  if (x.rank() != 4 || b < 1 || b > (1 << 16))
    return ctx.error() << "input must be 4-d NCHW and blocksize in [1, 65536]";
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  bool crd = ctx.attrs().getString("mode", "DCR") == "CRD";
  if (ToSpace ? c % (b * b) : (h % b || w % b))
    return ctx.error() << (ToSpace ? "channels" : "height and width")
                       << " must be divisible by the block size";
  Shape out = ToSpace ? Shape{n, c / (b * b), h * b, w * b} : Shape{n, c * b * b, h / b, w / b};
  if (failed(ctx.alloc(0, x.dtype(), out)))
    return failure();
  size_t elem = dtypeSize(x.dtype());
  const char *src = x.data<char>();
  char *dst = ctx.outputs[0].mutableData<char>();
  // Iterate over the space-side layout [n, C, h, b1, w, b2] where the
  // depth-side channel is (b1, b2, C) for DCR (and SpaceToDepth) or
  // (C, b1, b2) for CRD.
  int64_t cs = ToSpace ? c / (b * b) : c, hs = ToSpace ? h : h / b, ws = ToSpace ? w : w / b;
  for (int64_t in = 0; in < n; ++in)
    for (int64_t ch = 0; ch < cs; ++ch)
      for (int64_t y = 0; y < hs; ++y)
        for (int64_t b1 = 0; b1 < b; ++b1)
          for (int64_t xx = 0; xx < ws; ++xx)
            for (int64_t b2 = 0; b2 < b; ++b2) {
              int64_t depthC = crd ? (ch * b + b1) * b + b2 : (b1 * b + b2) * cs + ch;
              int64_t depthAt = ((in * cs * b * b + depthC) * hs + y) * ws + xx;
              int64_t spaceAt = ((in * cs + ch) * hs * b + y * b + b1) * ws * b + xx * b + b2;
              if (ToSpace)
                memcpy(dst + spaceAt * elem, src + depthAt * elem, elem);
              else
                memcpy(dst + depthAt * elem, src + spaceAt * elem, elem);
            }
  return success();
}

/// ReverseSequence: the first sequence_lens[b] entries along time_axis of
/// each batch entry reversed, the rest copied.
LogicalResult reverseSequenceKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(requireInts(ctx, ctx.in(1), "sequence_lens")))
    return failure();
  std::vector<int64_t> lens = readInts(ctx.in(1));
  int64_t ta = ctx.attrs().getInt("time_axis", 0), ba = ctx.attrs().getInt("batch_axis", 1);
  if (x.rank() < 2 || (ta != 0 && ta != 1) || (ba != 0 && ba != 1) || ta == ba)
    return ctx.error() << "time_axis and batch_axis must be 0 and 1 in some order";
  if ((int64_t)lens.size() != x.dim(ba))
    return ctx.error() << "sequence_lens has " << lens.size() << " entries for batch "
                       << x.dim(ba);
  std::optional<Tensor> out = x.clone();
  if (!out)
    return ctx.error() << "cannot allocate the result";
  int64_t inner = product(x.shape(), 2) * dtypeSize(x.dtype());
  std::vector<int64_t> st = stridesOf(x.shape());
  for (int64_t bi = 0; bi < x.dim(ba); ++bi) {
    if (lens[bi] < 0 || lens[bi] > x.dim(ta))
      return ctx.error() << "sequence_lens[" << bi << "] = " << lens[bi] << " is outside [0, "
                         << x.dim(ta) << "]";
    for (int64_t t = 0; t < lens[bi]; ++t) {
      int64_t from = (ta == 0 ? t * st[0] + bi * st[1] : bi * st[0] + t * st[1]);
      int64_t rt = lens[bi] - 1 - t;
      int64_t to = (ta == 0 ? rt * st[0] + bi * st[1] : bi * st[0] + rt * st[1]);
      memcpy(out->mutableData<char>() + to * dtypeSize(x.dtype()),
             x.data<char>() + from * dtypeSize(x.dtype()), inner);
    }
  }
  ctx.outputs = {std::move(*out)};
  return success();
}

LogicalResult sizeKernel(KernelContext &ctx) {
  if (failed(ctx.alloc(0, DType::I64, {})))
    return failure();
  *ctx.outputs[0].mutableData<int64_t>() = ctx.in(0).numElements();
  return success();
}

/// Dropout at inference: the input unchanged and, if asked for, an
/// all-true mask. Training mode (random) is refused.
LogicalResult dropoutKernel(KernelContext &ctx) {
  bool training = false;
  if (ctx.opset >= 12 && ctx.has(2)) {
    const Tensor &t = ctx.in(2);
    if (t.dtype() != DType::Bool || t.numElements() != 1)
      return ctx.error() << "training_mode must be one bool";
    training = t.data<uint8_t>()[0];
  } else if (ctx.opset < 7) {
    training = ctx.attrs().getInt("is_test", 0) == 0;
  }
  if (training) {
    // Ratio 0 drops nothing, so it is deterministic.
    double ratio = ctx.opset >= 12 ? 0.5 : ctx.attrs().getFloat("ratio", 0.5f);
    if (ctx.opset >= 12 && ctx.has(1)) {
      FailureOr<double> r = scalarOf(ctx, ctx.in(1), "ratio");
      if (failed(r))
        return failure();
      ratio = *r;
    }
    if (ratio != 0)
      return ctx.error() << "Dropout in training mode is random; the executor runs "
                            "inference (export the model in eval mode)";
  }
  ctx.outputs = {ctx.in(0)};
  if (ctx.op->getNumResults() > 1) {
    if (failed(ctx.alloc(1, DType::Bool, ctx.in(0).shape())))
      return failure();
    std::fill_n(ctx.outputs[1].mutableData<uint8_t>(), ctx.in(0).numElements(), 1);
  }
  return success();
}

/// NonMaxSuppression: per batch and class, boxes by descending score
/// (above score_threshold), each kept unless its IoU with a kept box
/// exceeds iou_threshold, at most max_output_boxes_per_class; the result
/// rows are (batch, class, box).
LogicalResult nmsKernel(KernelContext &ctx) {
  const Tensor &boxes = ctx.in(0), &scores = ctx.in(1);
  if (failed(requireF32(ctx, boxes, "boxes")) || failed(requireF32(ctx, scores, "scores")))
    return failure();
  if (boxes.rank() != 3 || boxes.dim(2) != 4 || scores.rank() != 3 ||
      scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1))
    return ctx.error() << "boxes must be [B, N, 4] and scores [B, C, N], found "
                       << formatShape(boxes.shape()) << " and " << formatShape(scores.shape());
  int64_t maxOut = 0;
  float iouThreshold = 0, scoreThreshold = -std::numeric_limits<float>::infinity();
  if (ctx.has(2) && ctx.in(2).numElements()) {
    if (failed(requireInts(ctx, ctx.in(2), "max_output_boxes_per_class")))
      return failure();
    maxOut = readInts(ctx.in(2))[0];
  }
  for (unsigned i : {3u, 4u})
    if (ctx.has(i) && ctx.in(i).numElements()) {
      if (failed(requireF32(ctx, ctx.in(i), i == 3 ? "iou_threshold" : "score_threshold")))
        return failure();
      (i == 3 ? iouThreshold : scoreThreshold) = ctx.in(i).data<float>()[0];
    }
  bool center = ctx.attrs().getInt("center_point_box", 0) != 0;
  int64_t nb = boxes.dim(0), nc = scores.dim(1), n = boxes.dim(1);
  // Corners (y1, x1, y2, x2) ordered so that y1 <= y2 and x1 <= x2.
  auto corners = [&](int64_t b, int64_t i) {
    const float *p = boxes.data<float>() + (b * n + i) * 4;
    std::array<float, 4> c;
    if (center)
      c = {p[1] - p[3] / 2, p[0] - p[2] / 2, p[1] + p[3] / 2, p[0] + p[2] / 2};
    else
      c = {std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]),
           std::max(p[1], p[3])};
    return c;
  };
  auto iou = [](const std::array<float, 4> &a, const std::array<float, 4> &b) {
    float ih = std::min(a[2], b[2]) - std::max(a[0], b[0]);
    float iw = std::min(a[3], b[3]) - std::max(a[1], b[1]);
    if (ih <= 0 || iw <= 0)
      return 0.0f;
    float inter = ih * iw;
    float uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return uni > 0 ? inter / uni : 0.0f;
  };
  std::vector<std::array<int64_t, 3>> selected;
  for (int64_t b = 0; b < nb && maxOut > 0; ++b)
    for (int64_t c = 0; c < nc; ++c) {
      const float *sc = scores.data<float>() + (b * nc + c) * n;
      std::vector<int64_t> order;
      for (int64_t i = 0; i < n; ++i)
        if (sc[i] > scoreThreshold)
          order.push_back(i);
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t x, int64_t y) { return sc[x] > sc[y]; });
      std::vector<std::array<float, 4>> kept;
      for (int64_t i : order) {
        if ((int64_t)kept.size() >= maxOut)
          break;
        std::array<float, 4> box = corners(b, i);
        bool suppressed = false;
        for (const auto &k : kept)
          if (iou(box, k) > iouThreshold) {
            suppressed = true;
            break;
          }
        if (suppressed)
          continue;
        kept.push_back(box);
        selected.push_back({b, c, i});
      }
    }
  if (failed(ctx.alloc(0, DType::I64, {(int64_t)selected.size(), 3})))
    return failure();
  for (size_t r = 0; r < selected.size(); ++r)
    for (int j = 0; j < 3; ++j)
      ctx.outputs[0].mutableData<int64_t>()[r * 3 + j] = selected[r][j];
  return success();
}

/// Unique: the distinct values (or slices along `axis`), sorted or in
/// order of first occurrence, with the first index of each, the index of
/// each input element (slice) in the result, and the counts.
LogicalResult uniqueKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  bool hasAxis = ctx.attrs().has("axis"), sorted = ctx.attrs().getInt("sorted", 1) != 0;
  Tensor src = x;
  int64_t axis = 0;
  if (hasAxis) {
    FailureOr<int64_t> a = checkedAxis(ctx, ctx.attrs().getInt("axis", 0), x.rank());
    if (failed(a))
      return failure();
    axis = *a;
  } else {
    src = x.reshaped({x.numElements()});
  }
  int64_t outer = product(src.shape(), 0, axis), len = src.dim(axis),
          inner = product(src.shape(), axis + 1);
  size_t elem = dtypeSize(x.dtype());
  // Slice j's elements in (outer, inner) order, as raw bytes for copying
  // and compared by value for ordering.
  std::vector<int64_t> order(len), firstOf, inverse(len), counts;
  std::vector<int64_t> rep; // representative slice of each unique entry
  LogicalResult r = dispatch(ctx, x.dtype(), [&](auto tag) -> LogicalResult {
    using T = decltype(tag);
    const T *d = src.data<T>();
    auto cmp = [&](int64_t a, int64_t b) -> int {
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          T va = d[(o * len + a) * inner + i], vb = d[(o * len + b) * inner + i];
          if (va < vb)
            return -1;
          if (vb < va)
            return 1;
        }
      return 0;
    };
    // Group equal slices: stable sort by value, then runs.
    for (int64_t j = 0; j < len; ++j)
      order[j] = j;
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
    std::vector<int64_t> groupOf(len);
    std::vector<int64_t> groupFirst, groupCount;
    for (int64_t k = 0; k < len; ++k) {
      if (k == 0 || cmp(order[k - 1], order[k]) != 0) {
        groupFirst.push_back(order[k]); // stable: the lowest index of the run
        groupCount.push_back(0);
      }
      groupOf[order[k]] = groupFirst.size() - 1;
      ++groupCount.back();
    }
    // Output order: by value (groups as they are) or by first occurrence.
    std::vector<int64_t> groupOrder(groupFirst.size());
    for (size_t g = 0; g < groupOrder.size(); ++g)
      groupOrder[g] = g;
    if (!sorted)
      std::stable_sort(groupOrder.begin(), groupOrder.end(), [&](int64_t a, int64_t b) {
        return groupFirst[a] < groupFirst[b];
      });
    std::vector<int64_t> position(groupFirst.size());
    for (size_t p = 0; p < groupOrder.size(); ++p) {
      position[groupOrder[p]] = p;
      rep.push_back(groupFirst[groupOrder[p]]);
      firstOf.push_back(groupFirst[groupOrder[p]]);
      counts.push_back(groupCount[groupOrder[p]]);
    }
    for (int64_t j = 0; j < len; ++j)
      inverse[j] = position[groupOf[j]];
    return success();
  });
  if (failed(r))
    return failure();
  int64_t k = rep.size();
  Shape yShape = src.shape();
  yShape[axis] = k;
  if (failed(ctx.alloc(0, x.dtype(), yShape)))
    return failure();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t u = 0; u < k; ++u)
      memcpy(ctx.outputs[0].mutableData<char>() + (o * k + u) * inner * elem,
             src.data<char>() + (o * len + rep[u]) * inner * elem, inner * elem);
  auto ints = [&](unsigned o, const std::vector<int64_t> &v) -> LogicalResult {
    if (ctx.op->getNumResults() <= o)
      return success();
    if (failed(ctx.alloc(o, DType::I64, {(int64_t)v.size()})))
      return failure();
    std::copy(v.begin(), v.end(), ctx.outputs[o].mutableData<int64_t>());
    return success();
  };
  if (failed(ints(1, firstOf)) || failed(ints(2, inverse)) || failed(ints(3, counts)))
    return failure();
  return success();
}

} // namespace

void registerIndexingKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "GatherElements", 11, any, gatherElementsKernel).inputs(2).half();
  r.add("", "GatherND", 11, any, gatherNDKernel).inputs(2).half();
  r.add("", "Scatter", 9, 10, scatterElementsKernel).inputs(3);
  r.add("", "ScatterElements", 11, any, scatterElementsKernel).inputs(3);
  r.add("", "ScatterND", 11, any, scatterNDKernel).inputs(3);
  r.add("", "OneHot", 9, any, oneHotKernel).inputs(3);
  r.add("", "EyeLike", 9, any, eyeLikeKernel);
  r.add("", "Compress", 9, any, compressKernel).inputs(2).half();
  r.add("", "NonZero", 9, any, nonZeroKernel);
  r.add("", "TopK", 1, 9, topKKernel).outputs(2);
  r.add("", "TopK", 10, any, topKKernel).inputs(2).outputs(2);
  r.add("", "Tile", 6, any, tileKernel).inputs(2).half();
  r.add("", "DepthToSpace", 1, any, depthSpaceKernel<true>).half();
  r.add("", "SpaceToDepth", 1, any, depthSpaceKernel<false>).half();
  r.add("", "ReverseSequence", 10, any, reverseSequenceKernel).inputs(2).half();
  r.add("", "Size", 1, any, sizeKernel).half();
  r.add("", "Dropout", 1, any, dropoutKernel).outputs(2).half();
  r.add("", "NonMaxSuppression", 10, any, nmsKernel).inputs(2);
  r.add("", "Unique", 11, any, uniqueKernel).outputs(4);
}

} // namespace amct::rt
