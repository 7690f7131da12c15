//===- FoldObservers.cpp - --amct-fold-observers --------------------------===//
//
// Turns the calibration IR into the fake-quant model: observers become
// fake-quant ops with the recorded activation parameters, and each layer's
// weight is fake-quantized with its recorded weight parameters.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Quant/Quant.h"
#include "amct/Support/RecordFile.h"
#include "amct/Transforms/Passes.h"
#include "amct/Transforms/QuantizableLayers.h"
#include "PassRecord.h"

#include "mlir/IR/Builders.h"

#include <cmath>

namespace amct {
#define GEN_PASS_DEF_AMCTFOLDOBSERVERS
#include "amct/Transforms/Passes.h.inc"
} // namespace amct

using namespace mlir;
using namespace amct;

namespace {

/// The layer's bias as the int32 the deploy model adds to its accumulator:
/// a 32-bit fake_quant with the accumulator scale scale_d * scale_w[c], so
/// the fake-quant model computes what the NPU computes (a float bias differs
/// from it by up to half an accumulator unit per layer, which moves
/// activations across the next layer's rounding boundaries). A single bias
/// value shared by per-channel scales is first broadcast to every channel.
} // namespace

LogicalResult amct::fakeQuantizeBias(OpBuilder &b, const QuantizableLayer &layer, float scaleD,
                                     ArrayRef<float> scaleW) {
  Operation *biasOp = layer.biasOp;
  Value bias = biasOp->getOperand(layer.biasOperand);
  std::optional<std::vector<float>> values = getConstantFloats(bias);
  auto type = dyn_cast<RankedTensorType>(bias.getType());
  if (!values || !type)
    return layer.op->emitError() << "layer '" << layer.name
                                 << "': the bias is not a float32 constant";
  std::vector<float> scales =
      quant::accumulatorScales(scaleD, scaleW.data(), scaleW.size(), layer.outputChannels());
  b.setInsertionPoint(biasOp);
  if (values->size() == 1 && scales.size() > 1) {
    values->assign(scales.size(), values->front());
    SmallVector<int64_t> dims(std::max<int64_t>(type.getRank(), 1), 1);
    dims.back() = scales.size();
    type = RankedTensorType::get(dims, type.getElementType());
    bias = createFloatConstant(b, bias.getLoc(), type, *values,
                               (getNodeName(bias.getDefiningOp()) + "_broadcast").str());
  }
  std::string error;
  if (!quant::quantizeBias(values->data(), values->size(), scales.data(), scales.size(), error))
    return layer.op->emitError() << "layer '" << layer.name << "': " << error;
  bool perChannel = scales.size() > 1;
  auto fq = b.create<FakeQuantOp>(
      NameLoc::get(b.getStringAttr(layer.name + "_bias_quant")), type, bias,
      b.getDenseF32ArrayAttr(scales), b.getDenseI64ArrayAttr(SmallVector<int64_t>(scales.size(), 0)),
      b.getI64IntegerAttr(32), perChannel ? b.getI64IntegerAttr(type.getRank() - 1) : IntegerAttr());
  biasOp->setOperand(layer.biasOperand, fq);
  return success();
}

namespace {

/// Activation bits of an observer's calibration method.
std::optional<int64_t> activationBits(ObserverOp observer) {
  Attribute method = observer.getMethod();
  if (auto ifmr = dyn_cast<IfmrAttr>(method))
    return ifmr.getNumBits();
  if (auto hfmg = dyn_cast<HfmgAttr>(method))
    return hfmg.getNumBits();
  return std::nullopt;
}

struct AmctFoldObserversPass : amct::impl::AmctFoldObserversBase<AmctFoldObserversPass> {
  using AmctFoldObserversBase::AmctFoldObserversBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    std::optional<Record> record = readPassRecord(func, recordPath, "--amct-fold-observers");
    if (!record || failed(foldObservers(func, *record, recordPath)))
      signalPassFailure();
  }
};

} // namespace

/// The layer's weight as a fake_quant with the record's scale_w /
/// offset_w (per tensor, or per channel along its weight channel axis),
/// and its bias as int32.
static LogicalResult fakeQuantizeWeights(OpBuilder &b, const QuantizableLayer &layer,
                                         const LayerRecord &entry, int64_t weightBits,
                                         float scaleD, StringRef recordName) {
  const std::string &name = layer.name;
  if (llvm::any_of(entry.scaleW, [](float v) { return !(v > 0.0f) || !std::isfinite(v); }))
    return layer.op->emitError() << recordName << ": layer '" << name
                                 << "' has a scale_w that is not finite and positive";
  if (entry.scaleW.empty() || entry.scaleW.size() != entry.offsetW.size())
    return layer.op->emitError() << recordName << ": layer '" << name
                                 << "' needs as many scale_w as offset_w values (at least one)";
  Value weight = layer.op->getOperand(layer.weightOperand);
  auto type = cast<RankedTensorType>(weight.getType());
  int64_t channels = type.getDimSize(layer.weightChannelAxis);
  bool perChannel = entry.scaleW.size() > 1;
  if (perChannel && (int64_t)entry.scaleW.size() != channels)
    return layer.op->emitError() << recordName << ": layer '" << name << "' has "
                                 << entry.scaleW.size() << " scale_w values, expected 1 or "
                                 << channels;
  SmallVector<int64_t> offsets(entry.offsetW.begin(), entry.offsetW.end());
  b.setInsertionPoint(layer.op);
  auto wq = b.create<FakeQuantOp>(
      NameLoc::get(b.getStringAttr(name + "_weight_quant")), weight.getType(), weight,
      b.getDenseF32ArrayAttr(entry.scaleW), b.getDenseI64ArrayAttr(offsets),
      b.getI64IntegerAttr(weightBits),
      perChannel ? b.getI64IntegerAttr(layer.weightChannelAxis) : IntegerAttr());
  layer.op->setOperand(layer.weightOperand, wq);
  if (layer.biasOp)
    return fakeQuantizeBias(b, layer, scaleD, entry.scaleW);
  return success();
}

LogicalResult amct::foldObservers(func::FuncOp func, const Record &record,
                                  StringRef recordName) {
  // Layers by name, to find each observer's weight.
  llvm::StringMap<QuantizableLayer> layers;
  for (const QuantizableLayer &layer : findQuantizableLayers(func, nullptr))
    layers[layer.name] = layer;

  bool failedAny = false;
  OpBuilder b(func.getContext());
  func->removeAttr(kBatchNumAttr);
  func.walk([&](ObserverOp observer) {
    std::string name = observer.getLayer().str();
    std::optional<int64_t> bitsOr = activationBits(observer);
    if (!bitsOr) {
      observer.emitError() << "layer '" << name
                           << "': the observer does not calibrate activations (expected "
                              "#amct.ifmr or #amct.hfmg)";
      failedAny = true;
      return;
    }
    int64_t bits = *bitsOr;
    const LayerRecord *entry = record.find(name);
    if (!entry || !entry->scaleD || !entry->offsetD) {
      observer.emitError() << recordName << " has no scale_d/offset_d for layer '" << name
                           << "'";
      failedAny = true;
      return;
    }
    int64_t lo = -(int64_t(1) << (bits - 1)), hi = (int64_t(1) << (bits - 1)) - 1;
    if (!(*entry->scaleD > 0.0f) || !std::isfinite(*entry->scaleD) || *entry->offsetD < lo ||
        *entry->offsetD > hi) {
      observer.emitError() << recordName << ": layer '" << name << "' has scale_d "
                           << *entry->scaleD << " and offset_d " << *entry->offsetD
                           << "; expected a finite positive scale and an offset in [" << lo
                           << ", " << hi << "]";
      failedAny = true;
      return;
    }
    auto it = layers.find(name);
    bool weighted = it != layers.end() && it->second.weightOperand >= 0;
    std::optional<ArqAttr> weightParams = observer.getWeights();
    if (weighted && !weightParams) {
      observer.emitError() << "layer '" << name
                           << "' has a weight but its observer no weight parameters "
                              "(weights = #amct.arq<num_bits = .., channel_wise = ..>)";
      failedAny = true;
      return;
    }
    b.setInsertionPoint(observer);
    auto fq = b.create<FakeQuantOp>(
        observer.getLoc(), observer.getType(), observer.getInput(),
        b.getDenseF32ArrayAttr({*entry->scaleD}),
        b.getDenseI64ArrayAttr({(int64_t)*entry->offsetD}), b.getI64IntegerAttr(bits),
        IntegerAttr());
    observer.replaceAllUsesWith(fq.getResult());
    observer.erase();
    if (!weighted)
      return;
    if (failed(fakeQuantizeWeights(b, it->second, *entry, weightParams->getNumBits(),
                                   *entry->scaleD, recordName)))
      failedAny = true;
  });
  return failure(failedAny);
}
