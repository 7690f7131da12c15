//===- DataMovement.cpp - data movement and indexing kernels ------------===//
//
// Shape arithmetic, reshaping (views of the input), Concat, Split, Gather,
// Transpose, Slice, Pad, Expand, Range, Trilu, Cast. Kernels that only move
// elements work on raw bytes, so they serve every dtype.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

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
  FailureOr<Shape> shape = shapeOperand(ctx, ctx.in(0), "input");
  if (failed(shape))
    return failure();
  for (int64_t d : *shape)
    if (d < 0)
      return ctx.error() << "input holds the negative dimension " << d;
  DType dtype = DType::F32;
  std::vector<char> value(4, 0);
  if (ElementsAttr attr = ctx.attrs().getTensor("value")) {
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
  bool upper = ctx.attrs().getInt("upper", 1) != 0;
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
  const Tensor &x = ctx.in(0);
  int64_t rank = x.rank(), axis = ctx.attrs().getInt("axis", 0);
  if (axis < -rank || axis >= rank)
    return ctx.error() << "axis " << axis << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  std::optional<SmallVector<int64_t>> split;
  if (ctx.opset < 13) {
    // Before opset 13 the sizes are an attribute.
    if (auto s = ctx.attrs().getInts("split"))
      split = SmallVector<int64_t>(s->begin(), s->end());
  } else if (ctx.has(1)) {
    FailureOr<Shape> s = shapeOperand(ctx, ctx.in(1), "split");
    if (failed(s))
      return failure();
    split = SmallVector<int64_t>(s->begin(), s->end());
  }
  int64_t n = ctx.op->getNumResults();
  std::string why;
  std::optional<SmallVector<int64_t>> sizes =
      computeSplitSizes(x.dim(axis), n, split, ctx.attrs().has("num_outputs"), why);
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


LogicalResult identityKernel(KernelContext &ctx) {
  ctx.outputs = {ctx.in(0)};
  return success();
}

LogicalResult reshapeKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &shapeT = ctx.in(1);
  if (failed(requireInts(ctx, shapeT, "shape")))
    return failure();
  bool allowZero = ctx.attrs().getInt("allowzero", 0) != 0;
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
      std::optional<int64_t> k = checkedMulAdd(known, d);
      if (!k)
        return ctx.error() << "shape " << formatShape(Shape(target.begin(), target.end()))
                           << " has too many elements";
      known = *k;
    }
    out.push_back(d);
  }
  if (infer >= 0) {
    if (known == 0 || x.numElements() % known)
      return ctx.error() << "cannot reshape " << formatShape(x.shape()) << " into "
                         << formatShape(Shape(target.begin(), target.end()));
    out[infer] = x.numElements() / known;
  }
  if (numElementsOf(out) != x.numElements())
    return ctx.error() << "cannot reshape " << formatShape(x.shape()) << " into "
                       << formatShape(out);
  ctx.outputs = {x.reshaped(out)};
  return success();
}

LogicalResult flattenKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  int64_t axis = ctx.attrs().getInt("axis", 1);
  if (axis < -x.rank() || axis > x.rank())
    return ctx.error() << "axis " << axis << " is out of range for rank " << x.rank();
  axis = normAxis(axis, x.rank());
  ctx.outputs = {x.reshaped({product(x.shape(), 0, axis), product(x.shape(), axis)})};
  return success();
}

LogicalResult squeezeKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  std::vector<bool> drop(x.rank(), false);
  auto axes = readAxes(ctx, 1, 13);
  if (failed(axes))
    return failure();
  if (*axes) {
    for (int64_t a : **axes) {
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
  auto axesOr = readAxes(ctx, 1, 13);
  if (failed(axesOr))
    return failure();
  if (!*axesOr)
    return ctx.error() << "Unsqueeze needs axes";
  std::vector<int64_t> axes = **axesOr;
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
  int64_t axis = normAxis(ctx.attrs().getInt("axis", 0), first.rank());
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
  if (auto p = ctx.attrs().getInts("perm"))
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
  int64_t axis = ctx.attrs().getInt("axis", 0);
  if (axis < -x.rank() || axis >= x.rank())
    return ctx.error() << "axis " << axis << " is out of range for rank " << x.rank();
  axis = normAxis(axis, x.rank());
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
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset < 10) {
    // Before opset 10: attributes, no steps.
    starts = ctx.attrs().getInts("starts").value_or(std::vector<int64_t>{});
    ends = ctx.attrs().getInts("ends").value_or(std::vector<int64_t>{});
    axes = ctx.attrs().getInts("axes").value_or(std::vector<int64_t>{});
  } else {
    for (unsigned i = 1; i < 5; ++i)
      if (ctx.has(i) && failed(requireInts(ctx, ctx.in(i), "starts/ends/axes/steps")))
        return failure();
    starts = readInts(ctx.in(1));
    ends = readInts(ctx.in(2));
    if (ctx.has(3))
      axes = readInts(ctx.in(3));
    if (ctx.has(4))
      steps = readInts(ctx.in(4));
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
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
  const Tensor &x = ctx.in(0);
  int64_t rank = x.rank();
  std::vector<int64_t> padsIn, axes;
  bool legacy = ctx.opset < 11; // pads and value as attributes
  if (legacy) {
    padsIn = ctx.attrs().getInts("pads").value_or(std::vector<int64_t>{});
  } else {
    if (!ctx.has(1) || failed(requireInts(ctx, ctx.in(1), "pads")))
      return ctx.error() << "Pad needs int64 pads";
    padsIn = readInts(ctx.in(1));
    if (ctx.has(3)) {
      if (failed(requireInts(ctx, ctx.in(3), "axes")))
        return failure();
      axes = readInts(ctx.in(3));
    }
  }
  if (axes.empty())
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  for (int64_t &a : axes) {
    if (a < -rank || a >= rank)
      return ctx.error() << "axis " << a << " is out of range for rank " << rank;
    a = normAxis(a, rank);
  }
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
    std::optional<int64_t> d = checkedMulAdd(pb[i], 1, pe[i]);
    if (d)
      d = checkedMulAdd(x.dim(i), 1, *d);
    if (!d || *d < 0)
      return ctx.error() << "pads make axis " << i << " negative or too large";
    out[i] = *d;
  }
  if (failed(ctx.alloc(0, x.dtype(), out)))
    return failure();
  std::string mode = ctx.attrs().getString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    return ctx.error() << "mode must be constant, reflect, edge or wrap, found '" << mode << "'";
  size_t elem = dtypeSize(x.dtype());
  std::vector<char> fill(elem, 0);
  if (legacy) {
    float value = ctx.attrs().getFloat("value", 0.0f);
    if (failed(dispatch(ctx, x.dtype(), [&](auto tag) -> LogicalResult {
          using T = decltype(tag);
          T v = static_cast<T>(value);
          memcpy(fill.data(), &v, elem);
          return success();
        })))
      return failure();
  } else if (ctx.has(2) && ctx.in(2).numElements()) {
    if (ctx.in(2).dtype() != x.dtype())
      return ctx.error() << "constant_value is " << dtypeName(ctx.in(2).dtype())
                         << ", the data " << dtypeName(x.dtype());
    memcpy(fill.data(), ctx.in(2).raw(), elem);
  }
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
  const Tensor &x = ctx.in(0);
  int64_t rank = x.rank();
  auto clampAxis = [&](int64_t a) { return std::clamp<int64_t>(a < 0 ? a + rank : a, 0, rank); };
  int64_t start = clampAxis(ctx.attrs().getInt("start", 0));
  int64_t end = clampAxis(ctx.attrs().getInt("end", rank));
  int64_t n = std::max<int64_t>(0, end - start);
  if (failed(ctx.alloc(0, DType::I64, {n})))
    return failure();
  for (int64_t i = 0; i < n; ++i)
    ctx.outputs[0].mutableData<int64_t>()[i] = x.dim(start + i);
  return success();
}

/// Converts `x` to `dt` as ONNX Cast does (numeric -> bool is != 0);
/// 16-bit floats go through float32, rounding to nearest even on store.
LogicalResult castTo(KernelContext &ctx, const Tensor &x, DType dt) {
  if (isHalfFloat(x.dtype())) {
    std::optional<Tensor> f = x.convertFloat(DType::F32);
    if (!f)
      return ctx.error() << "cannot allocate a float32 copy of the input";
    if (dt == DType::F32) {
      ctx.outputs = {std::move(*f)};
      return success();
    }
    return castTo(ctx, *f, dt);
  }
  DType via = isHalfFloat(dt) ? DType::F32 : dt;
  if (failed(ctx.alloc(0, via, x.shape())))
    return failure();
  LogicalResult result = dispatch(ctx, x.dtype(), [&](auto st) -> LogicalResult {
    using S = decltype(st);
    return dispatch(ctx, via, [&](auto dtag) -> LogicalResult {
      using D = decltype(dtag);
      const S *src = x.data<S>();
      D *dst = ctx.outputs[0].mutableData<D>();
      for (int64_t i = 0, n = x.numElements(); i < n; ++i) {
        if constexpr (std::is_same_v<D, bool>)
          dst[i] = src[i] != S(0);
        else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<S>)
          dst[i] = saturateCast<D>(src[i]);
        else
          dst[i] = static_cast<D>(src[i]);
      }
      return success();
    });
  });
  if (failed(result) || via == dt)
    return result;
  std::optional<Tensor> h = ctx.outputs[0].convertFloat(dt);
  if (!h)
    return ctx.error() << "cannot allocate the " << dtypeName(dt) << " result";
  ctx.outputs[0] = std::move(*h);
  return success();
}

LogicalResult castKernel(KernelContext &ctx) {
  Type to = getElementTypeForOnnxDataType(ctx.op->getContext(), ctx.attrs().getInt("to", 0));
  std::optional<DType> dt = to ? getDType(to) : std::nullopt;
  if (!dt)
    return ctx.error() << "cannot cast to " << to;
  return castTo(ctx, ctx.in(0), *dt);
}

/// CastLike: Cast to the element type of input 1.
LogicalResult castLikeKernel(KernelContext &ctx) {
  return castTo(ctx, ctx.in(0), ctx.in(1).dtype());
}


} // namespace

FailureOr<Tensor> constantNodeValue(Operation *op) {
  KernelContext ctx{op, {}, {}, 1};
  OnnxAttrs attrs = ctx.attrs();
  auto make = [&](DType dtype, Shape shape, auto fill) -> FailureOr<Tensor> {
    std::optional<Tensor> t = Tensor::zeros(dtype, shape);
    if (!t)
      return op->emitError("cannot allocate constant");
    fill(*t);
    return *t;
  };
  FailureOr<Tensor> result = failure();
  if (ElementsAttr v = attrs.getTensor("value"))
    result = materialize(op, v);
  else if (attrs.has("value_float")) {
    float f = attrs.getFloat("value_float", 0);
    result = make(DType::F32, {}, [&](Tensor &t) { *t.mutableData<float>() = f; });
  } else if (attrs.has("value_int")) {
    int64_t i = attrs.getInt("value_int", 0);
    result = make(DType::I64, {}, [&](Tensor &t) { *t.mutableData<int64_t>() = i; });
  } else if (auto fs = attrs.getFloats("value_floats")) {
    result = make(DType::F32, {(int64_t)fs->size()},
                  [&](Tensor &t) { llvm::copy(*fs, t.mutableData<float>()); });
  } else if (auto is = attrs.getInts("value_ints")) {
    result = make(DType::I64, {(int64_t)is->size()},
                  [&](Tensor &t) { llvm::copy(*is, t.mutableData<int64_t>()); });
  } else if (!ctx.attributeError) {
    return op->emitError("Constant without value, value_float(s) or value_int(s) (string "
                         "and sparse constants cannot be executed)");
  }
  if (ctx.attributeError)
    return failure();
  // A blob-backed value lives as long as the module: the executor keeps
  // constants only while it runs the module.
  return result;
}

void registerDataMovementKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "Expand", 8, any, expandKernel).inputs(2).half();
  r.add("", "ConstantOfShape", 9, any, constantOfShapeKernel);
  r.add("", "Range", 11, any, rangeKernel).inputs(3);
  r.add("", "Trilu", 14, any, triluKernel);
  r.add("", "Split", 2, any, splitKernel).outputs(~0u).half();
  r.add("", "Identity", 1, any, identityKernel).half();
  // Typed Constant ops are materialised once when the executor prepares; a
  // generic Constant node (another opset, another attribute) runs here.
  r.add("", "Constant", 1, any, [](KernelContext &ctx) -> LogicalResult {
    FailureOr<Tensor> t = constantNodeValue(ctx.op);
    if (failed(t))
      return failure();
    ctx.outputs = {*t};
    return success();
  });
  r.add("", "Reshape", 5, any, reshapeKernel).inputs(2).half();
  r.add("", "Flatten", 1, any, flattenKernel).half();
  r.add("", "Transpose", 1, any, transposeKernel).half();
  r.add("", "Squeeze", 1, any, squeezeKernel).half();
  r.add("", "Unsqueeze", 1, 12, unsqueezeKernel).half();
  r.add("", "Unsqueeze", 13, any, unsqueezeKernel).inputs(2).half();
  r.add("", "Concat", 4, any, concatKernel).half();
  r.add("", "Gather", 1, any, gatherKernel).inputs(2).half();
  r.add("", "Slice", 1, 9, sliceKernel).half();
  r.add("", "Slice", 10, any, sliceKernel).inputs(3).half();
  r.add("", "Pad", 2, 10, padKernel).half();
  r.add("", "Pad", 11, any, padKernel).inputs(2).half();
  r.add("", "Shape", 1, any, shapeKernel).half();
  r.add("", "Cast", 6, any, castKernel).half();
  r.add("", "CastLike", 15, any, castLikeKernel).inputs(2).half();
}

} // namespace amct::rt
