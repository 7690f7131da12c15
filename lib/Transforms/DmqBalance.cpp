//===- DmqBalance.cpp - --amct-dmq-balance --------------------------------===//
//
// Applies recorded DMQ balance factors: weights times f per input channel,
// activations divided by f. The division is folded into the op that makes
// the activation where that is exact (a Conv or BatchNormalization whose
// output, possibly through Relu / MaxPool, feeds only this layer: both
// commute with a positive per-channel scale), so the deploy model gains no
// op; otherwise an amct.Mul by 1/f is inserted before the layer.
//
//===----------------------------------------------------------------------===//

#include "amct/Transforms/DmqBalance.h"
#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Transforms/Passes.h"
#include "PassRecord.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

namespace amct {
#define GEN_PASS_DEF_AMCTDMQBALANCE
#include "amct/Transforms/Passes.h.inc"
} // namespace amct

using namespace mlir;
using namespace amct;

std::optional<InputChannelLayout>
amct::getInputChannelLayout(const QuantizableLayer &layer, std::string &why) {
  if (layer.weightOperand < 0) {
    why = "the layer has no weight";
    return std::nullopt;
  }
  return const_cast<QuantizableLayerOpInterface &>(layer.op).getInputChannelLayout(why);
}

std::vector<float> amct::weightAbsMaxPerInputChannel(ArrayRef<float> weights,
                                                     const InputChannelLayout &layout) {
  std::vector<float> maxima(layout.channels(), 0.0f);
  layout.forEach([&](int64_t c, int64_t i) {
    maxima[c] = std::max(maxima[c], std::fabs(weights[i]));
  });
  return maxima;
}

namespace {

/// Multiplies output channel c of a Conv or BatchNormalization by scale[c]
/// (weight and bias, or BN scale and bias). Fails without changing
/// anything if its parameters are not constants used only by it.
LogicalResult scaleOutputChannels(OpBuilder &b, Operation *op, ArrayRef<float> scale) {
  auto rescale = [&](Value v, int64_t perChannel) -> std::optional<std::vector<float>> {
    std::optional<std::vector<float>> values = getConstantFloats(v);
    if (!values || !v.hasOneUse() ||
        (int64_t)values->size() != (int64_t)scale.size() * perChannel)
      return std::nullopt;
    for (size_t i = 0; i < values->size(); ++i)
      (*values)[i] *= scale[i / perChannel];
    return values;
  };
  auto replace = [&](Operation *user, unsigned index, ArrayRef<float> values) {
    Value old = user->getOperand(index);
    Operation *def = old.getDefiningOp();
    b.setInsertionPoint(def);
    Value fresh = createFloatConstant(b, def->getLoc(), cast<RankedTensorType>(old.getType()),
                                      values, getNodeName(def));
    user->setOperand(index, fresh);
    def->erase();
  };
  int64_t channels = scale.size();
  // A layer whose output channels are weight dim 0 and result dim 1 (Conv,
  // Gemm with transB): scale the weight's channel slices and the bias.
  if (auto layer = dyn_cast<QuantizableLayerOpInterface>(op)) {
    std::optional<unsigned> wIndex = layer.getWeightOperandIndex();
    if (!wIndex || layer.getWeightOutputChannelAxis() != 0 || layer.getResultChannelAxis() != 1)
      return failure();
    Value weight = op->getOperand(*wIndex);
    auto wType = dyn_cast<RankedTensorType>(weight.getType());
    if (!wType || !wType.hasStaticShape() || wType.getDimSize(0) != channels)
      return failure();
    OpOperand *biasOperand = layer.getBiasOperand();
    if (biasOperand && biasOperand->getOwner() != op)
      return failure();
    auto w = rescale(weight, wType.getNumElements() / channels);
    std::optional<std::vector<float>> bias;
    if (!w || (biasOperand && !(bias = rescale(biasOperand->get(), 1))))
      return failure();
    replace(op, *wIndex, *w);
    if (biasOperand)
      replace(op, biasOperand->getOperandNumber(), *bias);
    return success();
  }
  if (auto bn = dyn_cast<BatchNormalizationOp>(op)) {
    if (bn.getTrainingMode() != 0)
      return failure();
    auto gamma = rescale(bn.getScale(), 1), beta = rescale(bn.getB(), 1);
    if (!gamma || !beta)
      return failure();
    replace(op, 1, *gamma);
    replace(op, 2, *beta);
    return success();
  }
  return failure();
}

/// Divides `data` (channel axis 1) by the factors by folding 1/f into the
/// op producing it, looking through single-use Relu and MaxPool.
LogicalResult foldIntoProducer(OpBuilder &b, Value data, ArrayRef<float> inverse) {
  Value v = data;
  while (Operation *def = v.getDefiningOp()) {
    if (!v.hasOneUse())
      return failure();
    bool indicesUnused = def->getNumResults() == 1 || def->getResult(1).use_empty();
    if (isa<ReluOp>(def) || (isa<MaxPoolOp>(def) && indicesUnused)) {
      v = def->getOperand(0);
      continue;
    }
    return scaleOutputChannels(b, def, inverse);
  }
  return failure();
}

LogicalResult balanceLayer(const QuantizableLayer &layer, ArrayRef<float> factors) {
  Operation *op = layer.op;
  std::string why;
  std::optional<InputChannelLayout> layout = getInputChannelLayout(layer, why);
  if (!layout)
    return op->emitError() << "layer '" << layer.name
                           << "': tensor_balance_factor cannot be applied: " << why;
  if ((int64_t)factors.size() != layout->channels())
    return op->emitError() << "layer '" << layer.name << "': tensor_balance_factor has "
                           << factors.size() << " values, expected one per input channel ("
                           << layout->channels() << ")";
  for (float f : factors)
    if (!(f > 0.0f) || !std::isfinite(f))
      return op->emitError() << "layer '" << layer.name
                             << "': tensor_balance_factor values must be positive and finite, got "
                             << f;
  Value data = op->getOperand(layer.dataOperand);
  auto dataType = dyn_cast<RankedTensorType>(data.getType());
  if (!dataType || dataType.getRank() <= layout->dataAxis ||
      (!dataType.isDynamicDim(layout->dataAxis) &&
       dataType.getDimSize(layout->dataAxis) != layout->channels()))
    return op->emitError() << "layer '" << layer.name << "': input channel dimension "
                           << layout->dataAxis << " does not hold " << layout->channels()
                           << " channels";

  Value weight = op->getOperand(layer.weightOperand);
  std::optional<std::vector<float>> w = getConstantFloats(weight);
  if (!w)
    return op->emitError() << "layer '" << layer.name << "': the weight is not a float constant";
  layout->forEach([&](int64_t c, int64_t i) { (*w)[i] *= factors[c]; });
  OpBuilder b(op->getContext());
  Operation *weightDef = weight.getDefiningOp();
  b.setInsertionPoint(weightDef);
  Value newWeight = createFloatConstant(b, weightDef->getLoc(),
                                        cast<RankedTensorType>(weight.getType()), *w,
                                        getNodeName(weightDef));
  op->setOperand(layer.weightOperand, newWeight);
  if (weightDef->use_empty())
    weightDef->erase();

  std::vector<float> inverse(factors.size());
  for (size_t c = 0; c < factors.size(); ++c)
    inverse[c] = 1.0f / factors[c];
  if (layout->dataAxis == 1 && succeeded(foldIntoProducer(b, data, inverse)))
    return success();

  // An explicit Mul by 1/f, shaped to broadcast along the channel axis.
  SmallVector<int64_t> shape{(int64_t)inverse.size()};
  for (int64_t d = layout->dataAxis + 1; d < dataType.getRank(); ++d)
    shape.push_back(1);
  b.setInsertionPoint(op);
  // AMCT's names (apply_dmq_balancer_pass.py): `<layer>.tensor_balance_factor`
  // holding 1/f, and the Mul `<layer>.mul`.
  std::string factorName = layer.name + ".tensor_balance_factor";
  Value inv = createFloatConstant(b, NameLoc::get(b.getStringAttr(factorName)),
                                  RankedTensorType::get(shape, b.getF32Type()), inverse,
                                  factorName);
  auto mul = b.create<MulOp>(NameLoc::get(b.getStringAttr(layer.name + ".mul")), dataType, data,
                             inv);
  op->setOperand(layer.dataOperand, mul.getResult());
  return success();
}

} // namespace

LogicalResult amct::applyDmqBalance(func::FuncOp func, const Record &record) {
  for (const QuantizableLayer &layer : findQuantizableLayers(func, nullptr)) {
    const LayerRecord *entry = record.find(layer.name);
    if (!entry || entry->tensorBalanceFactor.empty())
      continue;
    if (failed(balanceLayer(layer, entry->tensorBalanceFactor)))
      return failure();
  }
  return success();
}

namespace {

struct AmctDmqBalancePass : amct::impl::AmctDmqBalanceBase<AmctDmqBalancePass> {
  using AmctDmqBalanceBase::AmctDmqBalanceBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    std::optional<Record> record = readPassRecord(func, recordPath, "--amct-dmq-balance");
    if (!record)
      return signalPassFailure();
    if (failed(applyDmqBalance(func, *record)))
      signalPassFailure();
  }
};

} // namespace
