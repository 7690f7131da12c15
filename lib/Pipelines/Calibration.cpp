//===- Calibration.cpp - run observers over calibration data --------------===//

#include "amct/Pipelines/Calibration.h"
#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Quant/Observers.h"
#include "amct/Quant/Quant.h"
#include "amct/Runtime/Executor.h"
#include "amct/Support/Progress.h"
#include "amct/Transforms/Passes.h"
#include "amct/Transforms/QuantizableLayers.h"

#include "llvm/ADT/StringExtras.h"

#include "llvm/ADT/StringMap.h"

#include <chrono>
#include <cmath>
#include <thread>

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
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// One layer's activation statistics.
struct LayerStats {
  ObserverOp observer;
  std::optional<quant::IfmrObserver> ifmr;
  std::optional<quant::HfmgObserver> hfmg;
  int bits = 8;
  bool asymmetric = false;
  /// Observer ops with this layer's key, and how many have fired in the
  /// current batch: the last one of the last batch completes the data.
  int observersPerRun = 0;
  int seenThisRun = 0;
  int64_t nonFinite = 0;
  /// Set once the layer's parameters are computed (or failed to be).
  std::optional<quant::QuantParams> params;
  std::string error;

  void observe(const float *data, int64_t n) {
    if (ifmr)
      ifmr->observe(data, n);
    else
      hfmg->observe(data, n);
  }
};

} // namespace

LogicalResult calibrate(func::FuncOp func, const std::vector<std::vector<rt::Tensor>> &batches,
                        const CalibrationOptions &options, Record &record) {
  if (batches.empty())
    return func.emitError("the calibration set is empty: give at least one batch");
  CalibrationTimes times;
  int threads = options.threads > 0 ? options.threads
                                    : std::max(1u, std::thread::hardware_concurrency());
  llvm::StringMap<std::unique_ptr<LayerStats>> layers;
  std::vector<std::string> order;
  int64_t observersPerRun = 0;
  bool bad = false;
  func.walk([&](ObserverOp observer) {
    ++observersPerRun;
    std::string name = observer.getLayer().str();
    if (auto it = layers.find(name); it != layers.end()) {
      ++it->second->observersPerRun;
      return;
    }
    std::string error;
    auto stats = std::make_unique<LayerStats>();
    stats->observer = observer;
    stats->observersPerRun = 1;
    if (auto hfmg = dyn_cast<HfmgAttr>(observer.getMethod())) {
      stats->bits = hfmg.getNumBits();
      stats->asymmetric = hfmg.getAsymmetric();
      std::optional<quant::HfmgObserver> h = quant::HfmgObserver::create(hfmg.getNumOfBins(), error);
      if (!h) {
        observer.emitError() << "layer '" << name << "': " << error;
        bad = true;
        return;
      }
      stats->hfmg = std::move(*h);
    } else if (auto ifmr = dyn_cast<IfmrAttr>(observer.getMethod())) {
      stats->bits = ifmr.getNumBits();
      stats->asymmetric = ifmr.getAsymmetric();
      quant::IfmrConfig config;
      config.maxPercentile = ifmr.getMaxPercentile().convertToDouble();
      config.minPercentile = ifmr.getMinPercentile().convertToDouble();
      config.searchStart = ifmr.getSearchRangeStart().convertToDouble();
      config.searchEnd = ifmr.getSearchRangeEnd().convertToDouble();
      config.searchStep = ifmr.getSearchStep().convertToDouble();
      std::optional<quant::IfmrObserver> i = quant::IfmrObserver::create(config, error);
      if (!i) {
        observer.emitError() << "layer '" << name << "': " << error;
        bad = true;
        return;
      }
      stats->ifmr = std::move(*i);
    } else {
      observer.emitError() << "layer '" << name << "': the observer's method "
                           << observer.getMethod()
                           << " does not calibrate activations (expected #amct.ifmr or "
                              "#amct.hfmg)";
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
  bool lastBatch = false;
  int64_t step = 0, totalSteps = observersPerRun * static_cast<int64_t>(batches.size());
  ProgressBar bar("calibrating", options.showProgress ? totalSteps : 0);
  double searchInRun = 0;
  (*executor)->setObserverCallback([&](Operation *op, const rt::Tensor &t) {
    LayerStats &stats = *layers[cast<ObserverOp>(op).getLayer()];
    const float *data = t.data<float>();
    int64_t n = t.numElements();
    stats.nonFinite += quant::countNonFinite(data, n);
    bool complete = lastBatch && ++stats.seenThisRun == stats.observersPerRun;
    if (complete && stats.ifmr && !stats.nonFinite) {
      // The data is complete: search now, on the executor's buffer, rather
      // than keep a copy of every layer's activations until the end.
      auto t0 = Clock::now();
      stats.params = stats.ifmr->finalizeWithLast(data, n, stats.bits, stats.asymmetric,
                                                  stats.error, threads);
      searchInRun += secondsSince(t0);
    } else {
      stats.observe(data, n);
    }
    bar.update(++step);
  });
  for (size_t b = 0; b < batches.size(); ++b) {
    lastBatch = b + 1 == batches.size();
    searchInRun = 0;
    auto t0 = Clock::now();
    if (failed((*executor)->run(batches[b])))
      return failure();
    times.executor += secondsSince(t0) - searchInRun;
    times.activationSearch += searchInRun;
  }

  // Activation parameters (the ones not computed during the last batch),
  // then ARQ on each layer's constant weight.
  auto t0 = Clock::now();
  for (const std::string &name : order) {
    LayerStats &stats = *layers[name];
    if (stats.nonFinite)
      return stats.observer.emitError()
             << "layer '" << name << "': the calibration data gives " << stats.nonFinite
             << " NaN or Inf values at this layer's input";
    if (!stats.params && stats.error.empty())
      stats.params = stats.ifmr ? stats.ifmr->finalize(stats.bits, stats.asymmetric,
                                                       stats.error, threads)
                                : stats.hfmg->finalize(stats.bits, stats.asymmetric, stats.error);
    if (!stats.params)
      return stats.observer.emitError() << "layer '" << name << "': " << stats.error;
  }
  times.activationSearch += secondsSince(t0);

  t0 = Clock::now();
  llvm::StringMap<QuantizableLayer> byName;
  for (const QuantizableLayer &layer : findQuantizableLayers(func, nullptr))
    byName[layer.name] = layer;
  for (const std::string &name : order) {
    LayerStats &stats = *layers[name];
    std::optional<ArqAttr> arq = stats.observer.getWeights();
    // The entry may exist already (DMQ's tensor_balance_factor).
    LayerRecord &entry = record.getOrAdd(name);
    entry.scaleD = stats.params->scale;
    entry.offsetD = stats.params->offset;
    // The fields AMCT's recorder writes (record_file_operator.py): the
    // activation width, and for a layer without weight (AvgPool2d) the
    // weight factors 1 and 0 its record parser requires.
    entry.actType = "INT" + std::to_string(stats.bits);

    auto it = byName.find(name);
    if (it != byName.end() && it->second.weightOperand >= 0) {
      const QuantizableLayer &layer = it->second;
      if (!arq)
        return stats.observer.emitError()
               << "layer '" << name
               << "' has a weight but its observer no weight parameters (#amct.arq)";
      int64_t wtsBits = arq->getNumBits();
      bool channelWise = arq->getChannelWise();
      Value weight = layer.op->getOperand(layer.weightOperand);
      auto type = cast<RankedTensorType>(weight.getType());
      std::optional<std::vector<float>> w = getConstantFloats(weight);
      if (!w)
        return layer.op->emitError() << "layer '" << name << "': the weight is not constant";
      std::vector<float> major = toChannelMajor(*w, type.getShape(), layer.weightChannelAxis);
      int64_t channels = type.getDimSize(layer.weightChannelAxis);
      std::string error;
      std::optional<quant::WeightQuant> wq = quant::arqQuantize(
          major.data(), channels, major.size() / std::max<int64_t>(1, channels), wtsBits,
          channelWise, error);
      if (!wq)
        return layer.op->emitError() << "layer '" << name << "': " << error;
      entry.scaleW = wq->scale;
      entry.offsetW = wq->offset;
      entry.wtsType = "INT" + std::to_string(wtsBits);
    } else if (it != byName.end()) {
      entry.scaleW = {1.0f};
      entry.offsetW = {0};
    }
  }
  times.weights += secondsSince(t0);
  if (options.times)
    *options.times = times;
  return success();
}

} // namespace amct

using namespace amct;

std::vector<rt::Tensor> amct::sliceBatch(const std::vector<rt::Tensor> &inputs, int64_t b,
                                         int64_t batchSize) {
  std::vector<rt::Tensor> out;
  for (const rt::Tensor &t : inputs)
    out.push_back(t.rows(b * batchSize, (b + 1) * batchSize));
  return out;
}

FailureOr<std::vector<std::vector<rt::Tensor>>>
amct::makeCalibrationBatches(func::FuncOp func, const std::map<std::string, rt::Tensor> &data,
                             int batchNum, int64_t batchSize) {
  if (batchNum < 1)
    return func.emitError() << "batch_num must be at least 1, got " << batchNum;
  std::vector<std::string> inputNames;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    inputNames.push_back(getGraphInputName(func, i));
  // One batch and no batch size: every input is fed as it is, so inputs
  // whose batch is not dim 0 (sequence-first recurrent models, KV caches)
  // calibrate too.
  bool whole = batchNum == 1 && batchSize <= 0;
  std::vector<rt::Tensor> inputs;
  for (const std::string &name : inputNames) {
    auto it = data.find(name);
    if (it == data.end())
      return func.emitError() << "no calibration data for graph input '" << name << "'";
    if (it->second.rank() == 0 && !whole)
      return func.emitError() << "calibration data for '" << name
                              << "' is a scalar; samples go along dim 0";
    inputs.push_back(it->second);
  }
  for (const auto &[name, t] : data)
    if (!llvm::is_contained(inputNames, name))
      return func.emitError() << "calibration data names '" << name
                              << "', which is not a graph input (inputs: "
                              << llvm::join(inputNames, ", ") << ")";
  if (whole) {
    if (llvm::any_of(inputs, [](const rt::Tensor &t) { return t.numElements() == 0; }))
      return func.emitError("the calibration set is empty");
    return std::vector<std::vector<rt::Tensor>>{inputs};
  }
  int64_t samples = inputs.empty() ? 0 : inputs[0].dim(0);
  for (auto [name, t] : llvm::zip(inputNames, inputs))
    if (t.dim(0) != samples)
      return func.emitError() << "calibration inputs differ in sample count: '" << name
                              << "' has " << t.dim(0) << ", expected " << samples;
  if (samples == 0)
    return func.emitError("the calibration set is empty");
  int64_t size = batchSize > 0 ? batchSize : samples / batchNum;
  if (size < 1 || size * batchNum > samples)
    return func.emitError() << "batch_num " << batchNum << " x batch size "
                            << std::max<int64_t>(size, 1) << " needs "
                            << batchNum * std::max<int64_t>(size, 1)
                            << " calibration samples, the data has " << samples;
  std::vector<std::vector<rt::Tensor>> batches;
  for (int b = 0; b < batchNum; ++b)
    batches.push_back(sliceBatch(inputs, b, size));

  return batches;
}

std::optional<int64_t> amct::getRecordedBatchNum(func::FuncOp func) {
  if (auto n = func->getAttrOfType<IntegerAttr>(kBatchNumAttr))
    return n.getInt();
  return std::nullopt;
}

LogicalResult amct::calibrateModule(ModuleOp module, const CalibrateModuleOptions &options,
                                    Record &record) {
  func::FuncOp main = getMainFunction(module);
  if (!main)
    return module.emitError("the module has no function to calibrate");
  bool observed = false;
  main.walk([&](ObserverOp observer) {
    observed |= isa<IfmrAttr, HfmgAttr>(observer.getMethod());
  });
  if (!observed)
    return main.emitError("the module has no activation observers to calibrate: run "
                          "--amct-insert-calibration first (amct-opt M.onnx --amct-prepare "
                          "--amct-insert-calibration -o calib.mlir)");
  int batchNum = options.batchNum > 0 ? options.batchNum
                                      : (int)getRecordedBatchNum(main).value_or(1);
  FailureOr<std::vector<std::vector<rt::Tensor>>> batches =
      makeCalibrationBatches(main, options.data, batchNum, options.batchSize);
  if (failed(batches))
    return failure();
  CalibrationOptions calibOptions;
  calibOptions.threads = options.threads;
  calibOptions.showProgress = options.showProgress;
  return calibrate(main, *batches, calibOptions, record);
}
