//===- Resize.cpp - Resize ----------------------------------------------===//
//
// Resize (nearest and linear, separable) with ONNX's coordinate
// transformations.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

using namespace mlir;

namespace amct::rt {
namespace {

/// Resize, nearest and linear (separable: one axis at a time, which for
/// linear is exactly multilinear interpolation), with ONNX's coordinate
/// transformations (half_pixel, pytorch_half_pixel, align_corners,
/// asymmetric, tf_half_pixel_for_nn) and nearest modes.
LogicalResult resizeKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "X")))
    return failure();
  // Upsample and Resize-10 take only scales, with Upsample's arithmetic:
  // asymmetric coordinates, nearest rounds down.
  bool legacy = ctx.opType == "Upsample" || ctx.opset < 11;
  std::string mode = ctx.attrs().getString("mode", "nearest");
  std::string ctm =
      legacy ? "asymmetric" : ctx.attrs().getString("coordinate_transformation_mode", "half_pixel");
  std::string nearest =
      legacy ? "floor" : ctx.attrs().getString("nearest_mode", "round_prefer_floor");
  if (mode == "bilinear" || mode == "trilinear")
    mode = "linear"; // Upsample-7's names
  if (mode == "cubic")
    return ctx.error() << "cubic Resize is not implemented (nearest and linear are)";
  if (mode != "nearest" && mode != "linear")
    return ctx.error() << "mode must be nearest, linear or cubic, found '" << mode << "'";
  if (ctm == "tf_crop_and_resize")
    return ctx.error() << "tf_crop_and_resize is not implemented";
  int64_t rank = x.rank();
  std::vector<double> scales(rank, 1.0);
  Shape outShape = x.shape();
  unsigned scalesInput = legacy ? 1 : 2, sizesInput = legacy ? ~0u : 3;
  std::optional<std::vector<float>> scaleAttr =
      ctx.opType == "Upsample" && ctx.opset < 9 ? ctx.attrs().getFloats("scales") : std::nullopt;
  bool haveSizes = !legacy && ctx.has(sizesInput) && ctx.in(sizesInput).numElements() > 0;
  if (haveSizes) {
    FailureOr<Shape> sizes = shapeOperand(ctx, ctx.in(sizesInput), "sizes");
    if (failed(sizes))
      return failure();
    if ((int64_t)sizes->size() != rank)
      return ctx.error() << "'sizes' has " << sizes->size() << " values for rank " << rank;
    outShape = *sizes;
    for (int64_t i = 0; i < rank; ++i)
      scales[i] = x.dim(i) ? double(outShape[i]) / double(x.dim(i)) : 1.0;
  } else if (scaleAttr || (ctx.has(scalesInput) && ctx.in(scalesInput).numElements() > 0)) {
    std::vector<float> values;
    if (scaleAttr) {
      values = *scaleAttr;
    } else {
      const Tensor &s = ctx.in(scalesInput);
      if (s.dtype() != DType::F32)
        return ctx.error() << "'scales' must be float32";
      values.assign(s.data<float>(), s.data<float>() + s.numElements());
    }
    if ((int64_t)values.size() != rank)
      return ctx.error() << "'scales' must hold " << rank << " float32 values";
    for (int64_t i = 0; i < rank; ++i) {
      scales[i] = values[i];
      if (!(scales[i] > 0))
        return ctx.error() << "scales[" << i << "] is " << scales[i] << "; must be positive";
      outShape[i] = saturateCast<int64_t>(std::floor(double(x.dim(i)) * double(values[i])));
    }
  } else {
    return ctx.error() << "Resize needs 'scales' or 'sizes'";
  }
  // ONNX's definition takes the resized length as length * scale (not
  // rounded) when scales are given, and the output size otherwise.
  bool fromScales = !haveSizes;
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
      return saturateCast<int64_t>(std::floor(v));
    if (nearest == "ceil")
      return saturateCast<int64_t>(std::ceil(v));
    double f = std::floor(v);
    if (v - f == 0.5)
      return nearest == "round_prefer_ceil" ? (int64_t)f + 1 : (int64_t)f;
    return saturateCast<int64_t>(std::round(v));
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
        i0 = saturateCast<int64_t>(std::floor(xo));
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


} // namespace

void registerResizeKernels(KernelRegistry &r) {
  r.add("", "Resize", 10, KernelEntry::kNoOpsetLimit, resizeKernel);
  r.add("", "Upsample", 7, 9, resizeKernel);
}

} // namespace amct::rt
