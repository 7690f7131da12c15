//===- Calibration.cpp - run observers over calibration data --------------===//

#include "amct/Pipelines/Calibration.h"
#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Quant/Observers.h"
#include "amct/Quant/Quant.h"
#include "amct/Runtime/Executor.h"
#include "amct/Transforms/QuantizableLayers.h"

#include "llvm/ADT/StringMap.h"

#include <cmath>

using namespace mlir;

namespace amct {

std::vector<float> toChannelMajor(const std::vector<float> &weights, ArrayRef<int64_t> shape,
                                  int64_t axis) {
  if (axis == 0)
    return weights;
  int64_t outer = 1, inner = 1, channels = shape[axis];
  for (int64_t i = 0; i < axis; ++i)
    outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i)
    inner *= shape[i];
  std::vector<float> out(weights.size());
  // [outer][channels][inner] -> [channels][outer][inner]
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i)
        out[(c * outer + o) * inner + i] = weights[(o * channels + c) * inner + i];
  return out;
}

namespace {
/// One layer's activation statistics.
struct LayerStats {
  ObserverOp observer;
  std::optional<quant::IfmrObserver> ifmr;
  std::optional<quant::HfmgObserver> hfmg;
  void observe(const float *data, int64_t n) {
    if (ifmr)
      ifmr->observe(data, n);
    else
      hfmg->observe(data, n);
  }
  std::optional<quant::QuantParams> finalize(int bits, bool asymmetric, std::string &error) {
    return ifmr ? ifmr->finalize(bits, asymmetric, error) : hfmg->finalize(bits, asymmetric, error);
  }
  int64_t nonFinite = 0;
};

double getF64(DictionaryAttr params, StringRef key, double def) {
  if (auto f = params.getAs<FloatAttr>(key))
    return f.getValueAsDouble();
  return def;
}
} // namespace

LogicalResult calibrate(func::FuncOp func, const std::vector<std::vector<rt::Tensor>> &batches,
                        const CalibrationOptions &options, Record &record) {
  if (batches.empty())
    return func.emitError("the calibration set is empty: give at least one batch");
  llvm::StringMap<std::unique_ptr<LayerStats>> layers;
  std::vector<std::string> order;
  bool bad = false;
  func.walk([&](ObserverOp observer) {
    std::string name = observer.getLayer().str();
    if (layers.count(name))
      return;
    DictionaryAttr params = observer.getParams();
    std::string error;
    auto stats = std::make_unique<LayerStats>();
    stats->observer = observer;
    if (observer.getAlgo() == "hfmg") {
      int64_t bins = 4096;
      if (auto b = params.getAs<IntegerAttr>("num_of_bins"))
        bins = b.getInt();
      std::optional<quant::HfmgObserver> h = quant::HfmgObserver::create(bins, error);
      if (!h) {
        observer.emitError() << "layer '" << name << "': " << error;
        bad = true;
        return;
      }
      stats->hfmg = std::move(*h);
    } else if (observer.getAlgo() == "ifmr") {
      quant::IfmrConfig config;
      config.maxPercentile = getF64(params, "max_percentile", config.maxPercentile);
      config.minPercentile = getF64(params, "min_percentile", config.minPercentile);
      if (auto range = params.getAs<ArrayAttr>("search_range"); range && range.size() == 2) {
        config.searchStart = cast<FloatAttr>(range[0]).getValueAsDouble();
        config.searchEnd = cast<FloatAttr>(range[1]).getValueAsDouble();
      }
      config.searchStep = getF64(params, "search_step", config.searchStep);
      std::optional<quant::IfmrObserver> i = quant::IfmrObserver::create(config, error);
      if (!i) {
        observer.emitError() << "layer '" << name << "': " << error;
        bad = true;
        return;
      }
      stats->ifmr = std::move(*i);
    } else {
      observer.emitError() << "layer '" << name << "': unknown activation algorithm '"
                           << observer.getAlgo() << "' (expected ifmr or hfmg)";
      bad = true;
      return;
    }
    order.push_back(name);
    layers[name] = std::move(stats);
  });
  if (bad)
    return failure();

  rt::ExecutorOptions execOptions;
  execOptions.threads = options.threads;
  auto executor = rt::Executor::create(func, execOptions);
  if (failed(executor))
    return failure();
  (*executor)->setObserverCallback([&](Operation *op, const rt::Tensor &t) {
    LayerStats &stats = *layers[cast<ObserverOp>(op).getLayer()];
    const float *data = t.data<float>();
    int64_t n = t.numElements();
    for (int64_t i = 0; i < n; ++i)
      stats.nonFinite += !std::isfinite(data[i]);
    stats.observe(data, n);
  });
  for (size_t b = 0; b < batches.size(); ++b) {
    if (failed((*executor)->run(batches[b])))
      return failure();
    if (options.progress)
      options.progress(b + 1, batches.size());
  }

  // Activation parameters, then ARQ on each layer's constant weight.
  llvm::StringMap<QuantizableLayer> byName;
  for (const QuantizableLayer &layer : findQuantizableLayers(func, nullptr))
    byName[layer.name] = layer;
  for (const std::string &name : order) {
    LayerStats &stats = *layers[name];
    ObserverOp observer = stats.observer;
    DictionaryAttr params = observer.getParams();
    if (stats.nonFinite)
      return observer.emitError() << "layer '" << name << "': the calibration data gives "
                                  << stats.nonFinite
                                  << " NaN or Inf values at this layer's input";
    int64_t bits = 8, wtsBits = 8;
    if (auto p = params.getAs<IntegerAttr>("num_bits"))
      bits = p.getInt();
    if (auto p = params.getAs<IntegerAttr>("wts_num_bits"))
      wtsBits = p.getInt();
    bool asymmetric = false, channelWise = true;
    if (auto p = params.getAs<BoolAttr>("asymmetric"))
      asymmetric = p.getValue();
    if (auto p = params.getAs<BoolAttr>("channel_wise"))
      channelWise = p.getValue();
    std::string error;
    std::optional<quant::QuantParams> act = stats.finalize(bits, asymmetric, error);
    if (!act)
      return observer.emitError() << "layer '" << name << "': " << error;
    LayerRecord entry;
    entry.scaleD = act->scale;
    entry.offsetD = act->offset;

    auto it = byName.find(name);
    if (it != byName.end() && it->second.weightOperand >= 0) {
      const QuantizableLayer &layer = it->second;
      Value weight = layer.op->getOperand(layer.weightOperand);
      auto type = cast<RankedTensorType>(weight.getType());
      std::optional<std::vector<float>> w = getConstantFloats(weight);
      if (!w)
        return layer.op->emitError() << "layer '" << name << "': the weight is not constant";
      std::vector<float> major = toChannelMajor(*w, type.getShape(), layer.weightChannelAxis);
      int64_t channels = type.getDimSize(layer.weightChannelAxis);
      std::optional<quant::WeightQuant> wq = quant::arqQuantize(
          major.data(), channels, major.size() / std::max<int64_t>(1, channels), wtsBits,
          channelWise, error);
      if (!wq)
        return layer.op->emitError() << "layer '" << name << "': " << error;
      entry.scaleW = wq->scale;
      entry.offsetW = wq->offset;
    }
    record.layers.emplace_back(name, std::move(entry));
  }
  return success();
}

} // namespace amct
