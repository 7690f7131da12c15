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

namespace {

/// The observer's `params`: AMCT's config key names and values.
DictionaryAttr makeParams(Builder &b, const LayerQuantConfig &layer) {
  const ActivationQuantParams &act = layer.act;
  SmallVector<NamedAttribute> params{
      b.getNamedAttr("num_bits", b.getI64IntegerAttr(act.numBits)),
      b.getNamedAttr("asymmetric", b.getBoolAttr(act.asymmetric)),
      b.getNamedAttr("channel_wise", b.getBoolAttr(layer.wts.channelWise)),
      b.getNamedAttr("wts_num_bits", b.getI64IntegerAttr(layer.wts.numBits))};
  if (act.algo == "ifmr") {
    params.push_back(b.getNamedAttr("max_percentile", b.getF64FloatAttr(act.maxPercentile)));
    params.push_back(b.getNamedAttr("min_percentile", b.getF64FloatAttr(act.minPercentile)));
    params.push_back(b.getNamedAttr(
        "search_range", b.getF64ArrayAttr({act.searchRangeStart, act.searchRangeEnd})));
    params.push_back(b.getNamedAttr("search_step", b.getF64FloatAttr(act.searchStep)));
  } else {
    params.push_back(b.getNamedAttr("num_of_bins", b.getI64IntegerAttr(act.numOfBins)));
  }
  return b.getDictionaryAttr(params);
}

struct AmctInsertCalibrationPass
    : amct::impl::AmctInsertCalibrationBase<AmctInsertCalibrationPass> {
  using AmctInsertCalibrationBase::AmctInsertCalibrationBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    std::vector<QuantizableLayer> layers = findQuantizableLayers(func, nullptr);
    if (layers.empty() && configPath.empty())
      return; // nothing to observe in this function
    std::string error;
    std::optional<QuantConfig> config = loadQuantConfig(configPath, layers, error);
    if (!config) {
      func.emitError() << error;
      return signalPassFailure();
    }
    OpBuilder b(func.getContext());
    for (const QuantizableLayer &layer : layers) {
      const LayerQuantConfig *entry = config->find(layer.name);
      if (!entry || !config->isQuantized(layer.name))
        continue;
      b.setInsertionPoint(layer.op);
      Value data = layer.op->getOperand(layer.dataOperand);
      auto observer = b.create<ObserverOp>(
          NameLoc::get(b.getStringAttr(layer.name + "_observer")), data.getType(), data,
          b.getStringAttr(layer.name), b.getStringAttr(entry->act.algo),
          makeParams(b, *entry));
      layer.op->setOperand(layer.dataOperand, observer);
    }
  }
};

} // namespace
