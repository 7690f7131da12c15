//===- QuantizableLayerInterface.cpp - the layer questions, per op --------===//
//
// QuantizableLayerOpInterface on Conv, ConvTranspose, Gemm, MatMul and
// AveragePool: AMCT's layer type and constraints (reference 004), the
// operands, the channel axes and the bias of each. Nothing outside this
// file asks which op kind a layer is.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"

using namespace mlir;
using namespace amct;

#include "amct/Dialect/Amct/IR/AmctEnums.cpp.inc"

namespace {

int64_t rankOf(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t ? t.getRank() : -1;
}

/// A weight or bias seen through the fake-quant op fold-observers puts on
/// it, or through the amct.dequantize_weight of the language-model flows
/// (to its integer constant): still a layer's constant weight.
Value throughFakeQuant(Value v) {
  if (auto fq = v.getDefiningOp<FakeQuantOp>())
    return fq.getInput();
  if (auto dq = v.getDefiningOp<DequantizeWeightOp>())
    return dq.getQ();
  return v;
}

int64_t weightDim(Value w, int64_t axis) {
  return cast<RankedTensorType>(w.getType()).getDimSize(axis);
}

/// The static weight shape a layout needs, or nothing with the reason.
std::optional<ArrayRef<int64_t>> layoutShape(Value w, std::string &why) {
  auto type = dyn_cast<RankedTensorType>(w.getType());
  if (!type || !type.hasStaticShape() || type.getRank() < 2) {
    why = "the weight has no static shape of rank >= 2";
    return std::nullopt;
  }
  return type.getShape();
}

int64_t product(ArrayRef<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

/// The operand `index` when it is present (not amct.none).
OpOperand *optionalOperand(Operation *op, unsigned index) {
  if (op->getNumOperands() <= index || isa<NoneType>(op->getOperand(index).getType()))
    return nullptr;
  return &op->getOpOperand(index);
}

} // namespace

//===----------------------------------------------------------------------===//
// Conv: W [M, C/group, k...], B [M]
//===----------------------------------------------------------------------===//

std::optional<LayerKind> ConvOp::getLayerKind() {
  switch (rankOf(getW())) {
  case 4:
    return LayerKind::Conv2d;
  case 5:
    return LayerKind::Conv3d;
  default:
    return LayerKind::Conv;
  }
}

std::string ConvOp::getUnsupportedReason() {
  int64_t rank = rankOf(getW());
  if (rank != 4 && rank != 5)
    return "only Conv2d and Conv3d are quantizable (this conv has rank " +
           std::to_string(rank) + ")";
  if (auto d = getDilations(); rank == 5 && d && !d->empty() && (*d)[0] != 1)
    return "Conv3d with depth dilation != 1 (AMCT constraint)";
  return "";
}

int64_t ConvOp::getWeightOutputChannelAxis() { return 0; }
int64_t ConvOp::getWeightInputChannelAxis() { return 1; }
int64_t ConvOp::getOutputChannelCount() { return weightDim(getW(), 0); }
int64_t ConvOp::getResultChannelAxis() { return 1; }
OpOperand *ConvOp::getBiasOperand() { return optionalOperand(*this, 2); }

std::optional<InputChannelLayout> ConvOp::getInputChannelLayout(std::string &why) {
  auto w = layoutShape(getW(), why);
  if (!w)
    return std::nullopt;
  InputChannelLayout layout;
  layout.groups = getGroup();
  layout.outPerGroup = (*w)[0] / layout.groups;
  layout.channelsPerGroup = (*w)[1];
  layout.inner = product(w->drop_front(2));
  return layout;
}

//===----------------------------------------------------------------------===//
// ConvTranspose: W [C, M/group, k...], B [M]
//===----------------------------------------------------------------------===//

std::optional<LayerKind> ConvTransposeOp::getLayerKind() { return LayerKind::ConvTranspose2d; }

std::string ConvTransposeOp::getUnsupportedReason() {
  return rankOf(getW()) == 4 ? "" : "only ConvTranspose2d is quantizable";
}

int64_t ConvTransposeOp::getWeightOutputChannelAxis() { return 1; }
int64_t ConvTransposeOp::getWeightInputChannelAxis() { return 0; }
int64_t ConvTransposeOp::getOutputChannelCount() { return weightDim(getW(), 1) * getGroup(); }
int64_t ConvTransposeOp::getResultChannelAxis() { return 1; }
OpOperand *ConvTransposeOp::getBiasOperand() { return optionalOperand(*this, 2); }

std::optional<InputChannelLayout> ConvTransposeOp::getInputChannelLayout(std::string &why) {
  auto w = layoutShape(getW(), why);
  if (!w)
    return std::nullopt;
  InputChannelLayout layout;
  layout.channelsPerGroup = (*w)[0];
  layout.inner = product(w->drop_front(1));
  return layout;
}

//===----------------------------------------------------------------------===//
// Gemm (Linear): B [K, N], or [N, K] with transB; C the bias
//===----------------------------------------------------------------------===//

std::optional<LayerKind> GemmOp::getLayerKind() { return LayerKind::Linear; }

std::string GemmOp::getUnsupportedReason() {
  if (getTransA())
    return "Gemm with transA=1";
  if (getAlpha().convertToFloat() != 1.0f || getBeta().convertToFloat() != 1.0f)
    return "Gemm with alpha or beta other than 1";
  return "";
}

int64_t GemmOp::getWeightOutputChannelAxis() { return getTransB() ? 0 : 1; }
int64_t GemmOp::getWeightInputChannelAxis() { return getTransB() ? 1 : 0; }
int64_t GemmOp::getOutputChannelCount() {
  return weightDim(getB(), getWeightOutputChannelAxis());
}
int64_t GemmOp::getResultChannelAxis() { return 1; }
OpOperand *GemmOp::getBiasOperand() { return optionalOperand(*this, 2); }

std::optional<InputChannelLayout> GemmOp::getInputChannelLayout(std::string &why) {
  auto w = layoutShape(getB(), why);
  if (!w)
    return std::nullopt;
  InputChannelLayout layout;
  if (getTransB()) {
    layout.outPerGroup = (*w)[0];
    layout.channelsPerGroup = (*w)[1];
  } else {
    layout.channelsPerGroup = (*w)[0];
    layout.inner = (*w)[1];
  }
  return layout;
}

//===----------------------------------------------------------------------===//
// MatMul by a constant [K, N] (Linear on N-d data); the bias is an Add
//===----------------------------------------------------------------------===//

std::optional<LayerKind> MatMulOp::getLayerKind() {
  // Activation x activation (attention scores): not a layer.
  if (!throughFakeQuant(getB()).getDefiningOp<ConstOp>() || rankOf(getB()) != 2)
    return std::nullopt;
  return LayerKind::Linear;
}

std::string MatMulOp::getUnsupportedReason() { return ""; }
int64_t MatMulOp::getWeightOutputChannelAxis() { return 1; }
int64_t MatMulOp::getWeightInputChannelAxis() { return 0; }
int64_t MatMulOp::getOutputChannelCount() { return weightDim(getB(), 1); }
int64_t MatMulOp::getResultChannelAxis() { return rankOf(getY()) - 1; }

std::optional<InputChannelLayout> MatMulOp::getInputChannelLayout(std::string &why) {
  auto data = dyn_cast<RankedTensorType>(getA().getType());
  auto w = layoutShape(getB(), why);
  if (!w)
    return std::nullopt;
  if (!data || w->size() != 2) {
    why = "MatMul needs a ranked input and a 2-D weight";
    return std::nullopt;
  }
  InputChannelLayout layout;
  layout.channelsPerGroup = (*w)[0];
  layout.inner = (*w)[1];
  layout.dataAxis = data.getRank() - 1;
  return layout;
}

OpOperand *MatMulOp::getBiasOperand() {
  // The Add is the bias when it is the MatMul's only user, keeps the
  // result's type (adds one value per output channel without broadcasting
  // further) and its other operand is a float constant of [], [1], [N] or
  // [1, .., 1, N] (N output channels).
  Value result = getY();
  auto weight = dyn_cast<RankedTensorType>(getB().getType());
  if (!result.hasOneUse() || !weight || !weight.hasStaticShape())
    return nullptr;
  auto add = dyn_cast<AddOp>(*result.getUsers().begin());
  if (!add || add.getType() != result.getType())
    return nullptr;
  unsigned other = add->getOperand(0) == result ? 1 : 0;
  if (add->getOperand(1 - other) != result)
    return nullptr;
  Value bias = throughFakeQuant(add->getOperand(other));
  auto type = dyn_cast<RankedTensorType>(bias.getType());
  if (!bias.getDefiningOp<ConstOp>() || !getConstantFloats(bias) || !type ||
      !type.hasStaticShape())
    return nullptr;
  ArrayRef<int64_t> shape = type.getShape();
  int64_t channels = getOutputChannelCount();
  if (!shape.empty() &&
      (llvm::any_of(shape.drop_back(), [](int64_t d) { return d != 1; }) ||
       (shape.back() != 1 && shape.back() != channels)))
    return nullptr;
  return &add->getOpOperand(other);
}

//===----------------------------------------------------------------------===//
// AveragePool (AvgPool2d): no weight
//===----------------------------------------------------------------------===//

std::optional<LayerKind> AveragePoolOp::getLayerKind() { return LayerKind::AvgPool2d; }

std::string AveragePoolOp::getUnsupportedReason() {
  return rankOf(getX()) == 4 ? "" : "only 2-d AveragePool is quantizable";
}

std::optional<unsigned> AveragePoolOp::getWeightOperandIndex() { return std::nullopt; }
int64_t AveragePoolOp::getWeightOutputChannelAxis() {
  llvm_unreachable("AvgPool2d has no weight");
}
int64_t AveragePoolOp::getWeightInputChannelAxis() {
  llvm_unreachable("AvgPool2d has no weight");
}
int64_t AveragePoolOp::getOutputChannelCount() { return rankOf(getY()) >= 2 ? cast<RankedTensorType>(getY().getType()).getDimSize(1) : 0; }
int64_t AveragePoolOp::getResultChannelAxis() { return 1; }
OpOperand *AveragePoolOp::getBiasOperand() { return nullptr; }

std::optional<InputChannelLayout> AveragePoolOp::getInputChannelLayout(std::string &why) {
  why = "the layer has no weight";
  return std::nullopt;
}
