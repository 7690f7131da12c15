//===- Quantization.cpp - quantization and Ascend kernels ---------------===//
//
// amct.fake_quant, ONNX QuantizeLinear / DequantizeLinear, the Ascend
// deploy ops and the int8 product layers, simulated bit-exactly.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"

#include <cfloat>

using namespace mlir;

namespace amct::rt {
namespace {

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
  const Tensor &x = ctx.in(0), &scale = ctx.in(1);
  if (failed(requireF32(ctx, x, "input")))
    return failure();
  FailureOr<QdqLayout> layout = qdqLayout(ctx, x, scale, ctx.attrs().getInt("axis", 1));
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
  const Tensor &x = ctx.in(0), &scale = ctx.in(1);
  FailureOr<QdqLayout> layout = qdqLayout(ctx, x, scale, ctx.attrs().getInt("axis", 1));
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

/// amct.dequantize_weight: (float(q) - offset) * scale, per tensor,
/// channel or group.
LogicalResult dequantizeWeightKernel(KernelContext &ctx) {
  auto op = cast<DequantizeWeightOp>(ctx.op);
  FailureOr<Tensor> w = dequantizeWeight(ctx, ctx.in(0), ctx.in(1),
                                         ctx.has(2) ? &ctx.in(2) : nullptr, op.getGroupSize(),
                                         -1.0f);
  if (failed(w))
    return failure();
  // A 16-bit model's weight: the float32 value rounded to its type.
  Type elem = cast<ShapedType>(op.getType()).getElementType();
  if (!elem.isF32()) {
    std::optional<Tensor> half = w->convertFloat(elem.isF16() ? DType::F16 : DType::BF16);
    if (!half)
      return ctx.error() << "cannot allocate the 16-bit weight";
    w = std::move(*half);
  }
  ctx.outputs = {std::move(*w)};
  return success();
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

/// DynamicQuantizeLinear: uint8 with a scale and zero point from the
/// data's range extended to include 0, as ONNX defines it.
LogicalResult dynamicQuantizeLinearKernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "x")))
    return failure();
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < x.numElements(); ++i) {
    lo = std::min(lo, x.data<float>()[i]);
    hi = std::max(hi, x.data<float>()[i]);
  }
  float scale = (hi - lo) / 255.0f;
  float zpf = scale == 0 ? 0.0f : std::nearbyint(std::min(255.0f, std::max(0.0f, -lo / scale)));
  uint8_t zp = uint8_t(zpf);
  if (failed(ctx.alloc(0, DType::U8, x.shape())) || failed(ctx.alloc(1, DType::F32, {})) ||
      failed(ctx.alloc(2, DType::U8, {})))
    return failure();
  for (int64_t i = 0; i < x.numElements(); ++i) {
    float q = scale == 0 ? 0.0f : std::nearbyint(x.data<float>()[i] / scale) + zp;
    ctx.outputs[0].mutableData<uint8_t>()[i] = uint8_t(std::min(255.0f, std::max(0.0f, q)));
  }
  *ctx.outputs[1].mutableData<float>() = scale;
  *ctx.outputs[2].mutableData<uint8_t>() = zp;
  return success();
}

} // namespace


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
    auto layer = dyn_cast<QuantizableLayerOpInterface>(op);
    if (!layer)
      return ctx.error() << "int8 data reaches a " << ctx.opType
                         << " node that is not a typed layer (use ConvInteger / MatMulInteger)";
    if (isa<GemmOp>(op))
      if (ctx.attrs().getFloat("alpha", 1.0f) != 1.0f ||
          (ctx.has(2) && ctx.attrs().getFloat("beta", 1.0f) != 1.0f))
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
    dctx.opset = ctx.opset;
    dctx.opType = ctx.opType;
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


FailureOr<Tensor> dequantizeWeight(KernelContext &ctx, const Tensor &q, const Tensor &scale,
                                   const Tensor *offset, int64_t groupSize, float offsetSign) {
  if (q.dtype() != DType::I8 || q.rank() != 2)
    return ctx.error() << "the quantized weight must be a [K, N] int8 tensor, found "
                       << formatShape(q.shape());
  if (failed(requireF32(ctx, scale, "scale")) ||
      (offset && failed(requireF32(ctx, *offset, "offset"))))
    return failure();
  int64_t k = q.dim(0), n = q.dim(1);
  int64_t groups = groupSize > 0 ? (k + groupSize - 1) / groupSize : 1;
  // Scales are [G, N] or [G, 1] (the deploy op's [N] and [1] without groups).
  int64_t sRows = scale.rank() == 2 ? scale.dim(0) : 1;
  int64_t sCols = scale.rank() == 0 ? 1 : scale.dim(scale.rank() - 1);
  if (scale.rank() > 2 || sRows != groups || (sCols != n && sCols != 1) ||
      (groupSize > 0 && sCols != n))
    return ctx.error() << "scale of shape " << formatShape(scale.shape()) << " does not fit a ["
                       << k << ", " << n << "] weight"
                       << (groupSize > 0 ? " in groups of " + std::to_string(groupSize) : "");
  if (offset && offset->numElements() != scale.numElements())
    return ctx.error() << "offset of shape " << formatShape(offset->shape())
                       << " differs from the scale's " << formatShape(scale.shape());
  std::optional<Tensor> out = Tensor::uninitialized(DType::F32, {k, n});
  if (!out)
    return ctx.error() << "cannot allocate the [" << k << ", " << n << "] float weight";
  const int8_t *pq = q.data<int8_t>();
  const float *ps = scale.data<float>(), *po = offset ? offset->data<float>() : nullptr;
  float *pw = out->mutableData<float>();
  parallelFor(ctx.threads, k, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(n, 1)),
              [&](int64_t begin, int64_t end, int) {
                for (int64_t r = begin; r < end; ++r) {
                  int64_t base = (groupSize > 0 ? r / groupSize : 0) * sCols;
                  for (int64_t c = 0; c < n; ++c) {
                    int64_t i = base + (sCols == 1 ? 0 : c);
                    float v = float(pq[r * n + c]);
                    if (po)
                      v = v + offsetSign * po[i];
                    pw[r * n + c] = v * ps[i];
                  }
                }
              });
  return std::move(*out);
}

//===----------------------------------------------------------------------===//
// Per-token (dynamic) int8 quantization: amct.fake_quant_per_token and the
// deploy model's DynamicQuant / DynamicQuantV2 + QuantBatchMatmulV3
//===----------------------------------------------------------------------===//

/// One row's parameters, in float32 with the operations the exported ONNX
/// ops perform (ReduceMax/ReduceMin, Div, Max, Round, Sub, Clip), so the
/// executor, ONNX Runtime and the deploy ops agree bit for bit.
struct TokenParams {
  float scale, offset;
};

TokenParams tokenParams(const float *row, int64_t k, bool asymmetric) {
  if (!asymmetric) {
    float amax = 0.0f;
    for (int64_t i = 0; i < k; ++i)
      amax = std::max(amax, std::fabs(row[i]));
    return {std::max(amax / 127.0f, FLT_MIN), 0.0f};
  }
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < k; ++i) {
    lo = std::min(lo, row[i]);
    hi = std::max(hi, row[i]);
  }
  float scale = std::max((hi - lo) / 255.0f, FLT_MIN);
  float offset = std::clamp(-128.0f - std::nearbyint(lo / scale), -128.0f, 127.0f);
  return {scale, offset};
}

float tokenQuantize(float x, TokenParams p) {
  return std::clamp(std::nearbyint(x / p.scale) + p.offset, -128.0f, 127.0f);
}

LogicalResult fakeQuantPerTokenKernel(KernelContext &ctx) {
  auto op = cast<FakeQuantPerTokenOp>(ctx.op);
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "input")))
    return failure();
  if (x.rank() < 1)
    return ctx.error() << "per-token quantization needs rank >= 1";
  if (failed(ctx.allocInPlace(0, 0, DType::F32, x.shape())))
    return failure();
  int64_t k = x.dim(x.rank() - 1), rows = k ? x.numElements() / k : 0;
  bool asymmetric = op.getAsymmetric();
  const float *in = x.data<float>();
  float *out = ctx.outputs[0].mutableData<float>();
  parallelFor(ctx.threads, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(k, 1)),
              [&](int64_t begin, int64_t end, int) {
                for (int64_t r = begin; r < end; ++r) {
                  TokenParams p = tokenParams(in + r * k, k, asymmetric);
                  for (int64_t i = 0; i < k; ++i)
                    out[r * k + i] = (tokenQuantize(in[r * k + i], p) - p.offset) * p.scale;
                }
              });
  return success();
}

/// DynamicQuant (symmetric) and DynamicQuantV2 (with offsets).
LogicalResult dynamicQuantKernel(KernelContext &ctx) {
  bool asymmetric = isa<ascend::DynamicQuantV2Op>(ctx.op);
  const Tensor &x = ctx.in(0);
  if (failed(requireF32(ctx, x, "x")))
    return failure();
  if (x.rank() < 1)
    return ctx.error() << "per-token quantization needs rank >= 1";
  Shape paramShape(x.shape().begin(), x.shape().end() - 1);
  if (failed(ctx.alloc(0, DType::I8, x.shape())) || failed(ctx.alloc(1, DType::F32, paramShape)) ||
      (asymmetric && failed(ctx.alloc(2, DType::F32, paramShape))))
    return failure();
  int64_t k = x.dim(x.rank() - 1), rows = k ? x.numElements() / k : 0;
  const float *in = x.data<float>();
  int8_t *y = ctx.outputs[0].mutableData<int8_t>();
  float *scale = ctx.outputs[1].mutableData<float>();
  float *offset = asymmetric ? ctx.outputs[2].mutableData<float>() : nullptr;
  parallelFor(ctx.threads, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(k, 1)),
              [&](int64_t begin, int64_t end, int) {
                for (int64_t r = begin; r < end; ++r) {
                  TokenParams p = tokenParams(in + r * k, k, asymmetric);
                  scale[r] = p.scale;
                  if (offset)
                    offset[r] = p.offset;
                  for (int64_t i = 0; i < k; ++i)
                    y[r * k + i] = int8_t(tokenQuantize(in[r * k + i], p));
                }
              });
  return success();
}

/// QuantBatchMatmulV3: exact integer products (int32 accumulators; K is
/// limited so they cannot overflow), then the two scales and the bias in
/// float32.
LogicalResult quantBatchMatmulKernel(KernelContext &ctx) {
  const Tensor &x1 = ctx.in(0), &x2 = ctx.in(1), &scale = ctx.in(2), &pts = ctx.in(3);
  const Tensor *pto = ctx.has(4) ? &ctx.in(4) : nullptr;
  const Tensor *bias = ctx.has(5) ? &ctx.in(5) : nullptr;
  if (x1.dtype() != DType::I8 || x2.dtype() != DType::I8)
    return ctx.error() << "x1 and x2 must be int8, found " << dtypeName(x1.dtype()) << " and "
                       << dtypeName(x2.dtype());
  if (x1.rank() < 1 || x2.rank() != 2)
    return ctx.error() << "x1 must be [..., K] and x2 [K, N], found " << formatShape(x1.shape())
                       << " and " << formatShape(x2.shape());
  int64_t k = x2.dim(0), n = x2.dim(1);
  if (x1.dim(x1.rank() - 1) != k)
    return ctx.error() << "x1 has " << x1.dim(x1.rank() - 1) << " input channels, x2 " << k;
  // |x1 - offset| <= 255 and |x2| <= 128: K * 255 * 128 fits in int32.
  if (k > 65535)
    return ctx.error() << "K = " << k << " exceeds 65535";
  int64_t rows = product(x1.shape(), 0, x1.rank() - 1);
  for (auto [t, what] : {std::pair{&scale, "scale"}, std::pair{&pts, "pertoken_scale"}})
    if (t->dtype() != DType::F32)
      return ctx.error() << what << " must be float32";
  if (scale.numElements() != 1 && scale.numElements() != n)
    return ctx.error() << "scale has " << scale.numElements() << " values, expected 1 or " << n;
  if (pts.numElements() != rows || (pto && pto->numElements() != rows))
    return ctx.error() << "pertoken_scale/offset must have one value per row of x1 (" << rows
                       << ")";
  if (bias && (bias->dtype() != DType::F32 || bias->numElements() != n))
    return ctx.error() << "bias must be " << n << " float32 values";
  Shape outShape(x1.shape().begin(), x1.shape().end());
  outShape.back() = n;
  if (failed(ctx.alloc(0, DType::F32, outShape)))
    return failure();
  const int8_t *a = x1.data<int8_t>(), *w = x2.data<int8_t>();
  const float *ps = scale.data<float>(), *pt = pts.data<float>();
  const float *po = pto ? pto->data<float>() : nullptr, *pb = bias ? bias->data<float>() : nullptr;
  std::vector<int64_t> colSum(n, 0);
  if (po)
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < n; ++c)
        colSum[c] += w[r * n + c];
  float *out = ctx.outputs[0].mutableData<float>();
  bool perChannel = scale.numElements() == n && n != 1;
  parallelFor(ctx.threads, rows, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(k * n, 1)),
              [&](int64_t begin, int64_t end, int) {
                std::vector<int32_t> acc(n);
                for (int64_t m = begin; m < end; ++m) {
                  std::fill(acc.begin(), acc.end(), 0);
                  for (int64_t i = 0; i < k; ++i) {
                    int32_t v = a[m * k + i];
                    const int8_t *wr = w + i * n;
                    for (int64_t c = 0; c < n; ++c)
                      acc[c] += v * int32_t(wr[c]);
                  }
                  for (int64_t c = 0; c < n; ++c) {
                    int64_t total = acc[c];
                    if (po)
                      total -= int64_t(po[m]) * colSum[c];
                    float y = float(total) * ps[perChannel ? c : 0] * pt[m];
                    out[m * n + c] = pb ? y + pb[c] : y;
                  }
                }
              });
  return success();
}

/// AscendQuantV2 / AscendAntiQuantV2: per-channel scale and offset along
/// one axis (the last for AntiQuantV2), [C] or [1].
FailureOr<std::pair<int64_t, int64_t>> channelLayout(KernelContext &ctx, const Tensor &x,
                                                     const Tensor &scale, const Tensor &offset,
                                                     int64_t axis) {
  int64_t rank = x.rank(), a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    return ctx.error() << "axis " << axis << " is outside rank " << rank;
  int64_t c = x.dim(a);
  for (const Tensor *t : {&scale, &offset})
    if (t->dtype() != DType::F32 || (t->numElements() != c && t->numElements() != 1))
      return ctx.error() << "scale and offset must be float32 [" << c << "] or [1]";
  return std::make_pair(c, product(x.shape(), a + 1));
}

LogicalResult ascendQuantV2Kernel(KernelContext &ctx) {
  auto op = cast<ascend::QuantV2Op>(ctx.op);
  const Tensor &x = ctx.in(0), &scale = ctx.in(1), &offset = ctx.in(2);
  if (failed(requireF32(ctx, x, "x")))
    return failure();
  auto layout = channelLayout(ctx, x, scale, offset, op.getAxis());
  if (failed(layout) || failed(ctx.alloc(0, DType::I8, x.shape())))
    return failure();
  auto [c, inner] = *layout;
  const float *in = x.data<float>(), *ps = scale.data<float>(), *po = offset.data<float>();
  bool perS = scale.numElements() > 1, perO = offset.numElements() > 1;
  int8_t *out = ctx.outputs[0].mutableData<int8_t>();
  parallelElements(ctx, x.numElements(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t ch = (i / inner) % c;
      float v = std::nearbyint(in[i] * ps[perS ? ch : 0] + po[perO ? ch : 0]);
      out[i] = static_cast<int8_t>(std::clamp(v, -128.0f, 127.0f));
    }
  });
  return success();
}

LogicalResult ascendAntiQuantV2Kernel(KernelContext &ctx) {
  const Tensor &x = ctx.in(0), &scale = ctx.in(1), &offset = ctx.in(2);
  if (x.dtype() != DType::I8)
    return ctx.error() << "AscendAntiQuantV2 takes int8";
  auto layout = channelLayout(ctx, x, scale, offset, -1);
  if (failed(layout) || failed(ctx.alloc(0, DType::F32, x.shape())))
    return failure();
  auto [c, inner] = *layout;
  const int8_t *in = x.data<int8_t>();
  const float *ps = scale.data<float>(), *po = offset.data<float>();
  bool perS = scale.numElements() > 1, perO = offset.numElements() > 1;
  float *out = ctx.outputs[0].mutableData<float>();
  parallelElements(ctx, x.numElements(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t ch = (i / inner) % c;
      out[i] = (static_cast<float>(in[i]) + po[perO ? ch : 0]) * ps[perS ? ch : 0];
    }
  });
  return success();
}

void registerQuantizationKernels(KernelRegistry &r) {
  constexpr int64_t any = KernelEntry::kNoOpsetLimit;
  // An observer passes its input through; the executor's observer callback
  // sees the value.
  r.add("amct", "observer", 1, any, [](KernelContext &ctx) {
    ctx.outputs = {ctx.in(0)};
    return success();
  });
  r.add("amct", "fake_quant", 1, any, fakeQuantKernel);
  r.add("amct", "dequantize_weight", 1, any, dequantizeWeightKernel).inputs(2).half();
  r.add("amct", "fake_quant_per_token", 1, any, fakeQuantPerTokenKernel);
  r.add("", "QuantizeLinear", 10, 20, quantizeLinearKernel).inputs(2);
  r.add("", "DequantizeLinear", 10, 20, dequantizeLinearKernel).inputs(2);
  r.add("", "DynamicQuantizeLinear", 11, any, dynamicQuantizeLinearKernel).outputs(3);
  r.add("ascend", "AscendQuant", 1, any, ascendQuantKernel);
  r.add("ascend", "AscendDequant", 1, any, ascendDequantKernel).inputs(2);
  r.add("ascend", "AscendAntiQuant", 1, any, ascendAntiQuantKernel);
  r.add("ascend", "AscendQuantV2", 1, any, ascendQuantV2Kernel).inputs(3);
  r.add("ascend", "AscendAntiQuantV2", 1, any, ascendAntiQuantV2Kernel).inputs(3);
  r.add("ascend", "DynamicQuant", 1, any, dynamicQuantKernel).outputs(2);
  r.add("ascend", "DynamicQuantV2", 1, any, dynamicQuantKernel).outputs(3);
  r.add("ascend", "QuantBatchMatmulV3", 1, any, quantBatchMatmulKernel).inputs(4);
}

} // namespace amct::rt
