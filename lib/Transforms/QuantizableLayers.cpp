//===- QuantizableLayers.cpp - which layers AMCT quantizes ----------------===//

#include "amct/Transforms/QuantizableLayers.h"
#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"


#include "llvm/ADT/StringMap.h"

using namespace mlir;

namespace amct {

namespace {
/// A weight seen through the fake-quant op fold-observers puts on it.
Value weightSource(Value w) {
  if (auto fq = w.getDefiningOp<FakeQuantOp>())
    return fq.getInput();
  return w;
}

/// An int8 weight per tensor or channel the language-model W8A8 flow
/// wrote (amct.dequantize_weight of constant 8-bit integers, no offset,
/// float32): a quantized constant, which --amct-convert deploys.
bool isInt8WeightDequantization(Value w) {
  auto dq = w.getDefiningOp<DequantizeWeightOp>();
  return dq && dq.getNumBits() == 8 && dq.getGroupSize() == 0 &&
         isa<NoneType>(dq.getOffset().getType()) &&
         isa_and_nonnull<ConstOp>(dq.getQ().getDefiningOp()) &&
         cast<ShapedType>(dq.getType()).getElementType().isF32();
}

/// Whether `type` holds one value per output channel of a layer with
/// `channels` of them, along its last dim: [], [1], [C], [1, .., 1, C].
bool isPerChannelShape(Type type, int64_t channels) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked || !ranked.hasStaticShape())
    return false;
  ArrayRef<int64_t> shape = ranked.getShape();
  if (shape.empty())
    return true;
  if (llvm::any_of(shape.drop_back(), [](int64_t d) { return d != 1; }))
    return false;
  return shape.back() == 1 || shape.back() == channels;
}

/// Records the layer's bias (the interface finds it); a bias on the layer
/// that cannot become int32 is a reason to skip the layer.
void findBias(QuantizableLayer &layer, std::string &reason) {
  auto weightType =
      dyn_cast<RankedTensorType>(layer.op->getOperand(layer.weightOperand).getType());
  if (!weightType || !weightType.hasStaticShape())
    return; // skipped for its weight
  OpOperand *biasOperand = layer.op.getBiasOperand();
  if (!biasOperand)
    return;
  Value bias = weightSource(biasOperand->get());
  if (biasOperand->getOwner() == layer.op.getOperation()) {
    if (!bias.getDefiningOp<ConstOp>() || !getConstantFloats(bias)) {
      reason = "the bias is not a float32 constant (it cannot become int32)";
      return;
    }
    int64_t channels = layer.outputChannels();
    if (!isPerChannelShape(bias.getType(), channels)) {
      std::string shape;
      llvm::raw_string_ostream os(shape);
      if (auto ranked = dyn_cast<RankedTensorType>(bias.getType())) {
        os << "[";
        llvm::interleaveComma(ranked.getShape(), os);
        os << "]";
      }
      reason = "the bias of shape " + shape + " is not one value per output channel (" +
               std::to_string(channels) + " channels), so it cannot become int32";
      return;
    }
  }
  layer.biasOp = biasOperand->getOwner();
  layer.biasOperand = biasOperand->getOperandNumber();
}

/// Classifies one op through its QuantizableLayerOpInterface; returns false
/// if it is not a layer at all.
bool classify(Operation *op, QuantizableLayer &layer, std::string &reason) {
  auto iface = dyn_cast<QuantizableLayerOpInterface>(op);
  if (!iface)
    return false;
  std::optional<LayerKind> kind = iface.getLayerKind();
  if (!kind)
    return false;
  layer.op = iface;
  layer.kind = *kind;
  layer.type = stringifyLayerKind(*kind).str();
  layer.dataOperand = iface.getDataOperandIndex();
  std::optional<unsigned> weight = iface.getWeightOperandIndex();
  layer.weightOperand = weight ? (int)*weight : -1;
  layer.weightChannelAxis = weight ? iface.getWeightOutputChannelAxis() : 0;
  reason = iface.getUnsupportedReason();
  return true;
}
} // namespace

std::vector<QuantizableLayer> findQuantizableLayers(func::FuncOp func,
                                                    std::vector<SkippedLayer> *skipped,
                                                    bool weightOnly) {
  auto isFloat = [&](Type t) {
    return t && (t.isF32() || (weightOnly && (t.isF16() || t.isBF16())));
  };
  std::vector<QuantizableLayer> candidates;
  std::vector<std::string> reasons;
  llvm::StringMap<unsigned> nameCount;
  llvm::DenseMap<Value, unsigned> weightUsers;
  func.walk([&](Operation *op) {
    QuantizableLayer layer;
    std::string reason;
    if (!classify(op, layer, reason))
      return;
    layer.name = getNodeName(op).str();
    // An observer in an If / Loop / Scan body would see a value per branch
    // taken or per iteration, not one per batch: such layers stay float.
    if (reason.empty() && op->getParentOp() != func.getOperation())
      reason = "the layer is inside a subgraph (If / Loop / Scan body), which calibration "
               "does not reach";
    if (reason.empty() && layer.name.empty())
      reason = "the node has no name (config and record keys are node names)";
    if (reason.empty() && layer.weightOperand >= 0) {
      Value w = weightSource(op->getOperand(layer.weightOperand));
      auto type = dyn_cast<RankedTensorType>(w.getType());
      bool constant = isInt8WeightDequantization(w) ||
                      (weightOnly ? isa_and_nonnull<ConstOp, ConstantOp>(w.getDefiningOp()) &&
                                        type && isFloat(type.getElementType())
                                  : bool(getConstantFloats(w)));
      if (!constant)
        reason = weightOnly ? "the weight is not a float32, float16 or bfloat16 constant"
                            : "the weight is not a float32 constant";
      else if (!type || !type.hasStaticShape())
        reason = "the weight shape is not static";
      else {
        std::string biasReason;
        findBias(layer, biasReason);
        if (!biasReason.empty() && weightOnly) {
          // The bias of a weight-only layer stays float: not a reason.
          layer.biasOp = nullptr;
          layer.biasOperand = -1;
        } else {
          reason = biasReason;
        }
      }
    }
    auto dataType = dyn_cast<TensorType>(op->getOperand(layer.dataOperand).getType());
    if (reason.empty() && (!dataType || !isFloat(dataType.getElementType())))
      reason = weightOnly ? "the input is not float32, float16 or bfloat16"
                          : "the input is not float32";
    if (layer.weightOperand >= 0)
      ++weightUsers[weightSource(op->getOperand(layer.weightOperand))];
    ++nameCount[layer.name];
    candidates.push_back(layer);
    reasons.push_back(reason);
  });
  std::vector<QuantizableLayer> layers;
  for (auto [layer, reason] : llvm::zip(candidates, reasons)) {
    if (reason.empty() && layer.weightOperand >= 0 &&
        weightUsers[weightSource(layer.op->getOperand(layer.weightOperand))] > 1)
      reason = "the weight is shared with another layer (AMCT does not quantize shared weights)";
    if (reason.empty() && nameCount[layer.name] > 1)
      reason = "another layer has the same node name";
    if (reason.empty())
      layers.push_back(layer);
    else if (skipped)
      skipped->push_back({layer.op, layer.name, reason, layer.type});
  }
  return layers;
}

int64_t QuantizableLayer::outputChannels() const {
  assert(weightOperand >= 0 && "a layer without weight has no output channels");
  return const_cast<QuantizableLayerOpInterface &>(op).getOutputChannelCount();
}

std::vector<std::pair<std::string, std::string>>
getLayerList(const std::vector<QuantizableLayer> &layers) {
  std::vector<std::pair<std::string, std::string>> list;
  for (const QuantizableLayer &layer : layers)
    list.emplace_back(layer.name, layer.type);
  return list;
}

} // namespace amct
