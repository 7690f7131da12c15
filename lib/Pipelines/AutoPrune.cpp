//===- AutoPrune.cpp - automatic channel-prune search ---------------------===//
//
// AMCT's auto_channel_prune_search without retraining: sensitivities
// measured on the calibration data (one stepped run per group and step:
// the run stops before each of the group's consumers and gets their
// weights with the removed channels zeroed, which is what removing them
// means), gains from the layers' multiply-adds per channel, and a greedy
// walk over the steps by added sensitivity per gain.
//
//===----------------------------------------------------------------------===//

#include "amct/Pipelines/Prune.h"

#include "QuantizeSupport.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Pipelines/Calibration.h"
#include "amct/Pipelines/Metrics.h"
#include "amct/Runtime/Executor.h"
#include "amct/Transforms/Passes.h"
#include "amct/Transforms/Prune.h"

#include "llvm/Support/FormatVariadic.h"

#include <numeric>

using namespace mlir;
using namespace amct;

namespace {

struct GroupSteps {
  size_t group;
  /// Channels removed after each step (increasing), the sensitivity there,
  /// and the FLOPs removed per channel.
  std::vector<int64_t> removed;
  std::vector<double> sensitivity;
  double flopsPerChannel = 0;
  std::vector<int64_t> order; // least important first
};

} // namespace

FailureOr<AutoPruneResult> amct::searchChannelPrune(ModuleOp model,
                                                    const AutoPruneOptions &options) {
  OwningOpRef<ModuleOp> module(model.clone());
  if (failed(runFuncPass(*module, createAmctFoldConstants())))
    return failure();
  func::FuncOp main = getMainFunction(*module);
  if (!main)
    return emitError(model.getLoc()) << "the model has no function";
  if (options.calibData.empty())
    return emitError(model.getLoc())
           << "the automatic search measures sensitivities: give calibration data";
  auto batches = makeCalibrationBatches(main, options.calibData, 1, 0);
  if (failed(batches))
    return failure();
  std::vector<rt::Tensor> batch = batches->front();
  if (options.samples > 0) {
    bool sameDim0 = llvm::all_of(batch, [&](const rt::Tensor &t) {
      return t.rank() > 0 && t.dim(0) == batch.front().dim(0);
    });
    if (sameDim0 && batch.front().dim(0) > options.samples)
      batch = sliceBatch(batch, 0, options.samples);
  }
  rt::ExecutorOptions exec;
  exec.threads = options.threads;
  auto executor = rt::Executor::create(main, exec);
  if (failed(executor))
    return failure();
  FailureOr<std::vector<rt::Tensor>> reference = (*executor)->run(batch);
  if (failed(reference))
    return failure();

  AutoPruneResult result;
  int64_t params;
  countModelCost(*module, params, result.flopsBefore);
  ChannelPrunePlan plan;
  plan.groups = findPruneGroups(main);

  auto sensitivityOf = [&](const PruneGroup &group, const std::vector<bool> &keep)
      -> FailureOr<double> {
    // Each consumer's weight with the removed channels zeroed.
    std::vector<Operation *> stops;
    llvm::DenseMap<Operation *, std::pair<unsigned, rt::Tensor>> weights;
    llvm::DenseMap<Operation *, std::vector<bool>> weightKeep;
    for (const PruneLayerRef &c : group.consumers) {
      auto [it, inserted] = weightKeep.try_emplace(c.op);
      if (inserted) {
        auto layer = cast<QuantizableLayerOpInterface>(c.op);
        auto type = cast<RankedTensorType>(c.op->getOperand(*layer.getWeightOperandIndex()).getType());
        it->second.assign(type.getNumElements(), true);
        stops.push_back(c.op);
      }
      maskConsumerWeight(group, c, keep, it->second);
    }
    for (Operation *op : stops) {
      auto layer = cast<QuantizableLayerOpInterface>(op);
      unsigned index = *layer.getWeightOperandIndex();
      auto type = cast<RankedTensorType>(op->getOperand(index).getType());
      std::vector<float> w = *getConstantFloats(op->getOperand(index));
      const std::vector<bool> &mask = weightKeep[op];
      for (size_t e = 0; e < w.size(); ++e)
        if (!mask[e])
          w[e] = 0.0f;
      auto t = rt::Tensor::zeros(rt::DType::F32,
                                 rt::Shape(type.getShape().begin(), type.getShape().end()));
      std::copy(w.begin(), w.end(), t->mutableData<float>());
      weights[op] = {index, std::move(*t)};
    }
    std::sort(stops.begin(), stops.end(),
              [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    auto run = (*executor)->startStepped(batch, stops);
    if (failed(run))
      return failure();
    while (true) {
      FailureOr<Operation *> at = (*run)->next();
      if (failed(at))
        return failure();
      if (!*at)
        break;
      auto &[index, tensor] = weights[*at];
      (*run)->setOperand(index, tensor);
    }
    FailureOr<std::vector<rt::Tensor>> outputs = (*run)->results();
    if (failed(outputs))
      return failure();
    double loss = 0;
    int counted = 0;
    for (auto [out, ref] : llvm::zip(*outputs, *reference)) {
      if (out.dtype() != rt::DType::F32 || out.rank() < 1)
        continue;
      std::string error;
      std::optional<OutputMetrics> m = computeOutputMetrics(out, nullptr, &ref, error);
      if (!m || !m->meanCosine)
        continue;
      loss += 1.0 - *m->meanCosine;
      ++counted;
    }
    return counted ? loss / counted : 0.0;
  };

  std::vector<GroupSteps> steps;
  for (auto [g, group] : llvm::enumerate(plan.groups)) {
    if (!group.skipReason.empty() || group.consumers.empty())
      continue;
    GroupSteps s;
    s.group = g;
    for (const PruneLayerRef &p : group.producers)
      s.flopsPerChannel += layerFlops(p.op) / double(group.channels);
    for (const PruneLayerRef &c : group.consumers) {
      auto layer = cast<QuantizableLayerOpInterface>(c.op);
      auto type = cast<RankedTensorType>(
          c.op->getOperand(*layer.getWeightOperandIndex()).getType());
      int64_t inputs = type.getDimSize(layer.getWeightInputChannelAxis());
      s.flopsPerChannel += layerFlops(c.op) * double(c.inner) / double(inputs);
    }
    std::vector<double> importance = filterImportance(group);
    s.order.resize(group.channels);
    std::iota(s.order.begin(), s.order.end(), 0);
    std::stable_sort(s.order.begin(), s.order.end(),
                     [&](int64_t a, int64_t b) { return importance[a] < importance[b]; });
    int64_t limit = int64_t(std::floor(options.maxPruneRatio * double(group.channels)));
    int64_t minKeep = options.ascendOptimized && group.channels >= 16 ? 16 : 1;
    limit = std::min(limit, group.channels - minKeep);
    // AMCT's steps of 16 channels, keeping multiples of 16 when
    // ascend_optimized; without it, steps of 1/8 of the group (at least
    // one channel), so small layers can take part too.
    int64_t step = options.ascendOptimized ? 16 : std::max<int64_t>(1, group.channels / 8);
    int64_t first = options.ascendOptimized ? group.channels % 16 : 0;
    for (int64_t r = first == 0 ? step : first; r <= limit; r += step)
      s.removed.push_back(r);
    for (int64_t r : s.removed) {
      std::vector<bool> keep(group.channels, true);
      for (int64_t i = 0; i < r; ++i)
        keep[s.order[i]] = false;
      FailureOr<double> sens = sensitivityOf(group, keep);
      if (failed(sens))
        return failure();
      s.sensitivity.push_back(*sens);
    }
    if (!s.removed.empty())
      steps.push_back(std::move(s));
  }

  // Greedy: the next step of some group with the least added sensitivity
  // per FLOP removed, until the target. The per-channel gains overlap
  // where a layer loses both inputs and outputs, so once they add up to
  // the target the plan is applied to a copy and counted exactly; the
  // walk goes on until the exact count meets the target.
  double target = options.compressRatio * result.flopsBefore;
  std::vector<size_t> taken(steps.size(), 0);
  auto exactRemoved = [&]() -> FailureOr<double> {
    OwningOpRef<ModuleOp> copy(module->clone());
    func::FuncOp f = getMainFunction(*copy);
    std::vector<PruneGroup> groups = findPruneGroups(f);
    if (groups.size() != plan.groups.size())
      return emitError(model.getLoc()) << "internal error: prune groups differ on a copy";
    std::vector<std::vector<bool>> keep;
    for (const PruneGroup &g : groups)
      keep.emplace_back(g.channels, true);
    for (auto [i, st] : llvm::enumerate(steps))
      if (taken[i])
        for (int64_t c = 0; c < st.removed[taken[i] - 1]; ++c)
          keep[st.group][st.order[c]] = false;
    if (failed(applyChannelPrune(f, groups, keep)))
      return failure();
    int64_t p;
    double flops;
    countModelCost(*copy, p, flops);
    return result.flopsBefore - flops;
  };
  double estimated = 0;
  while (true) {
    if (estimated >= target) {
      FailureOr<double> exact = exactRemoved();
      if (failed(exact))
        return failure();
      result.flopsRemoved = *exact;
      if (*exact >= target)
        break;
      estimated = *exact;
    }
    double best = std::numeric_limits<double>::infinity();
    size_t bestGroup = steps.size();
    for (size_t i = 0; i < steps.size(); ++i) {
      const GroupSteps &s = steps[i];
      if (taken[i] >= s.removed.size())
        continue;
      int64_t prevRemoved = taken[i] ? s.removed[taken[i] - 1] : 0;
      double prevSens = taken[i] ? s.sensitivity[taken[i] - 1] : 0.0;
      double gain = double(s.removed[taken[i]] - prevRemoved) * s.flopsPerChannel;
      double cost = std::max(0.0, s.sensitivity[taken[i]] - prevSens) / std::max(gain, 1e-30);
      if (cost < best) {
        best = cost;
        bestGroup = i;
      }
    }
    if (bestGroup == steps.size()) {
      FailureOr<double> exact = exactRemoved();
      if (failed(exact))
        return failure();
      char limits[64];
      std::snprintf(limits, sizeof limits, "(max_prune_ratio %g); compress_ratio %g",
                    options.maxPruneRatio, options.compressRatio);
      return emitError(model.getLoc())
             << llvm::formatv("the prunable layers can remove at most {0:F1}% of the FLOPs ",
                              100.0 * *exact / result.flopsBefore)
                    .str()
             << limits << " cannot be met";
    }
    GroupSteps &s = steps[bestGroup];
    int64_t prevRemoved = taken[bestGroup] ? s.removed[taken[bestGroup] - 1] : 0;
    estimated += double(s.removed[taken[bestGroup]] - prevRemoved) * s.flopsPerChannel;
    ++taken[bestGroup];
  }

  // The config: each pruned group's producers with their ratio, every
  // other group's producers skipped.
  PruneSettings &settings = result.settings;
  settings.ratio = options.compressRatio;
  settings.align = 1;
  std::vector<bool> chosen(plan.groups.size(), false);
  for (auto [i, s] : llvm::enumerate(steps)) {
    if (!taken[i])
      continue;
    const PruneGroup &group = plan.groups[s.group];
    chosen[s.group] = true;
    int64_t removed = s.removed[taken[i] - 1];
    // floor(channels * ratio) == removed for this ratio, whatever the
    // float rounding.
    double ratio = (double(removed) + 0.5) / double(group.channels);
    std::string producers;
    for (const PruneLayerRef &p : group.producers) {
      settings.layers[p.name] = {ratio, int64_t(1)};
      producers += (producers.empty() ? "" : ", ") + p.name;
    }
    result.table.push_back(llvm::formatv("{0}: remove {1} of {2} channels (ratio {3:F3}); "
                                         "sensitivity {4:e2}",
                                         producers, removed, group.channels,
                                         double(removed) / group.channels,
                                         s.sensitivity[taken[i] - 1])
                               .str());
  }
  for (auto [g, group] : llvm::enumerate(plan.groups))
    if (!chosen[g] && group.skipReason.empty())
      for (const PruneLayerRef &p : group.producers)
        settings.skipLayers.push_back(p.name);
  return result;
}
