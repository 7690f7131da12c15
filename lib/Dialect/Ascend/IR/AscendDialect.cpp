//===- AscendDialect.cpp - Ascend deploy ops -------------------------------===//
//
// Verifiers enforce what the NPU kernels accept: finite non-zero scales,
// offsets inside the destination integer range, known rounding modes, and
// per-channel dequantization scales sized to the channel dimension.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Ascend/IR/Ascend.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/SmallString.h"

#include <cmath>

using namespace mlir;
using namespace amct::ascend;

#include "amct/Dialect/Ascend/IR/AscendDialect.cpp.inc"

void AscendDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "amct/Dialect/Ascend/IR/AscendOps.cpp.inc"
      >();
}

/// Shortest decimal form of a float, for messages.
static std::string formatFloat(float value) {
  SmallString<16> text;
  llvm::APFloat(value).toString(text);
  return std::string(text);
}

/// Bit width of an AscendQuant/AscendWeightQuant `dst_type`, or failure.
static FailureOr<unsigned> getDstBits(Operation *op, StringRef dstType) {
  if (dstType == "INT8")
    return 8u;
  if (dstType == "INT4")
    return 4u;
  return op->emitOpError() << "dst_type is '" << dstType << "', expected INT8 or INT4";
}

static LogicalResult checkResultBits(Operation *op, Type result, unsigned bits) {
  if (getElementTypeOrSelf(result).getIntOrFloatBitWidth() != bits)
    return op->emitOpError() << "result element type " << getElementTypeOrSelf(result)
                             << " does not match dst_type (i" << bits << ")";
  return success();
}

static LogicalResult checkSameShape(Operation *op, Type a, Type b) {
  if (failed(verifyCompatibleShape(a, b)))
    return op->emitOpError() << "result shape of " << b
                             << " differs from the input shape of " << a;
  return success();
}

/// The float element type encoded by an Ascend `dtype` attribute.
static LogicalResult checkDtype(Operation *op, int64_t dtype, Type result) {
  Type elem = getElementTypeOrSelf(result);
  if (dtype == 0 && elem.isF32())
    return success();
  if (dtype == 1 && elem.isF16())
    return success();
  if (dtype != 0 && dtype != 1)
    return op->emitOpError() << "dtype is " << dtype
                             << ", expected 0 (float32) or 1 (float16)";
  return op->emitOpError() << "dtype " << dtype << " does not match result element type "
                           << elem;
}

static LogicalResult checkScale(Operation *op, float scale) {
  if (!std::isfinite(scale) || scale == 0.0f)
    return op->emitOpError() << "scale must be finite and non-zero, found "
                             << formatFloat(scale);
  return success();
}

LogicalResult QuantOp::verify() {
  FailureOr<unsigned> bits = getDstBits(*this, getDstType());
  if (failed(bits) || failed(checkResultBits(*this, getY().getType(), *bits)) ||
      failed(checkSameShape(*this, getX().getType(), getY().getType())) ||
      failed(checkScale(*this, getScale().convertToFloat())))
    return failure();
  StringRef mode = getRoundMode();
  if (mode != "Round" && mode != "Floor" && mode != "Ceil" && mode != "Trunc")
    return emitOpError() << "round_mode is '" << mode
                         << "', expected Round, Floor, Ceil or Trunc";
  float offset = getOffset().convertToFloat();
  int64_t lo = -(int64_t(1) << (*bits - 1)), hi = (int64_t(1) << (*bits - 1)) - 1;
  if (!(offset >= lo && offset <= hi) || offset != std::nearbyint(offset))
    return emitOpError() << "offset must be an integer in [" << lo << ", " << hi
                         << "], found " << formatFloat(offset);
  return success();
}

LogicalResult DequantOp::verify() {
  if (failed(checkDtype(*this, getDtype(), getY().getType())) ||
      failed(checkSameShape(*this, getX().getType(), getY().getType())))
    return failure();
  auto scale = cast<TensorType>(getDeqScale().getType());
  if (!scale.hasRank())
    return success();
  if (scale.getRank() != 1)
    return emitOpError() << "deq_scale must have rank 1, found rank " << scale.getRank();
  auto x = cast<TensorType>(getX().getType());
  int64_t n = scale.getDimSize(0);
  if (ShapedType::isDynamic(n) || n == 1 || !x.hasRank() || x.getRank() < 2)
    return success();
  // Channels are dim 1 (NCHW layers) or the last dim (Linear on N-d input).
  int64_t c1 = x.getDimSize(1), cLast = x.getDimSize(x.getRank() - 1);
  if (n == c1 || n == cLast || ShapedType::isDynamic(c1))
    return success();
  return emitOpError() << "deq_scale has " << n << " elements, expected 1 or one per channel ("
                       << c1 << ")";
}

LogicalResult AntiQuantOp::verify() {
  FailureOr<unsigned> bits = getDstBits(*this, getDstType());
  return failure(failed(bits) || failed(checkResultBits(*this, getX().getType(), *bits)) ||
                 failed(checkDtype(*this, getDtype(), getY().getType())) ||
                 failed(checkSameShape(*this, getX().getType(), getY().getType())) ||
                 failed(checkScale(*this, getScale().convertToFloat())));
}

LogicalResult WeightQuantOp::verify() {
  FailureOr<unsigned> bits = getDstBits(*this, getDstType());
  return failure(failed(bits) ||
                 failed(checkResultBits(*this, getY().getType(), *bits)) ||
                 failed(checkSameShape(*this, getX().getType(), getY().getType())));
}

/// Static size or -1.
static int64_t staticDim(RankedTensorType t, int64_t i) {
  return t.isDynamicDim(i) ? -1 : t.getDimSize(i);
}

/// A matmul's optional bias ([N]) and its result (last dim N), N = `n` or
/// unknown (-1).
static LogicalResult checkBiasAndResult(Operation *op, Type biasType, Type yType, int64_t n) {
  if (auto bias = dyn_cast<RankedTensorType>(biasType))
    if (bias.getRank() != 1 || (n >= 0 && staticDim(bias, 0) >= 0 && staticDim(bias, 0) != n))
      return op->emitOpError() << "bias must be [N]";
  auto y = dyn_cast<RankedTensorType>(yType);
  if (y && n >= 0 && staticDim(y, y.getRank() - 1) >= 0 && staticDim(y, y.getRank() - 1) != n)
    return op->emitOpError() << "the result's last dimension must be N = " << n;
  return success();
}

LogicalResult WeightQuantBatchMatmulV2Op::verify() {
  StringRef dtype = getWeightDtype();
  if (dtype != "INT8" && dtype != "INT4")
    return emitOpError() << "weight_dtype is \"" << dtype << "\", expected \"INT8\" or \"INT4\"";
  int64_t groupSize = getAntiquantGroupSize();
  if (groupSize < 0)
    return emitOpError() << "antiquant_group_size is " << groupSize << ", expected >= 0";
  auto w = dyn_cast<RankedTensorType>(getWeight().getType());
  auto x = dyn_cast<RankedTensorType>(getX().getType());
  auto scale = dyn_cast<RankedTensorType>(getAntiquantScale().getType());
  if (!w || !x || !scale)
    return success();
  if (w.getRank() != 2)
    return emitOpError() << "weight must be [K, N] (INT4: [K / 2, N]), found rank " << w.getRank();
  if (x.getRank() < 1)
    return emitOpError() << "x must have rank >= 1";
  int64_t packedK = staticDim(w, 0), n = staticDim(w, 1);
  int64_t k = packedK < 0 ? -1 : (dtype == "INT4" ? 2 * packedK : packedK);
  int64_t xk = staticDim(x, x.getRank() - 1);
  if (k >= 0 && xk >= 0 && k != xk)
    return emitOpError() << "x has " << xk << " input channels, the weight " << k;
  if (groupSize == 0 && scale.getRank() != 1)
    return emitOpError() << "antiquant_scale must be [1] or [N] without groups, found rank "
                         << scale.getRank();
  if (groupSize > 0) {
    if (scale.getRank() != 2)
      return emitOpError() << "antiquant_scale must be [ceil(K / group size), N] with groups, "
                              "found rank "
                           << scale.getRank();
    int64_t g = staticDim(scale, 0);
    if (k >= 0 && g >= 0 && g != (k + groupSize - 1) / groupSize)
      return emitOpError() << "antiquant_scale has " << g << " groups, expected "
                           << (k + groupSize - 1) / groupSize << " for K " << k
                           << " and group size " << groupSize;
  }
  int64_t sn = staticDim(scale, scale.getRank() - 1);
  if (n >= 0 && sn >= 0 && sn != n && !(groupSize == 0 && sn == 1))
    return emitOpError() << "antiquant_scale has " << sn << " channels, expected " << n
                         << (groupSize == 0 ? " or 1" : "");
  if (auto off = dyn_cast<RankedTensorType>(getAntiquantOffset().getType()))
    if (off.getShape() != scale.getShape())
      return emitOpError() << "antiquant_offset must have the shape of antiquant_scale";
  return checkBiasAndResult(*this, getBias().getType(), getY().getType(), n);
}

#define GET_OP_CLASSES
#include "amct/Dialect/Ascend/IR/AscendOps.cpp.inc"

/// `scale` (and offset) of a per-token quantization of `x`: x's shape
/// without the last axis.
static LogicalResult checkPerTokenShape(Operation *op, Type xType, Type paramType,
                                        StringRef what) {
  auto x = dyn_cast<RankedTensorType>(xType);
  auto p = dyn_cast<RankedTensorType>(paramType);
  if (!x || !p)
    return success();
  if (x.getRank() < 1)
    return op->emitOpError() << "x must have rank >= 1";
  if (p.getRank() != x.getRank() - 1)
    return op->emitOpError() << what << " must have x's shape without the last axis (rank "
                             << x.getRank() - 1 << "), found rank " << p.getRank();
  for (int64_t i = 0; i < p.getRank(); ++i)
    if (!p.isDynamicDim(i) && !x.isDynamicDim(i) && p.getDimSize(i) != x.getDimSize(i))
      return op->emitOpError() << what << " dim " << i << " is " << p.getDimSize(i)
                               << ", x's is " << x.getDimSize(i);
  return success();
}

LogicalResult DynamicQuantOp::verify() {
  if (failed(checkSameShape(*this, getX().getType(), getY().getType())))
    return failure();
  return checkPerTokenShape(*this, getX().getType(), getScale().getType(), "scale");
}

LogicalResult DynamicQuantV2Op::verify() {
  if (failed(checkSameShape(*this, getX().getType(), getY().getType())) ||
      failed(checkPerTokenShape(*this, getX().getType(), getScale().getType(), "scale")))
    return failure();
  return checkPerTokenShape(*this, getX().getType(), getOffset().getType(), "offset");
}

LogicalResult QuantBatchMatmulV3Op::verify() {
  auto x1 = dyn_cast<RankedTensorType>(getX1().getType());
  auto x2 = dyn_cast<RankedTensorType>(getX2().getType());
  auto scale = dyn_cast<RankedTensorType>(getScale().getType());
  if (!x1 || !x2 || !scale)
    return success();
  if (x2.getRank() != 2)
    return emitOpError() << "x2 must be [K, N], found rank " << x2.getRank();
  if (failed(checkPerTokenShape(*this, x1, getPertokenScale().getType(), "pertoken_scale")))
    return failure();
  if (!isa<NoneType>(getPertokenOffset().getType()) &&
      failed(checkPerTokenShape(*this, x1, getPertokenOffset().getType(), "pertoken_offset")))
    return failure();
  int64_t k = staticDim(x2, 0), n = staticDim(x2, 1);
  int64_t xk = staticDim(x1, x1.getRank() - 1);
  if (k >= 0 && xk >= 0 && k != xk)
    return emitOpError() << "x1 has " << xk << " input channels, x2 " << k;
  if (scale.getRank() != 1)
    return emitOpError() << "scale must be [1] or [N], found rank " << scale.getRank();
  int64_t sn = staticDim(scale, 0);
  if (n >= 0 && sn >= 0 && sn != n && sn != 1)
    return emitOpError() << "scale has " << sn << " values, expected 1 or " << n;
  return checkBiasAndResult(*this, getBias().getType(), getY().getType(), n);
}

/// A per-channel parameter of `x` along `axis`: [C] or [1].
static LogicalResult checkChannelParam(Operation *op, Type xType, Type paramType, int64_t axis,
                                       StringRef what) {
  auto x = dyn_cast<RankedTensorType>(xType);
  auto p = dyn_cast<RankedTensorType>(paramType);
  if (!x || !p)
    return success();
  if (p.getRank() != 1)
    return op->emitOpError() << what << " must be [C] or [1], found rank " << p.getRank();
  int64_t rank = x.getRank(), a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    return op->emitOpError() << "axis " << axis << " is outside x's rank " << rank;
  int64_t c = staticDim(x, a), n = staticDim(p, 0);
  if (c >= 0 && n >= 0 && n != 1 && n != c)
    return op->emitOpError() << what << " has " << n << " values for " << c << " channels";
  return success();
}

LogicalResult QuantV2Op::verify() {
  if (getDstType() != "INT8")
    return emitOpError() << "dst_type is \"" << getDstType() << "\"; only INT8 is modelled";
  if (failed(checkSameShape(*this, getX().getType(), getY().getType())) ||
      failed(checkChannelParam(*this, getX().getType(), getScale().getType(), getAxis(),
                               "scale")))
    return failure();
  return checkChannelParam(*this, getX().getType(), getOffset().getType(), getAxis(), "offset");
}

LogicalResult AntiQuantV2Op::verify() {
  if (failed(checkSameShape(*this, getX().getType(), getY().getType())) ||
      failed(checkChannelParam(*this, getX().getType(), getScale().getType(), -1, "scale")))
    return failure();
  return checkChannelParam(*this, getX().getType(), getOffset().getType(), -1, "offset");
}
