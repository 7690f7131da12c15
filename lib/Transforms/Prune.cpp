//===- Prune.cpp - channel pruning and 2:4 sparsity plans, --amct-prune ---===//

#include "amct/Transforms/Prune.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Transforms/Passes.h"

#include "llvm/ADT/StringSet.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace amct {
#define GEN_PASS_DEF_AMCTPRUNE
#include "amct/Transforms/Passes.h.inc"
} // namespace amct

using namespace mlir;
using namespace amct;

//===----------------------------------------------------------------------===//
// Channel pruning
//===----------------------------------------------------------------------===//

ChannelPrunePlan amct::planChannelPrune(func::FuncOp func, const ChannelPruneSettings &settings) {
  ChannelPrunePlan plan;
  plan.groups = findPruneGroups(func);
  auto listed = [](const std::vector<std::string> &list, const std::string &x) {
    return llvm::is_contained(list, x);
  };
  for (PruneGroup &group : plan.groups) {
    double ratio = 1.0;
    int64_t align = 1;
    for (const PruneLayerRef &p : group.producers) {
      if (group.skipReason.empty() && listed(settings.skipLayers, p.name))
        group.skipReason = "'" + p.name + "' is in the skip list";
      if (group.skipReason.empty() && listed(settings.skipTypes, p.type))
        group.skipReason = "'" + p.name + "' is a " + p.type + ", a type in the skip list";
      double r = settings.ratio;
      int64_t a = settings.align;
      if (auto it = settings.types.find(p.type); it != settings.types.end()) {
        r = it->second.ratio.value_or(r);
        a = it->second.align.value_or(a);
      }
      if (auto it = settings.layers.find(p.name); it != settings.layers.end()) {
        r = it->second.ratio.value_or(r);
        a = it->second.align.value_or(a);
      }
      ratio = std::min(ratio, r);
      align = std::max(align, a);
    }
    if (!group.skipReason.empty() || ratio <= 0) {
      plan.keep.emplace_back(group.channels, true);
      continue;
    }
    plan.keep.push_back(selectKeptChannels(filterImportance(group), ratio, align));
  }
  return plan;
}

void amct::maskConsumerWeight(const PruneGroup &group, const PruneLayerRef &ref,
                              const std::vector<bool> &kept, std::vector<bool> &weightKeep) {
  auto layer = cast<QuantizableLayerOpInterface>(ref.op);
  auto shape = cast<RankedTensorType>(ref.op->getOperand(*layer.getWeightOperandIndex()).getType())
                   .getShape();
  int64_t axis = layer.getWeightInputChannelAxis(), dim = shape[axis], inner = 1;
  for (int64_t d : shape.drop_front(axis + 1))
    inner *= d;
  std::vector<bool> removedFeature(dim, false);
  for (int64_t c = 0; c < group.channels; ++c)
    if (!kept[c])
      for (int64_t i = 0; i < ref.inner; ++i)
        removedFeature[(ref.offset + c) * ref.inner + i] = true;
  for (size_t e = 0; e < weightKeep.size(); ++e)
    if (removedFeature[(int64_t(e) / inner) % dim])
      weightKeep[e] = false;
}

namespace {

PruneNode layerNode(const PruneLayerRef &ref, int64_t channels, const std::vector<int64_t> &remain,
                    bool consumer) {
  PruneNode node;
  node.name = ref.name;
  node.addString("type", ref.type);
  node.addInt("channels", channels);
  if (consumer) {
    node.addInt("begin", ref.offset);
    node.addInt("inner", ref.inner);
  }
  node.addInts("remain_channels", remain);
  return node;
}

std::vector<int64_t> remainOf(const std::vector<bool> &keep) {
  std::vector<int64_t> remain;
  for (size_t c = 0; c < keep.size(); ++c)
    if (keep[c])
      remain.push_back(c);
  return remain;
}

std::vector<std::string> namesOf(const std::vector<PruneLayerRef> &refs) {
  std::vector<std::string> names;
  for (const PruneLayerRef &r : refs)
    names.push_back(r.name);
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

std::vector<PruneRecordEntry> amct::describeChannelPrune(const ChannelPrunePlan &plan) {
  std::vector<PruneRecordEntry> records;
  for (auto [group, keep] : llvm::zip(plan.groups, plan.keep)) {
    if (llvm::all_of(keep, [](bool k) { return k; }))
      continue;
    std::vector<int64_t> remain = remainOf(keep);
    PruneRecordEntry entry;
    for (const PruneLayerRef &p : group.producers)
      entry.producers.push_back(layerNode(p, group.channels, remain, false));
    for (const PruneLayerRef &c : group.consumers)
      entry.consumers.push_back(layerNode(c, group.channels, remain, true));
    records.push_back(std::move(entry));
  }
  return records;
}

std::optional<ChannelPrunePlan> amct::planFromRecords(func::FuncOp func,
                                                      ArrayRef<PruneRecordEntry> records,
                                                      const std::string &where,
                                                      std::string &error) {
  ChannelPrunePlan plan;
  plan.groups = findPruneGroups(func);
  for (const PruneGroup &group : plan.groups)
    plan.keep.emplace_back(group.channels, true);
  llvm::StringMap<size_t> groupOf;
  for (auto [g, group] : llvm::enumerate(plan.groups))
    for (const PruneLayerRef &p : group.producers)
      groupOf[p.name] = g;
  std::set<size_t> used;
  for (auto [r, record] : llvm::enumerate(records)) {
    std::string at = where + ": prune_record #" + std::to_string(r + 1);
    if (record.producers.empty()) {
      error = at + " has no producer";
      return std::nullopt;
    }
    const PruneNode &first = record.producers.front();
    auto it = groupOf.find(first.name);
    if (it == groupOf.end()) {
      error = at + " names producer '" + first.name +
              "', which is not a prunable layer of the model";
      return std::nullopt;
    }
    size_t g = it->second;
    const PruneGroup &group = plan.groups[g];
    std::vector<std::string> recorded;
    for (const PruneNode &n : record.producers)
      recorded.push_back(n.name);
    std::sort(recorded.begin(), recorded.end());
    if (recorded != namesOf(group.producers)) {
      std::string names;
      for (const std::string &n : namesOf(group.producers))
        names += (names.empty() ? "" : ", ") + n;
      error = at + ": producer '" + first.name + "' is pruned together with [" + names +
              "] in this model, not with the record's producers";
      return std::nullopt;
    }
    std::vector<std::string> consumers;
    for (const PruneNode &n : record.consumers)
      consumers.push_back(n.name);
    std::sort(consumers.begin(), consumers.end());
    consumers.erase(std::unique(consumers.begin(), consumers.end()), consumers.end());
    std::vector<std::string> modelConsumers = namesOf(group.consumers);
    modelConsumers.erase(std::unique(modelConsumers.begin(), modelConsumers.end()),
                         modelConsumers.end());
    if (consumers != modelConsumers) {
      error = at + ": the consumers of '" + first.name + "' in the model differ from the record's";
      return std::nullopt;
    }
    if (!group.skipReason.empty()) {
      error = at + ": '" + first.name + "' cannot be pruned in this model: " + group.skipReason;
      return std::nullopt;
    }
    if (!used.insert(g).second) {
      error = at + ": '" + first.name + "' is pruned by an earlier record already";
      return std::nullopt;
    }
    const PruneAttr *channels = first.find("channels");
    const PruneAttr *remain = first.find("remain_channels");
    if (!channels || channels->type != PruneAttr::Type::Int || !remain ||
        remain->type != PruneAttr::Type::Ints) {
      error = at + ": producer '" + first.name +
              "' needs the attributes channels (INT) and remain_channels (INTS)";
      return std::nullopt;
    }
    if (channels->i != group.channels) {
      error = at + ": '" + first.name + "' has " + std::to_string(group.channels) +
              " output channels in the model, the record says " + std::to_string(channels->i);
      return std::nullopt;
    }
    std::vector<bool> keep(group.channels, false);
    int64_t previous = -1;
    for (int64_t c : remain->ints) {
      if (c <= previous || c >= group.channels) {
        error = at + ": remain_channels of '" + first.name +
                "' must increase and lie in [0, " + std::to_string(group.channels) + ")";
        return std::nullopt;
      }
      keep[c] = true;
      previous = c;
    }
    if (remain->ints.empty()) {
      error = at + ": remain_channels of '" + first.name + "' is empty";
      return std::nullopt;
    }
    plan.keep[g] = std::move(keep);
  }
  return plan;
}

//===----------------------------------------------------------------------===//
// 2:4 structured sparsity
//===----------------------------------------------------------------------===//

namespace {

/// A layer's weight for 2:4: the interface's view, or the reason it has none.
struct SparseLayer {
  QuantizableLayerOpInterface layer;
  std::string name, type;
  Value weight;
  InputChannelLayout layout;
};

std::optional<SparseLayer> sparseLayer(Operation *op, std::string &why) {
  auto layer = dyn_cast<QuantizableLayerOpInterface>(op);
  if (!layer)
    return std::nullopt;
  std::optional<LayerKind> kind = layer.getLayerKind();
  std::optional<unsigned> weightIndex = layer.getWeightOperandIndex();
  if (!kind || !weightIndex)
    return std::nullopt;
  SparseLayer s{layer, getNodeName(op).str(), stringifyLayerKind(*kind).str(),
                op->getOperand(*weightIndex), {}};
  auto type = dyn_cast<RankedTensorType>(s.weight.getType());
  std::optional<InputChannelLayout> layout = layer.getInputChannelLayout(why);
  if (!layout)
    return std::nullopt;
  if (!type || !type.getElementType().isF32() || !getConstantFloats(s.weight)) {
    why = "the weight is not a float32 constant";
    return std::nullopt;
  }
  if (!s.weight.hasOneUse()) {
    why = "the weight is shared with another node";
    return std::nullopt;
  }
  if (layout->channelsPerGroup < 2) {
    why = "one input channel per group (a depthwise or single-channel layer): nothing to "
          "choose from";
    return std::nullopt;
  }
  if (s.name.empty()) {
    why = "the layer has no node name";
    return std::nullopt;
  }
  s.layout = *layout;
  return s;
}

} // namespace

std::vector<SelectiveMask>
amct::planSelectivePrune(func::FuncOp func, const std::vector<std::string> &skipLayers,
                         const std::vector<std::string> &skipTypes,
                         std::vector<std::pair<std::string, std::string>> *skipped) {
  std::vector<SelectiveMask> masks;
  func.walk([&](Operation *op) {
    std::string why;
    std::optional<SparseLayer> s = sparseLayer(op, why);
    if (!s) {
      if (!why.empty() && skipped)
        skipped->emplace_back(getNodeName(op).str(), why);
      return;
    }
    if (llvm::is_contained(skipLayers, s->name) || llvm::is_contained(skipTypes, s->type)) {
      if (skipped)
        skipped->emplace_back(s->name, "in the skip list");
      return;
    }
    std::vector<float> w = *getConstantFloats(s->weight);
    const InputChannelLayout &l = s->layout;
    SelectiveMask mask{op, s->name, s->type, {}, std::vector<bool>(w.size(), true)};
    auto shape = cast<RankedTensorType>(s->weight.getType()).getShape();
    mask.shape.assign(shape.begin(), shape.end());
    for (int64_t g = 0; g < l.groups; ++g)
      for (int64_t o = 0; o < l.outPerGroup; ++o)
        for (int64_t i = 0; i < l.inner; ++i)
          for (int64_t base = 0; base < l.channelsPerGroup; base += 4) {
            // The run's real entries; padding channels are zeros and
            // would be the ones dropped, so a run of r <= 2 keeps all.
            int64_t r = std::min<int64_t>(4, l.channelsPerGroup - base);
            if (r <= 2)
              continue;
            int64_t idx[4];
            for (int64_t t = 0; t < r; ++t)
              idx[t] = ((g * l.outPerGroup + o) * l.channelsPerGroup + base + t) * l.inner + i;
            std::stable_sort(idx, idx + r, [&](int64_t a, int64_t b) {
              return std::fabs(w[a]) > std::fabs(w[b]);
            });
            for (int64_t t = 2; t < r; ++t)
              mask.keep[idx[t]] = false;
          }
    masks.push_back(std::move(mask));
  });
  return masks;
}

LogicalResult amct::applySelectivePrune(ArrayRef<SelectiveMask> masks) {
  for (const SelectiveMask &mask : masks) {
    auto layer = cast<QuantizableLayerOpInterface>(mask.layer);
    unsigned index = *layer.getWeightOperandIndex();
    Value old = mask.layer->getOperand(index);
    std::optional<std::vector<float>> w = getConstantFloats(old);
    if (!w || w->size() != mask.keep.size())
      return mask.layer->emitError() << "the weight does not match its 2:4 mask";
    for (size_t i = 0; i < w->size(); ++i)
      if (!mask.keep[i])
        (*w)[i] = 0.0f;
    OpBuilder b(mask.layer);
    std::string name = mask.name + ".sparse_weight";
    if (auto loc = dyn_cast<NameLoc>(old.getLoc()))
      name = loc.getName().str();
    Value fresh = createFloatConstant(b, old.getLoc(), cast<RankedTensorType>(old.getType()), *w,
                                      name);
    mask.layer->setOperand(index, fresh);
    if (Operation *def = old.getDefiningOp(); def && def->use_empty())
      def->erase();
  }
  return success();
}

PruneRecordEntry amct::describeSelectiveMask(const SelectiveMask &mask) {
  PruneNode node;
  node.name = mask.name;
  node.addString("type", mask.type);
  node.addString("n_out_of_m_type", "M4N2");
  node.addInts("mask_shape", mask.shape);
  std::string packed((mask.keep.size() + 7) / 8, '\0');
  for (size_t i = 0; i < mask.keep.size(); ++i)
    if (mask.keep[i])
      packed[i / 8] = char(uint8_t(packed[i / 8]) | uint8_t(1u << (i % 8)));
  node.addString("mask", packed);
  PruneRecordEntry entry;
  entry.selective = std::move(node);
  return entry;
}

std::optional<SelectiveMask> amct::maskFromRecord(func::FuncOp func,
                                                  const PruneRecordEntry &record,
                                                  const std::string &where, std::string &error) {
  const PruneNode &node = *record.selective;
  std::string at = where + ": selective_prune of '" + node.name + "'";
  Operation *found = nullptr;
  func.walk([&](Operation *op) {
    if (!found && isa<QuantizableLayerOpInterface>(op) && getNodeName(op) == node.name)
      found = op;
  });
  std::string why;
  std::optional<SparseLayer> s = found ? sparseLayer(found, why) : std::nullopt;
  if (!s) {
    error = at + ": " +
            (found ? "the layer cannot be pruned: " + why : std::string("no such layer in the model"));
    return std::nullopt;
  }
  const PruneAttr *type = node.find("n_out_of_m_type");
  const PruneAttr *shape = node.find("mask_shape");
  const PruneAttr *mask = node.find("mask");
  if (type && type->s != "M4N2") {
    error = at + ": n_out_of_m_type '" + type->s + "' is not supported (expected M4N2)";
    return std::nullopt;
  }
  auto weightShape = cast<RankedTensorType>(s->weight.getType()).getShape();
  if (!shape || !mask ||
      std::vector<int64_t>(weightShape.begin(), weightShape.end()) != shape->ints) {
    error = at + ": mask_shape does not match the layer's weight shape";
    return std::nullopt;
  }
  SelectiveMask out{found, s->name, s->type, shape->ints, {}};
  size_t n = 1;
  for (int64_t d : shape->ints)
    n *= d;
  if (mask->s.size() != (n + 7) / 8) {
    error = at + ": the mask has " + std::to_string(mask->s.size()) + " bytes, expected " +
            std::to_string((n + 7) / 8);
    return std::nullopt;
  }
  out.keep.resize(n);
  for (size_t i = 0; i < n; ++i)
    out.keep[i] = (uint8_t(mask->s[i / 8]) >> (i % 8)) & 1;
  return out;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {

struct AmctPrunePass : amct::impl::AmctPruneBase<AmctPrunePass> {
  using AmctPruneBase::AmctPruneBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (!recordPath.empty())
      return applyRecord(func);
    std::vector<std::string> layers(skipLayers.begin(), skipLayers.end());
    std::vector<std::string> types(skipTypes.begin(), skipTypes.end());
    if (!configPath.empty()) {
      std::string error;
      std::optional<PruneSettings> settings = readPruneConfig(configPath, error);
      if (!settings) {
        emitError(func.getLoc()) << "--amct-prune: " << error;
        return signalPassFailure();
      }
      if (settings->method == PruneSettings::Method::Selective) {
        if (failed(applySelectivePrune(
                planSelectivePrune(func, settings->skipLayers, settings->skipTypes, nullptr))))
          signalPassFailure();
        return;
      }
      return applyChannel(func, *settings);
    }
    if (method == "2:4") {
      std::vector<SelectiveMask> masks = planSelectivePrune(func, layers, types, nullptr);
      if (failed(applySelectivePrune(masks)))
        signalPassFailure();
      return;
    }
    if (method != "channel") {
      emitError(func.getLoc()) << "--amct-prune: unknown method '" << method
                               << "' (expected channel or 2:4)";
      return signalPassFailure();
    }
    if (!(ratio > 0.0 && ratio < 1.0)) {
      emitError(func.getLoc()) << "--amct-prune: ratio " << ratio << " is outside (0, 1)";
      return signalPassFailure();
    }
    if (align < 1) {
      emitError(func.getLoc()) << "--amct-prune: align must be at least 1";
      return signalPassFailure();
    }
    ChannelPruneSettings settings;
    settings.ratio = ratio;
    settings.align = align;
    settings.skipLayers = layers;
    settings.skipTypes = types;
    applyChannel(func, settings);
  }

  void applyChannel(func::FuncOp func, const PruneSettings &settings) {
    ChannelPrunePlan plan = planChannelPrune(func, settings);
    for (const PruneGroup &group : plan.groups)
      if (!group.skipReason.empty())
        group.producers.front().op->emitRemark()
            << "not pruned: " << group.skipReason;
    if (failed(applyChannelPrune(func, plan.groups, plan.keep)))
      signalPassFailure();
  }

  void applyRecord(func::FuncOp func) {
    std::string error;
    std::optional<Record> record = readRecordFile(recordPath, error);
    if (!record) {
      emitError(func.getLoc()) << "--amct-prune: " << error;
      return signalPassFailure();
    }
    std::vector<PruneRecordEntry> channel;
    std::vector<SelectiveMask> masks;
    for (auto [i, text] : llvm::enumerate(record->pruneRecords)) {
      std::optional<PruneRecordEntry> entry = parsePruneRecord(
          text, recordPath + ": prune_record #" + std::to_string(i + 1), error);
      if (!entry) {
        emitError(func.getLoc()) << "--amct-prune: " << error;
        return signalPassFailure();
      }
      if (!entry->selective) {
        channel.push_back(std::move(*entry));
        continue;
      }
      std::optional<SelectiveMask> mask = maskFromRecord(func, *entry, recordPath, error);
      if (!mask) {
        emitError(func.getLoc()) << "--amct-prune: " << error;
        return signalPassFailure();
      }
      masks.push_back(std::move(*mask));
    }
    if (failed(applySelectivePrune(masks)))
      return signalPassFailure();
    if (channel.empty())
      return;
    std::optional<ChannelPrunePlan> plan = planFromRecords(func, channel, recordPath, error);
    if (!plan) {
      emitError(func.getLoc()) << "--amct-prune: " << error;
      return signalPassFailure();
    }
    if (failed(applyChannelPrune(func, plan->groups, plan->keep)))
      signalPassFailure();
  }
};

} // namespace
