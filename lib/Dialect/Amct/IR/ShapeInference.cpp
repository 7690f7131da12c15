//===- ShapeInference.cpp - result types of the typed ONNX ops -----------===//
//
// One inferResultTypes per typed op. Each both checks the op (ranks, attribute
// ranges, channel and group consistency, emitting an error that names what
// was expected and what was found) and computes the result types, following
// the ONNX operator specification. Unknown dimensions stay dynamic.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Dialect/Amct/IR/OnnxTypes.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace amct;

static constexpr int64_t kDyn = ShapedType::kDynamic;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {
/// Operand shape facts: null rank when unranked.
struct ShapeInfo {
  Type elementType;
  std::optional<SmallVector<int64_t>> dims;
  int64_t rank() const { return dims ? (int64_t)dims->size() : -1; }
  int64_t dim(int64_t i) const { return (*dims)[i]; }
};
} // namespace

static ShapeInfo shapeInfo(Value v) {
  auto t = cast<TensorType>(v.getType());
  ShapeInfo info{t.getElementType(), std::nullopt};
  if (t.hasRank())
    info.dims = SmallVector<int64_t>(t.getShape());
  return info;
}

static Type makeTensor(Type elementType,
                       const std::optional<SmallVector<int64_t>> &dims) {
  if (!dims)
    return UnrankedTensorType::get(elementType);
  return RankedTensorType::get(*dims, elementType);
}

static bool isStatic(int64_t d) { return d != kDyn; }

/// Result element type of a product layer: int8 operands (the deploy
/// model) accumulate in int32, as the NPU's cube unit does.
static Type accumulatorType(Type elem) {
  if (elem.isSignlessInteger(8))
    return IntegerType::get(elem.getContext(), 32);
  return elem;
}

static std::string formatDims(ArrayRef<int64_t> dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i)
      s += ", ";
    s += isStatic(dims[i]) ? std::to_string(dims[i]) : "?";
  }
  return s + "]";
}

/// Normalizes an axis in [-rank, rank) (or [-rank, rank] with `inclusive`).
static FailureOr<int64_t> normalizeAxis(Operation *op, StringRef what,
                                        int64_t axis, int64_t rank,
                                        bool inclusive = false) {
  int64_t hi = inclusive ? rank : rank - 1;
  if (axis < -rank || axis > hi)
    return op->emitOpError() << what << " " << axis << " is out of range [" << -rank
                             << ", " << hi << "] for rank " << rank;
  return axis < 0 ? axis + rank : axis;
}

/// The integer values of a constant operand (amct.const or amct.Constant).
std::optional<SmallVector<int64_t>> amct::getConstantIntegers(Value v) {
  Operation *def = v.getDefiningOp();
  if (!def)
    return std::nullopt;
  ElementsAttr attr;
  if (auto c = dyn_cast<ConstOp>(def))
    attr = c.getValue();
  else if (auto c = dyn_cast<ConstantOp>(def)) {
    if (auto ints = c.getValueIntsAttr())
      return SmallVector<int64_t>(ints.asArrayRef());
    if (auto i = c.getValueIntAttr())
      return SmallVector<int64_t>{i.getInt()};
    attr = c.getValueAttr();
  }
  if (!attr || !attr.getElementType().isInteger())
    return std::nullopt;
  unsigned width = attr.getElementType().getIntOrFloatBitWidth();
  if (width != 32 && width != 64)
    return std::nullopt;
  SmallVector<int64_t> out;
  if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    for (const APInt &x : dense.getValues<APInt>())
      out.push_back(x.getSExtValue());
    return out;
  }
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    ArrayRef<char> data = blob->getData();
    int64_t n = attr.getNumElements();
    if ((int64_t)data.size() != n * (width / 8))
      return std::nullopt;
    for (int64_t i = 0; i < n; ++i) {
      if (width == 64) {
        int64_t x;
        memcpy(&x, data.data() + i * 8, 8);
        out.push_back(x);
      } else {
        int32_t x;
        memcpy(&x, data.data() + i * 4, 4);
        out.push_back(x);
      }
    }
    return out;
  }
  return std::nullopt;
}

/// Reads an optional INTS attribute, checking its length and lower bound.
static std::optional<SmallVector<int64_t>> getConstantInts(Value v) {
  return getConstantIntegers(v);
}

static FailureOr<SmallVector<int64_t>>
getSpatialAttr(Operation *op, StringRef name, std::optional<ArrayRef<int64_t>> attr,
               size_t expectedSize, int64_t defaultValue, int64_t minValue) {
  if (!attr)
    return SmallVector<int64_t>(expectedSize, defaultValue);
  if (attr->size() != expectedSize)
    return op->emitOpError() << "attribute '" << name << "' has " << attr->size()
                             << " values, expected " << expectedSize;
  for (int64_t v : *attr)
    if (v < minValue)
      return op->emitOpError() << "attribute '" << name << "' value " << v
                               << " must be >= " << minValue;
  return SmallVector<int64_t>(*attr);
}

static LogicalResult checkAutoPad(Operation *op, StringRef autoPad) {
  if (autoPad == "NOTSET" || autoPad == "VALID" || autoPad == "SAME_UPPER" ||
      autoPad == "SAME_LOWER")
    return success();
  return op->emitOpError() << "attribute 'auto_pad' is '" << autoPad
                           << "', expected NOTSET, VALID, SAME_UPPER or SAME_LOWER";
}

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Output size of a sliding window (Conv, pooling) along one axis; dynamic
/// when the input is dynamic or when ceil_mode makes ONNX versions disagree.
static FailureOr<int64_t> slidingOutputSize(Operation *op, int64_t axis,
                                            int64_t in, int64_t kernel,
                                            int64_t stride, int64_t dilation,
                                            int64_t padBegin, int64_t padEnd,
                                            StringRef autoPad, bool ceilMode) {
  if (!isStatic(in) || !isStatic(kernel))
    return kDyn;
  int64_t effective = (kernel - 1) * dilation + 1;
  int64_t out;
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    out = ceilDiv(in, stride);
  } else if (autoPad == "VALID") {
    out = in - effective < 0 ? 0 : ceilDiv(in - effective + 1, stride);
  } else {
    int64_t span = in + padBegin + padEnd - effective;
    if (span < 0)
      out = 0;
    else if (ceilMode) {
      // Newer ONNX drops a last window that starts in the end padding.
      int64_t c = ceilDiv(span, stride) + 1;
      if ((c - 1) * stride >= in + padBegin)
        return kDyn;
      out = c;
    } else
      out = span / stride + 1;
  }
  if (out <= 0)
    return op->emitOpError() << "spatial axis " << axis << ": input size " << in
                             << " is smaller than the effective kernel size "
                             << effective << " after padding";
  return out;
}

//===----------------------------------------------------------------------===//
// The interface verifier
//===----------------------------------------------------------------------===//

LogicalResult amct::detail::verifyInferredResultTypes(Operation *op) {
  for (Value operand : op->getOperands())
    if (!isa<TensorType, NoneType>(operand.getType()))
      return op->emitOpError() << "operand types must be tensors, found "
                               << operand.getType();
  SmallVector<Type> inferred;
  if (failed(cast<ShapeInferenceOpInterface>(op).inferResultTypes(inferred)))
    return failure();
  for (auto [i, result] : llvm::enumerate(op->getResults())) {
    if (i >= inferred.size())
      break;
    Type declared = result.getType();
    if (getElementTypeOrSelf(declared) != getElementTypeOrSelf(inferred[i]) ||
        failed(verifyCompatibleShape(declared, inferred[i])))
      return op->emitOpError() << "result #" << i << " has type " << declared
                               << " but its operands and attributes give "
                               << inferred[i];
  }
  return success();
}


// Every typed op verifies by checking its result types against inference.
#define AMCT_VERIFY_BY_INFERENCE(OP)                                           \
  LogicalResult OP::verify() { return detail::verifyInferredResultTypes(*this); }
AMCT_VERIFY_BY_INFERENCE(ReluOp)
AMCT_VERIFY_BY_INFERENCE(SigmoidOp)
AMCT_VERIFY_BY_INFERENCE(TanhOp)
AMCT_VERIFY_BY_INFERENCE(SqrtOp)
AMCT_VERIFY_BY_INFERENCE(ErfOp)
AMCT_VERIFY_BY_INFERENCE(ResizeOp)
AMCT_VERIFY_BY_INFERENCE(SplitOp)
AMCT_VERIFY_BY_INFERENCE(TriluOp)
AMCT_VERIFY_BY_INFERENCE(ExpandOp)
AMCT_VERIFY_BY_INFERENCE(ConstantOfShapeOp)
AMCT_VERIFY_BY_INFERENCE(RangeOp)
AMCT_VERIFY_BY_INFERENCE(EqualOp)
AMCT_VERIFY_BY_INFERENCE(LessOp)
AMCT_VERIFY_BY_INFERENCE(GreaterOp)
AMCT_VERIFY_BY_INFERENCE(LessOrEqualOp)
AMCT_VERIFY_BY_INFERENCE(GreaterOrEqualOp)
AMCT_VERIFY_BY_INFERENCE(NotOp)
AMCT_VERIFY_BY_INFERENCE(WhereOp)
AMCT_VERIFY_BY_INFERENCE(NegOp)
AMCT_VERIFY_BY_INFERENCE(AbsOp)
AMCT_VERIFY_BY_INFERENCE(ExpOp)
AMCT_VERIFY_BY_INFERENCE(LogOp)
AMCT_VERIFY_BY_INFERENCE(ReciprocalOp)
AMCT_VERIFY_BY_INFERENCE(FloorOp)
AMCT_VERIFY_BY_INFERENCE(CeilOp)
AMCT_VERIFY_BY_INFERENCE(SinOp)
AMCT_VERIFY_BY_INFERENCE(CosOp)
AMCT_VERIFY_BY_INFERENCE(SoftplusOp)
AMCT_VERIFY_BY_INFERENCE(HardSwishOp)
AMCT_VERIFY_BY_INFERENCE(HardSigmoidOp)
AMCT_VERIFY_BY_INFERENCE(LeakyReluOp)
AMCT_VERIFY_BY_INFERENCE(EluOp)
AMCT_VERIFY_BY_INFERENCE(PReluOp)
AMCT_VERIFY_BY_INFERENCE(IdentityOp)
AMCT_VERIFY_BY_INFERENCE(AddOp)
AMCT_VERIFY_BY_INFERENCE(SubOp)
AMCT_VERIFY_BY_INFERENCE(MulOp)
AMCT_VERIFY_BY_INFERENCE(DivOp)
AMCT_VERIFY_BY_INFERENCE(PowOp)
AMCT_VERIFY_BY_INFERENCE(ClipOp)
AMCT_VERIFY_BY_INFERENCE(ConvOp)
AMCT_VERIFY_BY_INFERENCE(ConvTransposeOp)
AMCT_VERIFY_BY_INFERENCE(GemmOp)
AMCT_VERIFY_BY_INFERENCE(MatMulOp)
AMCT_VERIFY_BY_INFERENCE(BatchNormalizationOp)
AMCT_VERIFY_BY_INFERENCE(MaxPoolOp)
AMCT_VERIFY_BY_INFERENCE(AveragePoolOp)
AMCT_VERIFY_BY_INFERENCE(GlobalAveragePoolOp)
AMCT_VERIFY_BY_INFERENCE(ConcatOp)
AMCT_VERIFY_BY_INFERENCE(ReshapeOp)
AMCT_VERIFY_BY_INFERENCE(FlattenOp)
AMCT_VERIFY_BY_INFERENCE(TransposeOp)
AMCT_VERIFY_BY_INFERENCE(SqueezeOp)
AMCT_VERIFY_BY_INFERENCE(UnsqueezeOp)
AMCT_VERIFY_BY_INFERENCE(GatherOp)
AMCT_VERIFY_BY_INFERENCE(SoftmaxOp)
AMCT_VERIFY_BY_INFERENCE(LayerNormalizationOp)
AMCT_VERIFY_BY_INFERENCE(ReduceMeanOp)
AMCT_VERIFY_BY_INFERENCE(PadOp)
AMCT_VERIFY_BY_INFERENCE(ConstantOp)
AMCT_VERIFY_BY_INFERENCE(ShapeOp)
AMCT_VERIFY_BY_INFERENCE(SliceOp)
AMCT_VERIFY_BY_INFERENCE(CastOp)
AMCT_VERIFY_BY_INFERENCE(QuantizeLinearOp)
AMCT_VERIFY_BY_INFERENCE(DequantizeLinearOp)
#undef AMCT_VERIFY_BY_INFERENCE

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

static LogicalResult inferSameAsOperand(Operation *op,
                                        SmallVectorImpl<Type> &types) {
  types.push_back(op->getOperand(0).getType());
  return success();
}

#define AMCT_SAME_AS_OPERAND(OP)                                               \
  LogicalResult OP::inferResultTypes(SmallVectorImpl<Type> &types) {           \
    return inferSameAsOperand(getOperation(), types);                          \
  }
AMCT_SAME_AS_OPERAND(ReluOp)
AMCT_SAME_AS_OPERAND(SigmoidOp)
AMCT_SAME_AS_OPERAND(TanhOp)
AMCT_SAME_AS_OPERAND(SqrtOp)
AMCT_SAME_AS_OPERAND(ErfOp)
AMCT_SAME_AS_OPERAND(NotOp)
AMCT_SAME_AS_OPERAND(NegOp)
AMCT_SAME_AS_OPERAND(AbsOp)
AMCT_SAME_AS_OPERAND(ExpOp)
AMCT_SAME_AS_OPERAND(LogOp)
AMCT_SAME_AS_OPERAND(ReciprocalOp)
AMCT_SAME_AS_OPERAND(FloorOp)
AMCT_SAME_AS_OPERAND(CeilOp)
AMCT_SAME_AS_OPERAND(SinOp)
AMCT_SAME_AS_OPERAND(CosOp)
AMCT_SAME_AS_OPERAND(SoftplusOp)
AMCT_SAME_AS_OPERAND(HardSwishOp)
AMCT_SAME_AS_OPERAND(HardSigmoidOp)
AMCT_SAME_AS_OPERAND(LeakyReluOp)
AMCT_SAME_AS_OPERAND(EluOp)
AMCT_SAME_AS_OPERAND(PReluOp)
AMCT_SAME_AS_OPERAND(IdentityOp)
#undef AMCT_SAME_AS_OPERAND

static LogicalResult inferBroadcast(Operation *op, bool sameElementTypes,
                                    SmallVectorImpl<Type> &types) {
  ShapeInfo a = shapeInfo(op->getOperand(0)), b = shapeInfo(op->getOperand(1));
  if (sameElementTypes && a.elementType != b.elementType)
    return op->emitOpError() << "operand element types differ: "
                             << a.elementType << " vs " << b.elementType;
  if (!a.dims || !b.dims) {
    types.push_back(UnrankedTensorType::get(a.elementType));
    return success();
  }
  SmallVector<int64_t> out;
  if (!mlir::OpTrait::util::getBroadcastedShape(*a.dims, *b.dims, out))
    return op->emitOpError() << "operand shapes " << formatDims(*a.dims)
                             << " and " << formatDims(*b.dims)
                             << " are not broadcast-compatible";
  types.push_back(RankedTensorType::get(out, a.elementType));
  return success();
}

LogicalResult AddOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  return inferBroadcast(getOperation(), true, types);
}
LogicalResult SubOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  return inferBroadcast(getOperation(), true, types);
}
LogicalResult MulOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  return inferBroadcast(getOperation(), true, types);
}
LogicalResult DivOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  return inferBroadcast(getOperation(), true, types);
}
LogicalResult PowOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  return inferBroadcast(getOperation(), false, types);
}

/// A comparison: the broadcast shape of equal element types, as bool.
static LogicalResult inferCompare(Operation *op, SmallVectorImpl<Type> &types) {
  if (failed(inferBroadcast(op, true, types)))
    return failure();
  Type i1 = IntegerType::get(op->getContext(), 1);
  types.back() = cast<TensorType>(types.back()).clone(i1);
  return success();
}
#define AMCT_COMPARE(OP)                                                       \
  LogicalResult OP::inferResultTypes(SmallVectorImpl<Type> &types) {           \
    return inferCompare(getOperation(), types);                                \
  }
AMCT_COMPARE(EqualOp)
AMCT_COMPARE(LessOp)
AMCT_COMPARE(GreaterOp)
AMCT_COMPARE(LessOrEqualOp)
AMCT_COMPARE(GreaterOrEqualOp)
#undef AMCT_COMPARE

LogicalResult ExpandOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getInput()), s = shapeInfo(getShape());
  if (!s.elementType.isInteger(64))
    return emitOpError() << "'shape' must be int64, found " << s.elementType;
  if (s.dims && s.rank() != 1)
    return emitOpError() << "'shape' must have rank 1, found rank " << s.rank();
  std::optional<SmallVector<int64_t>> target = getConstantInts(getShape());
  if (!x.dims || !target) {
    if (x.dims && s.dims && isStatic(s.dim(0)))
      types.push_back(RankedTensorType::get(
          SmallVector<int64_t>(std::max<int64_t>(s.dim(0), x.rank()), kDyn), x.elementType));
    else
      types.push_back(UnrankedTensorType::get(x.elementType));
    return success();
  }
  SmallVector<int64_t> out;
  if (!mlir::OpTrait::util::getBroadcastedShape(*x.dims, *target, out))
    return emitOpError() << "input " << formatDims(*x.dims) << " does not broadcast with shape "
                         << formatDims(*target);
  types.push_back(RankedTensorType::get(out, x.elementType));
  return success();
}

LogicalResult ConstantOfShapeOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo s = shapeInfo(getInput());
  Type elem = Float32Type::get(getContext());
  if (auto v = getValueAttr()) {
    if (v.getNumElements() != 1)
      return emitOpError() << "'value' must hold one element, found " << v.getNumElements();
    elem = v.getElementType();
  }
  if (!s.elementType.isInteger(64))
    return emitOpError() << "'input' must be int64, found " << s.elementType;
  if (s.dims && s.rank() != 1)
    return emitOpError() << "'input' must have rank 1, found rank " << s.rank();
  if (std::optional<SmallVector<int64_t>> dims = getConstantInts(getInput())) {
    if (llvm::any_of(*dims, [](int64_t d) { return d < 0; }))
      return emitOpError() << "'input' holds a negative dimension";
    types.push_back(RankedTensorType::get(*dims, elem));
  } else if (s.dims && isStatic(s.dim(0))) {
    types.push_back(RankedTensorType::get(SmallVector<int64_t>(s.dim(0), kDyn), elem));
  } else {
    types.push_back(UnrankedTensorType::get(elem));
  }
  return success();
}

LogicalResult RangeOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo a = shapeInfo(getStart()), b = shapeInfo(getLimit()), c = shapeInfo(getDelta());
  if (a.elementType != b.elementType || a.elementType != c.elementType)
    return emitOpError() << "start, limit and delta must have one element type";
  for (const ShapeInfo &i : {a, b, c})
    if (i.dims && i.rank() != 0)
      return emitOpError() << "start, limit and delta must be scalars";
  types.push_back(RankedTensorType::get({kDyn}, a.elementType));
  return success();
}

LogicalResult TriluOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getInput());
  if (x.dims && x.rank() < 2)
    return emitOpError() << "input must have rank >= 2, found rank " << x.rank();
  return inferSameAsOperand(getOperation(), types);
}

std::optional<SmallVector<int64_t>>
amct::computeSplitSizes(int64_t dim, int64_t n, std::optional<SmallVector<int64_t>> split,
                        bool ceilParts, std::string &why) {
  if (split) {
    if ((int64_t)split->size() != n) {
      why = "'split' has " + std::to_string(split->size()) + " values for " +
            std::to_string(n) + " outputs";
      return std::nullopt;
    }
    int64_t sum = 0;
    for (int64_t v : *split) {
      if (v < 0) {
        why = "'split' has a negative size";
        return std::nullopt;
      }
      sum += v;
    }
    if (sum != dim) {
      why = "'split' sums to " + std::to_string(sum) + ", the axis has " + std::to_string(dim);
      return std::nullopt;
    }
    return split;
  }
  if (n <= 0) {
    why = "no outputs";
    return std::nullopt;
  }
  if (!ceilParts && dim % n != 0) {
    why = "the axis of " + std::to_string(dim) + " does not split into " + std::to_string(n) +
          " equal parts";
    return std::nullopt;
  }
  int64_t part = ceilParts ? (dim + n - 1) / n : dim / n;
  SmallVector<int64_t> sizes;
  for (int64_t i = 0, left = dim; i < n; ++i, left -= part)
    sizes.push_back(std::max<int64_t>(0, std::min(part, left)));
  return sizes;
}

LogicalResult SplitOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getInput());
  int64_t n = getNumResults();
  if (auto outs = getNumOutputs(); outs && *outs != (uint64_t)n)
    return emitOpError() << "num_outputs is " << *outs << " but the node has " << n << " outputs";
  if (!x.dims) {
    for (int64_t i = 0; i < n; ++i)
      types.push_back(UnrankedTensorType::get(x.elementType));
    return success();
  }
  FailureOr<int64_t> axis = normalizeAxis(getOperation(), "axis", getAxis(), x.rank());
  if (failed(axis))
    return failure();
  std::optional<SmallVector<int64_t>> split;
  bool hasSplit = !isa<NoneType>(getSplit().getType());
  if (hasSplit)
    split = getConstantInts(getSplit());
  SmallVector<int64_t> sizes(n, kDyn);
  int64_t dim = x.dim(*axis);
  if (isStatic(dim) && (!hasSplit || split)) {
    std::string why;
    auto computed = computeSplitSizes(dim, n, split, getNumOutputs().has_value(), why);
    if (!computed)
      return emitOpError() << why;
    sizes = *computed;
  } else if (split) {
    sizes = *split;
  }
  for (int64_t i = 0; i < n; ++i) {
    SmallVector<int64_t> d(*x.dims);
    d[*axis] = sizes[i];
    types.push_back(RankedTensorType::get(d, x.elementType));
  }
  return success();
}

LogicalResult ResizeOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getX());
  StringRef mode = getMode();
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return emitOpError() << "mode is '" << mode << "', expected nearest, linear or cubic";
  if (!x.dims) {
    types.push_back(UnrankedTensorType::get(x.elementType));
    return success();
  }
  SmallVector<int64_t> out(x.rank(), kDyn);
  if (!isa<NoneType>(getSizes().getType())) {
    if (auto sizes = getConstantInts(getSizes())) {
      if ((int64_t)sizes->size() != x.rank())
        return emitOpError() << "'sizes' has " << sizes->size() << " values for rank "
                             << x.rank();
      out = *sizes;
    }
  } else if (!isa<NoneType>(getScales().getType())) {
    if (auto scales = getConstantFloats(getScales()); scales && !scales->empty()) {
      if ((int64_t)scales->size() != x.rank())
        return emitOpError() << "'scales' has " << scales->size() << " values for rank "
                             << x.rank();
      for (int64_t i = 0; i < x.rank(); ++i)
        if (isStatic(x.dim(i)))
          out[i] = (int64_t)std::floor((double)x.dim(i) * (double)(*scales)[i]);
    }
  }
  types.push_back(RankedTensorType::get(out, x.elementType));
  return success();
}

LogicalResult WhereOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo c = shapeInfo(getCondition()), x = shapeInfo(getX()), y = shapeInfo(getY());
  if (c.elementType && !c.elementType.isInteger(1))
    return emitOpError() << "condition must be bool, found " << c.elementType;
  if (x.elementType != y.elementType)
    return emitOpError() << "X and Y element types differ: " << x.elementType << " vs "
                         << y.elementType;
  if (!c.dims || !x.dims || !y.dims) {
    types.push_back(UnrankedTensorType::get(x.elementType));
    return success();
  }
  SmallVector<int64_t> cx, out;
  if (!mlir::OpTrait::util::getBroadcastedShape(*c.dims, *x.dims, cx) ||
      !mlir::OpTrait::util::getBroadcastedShape(cx, *y.dims, out))
    return emitOpError() << "shapes " << formatDims(*c.dims) << ", " << formatDims(*x.dims)
                         << " and " << formatDims(*y.dims) << " are not broadcast-compatible";
  types.push_back(RankedTensorType::get(out, x.elementType));
  return success();
}

LogicalResult ClipOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  for (Value bound : {getMin(), getMax()}) {
    auto t = dyn_cast<TensorType>(bound.getType());
    if (!t)
      continue;
    if (t.getElementType() != shapeInfo(getInput()).elementType)
      return emitOpError() << "min/max element type " << t.getElementType()
                           << " differs from the input's";
    if (t.hasStaticShape() && t.getNumElements() != 1)
      return emitOpError() << "min/max must be a scalar, found shape "
                           << formatDims(t.getShape());
  }
  types.push_back(getInput().getType());
  return success();
}

//===----------------------------------------------------------------------===//
// Convolution and pooling
//===----------------------------------------------------------------------===//

/// Shared checks of Conv and ConvTranspose; returns the spatial rank.
static FailureOr<int64_t> checkConvOperands(Operation *op, ShapeInfo &x,
                                            ShapeInfo &w, int64_t group,
                                            StringRef autoPad) {
  if (failed(checkAutoPad(op, autoPad)))
    return failure();
  if (group < 1)
    return op->emitOpError() << "attribute 'group' is " << group << ", expected >= 1";
  if (x.elementType != w.elementType)
    return op->emitOpError() << "input element type " << x.elementType
                             << " differs from the weight's " << w.elementType;
  int64_t rank = x.dims ? x.rank() : w.rank();
  if (rank < 0)
    return -1;
  if (rank < 3)
    return op->emitOpError() << "input must have rank >= 3 (N, C, spatial...), found rank "
                             << rank;
  if (x.dims && w.dims && x.rank() != w.rank())
    return op->emitOpError() << "weight rank " << w.rank()
                             << " differs from the input rank " << x.rank();
  return rank - 2;
}

/// Checks the optional bias against the number of output channels.
static LogicalResult checkBias(Operation *op, Value bias, int64_t channels) {
  auto t = dyn_cast<TensorType>(bias.getType());
  if (!t || !t.hasRank())
    return success();
  if (t.getRank() != 1)
    return op->emitOpError() << "bias must have rank 1, found rank " << t.getRank();
  if (isStatic(channels) && isStatic(t.getDimSize(0)) && t.getDimSize(0) != channels)
    return op->emitOpError() << "bias has " << t.getDimSize(0)
                             << " elements, expected one per output channel ("
                             << channels << ")";
  return success();
}

LogicalResult ConvOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getX()), w = shapeInfo(getW());
  int64_t group = getGroup();
  FailureOr<int64_t> spatial = checkConvOperands(*this, x, w, group, getAutoPad());
  if (failed(spatial))
    return failure();
  if (*spatial < 0 || !w.dims) {
    types.push_back(UnrankedTensorType::get(accumulatorType(x.elementType)));
    return success();
  }
  int64_t m = w.dim(0), cPerGroup = w.dim(1);
  if (x.dims && isStatic(x.dim(1)) && isStatic(cPerGroup) &&
      x.dim(1) != cPerGroup * group)
    return emitOpError() << "input has " << x.dim(1)
                         << " channels, expected weight dim 1 (" << cPerGroup
                         << ") * group (" << group << ") = " << cPerGroup * group;
  if (isStatic(m) && m % group != 0)
    return emitOpError() << "weight has " << m
                         << " output channels, not divisible by group " << group;
  if (failed(checkBias(*this, getB(), m)))
    return failure();
  size_t n = *spatial;
  auto kernel = getSpatialAttr(*this, "kernel_shape", getKernelShape(), n, kDyn, 1);
  auto strides = getSpatialAttr(*this, "strides", getStrides(), n, 1, 1);
  auto dilations = getSpatialAttr(*this, "dilations", getDilations(), n, 1, 1);
  auto pads = getSpatialAttr(*this, "pads", getPads(), 2 * n, 0, 0);
  if (failed(kernel) || failed(strides) || failed(dilations) || failed(pads))
    return failure();
  SmallVector<int64_t> out{x.dims ? x.dim(0) : kDyn, m};
  for (size_t i = 0; i < n; ++i) {
    int64_t k = w.dim(i + 2);
    if (getKernelShape() && isStatic(k) && (*kernel)[i] != k)
      return emitOpError() << "kernel_shape[" << i << "] is " << (*kernel)[i]
                           << " but the weight's spatial dim is " << k;
    FailureOr<int64_t> o = slidingOutputSize(
        *this, i, x.dims ? x.dim(i + 2) : kDyn, k, (*strides)[i],
        (*dilations)[i], (*pads)[i], (*pads)[i + n], getAutoPad(), false);
    if (failed(o))
      return failure();
    out.push_back(*o);
  }
  types.push_back(RankedTensorType::get(out, accumulatorType(x.elementType)));
  return success();
}

LogicalResult ConvTransposeOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getX()), w = shapeInfo(getW());
  int64_t group = getGroup();
  FailureOr<int64_t> spatial = checkConvOperands(*this, x, w, group, getAutoPad());
  if (failed(spatial))
    return failure();
  if (*spatial < 0 || !w.dims) {
    types.push_back(UnrankedTensorType::get(accumulatorType(x.elementType)));
    return success();
  }
  if (x.dims && isStatic(x.dim(1)) && isStatic(w.dim(0)) && x.dim(1) != w.dim(0))
    return emitOpError() << "input has " << x.dim(1)
                         << " channels, expected weight dim 0 (" << w.dim(0) << ")";
  if (isStatic(w.dim(0)) && w.dim(0) % group != 0)
    return emitOpError() << "weight dim 0 (" << w.dim(0)
                         << ") is not divisible by group " << group;
  int64_t m = isStatic(w.dim(1)) ? w.dim(1) * group : kDyn;
  if (failed(checkBias(*this, getB(), m)))
    return failure();
  size_t n = *spatial;
  auto strides = getSpatialAttr(*this, "strides", getStrides(), n, 1, 1);
  auto dilations = getSpatialAttr(*this, "dilations", getDilations(), n, 1, 1);
  auto pads = getSpatialAttr(*this, "pads", getPads(), 2 * n, 0, 0);
  auto outPad = getSpatialAttr(*this, "output_padding", getOutputPadding(), n, 0, 0);
  auto kernel = getSpatialAttr(*this, "kernel_shape", getKernelShape(), n, kDyn, 1);
  if (failed(strides) || failed(dilations) || failed(pads) || failed(outPad) ||
      failed(kernel))
    return failure();
  SmallVector<int64_t> out{x.dims ? x.dim(0) : kDyn, m};
  std::optional<ArrayRef<int64_t>> outputShape = getOutputShape();
  if (outputShape) {
    // Some exporters write N and C too; the spatial sizes are the last n.
    if (outputShape->size() != n && outputShape->size() != n + 2)
      return emitOpError() << "attribute 'output_shape' has " << outputShape->size()
                           << " values, expected " << n;
    for (size_t i = 0; i < n; ++i)
      out.push_back((*outputShape)[outputShape->size() - n + i]);
  } else {
    for (size_t i = 0; i < n; ++i) {
      int64_t in = x.dims ? x.dim(i + 2) : kDyn, k = w.dim(i + 2);
      if (getKernelShape() && isStatic(k) && (*kernel)[i] != k)
        return emitOpError() << "kernel_shape[" << i << "] is " << (*kernel)[i]
                             << " but the weight's spatial dim is " << k;
      if (!isStatic(in) || !isStatic(k)) {
        out.push_back(kDyn);
        continue;
      }
      int64_t s = (*strides)[i];
      int64_t o;
      if (getAutoPad() == "SAME_UPPER" || getAutoPad() == "SAME_LOWER")
        o = in * s;
      else {
        int64_t pb = getAutoPad() == "VALID" ? 0 : (*pads)[i];
        int64_t pe = getAutoPad() == "VALID" ? 0 : (*pads)[i + n];
        o = s * (in - 1) + (*outPad)[i] + (k - 1) * (*dilations)[i] + 1 - pb - pe;
      }
      if (o <= 0)
        return emitOpError() << "spatial axis " << i << " gives output size " << o;
      out.push_back(o);
    }
  }
  types.push_back(RankedTensorType::get(out, accumulatorType(x.elementType)));
  return success();
}

/// Shared by MaxPool and AveragePool.
static LogicalResult inferPool(Operation *op, Value input,
                               ArrayRef<int64_t> kernelShape,
                               std::optional<ArrayRef<int64_t>> stridesAttr,
                               std::optional<ArrayRef<int64_t>> dilationsAttr,
                               std::optional<ArrayRef<int64_t>> padsAttr,
                               StringRef autoPad, bool ceilMode, Type &result) {
  ShapeInfo x = shapeInfo(input);
  if (failed(checkAutoPad(op, autoPad)))
    return failure();
  size_t n = kernelShape.size();
  if (x.dims && x.rank() != (int64_t)n + 2)
    return op->emitOpError() << "input rank " << x.rank() << " does not match "
                             << n << " kernel dims (expected rank " << n + 2 << ")";
  auto kernel = getSpatialAttr(op, "kernel_shape", kernelShape, n, 1, 1);
  auto strides = getSpatialAttr(op, "strides", stridesAttr, n, 1, 1);
  auto dilations = getSpatialAttr(op, "dilations", dilationsAttr, n, 1, 1);
  auto pads = getSpatialAttr(op, "pads", padsAttr, 2 * n, 0, 0);
  if (failed(kernel) || failed(strides) || failed(dilations) || failed(pads))
    return failure();
  for (size_t i = 0; i < n; ++i)
    if ((*pads)[i] >= (*kernel)[i] || (*pads)[i + n] >= (*kernel)[i])
      return op->emitOpError() << "pads on spatial axis " << i
                               << " must be smaller than the kernel size "
                               << (*kernel)[i];
  if (!x.dims) {
    result = UnrankedTensorType::get(x.elementType);
    return success();
  }
  SmallVector<int64_t> out{x.dim(0), x.dim(1)};
  for (size_t i = 0; i < n; ++i) {
    FailureOr<int64_t> o = slidingOutputSize(
        op, i, x.dim(i + 2), (*kernel)[i], (*strides)[i], (*dilations)[i],
        (*pads)[i], (*pads)[i + n], autoPad, ceilMode);
    if (failed(o))
      return failure();
    out.push_back(*o);
  }
  result = RankedTensorType::get(out, x.elementType);
  return success();
}

LogicalResult MaxPoolOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  Type y;
  if (getStorageOrder() != 0 && getStorageOrder() != 1)
    return emitOpError() << "attribute 'storage_order' is " << getStorageOrder()
                         << ", expected 0 or 1";
  if (failed(inferPool(*this, getX(), getKernelShape(), getStrides(),
                       getDilations(), getPads(), getAutoPad(),
                       getCeilMode() != 0, y)))
    return failure();
  types.push_back(y);
  auto shaped = cast<TensorType>(y);
  types.push_back(shaped.clone(IntegerType::get(getContext(), 64)));
  return success();
}

LogicalResult AveragePoolOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  Type y;
  if (failed(inferPool(*this, getX(), getKernelShape(), getStrides(),
                       getDilations(), getPads(), getAutoPad(),
                       getCeilMode() != 0, y)))
    return failure();
  // The deploy form of AvgPool2d: the average of int8 data is float32.
  if (getElementTypeOrSelf(y).isInteger(8))
    y = cast<ShapedType>(y).clone(Float32Type::get(getContext()));
  types.push_back(y);
  return success();
}

LogicalResult GlobalAveragePoolOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getX());
  if (x.dims) {
    if (x.rank() < 3)
      return emitOpError() << "input must have rank >= 3, found rank " << x.rank();
    for (int64_t i = 2; i < x.rank(); ++i)
      (*x.dims)[i] = 1;
  }
  types.push_back(makeTensor(x.elementType, x.dims));
  return success();
}

//===----------------------------------------------------------------------===//
// Linear algebra and normalization
//===----------------------------------------------------------------------===//

static LogicalResult checkDimsMatch(Operation *op, StringRef what, int64_t a,
                                    int64_t b) {
  if (isStatic(a) && isStatic(b) && a != b)
    return op->emitOpError() << what << ": " << a << " vs " << b;
  return success();
}

LogicalResult GemmOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo a = shapeInfo(getA()), b = shapeInfo(getB());
  if (a.elementType != b.elementType)
    return emitOpError() << "operand element types differ: " << a.elementType
                         << " vs " << b.elementType;
  for (auto [name, s] : {std::pair<const char *, ShapeInfo &>{"A", a}, {"B", b}})
    if (s.dims && s.rank() != 2)
      return emitOpError() << "operand " << name << " must have rank 2, found rank "
                           << s.rank();
  int64_t m = kDyn, ka = kDyn, kb = kDyn, n = kDyn;
  if (a.dims) {
    m = a.dim(getTransA() ? 1 : 0);
    ka = a.dim(getTransA() ? 0 : 1);
  }
  if (b.dims) {
    kb = b.dim(getTransB() ? 1 : 0);
    n = b.dim(getTransB() ? 0 : 1);
  }
  if (failed(checkDimsMatch(*this, "inner dimensions of A and B differ", ka, kb)))
    return failure();
  SmallVector<int64_t> out{m, n};
  if (auto c = dyn_cast<TensorType>(getC().getType()); c && c.hasRank()) {
    SmallVector<int64_t> bcast;
    if (c.getRank() > 2 ||
        !mlir::OpTrait::util::getBroadcastedShape(out, c.getShape(), bcast) ||
        failed(verifyCompatibleShape(bcast, out)))
      return emitOpError() << "C of shape " << formatDims(c.getShape())
                           << " does not broadcast to " << formatDims(out);
  }
  types.push_back(RankedTensorType::get(out, accumulatorType(a.elementType)));
  return success();
}

LogicalResult MatMulOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo a = shapeInfo(getA()), b = shapeInfo(getB());
  if (a.elementType != b.elementType)
    return emitOpError() << "operand element types differ: " << a.elementType
                         << " vs " << b.elementType;
  if (!a.dims || !b.dims) {
    types.push_back(UnrankedTensorType::get(accumulatorType(a.elementType)));
    return success();
  }
  if (a.rank() == 0 || b.rank() == 0)
    return emitOpError("operands must have rank >= 1");
  SmallVector<int64_t> ad = *a.dims, bd = *b.dims;
  bool aVec = ad.size() == 1, bVec = bd.size() == 1;
  if (aVec)
    ad.insert(ad.begin(), 1);
  if (bVec)
    bd.push_back(1);
  if (failed(checkDimsMatch(*this, "inner dimensions of A and B differ",
                            ad.back(), bd[bd.size() - 2])))
    return failure();
  SmallVector<int64_t> batch;
  if (!mlir::OpTrait::util::getBroadcastedShape(ArrayRef(ad).drop_back(2),
                                          ArrayRef(bd).drop_back(2), batch))
    return emitOpError() << "batch dimensions " << formatDims(*a.dims) << " and "
                         << formatDims(*b.dims) << " are not broadcast-compatible";
  if (!aVec)
    batch.push_back(ad[ad.size() - 2]);
  if (!bVec)
    batch.push_back(bd.back());
  types.push_back(RankedTensorType::get(batch, accumulatorType(a.elementType)));
  return success();
}

LogicalResult BatchNormalizationOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getX());
  if (x.dims && x.rank() < 2)
    return emitOpError() << "input must have rank >= 2, found rank " << x.rank();
  int64_t c = x.dims ? x.dim(1) : kDyn;
  for (auto [name, v] : {std::pair<const char *, Value>{"scale", getScale()},
                         {"B", getB()},
                         {"input_mean", getInputMean()},
                         {"input_var", getInputVar()}}) {
    auto t = cast<TensorType>(v.getType());
    if (!t.hasRank())
      continue;
    if (t.getRank() != 1)
      return emitOpError() << "'" << name << "' must have rank 1, found rank "
                           << t.getRank();
    if (failed(checkDimsMatch(
            *this, (std::string("'") + name + "' size differs from the channel count").c_str(),
            t.getDimSize(0), c)))
      return failure();
  }
  if (getEpsilon().convertToFloat() < 0)
    return emitOpError("attribute 'epsilon' must be >= 0");
  types.push_back(getX().getType());
  return success();
}

LogicalResult SoftmaxOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getInput());
  if (x.dims && failed(normalizeAxis(*this, "axis", getAxis(), x.rank())))
    return failure();
  types.push_back(getInput().getType());
  return success();
}

LogicalResult LayerNormalizationOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getX());
  if (x.dims && failed(normalizeAxis(*this, "axis", getAxis(), x.rank())))
    return failure();
  if (shapeInfo(getScale()).elementType != x.elementType)
    return emitOpError("'Scale' element type differs from the input's");
  types.push_back(getX().getType());
  return success();
}

LogicalResult ReduceMeanOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getData());
  if (!x.dims) {
    types.push_back(getData().getType());
    return success();
  }
  int64_t rank = x.rank();
  SmallVector<bool> reduced(rank, !getAxes().has_value());
  if (auto axes = getAxes()) {
    if (axes->empty())
      reduced.assign(rank, true);
    for (int64_t a : *axes) {
      FailureOr<int64_t> ax = normalizeAxis(*this, "axis", a, rank);
      if (failed(ax))
        return failure();
      if (reduced[*ax] && !axes->empty() && llvm::count(*axes, a) > 1)
        return emitOpError() << "axis " << a << " is repeated";
      reduced[*ax] = true;
    }
  }
  SmallVector<int64_t> out;
  for (int64_t i = 0; i < rank; ++i) {
    if (!reduced[i])
      out.push_back(x.dim(i));
    else if (getKeepdims())
      out.push_back(1);
  }
  types.push_back(RankedTensorType::get(out, x.elementType));
  return success();
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

LogicalResult ConcatOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  ShapeInfo first = shapeInfo(getInputs().front());
  std::optional<SmallVector<int64_t>> out;
  int64_t axis = -1;
  for (Value v : getInputs()) {
    ShapeInfo s = shapeInfo(v);
    if (s.elementType != first.elementType)
      return emitOpError() << "input element types differ: " << first.elementType
                           << " vs " << s.elementType;
    if (!s.dims)
      continue;
    if (!out) {
      FailureOr<int64_t> ax = normalizeAxis(*this, "axis", getAxis(), s.rank());
      if (failed(ax))
        return failure();
      axis = *ax;
      out = *s.dims;
      continue;
    }
    if (s.rank() != (int64_t)out->size())
      return emitOpError() << "inputs have different ranks: " << out->size()
                           << " vs " << s.rank();
    for (int64_t i = 0; i < s.rank(); ++i) {
      int64_t &o = (*out)[i];
      if (i == axis) {
        o = isStatic(o) && isStatic(s.dim(i)) ? o + s.dim(i) : kDyn;
      } else if (isStatic(o) && isStatic(s.dim(i)) && o != s.dim(i)) {
        return emitOpError() << "input dims differ on non-concat axis " << i
                             << ": " << o << " vs " << s.dim(i);
      } else if (!isStatic(o)) {
        o = s.dim(i);
      }
    }
  }
  // An unranked input leaves the concatenated axis unknown.
  if (out)
    for (Value v : getInputs())
      if (!cast<TensorType>(v.getType()).hasRank())
        (*out)[axis] = kDyn;
  types.push_back(makeTensor(first.elementType, out));
  return success();
}

LogicalResult ReshapeOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getData()), s = shapeInfo(getShape());
  if (!s.elementType.isInteger(64))
    return emitOpError() << "'shape' must be int64, found " << s.elementType;
  if (s.dims && s.rank() != 1)
    return emitOpError() << "'shape' must have rank 1, found rank " << s.rank();
  std::optional<SmallVector<int64_t>> target = getConstantInts(getShape());
  if (!target) {
    if (s.dims && isStatic(s.dim(0)))
      types.push_back(RankedTensorType::get(
          SmallVector<int64_t>(s.dim(0), kDyn), x.elementType));
    else
      types.push_back(UnrankedTensorType::get(x.elementType));
    return success();
  }
  SmallVector<int64_t> out;
  int64_t inferIndex = -1, known = 1;
  for (auto [i, d] : llvm::enumerate(*target)) {
    if (d == -1) {
      if (inferIndex >= 0)
        return emitOpError("'shape' has more than one -1");
      inferIndex = i;
      out.push_back(kDyn);
      continue;
    }
    if (d < -1)
      return emitOpError() << "'shape' value " << d << " is invalid";
    if (d == 0 && !getAllowzero()) {
      if (!x.dims || (int64_t)i >= x.rank()) {
        if (x.dims)
          return emitOpError() << "'shape'[" << i << "] is 0 (copy) but the input has rank "
                               << x.rank();
        out.push_back(kDyn);
        known = kDyn;
        continue;
      }
      d = x.dim(i);
    }
    out.push_back(d);
    if (isStatic(d) && isStatic(known))
      known *= d;
    else
      known = kDyn;
  }
  if (x.dims && llvm::all_of(*x.dims, isStatic) && isStatic(known)) {
    int64_t total = 1;
    for (int64_t d : *x.dims)
      total *= d;
    if (inferIndex >= 0) {
      if (known == 0 || total % known != 0)
        return emitOpError() << "cannot reshape " << total << " elements into "
                             << formatDims(*target);
      out[inferIndex] = total / known;
    } else if (total != known) {
      return emitOpError() << "cannot reshape " << formatDims(*x.dims) << " ("
                           << total << " elements) into " << formatDims(out);
    }
  }
  types.push_back(RankedTensorType::get(out, x.elementType));
  return success();
}

LogicalResult FlattenOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getInput());
  if (!x.dims) {
    types.push_back(RankedTensorType::get({kDyn, kDyn}, x.elementType));
    return success();
  }
  FailureOr<int64_t> axis = normalizeAxis(*this, "axis", getAxis(), x.rank(), true);
  if (failed(axis))
    return failure();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < x.rank(); ++i) {
    int64_t &p = i < *axis ? outer : inner;
    p = isStatic(p) && isStatic(x.dim(i)) ? p * x.dim(i) : kDyn;
  }
  types.push_back(RankedTensorType::get({outer, inner}, x.elementType));
  return success();
}

LogicalResult TransposeOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getData());
  if (!x.dims) {
    types.push_back(getData().getType());
    return success();
  }
  int64_t rank = x.rank();
  SmallVector<int64_t> perm;
  if (auto p = getPerm())
    perm.assign(p->begin(), p->end());
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  if ((int64_t)perm.size() != rank)
    return emitOpError() << "'perm' has " << perm.size()
                         << " values, expected the input rank " << rank;
  SmallVector<bool> seen(rank, false);
  SmallVector<int64_t> out;
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[p])
      return emitOpError() << "'perm' " << formatDims(perm)
                           << " is not a permutation of 0.." << rank - 1;
    seen[p] = true;
    out.push_back(x.dim(p));
  }
  types.push_back(RankedTensorType::get(out, x.elementType));
  return success();
}

LogicalResult SqueezeOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getData());
  std::optional<SmallVector<int64_t>> axes;
  if (!isa<NoneType>(getAxes().getType())) {
    axes = getConstantInts(getAxes());
    if (!axes) {
      types.push_back(UnrankedTensorType::get(x.elementType));
      return success();
    }
  }
  if (!x.dims) {
    types.push_back(UnrankedTensorType::get(x.elementType));
    return success();
  }
  SmallVector<bool> drop(x.rank(), false);
  if (axes) {
    for (int64_t a : *axes) {
      FailureOr<int64_t> ax = normalizeAxis(*this, "axis", a, x.rank());
      if (failed(ax))
        return failure();
      if (isStatic(x.dim(*ax)) && x.dim(*ax) != 1)
        return emitOpError() << "cannot squeeze axis " << a << " of size " << x.dim(*ax);
      drop[*ax] = true;
    }
  } else {
    for (int64_t i = 0; i < x.rank(); ++i) {
      if (!isStatic(x.dim(i))) {
        types.push_back(UnrankedTensorType::get(x.elementType));
        return success();
      }
      drop[i] = x.dim(i) == 1;
    }
  }
  SmallVector<int64_t> out;
  for (int64_t i = 0; i < x.rank(); ++i)
    if (!drop[i])
      out.push_back(x.dim(i));
  types.push_back(RankedTensorType::get(out, x.elementType));
  return success();
}

LogicalResult UnsqueezeOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getData());
  std::optional<SmallVector<int64_t>> axes = getConstantInts(getAxes());
  if (!axes || !x.dims) {
    types.push_back(UnrankedTensorType::get(x.elementType));
    return success();
  }
  int64_t outRank = x.rank() + axes->size();
  SmallVector<bool> inserted(outRank, false);
  for (int64_t a : *axes) {
    FailureOr<int64_t> ax = normalizeAxis(*this, "axis", a, outRank);
    if (failed(ax))
      return failure();
    if (inserted[*ax])
      return emitOpError() << "axis " << a << " is repeated";
    inserted[*ax] = true;
  }
  SmallVector<int64_t> out;
  for (int64_t i = 0, j = 0; i < outRank; ++i)
    out.push_back(inserted[i] ? 1 : x.dim(j++));
  types.push_back(RankedTensorType::get(out, x.elementType));
  return success();
}

LogicalResult GatherOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getData()), idx = shapeInfo(getIndices());
  if (!idx.elementType.isInteger(32) && !idx.elementType.isInteger(64))
    return emitOpError() << "indices must be int32 or int64, found " << idx.elementType;
  if (!x.dims || !idx.dims) {
    types.push_back(UnrankedTensorType::get(x.elementType));
    return success();
  }
  FailureOr<int64_t> axis = normalizeAxis(*this, "axis", getAxis(), x.rank());
  if (failed(axis))
    return failure();
  SmallVector<int64_t> out(x.dims->begin(), x.dims->begin() + *axis);
  out.append(idx.dims->begin(), idx.dims->end());
  out.append(x.dims->begin() + *axis + 1, x.dims->end());
  types.push_back(RankedTensorType::get(out, x.elementType));
  return success();
}

LogicalResult PadOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  StringRef mode = getMode();
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    return emitOpError() << "attribute 'mode' is '" << mode
                         << "', expected constant, reflect, edge or wrap";
  ShapeInfo x = shapeInfo(getData()), p = shapeInfo(getPads());
  if (!p.elementType.isInteger(64))
    return emitOpError() << "'pads' must be int64, found " << p.elementType;
  if (!x.dims) {
    types.push_back(getData().getType());
    return success();
  }
  int64_t rank = x.rank();
  SmallVector<int64_t> axes;
  if (!isa<NoneType>(getAxes().getType())) {
    std::optional<SmallVector<int64_t>> a = getConstantInts(getAxes());
    if (!a) {
      types.push_back(RankedTensorType::get(SmallVector<int64_t>(rank, kDyn),
                                            x.elementType));
      return success();
    }
    for (int64_t v : *a) {
      FailureOr<int64_t> ax = normalizeAxis(*this, "axis", v, rank);
      if (failed(ax))
        return failure();
      axes.push_back(*ax);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  int64_t numAxes = axes.size();
  if (p.dims && p.rank() == 1 && isStatic(p.dim(0)) && p.dim(0) != 2 * numAxes)
    return emitOpError() << "'pads' has " << p.dim(0) << " values, expected "
                         << 2 * numAxes;
  std::optional<SmallVector<int64_t>> pads = getConstantInts(getPads());
  SmallVector<int64_t> out = *x.dims;
  if (!pads) {
    for (int64_t a : axes)
      out[a] = kDyn;
  } else {
    if ((int64_t)pads->size() != 2 * numAxes)
      return emitOpError() << "'pads' has " << pads->size() << " values, expected "
                           << 2 * numAxes;
    for (auto [i, a] : llvm::enumerate(axes))
      if (isStatic(out[a])) {
        out[a] += (*pads)[i] + (*pads)[i + numAxes];
        if (out[a] < 0)
          return emitOpError() << "padding makes axis " << a << " negative";
      }
  }
  types.push_back(RankedTensorType::get(out, x.elementType));
  return success();
}

LogicalResult SliceOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getData());
  for (Value v : {Value(getStarts()), Value(getEnds()), getAxes(), getSteps()}) {
    auto t = dyn_cast<TensorType>(v.getType());
    if (t && !t.getElementType().isInteger(32) && !t.getElementType().isInteger(64))
      return emitOpError() << "starts/ends/axes/steps must be int32 or int64, found "
                           << t.getElementType();
  }
  if (!x.dims) {
    types.push_back(getData().getType());
    return success();
  }
  int64_t rank = x.rank();
  auto starts = getConstantInts(getStarts()), ends = getConstantInts(getEnds());
  std::optional<SmallVector<int64_t>> axes, steps;
  bool known = starts && ends;
  if (!isa<NoneType>(getAxes().getType()))
    known &= (axes = getConstantInts(getAxes())).has_value();
  if (!isa<NoneType>(getSteps().getType()))
    known &= (steps = getConstantInts(getSteps())).has_value();
  if (!known) {
    types.push_back(RankedTensorType::get(SmallVector<int64_t>(rank, kDyn),
                                          x.elementType));
    return success();
  }
  size_t n = starts->size();
  if (ends->size() != n || (axes && axes->size() != n) || (steps && steps->size() != n))
    return emitOpError("starts, ends, axes and steps must have the same length");
  SmallVector<int64_t> out = *x.dims;
  for (size_t i = 0; i < n; ++i) {
    int64_t axis = axes ? (*axes)[i] : (int64_t)i;
    FailureOr<int64_t> ax = normalizeAxis(*this, "axis", axis, rank);
    if (failed(ax))
      return failure();
    int64_t step = steps ? (*steps)[i] : 1;
    if (step == 0)
      return emitOpError("'steps' must not be 0");
    int64_t dim = x.dim(*ax);
    if (!isStatic(dim)) {
      out[*ax] = kDyn;
      continue;
    }
    // ONNX clamping: negative indices count from the end, then clamp.
    auto clampIndex = [&](int64_t v, int64_t lo, int64_t hi) {
      if (v < 0)
        v += dim;
      return std::clamp(v, lo, hi);
    };
    int64_t start = (*starts)[i], end = (*ends)[i], size;
    if (step > 0) {
      start = clampIndex(start, 0, dim);
      end = clampIndex(end, 0, dim);
      size = end > start ? ceilDiv(end - start, step) : 0;
    } else {
      start = clampIndex(start, 0, dim - 1);
      end = (*ends)[i] < -dim ? -1 : clampIndex(end, -1, dim - 1);
      size = start > end ? ceilDiv(start - end, -step) : 0;
    }
    out[*ax] = size;
  }
  types.push_back(RankedTensorType::get(out, x.elementType));
  return success();
}

//===----------------------------------------------------------------------===//
// Constants, Shape, Cast
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  Builder b(getContext());
  SmallVector<Type> candidates;
  if (auto v = getValueAttr())
    candidates.push_back(v.getType());
  if (getValueFloatAttr())
    candidates.push_back(RankedTensorType::get({}, b.getF32Type()));
  if (auto v = getValueFloatsAttr())
    candidates.push_back(RankedTensorType::get({(int64_t)v.size()}, b.getF32Type()));
  if (getValueIntAttr())
    candidates.push_back(RankedTensorType::get({}, b.getI64Type()));
  if (auto v = getValueIntsAttr())
    candidates.push_back(RankedTensorType::get({(int64_t)v.size()}, b.getI64Type()));
  if (getValueStringAttr())
    candidates.push_back(RankedTensorType::get({}, StringType::get(getContext())));
  if (auto v = getValueStringsAttr())
    candidates.push_back(
        RankedTensorType::get({(int64_t)v.size()}, StringType::get(getContext())));
  if (candidates.size() != 1)
    return emitOpError() << "needs exactly one value attribute, found "
                         << candidates.size();
  types.push_back(candidates.front());
  return success();
}

LogicalResult ShapeOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  ShapeInfo x = shapeInfo(getData());
  Type i64 = IntegerType::get(getContext(), 64);
  if (!x.dims) {
    types.push_back(RankedTensorType::get({kDyn}, i64));
    return success();
  }
  int64_t rank = x.rank();
  auto clampAxis = [&](int64_t a) {
    if (a < 0)
      a += rank;
    return std::clamp<int64_t>(a, 0, rank);
  };
  int64_t start = getStart() ? clampAxis(*getStart()) : 0;
  int64_t end = getEnd() ? clampAxis(*getEnd()) : rank;
  types.push_back(RankedTensorType::get({std::max<int64_t>(0, end - start)}, i64));
  return success();
}

/// The scale and zero point of QuantizeLinear / DequantizeLinear: a float
/// scalar (per tensor) or 1-D scale (per axis, as long as `x`'s dim `axis`
/// when known), and a zero point of the same shape.
static LogicalResult verifyQdqParams(Operation *op, Value x, Value scale, Value zeroPoint,
                                     std::optional<int64_t> axisAttr) {
  auto scaleType = dyn_cast<TensorType>(scale.getType());
  if (!scaleType || !isa<FloatType>(scaleType.getElementType()))
    return op->emitOpError() << "the scale must be a float tensor, found " << scale.getType();
  if (scaleType.hasRank() && scaleType.getRank() > 1)
    return op->emitOpError() << "the scale must be a scalar or 1-D, found shape "
                             << formatDims(scaleType.getShape());
  if (auto zpType = dyn_cast<TensorType>(zeroPoint.getType()))
    if (zpType.hasRank() && scaleType.hasRank() && zpType.getShape() != scaleType.getShape())
      return op->emitOpError() << "the zero point's shape " << formatDims(zpType.getShape())
                               << " differs from the scale's "
                               << formatDims(scaleType.getShape());
  auto xType = dyn_cast<RankedTensorType>(x.getType());
  if (!xType || !scaleType.hasRank() || scaleType.getRank() != 1)
    return success();
  int64_t rank = xType.getRank(), axis = axisAttr.value_or(1);
  if (axis < -rank || axis >= rank)
    return op->emitOpError() << "axis " << axis << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  int64_t n = scaleType.getDimSize(0), dim = xType.getDimSize(axis);
  if (!ShapedType::isDynamic(n) && !ShapedType::isDynamic(dim) && n != dim && n != 1)
    return op->emitOpError() << "has " << n << " scales for axis " << axis << " of size " << dim;
  return success();
}

LogicalResult QuantizeLinearOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  if (failed(verifyQdqParams(*this, getX(), getYScale(), getYZeroPoint(), getAxis())))
    return failure();
  Type element = IntegerType::get(getContext(), 8, IntegerType::Unsigned);
  if (auto zp = dyn_cast<TensorType>(getYZeroPoint().getType())) {
    element = zp.getElementType();
    // float8 (opset 19) is valid ONNX; the executor has no kernel for it.
    if (!element.isInteger(8) && !(isa<FloatType>(element) && element.getIntOrFloatBitWidth() == 8))
      return emitOpError() << "the zero point must be int8, uint8 or float8, found " << element;
  }
  types.push_back(cast<TensorType>(getX().getType()).clone(element));
  return success();
}

LogicalResult DequantizeLinearOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  if (failed(verifyQdqParams(*this, getX(), getXScale(), getXZeroPoint(), getAxis())))
    return failure();
  auto xType = cast<TensorType>(getX().getType());
  Type element = xType.getElementType();
  if (!element.isInteger(8) && !element.isInteger(32) &&
      !(isa<FloatType>(element) && element.getIntOrFloatBitWidth() == 8))
    return emitOpError() << "the input must be int8, uint8, int32 or float8, found " << element;
  if (auto zp = dyn_cast<TensorType>(getXZeroPoint().getType()))
    if (zp.getElementType() != element)
      return emitOpError() << "the zero point's type " << zp.getElementType()
                           << " differs from the input's " << element;
  types.push_back(xType.clone(cast<TensorType>(getXScale().getType()).getElementType()));
  return success();
}

LogicalResult CastOp::inferResultTypes(SmallVectorImpl<Type> &types) {
  Type to = getElementTypeForOnnxDataType(getContext(), getTo());
  if (!to)
    return emitOpError() << "attribute 'to' is " << getTo()
                         << ", not a known ONNX data type";
  types.push_back(cast<TensorType>(getInput().getType()).clone(to));
  return success();
}
