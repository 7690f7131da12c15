//===- QuantizableLayers.cpp - which layers AMCT quantizes ----------------===//

#include "amct/Transforms/QuantizableLayers.h"
#include "amct/Support/FileAccess.h"
#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"

#include "amct/Support/QuantConfig.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;

namespace amct {

namespace {
/// A weight seen through the fake-quant op fold-observers puts on it.
Value weightSource(Value w) {
  if (auto fq = w.getDefiningOp<FakeQuantOp>())
    return fq.getInput();
  return w;
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

/// Finds the bias of a classified weighted layer; a bias the layer has but
/// that cannot become int32 is a reason to skip the layer.
void findBias(QuantizableLayer &layer, std::string &reason) {
  Operation *op = layer.op;
  auto weightType = dyn_cast<RankedTensorType>(op->getOperand(layer.weightOperand).getType());
  if (!weightType || !weightType.hasStaticShape())
    return; // skipped for its weight
  int64_t channels = layer.outputChannels();
  auto isFloatConstant = [](Value v) {
    Value source = weightSource(v);
    return source.getDefiningOp<ConstOp>() && getConstantFloats(source).has_value();
  };
  if (isa<MatMulOp>(op)) {
    // MatMul + Add(constant): the Add is the bias when it is the only user
    // and adds one value per output channel without broadcasting further.
    Value result = op->getResult(0);
    if (!result.hasOneUse())
      return;
    auto add = dyn_cast<AddOp>(*result.getUsers().begin());
    if (!add || add.getType() != result.getType())
      return;
    int other = add->getOperand(0) == result ? 1 : 0;
    Value bias = add->getOperand(other);
    if (add->getOperand(1 - other) != result || !isFloatConstant(bias) ||
        !isPerChannelShape(weightSource(bias).getType(), channels))
      return;
    layer.biasOp = add;
    layer.biasOperand = other;
    return;
  }
  if (op->getNumOperands() < 3 || isa<NoneType>(op->getOperand(2).getType()))
    return;
  Value bias = op->getOperand(2);
  if (!isFloatConstant(bias)) {
    reason = "the bias is not a float32 constant (it cannot become int32)";
    return;
  }
  if (!isPerChannelShape(weightSource(bias).getType(), channels)) {
    std::string shape;
    llvm::raw_string_ostream os(shape);
    if (auto ranked = dyn_cast<RankedTensorType>(weightSource(bias).getType())) {
      os << "[";
      llvm::interleaveComma(ranked.getShape(), os);
      os << "]";
    }
    reason = "the bias of shape " + shape + " is not one value per output channel (" +
             std::to_string(channels) + " channels), so it cannot become int32";
    return;
  }
  layer.biasOp = op;
  layer.biasOperand = 2;
}

/// Classifies one op; returns false if it is not a layer kind at all.
bool classify(Operation *op, QuantizableLayer &layer, std::string &reason) {
  auto rankOf = [](Value v) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    return t ? t.getRank() : -1;
  };
  layer.op = op;
  layer.dataOperand = 0;
  layer.weightOperand = 1;
  layer.weightChannelAxis = 0;
  if (auto conv = dyn_cast<ConvOp>(op)) {
    int64_t rank = rankOf(conv.getW());
    if (rank == 4)
      layer.type = "Conv2d";
    else if (rank == 5) {
      layer.type = "Conv3d";
      if (auto d = conv.getDilations(); d && !d->empty() && (*d)[0] != 1)
        reason = "Conv3d with depth dilation != 1 (AMCT constraint)";
    } else {
      layer.type = "Conv";
      reason = "only Conv2d and Conv3d are quantizable (this conv has rank " +
               std::to_string(rank) + ")";
    }
    return true;
  }
  if (auto convT = dyn_cast<ConvTransposeOp>(op)) {
    layer.type = "ConvTranspose2d";
    layer.weightChannelAxis = 1;
    if (rankOf(convT.getW()) != 4)
      reason = "only ConvTranspose2d is quantizable";
    return true;
  }
  if (auto gemm = dyn_cast<GemmOp>(op)) {
    layer.type = "Linear";
    layer.weightChannelAxis = gemm.getTransB() ? 0 : 1;
    if (gemm.getTransA())
      reason = "Gemm with transA=1";
    else if (gemm.getAlpha().convertToFloat() != 1.0f || gemm.getBeta().convertToFloat() != 1.0f)
      reason = "Gemm with alpha or beta other than 1";
    return true;
  }
  if (auto matmul = dyn_cast<MatMulOp>(op)) {
    if (!weightSource(matmul.getB()).getDefiningOp<ConstOp>() || rankOf(matmul.getB()) != 2)
      return false; // activation x activation: not a layer
    layer.type = "Linear";
    layer.weightChannelAxis = 1;
    return true;
  }
  if (auto pool = dyn_cast<AveragePoolOp>(op)) {
    layer.type = "AvgPool2d";
    layer.weightOperand = -1;
    if (rankOf(pool.getX()) != 4)
      reason = "only 2-d AveragePool is quantizable";
    return true;
  }
  return false;
}
} // namespace

std::vector<QuantizableLayer> findQuantizableLayers(func::FuncOp func,
                                                    std::vector<SkippedLayer> *skipped) {
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
    if (reason.empty() && layer.name.empty())
      reason = "the node has no name (config and record keys are node names)";
    if (reason.empty() && layer.weightOperand >= 0) {
      Value w = weightSource(op->getOperand(layer.weightOperand));
      auto type = dyn_cast<RankedTensorType>(w.getType());
      if (!getConstantFloats(w))
        reason = "the weight is not a float32 constant";
      else if (!type || !type.hasStaticShape())
        reason = "the weight shape is not static";
      else
        findBias(layer, reason);
    }
    auto dataType = dyn_cast<TensorType>(op->getOperand(layer.dataOperand).getType());
    if (reason.empty() && (!dataType || !dataType.getElementType().isF32()))
      reason = "the input is not float32";
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
  auto type = cast<RankedTensorType>(op->getOperand(weightOperand).getType());
  int64_t channels = type.getDimSize(weightChannelAxis);
  if (auto convT = dyn_cast<ConvTransposeOp>(op))
    channels *= convT.getGroup();
  return channels;
}

std::vector<std::pair<std::string, std::string>>
getLayerList(const std::vector<QuantizableLayer> &layers) {
  std::vector<std::pair<std::string, std::string>> list;
  for (const QuantizableLayer &layer : layers)
    list.emplace_back(layer.name, layer.type);
  return list;
}

std::optional<QuantConfig> loadQuantConfig(const std::string &path,
                                           const std::vector<QuantizableLayer> &layers,
                                           std::string &error) {
  LayerList list = getLayerList(layers);
  if (path.empty())
    return createQuantConfig(list, /*skipLayers=*/{}, /*batchNum=*/1,
                             /*activationOffset=*/true, error);
  std::string text;
  if (!readRegularFile(path, text, error)) {
    error = "quant config " + error;
    return std::nullopt;
  }
  switch (detectConfigKind(text)) {
  case ConfigKind::LayerJson: {
    std::optional<QuantConfig> config = parseQuantConfigJson(text, path, error);
    if (!config || !bindQuantConfigToLayers(*config, list, path, error))
      return std::nullopt;
    return config;
  }
  case ConfigKind::SimpleCfg:
    return parseSimpleConfig(text, path, list, error);
  case ConfigKind::LlmJson:
    error = path + ": this is an LLM quantize config (quant_cfg); the CNN flow takes AMCT's "
                   "per-layer JSON or a simple .cfg";
    return std::nullopt;
  case ConfigKind::Unknown:
    break;
  }
  error = path + ": not a quant config (expected AMCT's JSON config or a simple .cfg in "
                 "protobuf text format)";
  return std::nullopt;
}

} // namespace amct
