//===- Convolution.cpp - convolution and pooling kernels ----------------===//
//
// Conv and ConvTranspose through OpenBLAS (im2col / col2im plus
// single-threaded sgemm), the 3x3 depthwise fast path, MaxPool,
// AveragePool, GlobalAveragePool.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

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

std::vector<int64_t> attrOr(const std::optional<std::vector<int64_t>> &attr, size_t n, int64_t def) {
  if (attr && attr->size() >= n)
    return std::vector<int64_t>(attr->begin(), attr->end());
  return std::vector<int64_t>(n, def);
}

/// Fills `g` for a sliding-window op; `outSizes` (if given) fixes the
/// output size instead of computing it (ConvTranspose does that itself).
LogicalResult makeGeometry(KernelContext &ctx, const Shape &x, ArrayRef<int64_t> kernel,
                           const std::optional<std::vector<int64_t>> &strides, const std::optional<std::vector<int64_t>> &dilations,
                           const std::optional<std::vector<int64_t>> &pads, StringRef autoPad, bool ceilMode, Geometry &g) {
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
  OnnxAttrs a = ctx.attrs();
  const Tensor &x = ctx.in(0), &w = ctx.in(1);
  if (failed(requireReal<T>(ctx, x, "input")) || failed(requireReal<T>(ctx, w, "weight")))
    return failure();
  if (x.rank() < 3 || w.rank() != x.rank())
    return ctx.error() << "input " << formatShape(x.shape()) << " and weight "
                       << formatShape(w.shape()) << " do not fit a Conv";
  size_t n = x.rank() - 2;
  ArrayRef<int64_t> kernel(w.shape().data() + 2, w.rank() - 2);
  int64_t group = a.getInt("group", 1), m = w.dim(0), cPerGroup = w.dim(1);
  if (group < 1 || m % group)
    return ctx.error() << "group " << group << " does not divide the " << m
                       << " output channels";
  if (x.dim(1) != cPerGroup * group)
    return ctx.error() << "input has " << x.dim(1) << " channels, expected "
                       << cPerGroup * group;
  Geometry g;
  if (failed(makeGeometry(ctx, x.shape(), kernel, a.getInts("strides"), a.getInts("dilations"),
                          a.getInts("pads"), a.getString("auto_pad", "NOTSET"), false, g)) ||
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
  OnnxAttrs a = ctx.attrs();
  const Tensor &x = ctx.in(0), &w = ctx.in(1);
  if (failed(requireReal<T>(ctx, x, "input")) || failed(requireReal<T>(ctx, w, "weight")))
    return failure();
  size_t n = x.rank() - 2;
  if (n < 1 || n > 3 || w.rank() != x.rank())
    return ctx.error() << "input " << formatShape(x.shape()) << " and weight "
                       << formatShape(w.shape()) << " do not fit a 1-3 d ConvTranspose";
  int64_t group = a.getInt("group", 1);
  if (group < 1 || x.dim(1) % group)
    return ctx.error() << "group " << group << " does not divide the " << x.dim(1)
                       << " input channels";
  int64_t cIn = x.dim(1), cPerGroup = cIn / group,
          mPerGroup = w.dim(1), m = mPerGroup * group;
  if (w.dim(0) != cIn)
    return ctx.error() << "input has " << cIn << " channels, weight dim 0 is " << w.dim(0);
  auto s = attrOr(a.getInts("strides"), n, 1), d = attrOr(a.getInts("dilations"), n, 1),
       p = attrOr(a.getInts("pads"), 2 * n, 0), outPad = attrOr(a.getInts("output_padding"), n, 0);
  std::optional<std::vector<int64_t>> outputShapeAttr = a.getInts("output_shape");
  std::string autoPad = a.getString("auto_pad", "NOTSET");
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
LogicalResult poolKernel(KernelContext &ctx, ArrayRef<int64_t> kernel, const std::optional<std::vector<int64_t>> &strides,
                         const std::optional<std::vector<int64_t>> &dilations, const std::optional<std::vector<int64_t>> &pads, StringRef autoPad,
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
  OnnxAttrs a = ctx.attrs();
  if (a.getInt("storage_order", 0) != 0)
    return ctx.error() << "storage_order 1 (column-major indices) is not supported";
  std::optional<std::vector<int64_t>> kernel = a.getInts("kernel_shape");
  if (!kernel)
    return ctx.error() << "MaxPool needs kernel_shape";
  return poolKernel<true>(ctx, *kernel, a.getInts("strides"), a.getInts("dilations"),
                          a.getInts("pads"), a.getString("auto_pad", "NOTSET"),
                          a.getInt("ceil_mode", 0) != 0, false);
}

LogicalResult avgPoolKernel(KernelContext &ctx) {
  OnnxAttrs a = ctx.attrs();
  std::optional<std::vector<int64_t>> kernel = a.getInts("kernel_shape");
  if (!kernel)
    return ctx.error() << "AveragePool needs kernel_shape";
  auto pool = [&](KernelContext &c) {
    return poolKernel<false>(c, *kernel, a.getInts("strides"), a.getInts("dilations"),
                             a.getInts("pads"), a.getString("auto_pad", "NOTSET"),
                             a.getInt("ceil_mode", 0) != 0,
                             a.getInt("count_include_pad", 0) != 0);
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

/// GlobalAveragePool and GlobalMaxPool: one value per (n, c) plane.
template <bool IsMax>
LogicalResult globalPoolKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "input")))
    return failure();
  if (x.rank() < 2)
    return ctx.error() << "input must be [N, C, ...]";
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
      const float *src = x.data<float>() + p * spatial;
      if constexpr (IsMax) {
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t i = 0; i < spatial; ++i)
          m = std::max(m, src[i]);
        out[p] = m;
      } else {
        double acc = 0;
        for (int64_t i = 0; i < spatial; ++i)
          acc += src[i];
        out[p] = spatial ? acc / spatial : 0.0f;
      }
    }
  });
  return success();
}


/// ConvInteger: Conv of (x - x_zero_point) and (w - w_zero_point, per
/// output channel allowed) in int32.
LogicalResult convIntegerKernel(KernelContext &ctx) {
  FailureOr<Tensor> x = shiftedToDouble(ctx, ctx.in(0), ctx.has(2) ? &ctx.in(2) : nullptr, 1, "x");
  FailureOr<Tensor> w = shiftedToDouble(ctx, ctx.in(1), ctx.has(3) ? &ctx.in(3) : nullptr, 0, "w");
  if (failed(x) || failed(w))
    return failure();
  FailureOr<std::vector<Tensor>> y = runWithInputs(ctx, convKernel<double>, {&*x, &*w});
  if (failed(y) || failed(ctx.alloc(0, DType::I32, (*y)[0].shape())))
    return failure();
  for (int64_t i = 0; i < (*y)[0].numElements(); ++i)
    ctx.outputs[0].mutableData<int32_t>()[i] = int32_t((*y)[0].data<double>()[i]);
  return success();
}

/// QLinearConv: the integer conv plus the int32 bias, requantized with
/// x_scale * w_scale[c] / y_scale.
LogicalResult qlinearConvKernel(KernelContext &ctx) {
  FailureOr<Tensor> x = shiftedToDouble(ctx, ctx.in(0), &ctx.in(2), 1, "x");
  FailureOr<Tensor> w = shiftedToDouble(ctx, ctx.in(3), &ctx.in(5), 0, "w");
  if (failed(x) || failed(w))
    return failure();
  std::optional<Tensor> bias;
  if (ctx.has(8)) {
    FailureOr<Tensor> b = shiftedToDouble(ctx, ctx.in(8), nullptr, 0, "B");
    if (failed(b))
      return failure();
    bias = *b;
  }
  const Tensor &xs = ctx.in(1), &ws = ctx.in(4), &ys = ctx.in(6);
  if (xs.dtype() != DType::F32 || ws.dtype() != DType::F32 || ys.dtype() != DType::F32)
    return ctx.error() << "scales must be float32";
  FailureOr<std::vector<Tensor>> y = runWithInputs(
      ctx, convKernel<double>, {&*x, &*w, bias ? &*bias : nullptr});
  if (failed(y))
    return failure();
  std::vector<float> mult;
  for (int64_t c = 0; c < ws.numElements(); ++c)
    mult.push_back(xs.data<float>()[0] * ws.data<float>()[c] / ys.data<float>()[0]);
  return requantize(ctx, (*y)[0], mult, 1, ctx.in(7), 0);
}

} // namespace

void registerConvolutionKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "Conv", 1, any, integerCapable(convKernel<float>, convKernel<double>)).inputs(2);
  r.add("", "ConvTranspose", 1, any,
        integerCapable(convTransposeKernel<float>, convTransposeKernel<double>))
      .inputs(2);
  r.add("", "ConvInteger", 10, any, convIntegerKernel).inputs(2);
  r.add("", "QLinearConv", 10, any, qlinearConvKernel).inputs(8);
  r.add("", "MaxPool", 8, any, maxPoolKernel).outputs(2);
  r.add("", "AveragePool", 7, any, avgPoolKernel);
  r.add("", "GlobalAveragePool", 1, any, globalPoolKernel<false>);
  r.add("", "GlobalMaxPool", 1, any, globalPoolKernel<true>);
}

} // namespace amct::rt
