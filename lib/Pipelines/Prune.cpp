//===- Prune.cpp - the prune job (amct prune) -----------------------------===//
//
// The plan (lib/Transforms/Prune.cpp) decides what goes; this job adds the
// refit and the files. The refit works on the model before anything is
// removed: the removed inputs' weights are set to zero (which is what
// removing them means to the layer), the calibration batches run side by
// side on it and on the original, stopping before each layer that lost
// inputs; its kept weights and bias are refitted on the Gram matrices of
// its input columns (amct/Quant/Refit.h), handed to the runs for the
// layers after it, and written into the model. Then the channels are
// removed: exactly, since nothing reads them any more.
//
//===----------------------------------------------------------------------===//

#include "amct/Pipelines/Prune.h"

#include "QuantizeSupport.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Pipelines/Calibration.h"
#include "amct/Quant/Refit.h"
#include "amct/Runtime/Executor.h"
#include "amct/Runtime/LayerColumns.h"
#include "amct/Transforms/Passes.h"
#include "amct/Transforms/Prune.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <numeric>

using namespace mlir;
using namespace amct;

namespace {

int64_t staticProduct(ArrayRef<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= ShapedType::isDynamic(d) ? 1 : d;
  return n;
}

/// A layer whose weight loses entries: keep[i] for each weight element.
struct RefitTarget {
  Operation *op;
  std::string name;
  std::vector<bool> keep;
};

/// Replaces operand `operand` of `user` by a new float32 constant of
/// `values` and `type`; the old constant goes when nothing reads it.
Value replaceConstant(Operation *user, unsigned operand, RankedTensorType type,
                      ArrayRef<float> values, StringRef name) {
  Value old = user->getOperand(operand);
  OpBuilder b(user);
  Value fresh = createFloatConstant(b, user->getLoc(), type, values, name);
  user->setOperand(operand, fresh);
  if (Operation *def = old.getDefiningOp(); def && def->use_empty() && isa<ConstOp, ConstantOp>(def))
    def->erase();
  return fresh;
}

rt::Tensor floatTensor(RankedTensorType type, ArrayRef<float> values) {
  auto t = rt::Tensor::zeros(rt::DType::F32, rt::Shape(type.getShape().begin(), type.getShape().end()));
  std::copy(values.begin(), values.end(), t->mutableData<float>());
  return std::move(*t);
}

/// Where a refitted layer's bias lives: an operand of the layer or of the
/// Add after a MatMul; one value per output channel.
struct BiasSlot {
  Operation *op = nullptr;
  unsigned operand = 0;
};

/// The layer's bias, made a zero constant first when a Conv,
/// ConvTranspose or Gemm has none (the refit then has one to move).
std::optional<BiasSlot> prepareBias(QuantizableLayerOpInterface layer, int64_t channels) {
  Operation *op = layer.getOperation();
  if (OpOperand *bias = layer.getBiasOperand()) {
    auto type = dyn_cast<RankedTensorType>(bias->get().getType());
    if (!type || type.getNumElements() != channels || !getConstantFloats(bias->get()))
      return std::nullopt;
    return BiasSlot{bias->getOwner(), bias->getOperandNumber()};
  }
  if (isa<MatMulOp>(op) || op->getNumOperands() < 3 || !isa<NoneType>(op->getOperand(2).getType()))
    return std::nullopt;
  auto result = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!result)
    return std::nullopt;
  std::vector<float> zeros(channels, 0.0f);
  replaceConstant(op, 2, RankedTensorType::get({channels}, result.getElementType()), zeros,
                  getNodeName(op).str() + ".bias");
  return BiasSlot{op, 2};
}

/// The refit of `targets` (in IR order) in `main`, against `fp32`.
LogicalResult refitLayers(func::FuncOp main, func::FuncOp fp32, std::vector<RefitTarget> &targets,
                          const std::vector<std::vector<rt::Tensor>> &batches, int threads,
                          std::vector<RefitOutcome> &outcomes) {
  struct Prepared {
    RefitTarget *target;
    QuantizableLayerOpInterface layer;
    rt::LayerMatrices matrices;
    std::optional<BiasSlot> bias;
    Operation *fpOp;
  };
  llvm::StringMap<Operation *> fpOps;
  fp32.walk([&](QuantizableLayerOpInterface op) { fpOps[getNodeName(op)] = op; });
  std::vector<Prepared> prepared;
  std::vector<Operation *> stops, fpStops;
  for (RefitTarget &t : targets) {
    auto layer = cast<QuantizableLayerOpInterface>(t.op);
    std::optional<LayerKind> kind = layer.getLayerKind();
    Value weight = t.op->getOperand(*layer.getWeightOperandIndex());
    auto type = cast<RankedTensorType>(weight.getType());
    bool hasMatrixForm = kind && ((*kind == LayerKind::Conv2d && type.getRank() == 4) ||
                                  (*kind == LayerKind::ConvTranspose2d && type.getRank() == 4) ||
                                  (*kind == LayerKind::Linear && type.getRank() == 2));
    Operation *fpOp = fpOps.lookup(t.name);
    if (!hasMatrixForm || !fpOp)
      continue; // pruned without a refit (reported by the caller)
    FailureOr<rt::LayerMatrices> m = rt::describeLayerMatrices(t.op, *kind, type.getShape());
    if (failed(m))
      return failure();
    prepared.push_back({&t, layer, std::move(*m), std::nullopt, fpOp});
  }
  for (Prepared &p : prepared) {
    p.bias = prepareBias(p.layer, p.layer.getOutputChannelCount());
    stops.push_back(p.target->op);
    if (p.bias && p.bias->op != p.target->op)
      stops.push_back(p.bias->op);
    fpStops.push_back(p.fpOp);
  }
  if (prepared.empty())
    return success();

  auto runs = SteppedBatches::start(main, stops, batches, threads);
  auto fpRuns = SteppedBatches::start(fp32, fpStops, batches, threads);
  if (failed(runs) || failed(fpRuns))
    return failure();
  llvm::DenseMap<Operation *, Prepared *> byOp;
  llvm::DenseMap<Operation *, std::pair<unsigned, rt::Tensor>> pendingBias;
  for (Prepared &p : prepared)
    byOp[p.target->op] = &p;

  while (true) {
    FailureOr<Operation *> at = runs->next();
    if (failed(at))
      return failure();
    if (!*at)
      break;
    // A MatMul's bias Add: hand the refitted bias to the runs.
    if (auto it = pendingBias.find(*at); it != pendingBias.end()) {
      runs->setOperand(it->second.first, it->second.second);
      pendingBias.erase(it);
      continue;
    }
    Prepared &p = *byOp.lookup(*at);
    FailureOr<Operation *> fpAt = fpRuns->next();
    if (failed(fpAt))
      return failure();
    if (*fpAt != p.fpOp)
      return p.target->op->emitError() << "layer '" << p.target->name
                                       << "': the original model's run is not at the same layer";
    unsigned dataIndex = p.layer.getDataOperandIndex();
    const rt::LayerMatrices &m = p.matrices;
    rt::InputGrams grams;
    for (size_t b = 0; b < runs->size(); ++b)
      if (failed(rt::accumulateInputGram(p.target->op, m, runs->operand(b, dataIndex),
                                         &fpRuns->operand(b, dataIndex), threads, grams)))
        return failure();
    unsigned weightIndex = *p.layer.getWeightOperandIndex();
    Value fpWeight = p.fpOp->getOperand(weightIndex);
    std::optional<std::vector<float>> w0 = getConstantFloats(fpWeight);
    if (!w0)
      return p.target->op->emitError() << "layer '" << p.target->name
                                       << "': the original weight is not a float32 constant";
    std::vector<float> weight(m.weightIndex.size());
    std::vector<bool> keep(m.weightIndex.size());
    for (size_t i = 0; i < weight.size(); ++i) {
      weight[i] = (*w0)[m.weightIndex[i]];
      keep[i] = p.target->keep[m.weightIndex[i]];
    }
    quant::RefitProblem problem;
    problem.groups = m.groups;
    problem.rows = m.rows;
    problem.k = m.k;
    problem.weight = weight.data();
    problem.keep = &keep;
    problem.gram = grams.qq.data();
    problem.crossGram = grams.qf.data();
    problem.floatGram = grams.ff.data();
    problem.sumQ = grams.sumQ.data();
    problem.sumF = grams.sumF.data();
    problem.positions = grams.positions;
    problem.withBias = p.bias.has_value();
    std::string error;
    std::optional<quant::RefitResult> fit = quant::refitPrunedWeights(problem, error);
    if (!fit)
      return p.target->op->emitError() << "layer '" << p.target->name << "': " << error;

    auto wType = cast<RankedTensorType>(p.target->op->getOperand(weightIndex).getType());
    std::vector<float> flat(w0->size(), 0.0f);
    for (size_t i = 0; i < weight.size(); ++i)
      flat[m.weightIndex[i]] = fit->weight[i];
    replaceConstant(p.target->op, weightIndex, wType, flat, p.target->name + ".refit_weight");
    rt::Tensor wTensor = floatTensor(wType, flat);
    runs->setOperand(weightIndex, wTensor);
    if (p.bias) {
      Value old = p.bias->op->getOperand(p.bias->operand);
      std::vector<float> bias = *getConstantFloats(old);
      for (size_t r = 0; r < m.rowChannel.size(); ++r)
        bias[m.rowChannel[r]] += float(fit->biasDelta[r]);
      auto bType = cast<RankedTensorType>(old.getType());
      replaceConstant(p.bias->op, p.bias->operand, bType, bias, p.target->name + ".refit_bias");
      rt::Tensor bTensor = floatTensor(bType, bias);
      if (p.bias->op == p.target->op) {
        runs->setOperand(p.bias->operand, bTensor);
      } else {
        pendingBias[p.bias->op] = {p.bias->operand, std::move(bTensor)};
      }
    }
    outcomes.push_back({p.target->name, fit->errorBefore, fit->errorAfter});
  }
  // The original's runs stop after their last layer: they need not end.
  return runs->finish();
}

std::string joinNames(const std::vector<std::string> &names) {
  std::string out;
  for (const std::string &n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

/// Keep masks of the consumers of a channel plan, per weight element.
std::vector<RefitTarget> consumerTargets(const ChannelPrunePlan &plan) {
  std::vector<RefitTarget> targets;
  llvm::DenseMap<Operation *, size_t> index;
  for (auto [group, keep] : llvm::zip(plan.groups, plan.keep)) {
    if (llvm::all_of(keep, [](bool k) { return k; }))
      continue;
    for (const PruneLayerRef &c : group.consumers) {
      auto [it, inserted] = index.try_emplace(c.op, targets.size());
      if (inserted) {
        auto layer = cast<QuantizableLayerOpInterface>(c.op);
        auto type = cast<RankedTensorType>(c.op->getOperand(*layer.getWeightOperandIndex()).getType());
        targets.push_back({c.op, c.name, std::vector<bool>(type.getNumElements(), true)});
      }
      maskConsumerWeight(group, c, keep, targets[it->second].keep);
    }
  }
  // In IR order, as the runs reach them.
  std::sort(targets.begin(), targets.end(),
            [](const RefitTarget &a, const RefitTarget &b) { return a.op->isBeforeInBlock(b.op); });
  return targets;
}

/// Zeroes the masked-out weights of the targets (what removing them
/// means to the layer), so the refit runs see the pruned layers.
void zeroMasked(const std::vector<RefitTarget> &targets) {
  for (const RefitTarget &t : targets) {
    auto layer = cast<QuantizableLayerOpInterface>(t.op);
    unsigned index = *layer.getWeightOperandIndex();
    Value weight = t.op->getOperand(index);
    std::vector<float> w = *getConstantFloats(weight);
    for (size_t i = 0; i < w.size(); ++i)
      if (!t.keep[i])
        w[i] = 0.0f;
    replaceConstant(t.op, index, cast<RankedTensorType>(weight.getType()), w,
                    t.name + ".pruned_weight");
  }
}

} // namespace

double amct::layerFlops(Operation *op) {
  auto layer = dyn_cast<QuantizableLayerOpInterface>(op);
  if (!layer || !layer.getLayerKind() || !layer.getWeightOperandIndex())
    return 0;
  auto w = dyn_cast<RankedTensorType>(op->getOperand(*layer.getWeightOperandIndex()).getType());
  auto in = dyn_cast<RankedTensorType>(op->getOperand(layer.getDataOperandIndex()).getType());
  auto out = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!w || !in || !out || !w.hasStaticShape() || w.getRank() < 2)
    return 0;
  double weights = double(w.getNumElements());
  if (isa<ConvTransposeOp>(op))
    return 2.0 * double(staticProduct(in.getShape())) * weights / double(w.getDimSize(0));
  if (isa<ConvOp>(op))
    return 2.0 * double(staticProduct(out.getShape())) * weights / double(w.getDimSize(0));
  return 2.0 * double(staticProduct(out.getShape())) *
         double(w.getDimSize(layer.getWeightInputChannelAxis()));
}

void amct::countModelCost(ModuleOp module, int64_t &params, double &flops) {
  params = 0;
  flops = 0;
  func::FuncOp main = getMainFunction(module);
  if (!main)
    return;
  main.walk([&](Operation *op) {
    if (isa<ConstOp, ConstantOp>(op)) {
      auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
      if (type && isa<FloatType>(type.getElementType()) && type.hasStaticShape())
        params += type.getNumElements();
      return;
    }
    flops += layerFlops(op);
  });
}

FailureOr<PruneJobResult> amct::pruneModel(ModuleOp model, const PruneJobOptions &options) {
  PruneJobResult result;
  result.pruned = OwningOpRef<ModuleOp>(model.clone());
  ModuleOp module = *result.pruned;
  if (failed(runFuncPass(module, createAmctFoldConstants())))
    return failure();
  func::FuncOp main = getMainFunction(module);
  if (!main)
    return emitError(module.getLoc()) << "the model has no function";
  countModelCost(module, result.paramsBefore, result.flopsBefore);
  OwningOpRef<ModuleOp> original(module.clone());
  func::FuncOp fp32 = getMainFunction(*original);

  bool refit = options.reconstruct && !options.calibData.empty();
  std::vector<std::vector<rt::Tensor>> batches;
  if (refit) {
    auto cut = makeCalibrationBatches(main, options.calibData, options.batchNum, options.batchSize);
    if (failed(cut))
      return failure();
    batches = std::move(*cut);
  }

  // What to prune: the record's entries, or the settings.
  std::vector<PruneRecordEntry> channelRecords, selectiveRecords;
  if (options.record) {
    for (auto [i, text] : llvm::enumerate(options.record->pruneRecords)) {
      std::string error;
      std::optional<PruneRecordEntry> entry = parsePruneRecord(
          text, options.recordName + ": prune_record #" + std::to_string(i + 1), error);
      if (!entry)
        return emitError(module.getLoc()) << error;
      (entry->selective ? selectiveRecords : channelRecords).push_back(std::move(*entry));
    }
    if (channelRecords.empty() && selectiveRecords.empty())
      return emitError(module.getLoc()) << options.recordName << " has no prune_record";
    if (!channelRecords.empty() && !selectiveRecords.empty())
      return emitError(module.getLoc())
             << options.recordName
             << " mixes filter pruning and selective (2:4) records; AMCT enables one at a time";
  }
  bool selective = options.record ? !selectiveRecords.empty()
                                  : options.settings.method == PruneSettings::Method::Selective;

  std::vector<RefitTarget> targets;
  if (selective) {
    std::vector<SelectiveMask> masks;
    if (options.record) {
      for (const PruneRecordEntry &entry : selectiveRecords) {
        std::string error;
        std::optional<SelectiveMask> mask = maskFromRecord(main, entry, options.recordName, error);
        if (!mask)
          return emitError(module.getLoc()) << error;
        masks.push_back(std::move(*mask));
      }
    } else {
      std::vector<std::pair<std::string, std::string>> skipped;
      masks = planSelectivePrune(main, options.settings.skipLayers, options.settings.skipTypes,
                                 &skipped);
      for (auto &[name, why] : skipped)
        result.summary.push_back(name + ": not pruned: " + why);
    }
    for (const SelectiveMask &mask : masks) {
      int64_t zeros = llvm::count(mask.keep, false);
      result.summary.push_back(llvm::formatv("{0} ({1}): 2:4, {2} of {3} weights set to zero",
                                             mask.name, mask.type, zeros, mask.keep.size())
                                   .str());
      targets.push_back({mask.layer, mask.name, mask.keep});
      result.record.pruneRecords.push_back(printPruneRecord(describeSelectiveMask(mask)));
    }
    std::sort(targets.begin(), targets.end(), [](const RefitTarget &a, const RefitTarget &b) {
      return a.op->isBeforeInBlock(b.op);
    });
    if (failed(applySelectivePrune(masks)))
      return failure();
    if (refit && failed(refitLayers(main, fp32, targets, batches, options.threads, result.refits)))
      return failure();
  } else {
    ChannelPrunePlan plan;
    if (options.record) {
      std::string error;
      std::optional<ChannelPrunePlan> restored =
          planFromRecords(main, channelRecords, options.recordName, error);
      if (!restored)
        return emitError(module.getLoc()) << error;
      plan = std::move(*restored);
    } else {
      plan = planChannelPrune(main, options.settings);
    }
    for (auto [group, keep] : llvm::zip(plan.groups, plan.keep)) {
      std::vector<std::string> producers;
      for (const PruneLayerRef &p : group.producers)
        producers.push_back(p.name);
      int64_t kept = llvm::count(keep, true);
      if (!group.skipReason.empty() || kept == group.channels) {
        result.summary.push_back(joinNames(producers) + ": not pruned: " +
                                 (group.skipReason.empty() ? "no channel selected"
                                                           : group.skipReason));
        continue;
      }
      std::vector<std::string> consumers;
      for (const PruneLayerRef &c : group.consumers)
        if (!llvm::is_contained(consumers, c.name))
          consumers.push_back(c.name);
      std::string line = llvm::formatv("{0}: {1} -> {2} channels; consumers: {3}",
                                       joinNames(producers), group.channels, kept,
                                       consumers.empty() ? "none" : joinNames(consumers))
                             .str();
      if (!group.passive.empty())
        line += "; depthwise: " + joinNames(group.passive);
      result.summary.push_back(line);
    }
    for (const PruneRecordEntry &entry : describeChannelPrune(plan))
      result.record.pruneRecords.push_back(printPruneRecord(entry));
    targets = consumerTargets(plan);
    if (refit) {
      zeroMasked(targets);
      if (failed(refitLayers(main, fp32, targets, batches, options.threads, result.refits)))
        return failure();
    }
    // A producer the refit gave a bias (it had none) loses that bias's
    // entries with its channels.
    for (PruneGroup &group : plan.groups)
      for (const PruneLayerRef &p : group.producers)
        if (p.op->getNumOperands() > 2 && !isa<MatMulOp>(p.op) &&
            !isa<NoneType>(p.op->getOperand(2).getType()) &&
            llvm::none_of(group.slices, [&](const ChannelSlice &s) {
              return s.op == p.op && s.operand == 2;
            }))
          group.slices.push_back({p.op, 2, 0, 0, 1});
    if (failed(applyChannelPrune(main, plan.groups, plan.keep)))
      return failure();
  }
  if (refit)
    for (const RefitTarget &t : targets)
      if (llvm::none_of(result.refits, [&](const RefitOutcome &o) { return o.layer == t.name; }))
        result.summary.push_back(t.name + ": pruned without a refit (only Conv2d, "
                                          "ConvTranspose2d and Linear layers are refitted)");
  countModelCost(module, result.paramsAfter, result.flopsAfter);
  return result;
}
