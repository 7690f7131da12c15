//===- InsertCalibration.cpp - --amct-insert-calibration ------------------===//
//
// Observers on the data inputs of the layers the config quantizes. Each
// observer records its layer's activation algorithm and parameters, so the
// calibration driver (and anyone reading the IR) needs nothing else.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/QuantConfig.h"
#include "amct/Transforms/Passes.h"
#include "amct/Transforms/QuantizableLayers.h"

#include "mlir/IR/Builders.h"

namespace amct {
#define GEN_PASS_DEF_AMCTINSERTCALIBRATION
#include "amct/Transforms/Passes.h.inc"
} // namespace amct

using namespace mlir;
using namespace amct;

/// The observer's activation method, typed, with the config's values.
static Attribute makeMethod(MLIRContext *ctx, const LayerQuantConfig &layer) {
  const ActivationQuantParams &act = layer.act;
  if (act.algo == "hfmg")
    return HfmgAttr::get(ctx, act.numBits, act.asymmetric, act.numOfBins);
  using llvm::APFloat;
  return IfmrAttr::get(ctx, act.numBits, act.asymmetric, APFloat(act.maxPercentile),
                       APFloat(act.minPercentile), APFloat(act.searchRangeStart),
                       APFloat(act.searchRangeEnd), APFloat(act.searchStep));
}

LogicalResult amct::insertCalibration(func::FuncOp func, const QuantConfig &config,
                                      bool adaByCaller) {
  MLIRContext *ctx = func.getContext();
  OpBuilder b(ctx);
  func->setAttr(kBatchNumAttr, b.getI64IntegerAttr(config.batchNum));
  for (const QuantizableLayer &layer : findQuantizableLayers(func, nullptr)) {
    const LayerQuantConfig *entry = config.find(layer.name);
    if (!entry || !config.isQuantized(layer.name))
      continue;
    // ADA learns the rounding on the calibration data after folding: only
    // the one-shot job (amct quantize, --amct-quantize) does that step;
    // folding these observers alone would be ARQ's rounding, silently.
    if (layer.weightOperand >= 0 && entry->wts.algo == "ada_quantize" && !adaByCaller)
      return layer.op->emitError()
             << "layer '" << layer.name
             << "': wts_algo 'ada_quantize' learns the weights' rounding on the calibration "
                "data after the observers are folded, which only the whole job does: use "
                "amct quantize or --amct-quantize (pass by pass, the observers would round "
                "to nearest as arq_quantize does)";
    b.setInsertionPoint(layer.op);
    Value data = layer.op->getOperand(layer.dataOperand);
    ArqAttr weights = layer.weightOperand >= 0
                          ? ArqAttr::get(ctx, entry->wts.numBits, entry->wts.channelWise)
                          : ArqAttr();
    auto observer = b.create<ObserverOp>(
        NameLoc::get(b.getStringAttr(layer.name + "_observer")), data.getType(), data,
        b.getStringAttr(layer.name), makeMethod(ctx, *entry), weights);
    layer.op->setOperand(layer.dataOperand, observer);
  }
  return success();
}

namespace {

struct AmctInsertCalibrationPass
    : amct::impl::AmctInsertCalibrationBase<AmctInsertCalibrationPass> {
  using AmctInsertCalibrationBase::AmctInsertCalibrationBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    std::vector<QuantizableLayer> layers = findQuantizableLayers(func, nullptr);
    if (layers.empty() && configPath.empty())
      return; // nothing to observe in this function
    std::string error;
    std::optional<QuantConfig> config =
        loadQuantConfigFile(configPath, getLayerList(layers), error);
    if (!config) {
      func.emitError() << "--amct-insert-calibration: " << error;
      return signalPassFailure();
    }
    if (failed(insertCalibration(func, *config)))
      signalPassFailure();
  }
};

} // namespace
