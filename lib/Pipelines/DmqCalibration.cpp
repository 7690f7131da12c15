//===- DmqCalibration.cpp - DMQ balance factors from calibration ----------===//
//
// One executor pass over the calibration batches with an observer (algo
// "dmq") on each DMQ layer's input: the per-channel maxima are all DMQ
// needs, so nothing but one float per channel is kept.
//
//===----------------------------------------------------------------------===//

#include "amct/Pipelines/DmqCalibration.h"
#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Quant/Quant.h"
#include "amct/Runtime/Executor.h"
#include "amct/Transforms/DmqBalance.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>

using namespace mlir;

namespace amct {

namespace {

struct DmqLayerStats {
  QuantizableLayer layer;
  InputChannelLayout layout;
  std::vector<float> actAbsMax;
  double migrationStrength = 0.5;
  bool sawNonFinite = false;
};

/// Folds max |x| along `axis` of `t` into `maxima`.
void accumulateAbsMax(const rt::Tensor &t, int64_t axis, DmqLayerStats &stats) {
  const rt::Shape &shape = t.shape();
  int64_t channels = shape[axis], outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  for (int64_t d = axis + 1; d < (int64_t)shape.size(); ++d)
    inner *= shape[d];
  const float *x = t.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      float m = stats.actAbsMax[c];
      const float *p = x + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        float a = std::fabs(p[i]);
        if (!std::isfinite(a))
          stats.sawNonFinite = true;
        m = std::max(m, a);
      }
      stats.actAbsMax[c] = m;
    }
}

} // namespace

LogicalResult computeDmqFactors(func::FuncOp func, const QuantConfig &config,
                                const std::vector<std::vector<rt::Tensor>> &batches,
                                int threads, Record &record) {
  llvm::StringMap<DmqLayerStats> stats;
  std::vector<std::string> order;
  for (const QuantizableLayer &layer : findQuantizableLayers(func, nullptr)) {
    const LayerQuantConfig *entry = config.find(layer.name);
    if (!entry || !config.isQuantized(layer.name) || !entry->dmq.enabled)
      continue;
    std::string why;
    std::optional<InputChannelLayout> layout = getInputChannelLayout(layer, why);
    if (!layout)
      return layer.op->emitError() << "layer '" << layer.name
                                   << "': dmq_balancer cannot be used: " << why;
    DmqLayerStats &s = stats[layer.name];
    s.layer = layer;
    s.layout = *layout;
    s.actAbsMax.assign(layout->channels(), 0.0f);
    s.migrationStrength = entry->dmq.migrationStrength;
    order.push_back(layer.name);
  }
  if (order.empty())
    return success();
  if (batches.empty())
    return func.emitError("DMQ balancing needs calibration data");

  // Observers on the DMQ layers' inputs, removed again before returning.
  OpBuilder b(func.getContext());
  SmallVector<ObserverOp> observers;
  for (const std::string &name : order) {
    const QuantizableLayer &layer = stats[name].layer;
    b.setInsertionPoint(layer.op);
    Value data = layer.op->getOperand(layer.dataOperand);
    auto observer = b.create<ObserverOp>(
        NameLoc::get(b.getStringAttr(name + "_dmq_observer")), data.getType(), data,
        b.getStringAttr(name), DmqObserverAttr::get(b.getContext()), ArqAttr());
    layer.op->setOperand(layer.dataOperand, observer);
    observers.push_back(observer);
  }
  auto removeObservers = llvm::make_scope_exit([&] {
    for (ObserverOp observer : observers) {
      observer.getOutput().replaceAllUsesWith(observer.getInput());
      observer.erase();
    }
  });

  rt::ExecutorOptions options;
  options.threads = threads;
  auto executor = rt::Executor::create(func, options);
  if (failed(executor))
    return failure();
  std::string shapeError;
  (*executor)->setObserverCallback([&](Operation *op, const rt::Tensor &t) {
    auto observer = cast<ObserverOp>(op);
    if (!isa<DmqObserverAttr>(observer.getMethod()))
      return;
    DmqLayerStats &s = stats[observer.getLayer()];
    int64_t axis = s.layout.dataAxis;
    if (t.rank() <= axis || t.dim(axis) != s.layout.channels()) {
      if (shapeError.empty())
        shapeError = "layer '" + s.layer.name + "': input has " +
                     std::to_string(t.rank() > axis ? t.dim(axis) : 0) +
                     " channels on dim " + std::to_string(axis) + ", the weight " +
                     std::to_string(s.layout.channels());
      return;
    }
    accumulateAbsMax(t, axis, s);
  });
  for (const std::vector<rt::Tensor> &batch : batches)
    if (failed((*executor)->run(batch)))
      return failure();
  if (!shapeError.empty())
    return func.emitError() << shapeError;

  for (const std::string &name : order) {
    DmqLayerStats &s = stats[name];
    if (s.sawNonFinite)
      return s.layer.op->emitError()
             << "layer '" << name << "': calibration data give the layer's input NaN or Inf";
    Value weight = s.layer.op->getOperand(s.layer.weightOperand);
    std::optional<std::vector<float>> w = getConstantFloats(weight);
    if (!w)
      return s.layer.op->emitError() << "layer '" << name
                                     << "': dmq_balancer needs a constant float weight";
    std::vector<float> wMax = weightAbsMaxPerInputChannel(*w, s.layout);
    std::string error;
    auto factors = quant::dmqBalanceFactors(s.actAbsMax.data(), wMax.data(),
                                            s.layout.channels(),
                                            static_cast<float>(s.migrationStrength), error);
    if (!factors)
      return s.layer.op->emitError() << "layer '" << name << "': DMQ balancer: " << error;
    record.getOrAdd(name).tensorBalanceFactor = std::move(*factors);
  }
  return success();
}

} // namespace amct
