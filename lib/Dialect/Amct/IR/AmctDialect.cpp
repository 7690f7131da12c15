//===- AmctDialect.cpp - amct dialect, types and structural ops ----------===//
//
// Registers the dialect and implements the ops that are not typed ONNX ops:
// none, const, node, yield; plus the location helpers that carry ONNX node
// and tensor names through the IR.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace amct;

#include "amct/Dialect/Amct/IR/AmctDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "amct/Dialect/Amct/IR/AmctTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "amct/Dialect/Amct/IR/AmctAttrs.cpp.inc"

#include "amct/Dialect/Amct/IR/AmctInterfaces.cpp.inc"

void AmctDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "amct/Dialect/Amct/IR/AmctTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "amct/Dialect/Amct/IR/AmctAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "amct/Dialect/Amct/IR/AmctOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

func::FuncOp amct::getMainFunction(ModuleOp module) {
  func::FuncOp main;
  for (auto f : module.getOps<func::FuncOp>())
    if (f.getSymName() == "main" || !main)
      main = f;
  return main;
}

std::string amct::getGraphInputName(func::FuncOp func, unsigned index) {
  auto name = func.getArgAttrOfType<StringAttr>(index, "amct.name");
  return name ? name.str() : "input" + std::to_string(index);
}

Location amct::makeNodeLoc(MLIRContext *ctx, StringRef nodeName,
                           ArrayRef<std::string> outputNames,
                           Location fallback) {
  Location base = nodeName.empty()
                      ? fallback
                      : Location(NameLoc::get(StringAttr::get(ctx, nodeName)));
  if (outputNames.empty())
    return base;
  SmallVector<Attribute> names;
  for (const std::string &name : outputNames)
    names.push_back(StringAttr::get(ctx, name));
  return FusedLoc::get({base}, ArrayAttr::get(ctx, names), ctx);
}

static Location stripOutputNames(Location loc) {
  if (auto fused = dyn_cast<FusedLoc>(loc))
    if (isa_and_nonnull<ArrayAttr>(fused.getMetadata()) &&
        fused.getLocations().size() == 1)
      return fused.getLocations().front();
  return loc;
}

StringRef amct::getNodeName(Operation *op) {
  if (auto name = dyn_cast<NameLoc>(stripOutputNames(op->getLoc())))
    return name.getName().getValue();
  return {};
}

SmallVector<StringRef> amct::getOutputNames(Operation *op) {
  SmallVector<StringRef> names;
  if (auto fused = dyn_cast<FusedLoc>(op->getLoc()))
    if (auto array = dyn_cast_or_null<ArrayAttr>(fused.getMetadata()))
      for (Attribute a : array)
        if (auto s = dyn_cast<StringAttr>(a))
          names.push_back(s.getValue());
  return names;
}

//===----------------------------------------------------------------------===//
// Structural ops
//===----------------------------------------------------------------------===//

OpFoldResult NoneOp::fold(FoldAdaptor) { return UnitAttr::get(getContext()); }

OpFoldResult ConstOp::fold(FoldAdaptor) { return getValue(); }

LogicalResult ConstOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, ValueRange, DictionaryAttr attrs,
    OpaqueProperties properties, RegionRange,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto *props = properties.as<Properties *>();
  Attribute value = props ? props->value : attrs.get("value");
  auto typed = dyn_cast_or_null<TypedAttr>(value);
  if (!typed)
    return failure();
  inferredReturnTypes.push_back(typed.getType());
  return success();
}

LogicalResult NodeOp::verify() {
  size_t numNames = getSubgraphs() ? getSubgraphs()->size() : 0;
  if (numNames != getBodies().size())
    return emitOpError("has ") << getBodies().size() << " subgraph regions but "
                               << numNames << " subgraph attribute names";
  for (Region &body : getBodies())
    if (body.front().empty() || !isa<YieldOp>(body.front().back()))
      return emitOpError("subgraph must end with amct.yield");
  if (getOpType().empty())
    return emitOpError("op_type must not be empty");
  return success();
}

LogicalResult FakeQuantOp::verify() {
  int64_t bits = getNumBits();
  if ((bits < 2 || bits > 16) && bits != 32)
    return emitOpError() << "num_bits is " << bits << ", expected 2..16 or 32";
  ArrayRef<float> scale = getScale();
  ArrayRef<int64_t> offset = getOffset();
  if (scale.empty() || scale.size() != offset.size())
    return emitOpError() << "needs as many offsets as scales (at least one), found "
                         << scale.size() << " scales and " << offset.size() << " offsets";
  for (float s : scale)
    if (!(s > 0.0f) || !std::isfinite(s))
      return emitOpError() << "scales must be finite and positive, found " << s;
  int64_t lo = -(int64_t(1) << (bits - 1)), hi = (int64_t(1) << (bits - 1)) - 1;
  for (int64_t o : offset)
    if (o < lo || o > hi)
      return emitOpError() << "offset " << o << " is outside [" << lo << ", " << hi << "]";
  auto type = cast<TensorType>(getInput().getType());
  if (std::optional<int64_t> axis = getAxis()) {
    if (!type.hasRank() || *axis < 0 || *axis >= type.getRank())
      return emitOpError() << "axis " << *axis << " is out of range for " << type;
    if (!type.isDynamicDim(*axis) && type.getDimSize(*axis) != (int64_t)scale.size())
      return emitOpError() << "has " << scale.size() << " scales for axis " << *axis
                           << " of size " << type.getDimSize(*axis);
  } else if (scale.size() != 1) {
    return emitOpError() << "per-tensor fake_quant needs one scale, found " << scale.size();
  }
  return success();
}

LogicalResult DequantizeWeightOp::verify() {
  int64_t bits = getNumBits(), groupSize = getGroupSize();
  if (bits != 4 && bits != 8)
    return emitOpError() << "num_bits is " << bits << ", expected 4 or 8";
  if (groupSize < 0)
    return emitOpError() << "group_size is " << groupSize << ", expected >= 0";
  auto q = dyn_cast<RankedTensorType>(getQ().getType());
  auto scale = dyn_cast<RankedTensorType>(getScale().getType());
  if (!q || !scale)
    return success();
  if (q.getRank() != 2 || scale.getRank() != 2)
    return emitOpError() << "q must be [K, N] and scale [G, N], [1, N] or [1, 1], found ranks "
                         << q.getRank() << " and " << scale.getRank();
  if (auto off = dyn_cast<RankedTensorType>(getOffset().getType()))
    if (off.getShape() != scale.getShape())
      return emitOpError() << "offset must have the shape of scale";
  if (auto out = dyn_cast<RankedTensorType>(getOutput().getType()))
    if (failed(verifyCompatibleShape(out.getShape(), q.getShape())))
      return emitOpError() << "the result must have q's shape";
  if (!q.hasStaticShape() || !scale.hasStaticShape())
    return success();
  int64_t k = q.getDimSize(0), n = q.getDimSize(1);
  int64_t g = scale.getDimSize(0), sn = scale.getDimSize(1);
  int64_t groups = groupSize > 0 ? (k + groupSize - 1) / groupSize : 1;
  if (g != groups)
    return emitOpError() << "scale has " << g << " rows, expected " << groups
                         << (groupSize > 0 ? " (K " + std::to_string(k) + " in groups of " +
                                                 std::to_string(groupSize) + ")"
                                           : std::string(" without groups"));
  if (sn != n && sn != 1)
    return emitOpError() << "scale has " << sn << " columns, expected 1 or N = " << n;
  if (groupSize > 0 && sn != n)
    return emitOpError() << "group scales must have one column per output channel (" << n << ")";
  return success();
}

#define GET_OP_CLASSES
#include "amct/Dialect/Amct/IR/AmctOps.cpp.inc"
