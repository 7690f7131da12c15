//===- Sampling.cpp - GridSample, RoiAlign, MaxUnpool ---------------------===//
//
// Kernels that read an image at computed positions: GridSample (bilinear,
// nearest, bicubic; zeros, border, reflection padding; PyTorch's
// grid_sample arithmetic, which ONNX adopted), RoiAlign (avg and max, as
// ONNX Runtime defines max: the largest weighted corner of each sample),
// and MaxUnpool (MaxPool's indices scattered back).
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

/// Grid coordinate in [-1, 1] to a pixel coordinate.
double unnormalize(double coord, int64_t size, bool alignCorners) {
  return alignCorners ? (coord + 1) / 2 * (size - 1) : ((coord + 1) * size - 1) / 2;
}

/// Reflects `in` into [twiceLow / 2, twiceHigh / 2].
double reflect(double in, int64_t twiceLow, int64_t twiceHigh) {
  if (twiceLow == twiceHigh)
    return 0;
  double min = twiceLow / 2.0, span = (twiceHigh - twiceLow) / 2.0;
  in = std::fabs(in - min);
  double extra = std::fmod(in, span);
  int64_t flips = saturateCast<int64_t>(std::floor(in / span));
  return flips % 2 == 0 ? extra + min : span - extra + min;
}

enum class Padding { Zeros, Border, Reflection };

double padCoordinate(double x, int64_t size, Padding padding, bool alignCorners) {
  if (padding == Padding::Border)
    return std::clamp(x, 0.0, double(size - 1));
  if (padding == Padding::Reflection) {
    x = alignCorners ? reflect(x, 0, 2 * (size - 1)) : reflect(x, -1, 2 * size - 1);
    return std::clamp(x, 0.0, double(size - 1));
  }
  return x;
}

double cubicWeight(double t, int k) {
  constexpr double A = -0.75;
  auto near = [](double x) { return ((A + 2) * x - (A + 3)) * x * x + 1; };
  auto far = [](double x) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; };
  switch (k) {
  case 0: return far(t + 1);
  case 1: return near(t);
  case 2: return near(1 - t);
  default: return far(2 - t);
  }
}

LogicalResult gridSampleKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &grid = ctx.in(1);
  if (failed(requireF32(ctx, x, "X")) || failed(requireF32(ctx, grid, "grid")))
    return failure();
  if (x.rank() != 4 || grid.rank() != 4 || grid.dim(0) != x.dim(0) || grid.dim(3) != 2)
    return ctx.error() << "X must be [N, C, H, W] and grid [N, Ho, Wo, 2], found "
                       << formatShape(x.shape()) << " and " << formatShape(grid.shape());
  std::string mode = ctx.attrs().getString("mode", "bilinear"),
              pad = ctx.attrs().getString("padding_mode", "zeros");
  bool align = ctx.attrs().getInt("align_corners", 0) != 0;
  if (mode != "bilinear" && mode != "nearest" && mode != "bicubic")
    return ctx.error() << "mode must be bilinear, nearest or bicubic, found '" << mode << "'";
  if (pad != "zeros" && pad != "border" && pad != "reflection")
    return ctx.error() << "padding_mode must be zeros, border or reflection, found '" << pad
                       << "'";
  Padding padding = pad == "zeros" ? Padding::Zeros
                    : pad == "border" ? Padding::Border
                                      : Padding::Reflection;
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), ho = grid.dim(1),
          wo = grid.dim(2);
  if (failed(ctx.alloc(0, DType::F32, {n, c, ho, wo})))
    return failure();
  const float *in = x.data<float>(), *g = grid.data<float>();
  float *out = ctx.outputs[0].mutableData<float>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < ho; ++oy)
      for (int64_t ox = 0; ox < wo; ++ox) {
        const float *gp = g + ((b * ho + oy) * wo + ox) * 2;
        double ix = unnormalize(gp[0], w, align), iy = unnormalize(gp[1], h, align);
        for (int64_t ch = 0; ch < c; ++ch) {
          const float *img = in + (b * c + ch) * h * w;
          auto at = [&](int64_t yy, int64_t xx) -> double {
            return (yy < 0 || yy >= h || xx < 0 || xx >= w) ? 0.0 : img[yy * w + xx];
          };
          double v;
          if (mode == "bicubic") {
            // Taps read with the padding applied to each index.
            int64_t x0 = saturateCast<int64_t>(std::floor(ix)), y0 = saturateCast<int64_t>(std::floor(iy));
            double tx = ix - x0, ty = iy - y0;
            v = 0;
            for (int i = 0; i < 4; ++i) {
              double row = 0;
              for (int j = 0; j < 4; ++j) {
                double xx = padCoordinate(double(x0 - 1 + j), w, padding, align);
                double yy = padCoordinate(double(y0 - 1 + i), h, padding, align);
                row += at(saturateCast<int64_t>(yy), saturateCast<int64_t>(xx)) * cubicWeight(tx, j);
              }
              v += row * cubicWeight(ty, i);
            }
          } else {
            double px = padCoordinate(ix, w, padding, align),
                   py = padCoordinate(iy, h, padding, align);
            if (mode == "nearest") {
              v = at(saturateCast<int64_t>(std::nearbyint(py)), saturateCast<int64_t>(std::nearbyint(px)));
            } else {
              int64_t x0 = saturateCast<int64_t>(std::floor(px)), y0 = saturateCast<int64_t>(std::floor(py));
              double tx = px - x0, ty = py - y0;
              v = at(y0, x0) * (1 - tx) * (1 - ty) + at(y0, x0 + 1) * tx * (1 - ty) +
                  at(y0 + 1, x0) * (1 - tx) * ty + at(y0 + 1, x0 + 1) * tx * ty;
            }
          }
          out[((b * c + ch) * ho + oy) * wo + ox] = float(v);
        }
      }
  return success();
}

/// RoiAlign: each region of interest pooled to output_height x
/// output_width bins of sampling_ratio^2 (or adaptive) bilinear samples.
LogicalResult roiAlignKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &rois = ctx.in(1), &idx = ctx.in(2);
  if (failed(requireF32(ctx, x, "X")) || failed(requireF32(ctx, rois, "rois")) ||
      failed(requireInts(ctx, idx, "batch_indices")))
    return failure();
  if (x.rank() != 4 || rois.rank() != 2 || rois.dim(1) != 4 || idx.numElements() != rois.dim(0))
    return ctx.error() << "X must be [N, C, H, W], rois [R, 4] and batch_indices [R]";
  OnnxAttrs a = ctx.attrs();
  std::string mode = a.getString("mode", "avg");
  if (mode != "avg" && mode != "max")
    return ctx.error() << "mode must be avg or max, found '" << mode << "'";
  bool halfPixel =
      a.getString("coordinate_transformation_mode", ctx.opset >= 16 ? "half_pixel" : "output_half_pixel") ==
      "half_pixel";
  int64_t oh = a.getInt("output_height", 1), ow = a.getInt("output_width", 1),
          ratio = a.getInt("sampling_ratio", 0);
  float scale = a.getFloat("spatial_scale", 1.0f);
  int64_t c = x.dim(1), h = x.dim(2), w = x.dim(3), r = rois.dim(0);
  if (oh < 1 || ow < 1 || ratio < 0)
    return ctx.error() << "output_height/width must be >= 1 and sampling_ratio >= 0";
  if (failed(ctx.alloc(0, DType::F32, {r, c, oh, ow})))
    return failure();
  std::vector<int64_t> batch = readInts(idx);
  float *out = ctx.outputs[0].mutableData<float>();
  for (int64_t k = 0; k < r; ++k) {
    if (batch[k] < 0 || batch[k] >= x.dim(0))
      return ctx.error() << "batch index " << batch[k] << " is out of range";
    const float *box = rois.data<float>() + k * 4;
    double off = halfPixel ? 0.5 : 0.0;
    double x1 = box[0] * scale - off, y1 = box[1] * scale - off, x2 = box[2] * scale - off,
           y2 = box[3] * scale - off;
    double rw = x2 - x1, rh = y2 - y1;
    if (!halfPixel) {
      rw = std::max(rw, 1.0);
      rh = std::max(rh, 1.0);
    }
    double bh = rh / oh, bw = rw / ow;
    int64_t gh = ratio > 0 ? ratio : saturateCast<int64_t>(std::ceil(rh / oh)),
            gw = ratio > 0 ? ratio : saturateCast<int64_t>(std::ceil(rw / ow));
    gh = std::max<int64_t>(gh, 1);
    gw = std::max<int64_t>(gw, 1);
    // A box far larger than the image (or not finite) would sample forever.
    if (gh > 4096 || gw > 4096 || !std::isfinite(rh) || !std::isfinite(rw))
      return ctx.error() << "region of interest " << k << " needs a " << gh << " x " << gw
                         << " sampling grid per bin; at most 4096 x 4096";
    for (int64_t ch = 0; ch < c; ++ch) {
      const float *img = x.data<float>() + (batch[k] * c + ch) * h * w;
      for (int64_t py = 0; py < oh; ++py)
        for (int64_t px = 0; px < ow; ++px) {
          double acc = mode == "avg" ? 0.0 : -std::numeric_limits<double>::infinity();
          for (int64_t iy = 0; iy < gh; ++iy)
            for (int64_t ix = 0; ix < gw; ++ix) {
              double yy = y1 + py * bh + (iy + 0.5) * bh / gh;
              double xx = x1 + px * bw + (ix + 0.5) * bw / gw;
              if (yy < -1.0 || yy > h || xx < -1.0 || xx > w) {
                if (mode == "avg")
                  continue;
                acc = std::max(acc, 0.0);
                continue;
              }
              yy = std::max(yy, 0.0);
              xx = std::max(xx, 0.0);
              int64_t y0 = saturateCast<int64_t>(yy), x0 = saturateCast<int64_t>(xx), yb, xb;
              if (y0 >= h - 1) {
                y0 = yb = h - 1;
                yy = y0;
              } else {
                yb = y0 + 1;
              }
              if (x0 >= w - 1) {
                x0 = xb = w - 1;
                xx = x0;
              } else {
                xb = x0 + 1;
              }
              double ly = yy - y0, lx = xx - x0, hy = 1 - ly, hx = 1 - lx;
              double v1 = hy * hx * img[y0 * w + x0], v2 = hy * lx * img[y0 * w + xb],
                     v3 = ly * hx * img[yb * w + x0], v4 = ly * lx * img[yb * w + xb];
              if (mode == "avg")
                acc += v1 + v2 + v3 + v4;
              else
                acc = std::max({acc, v1, v2, v3, v4});
            }
          if (mode == "avg")
            acc /= double(gh * gw);
          out[((k * c + ch) * oh + py) * ow + px] = float(acc);
        }
    }
  }
  return success();
}

/// MaxUnpool: zeros of the unpooled shape (or output_shape), each value
/// of X put at its index (flat over the whole output, as MaxPool gives it).
LogicalResult maxUnpoolKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &idx = ctx.in(1);
  if (failed(requireInts(ctx, idx, "I")) || idx.shape() != x.shape() || x.rank() < 3)
    return ctx.error() << "I must be int64 of X's shape [N, C, ...]";
  OnnxAttrs a = ctx.attrs();
  std::optional<std::vector<int64_t>> kernel = a.getInts("kernel_shape");
  size_t n = x.rank() - 2;
  if (!kernel || kernel->size() != n)
    return ctx.error() << "kernel_shape must have " << n << " values";
  std::vector<int64_t> strides = a.getInts("strides").value_or(std::vector<int64_t>(n, 1)),
                       pads = a.getInts("pads").value_or(std::vector<int64_t>(2 * n, 0));
  // The indices address the unpooled shape; an output_shape only adds room
  // (each index keeps its coordinates).
  Shape unpooled = x.shape();
  if (strides.size() != n || pads.size() != 2 * n)
    return ctx.error() << "strides and pads must have " << n << " and " << 2 * n << " values";
  for (size_t i = 0; i < n; ++i) {
    std::optional<int64_t> d = checkedMulAdd(x.dim(i + 2) - 1, strides[i], (*kernel)[i]);
    if (!d || strides[i] < 1 || (*kernel)[i] < 1 || pads[i] < 0 || pads[i + n] < 0 ||
        !checkedMulAdd(pads[i], 1, pads[i + n]) || *d - pads[i] - pads[i + n] < 1)
      return ctx.error() << "kernel_shape, strides and pads give no valid unpooled size";
    unpooled[i + 2] = *d - pads[i] - pads[i + n];
  }
  Shape out = unpooled;
  if (ctx.has(2) && ctx.in(2).numElements()) {
    FailureOr<Shape> s = shapeOperand(ctx, ctx.in(2), "output_shape");
    if (failed(s))
      return failure();
    if (s->size() != out.size())
      return ctx.error() << "output_shape has " << s->size() << " values for rank " << out.size();
    for (size_t i = 0; i < out.size(); ++i)
      if ((*s)[i] < unpooled[i])
        return ctx.error() << "output_shape " << formatShape(*s)
                           << " is smaller than the unpooled shape " << formatShape(unpooled);
    out = *s;
  }
  if (failed(ctx.alloc(0, x.dtype(), out, /*zeroed=*/true)))
    return failure();
  std::vector<int64_t> indices = readInts(idx);
  size_t elem = dtypeSize(x.dtype());
  int64_t unpooledTotal = product(unpooled);
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || indices[i] >= unpooledTotal)
      return ctx.error() << "index " << indices[i] << " is outside the " << unpooledTotal
                         << "-element unpooled tensor";
    int64_t rem = indices[i], at = 0, stride = 1;
    // Coordinates in the unpooled shape, re-linearised in the output's.
    std::vector<int64_t> coord(out.size());
    for (int64_t d = (int64_t)out.size() - 1; d >= 0; --d) {
      coord[d] = rem % unpooled[d];
      rem /= unpooled[d];
    }
    for (int64_t d = (int64_t)out.size() - 1; d >= 0; --d) {
      at += coord[d] * stride;
      stride *= out[d];
    }
    memcpy(ctx.outputs[0].mutableData<char>() + at * elem, x.data<char>() + i * elem, elem);
  }

  return success();
}

} // namespace

void registerSamplingKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  r.add("", "GridSample", 16, any, gridSampleKernel).inputs(2);
  r.add("", "RoiAlign", 10, any, roiAlignKernel).inputs(3);
  r.add("", "MaxUnpool", 9, any, maxUnpoolKernel).inputs(2).half();
}

} // namespace amct::rt
