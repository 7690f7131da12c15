//===- Prune.h - channel pruning and 2:4 sparsity plans -----------*- C++ -*-===//
//
// What --amct-prune and `amct prune` decide before they change the model:
// which channels of each prune group go (AMCT's balanced L2 norm filter
// pruner) or which weights of each layer become zero (AMCT's M4N2
// selective pruner), how that is written as AMCT's PruneRecord, and how a
// record is read back and checked against a model (AMCT's restore).
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_TRANSFORMS_PRUNE_H
#define AMCT_TRANSFORMS_PRUNE_H

#include "amct/Support/PruneConfig.h"
#include "amct/Support/RecordFile.h"
#include "amct/Transforms/ChannelPrune.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace amct {

/// balanced_l2_norm_filter_prune settings (amct/Support/PruneConfig.h).
/// A group takes the smallest ratio and largest alignment of its
/// producers; a group with a skipped producer is left.
using ChannelPruneSettings = PruneSettings;

struct ChannelPrunePlan {
  std::vector<PruneGroup> groups;
  /// keep[g][c]: whether channel c of group g stays.
  std::vector<std::vector<bool>> keep;
};

/// Groups of `func` and the channels the settings keep. Groups that cannot
/// be pruned keep everything and say why (skipReason, also for a skip
/// list).
ChannelPrunePlan planChannelPrune(mlir::func::FuncOp func, const ChannelPruneSettings &settings);

/// What removing group channels means to one of the group's consumers:
/// clears, in `weightKeep` (one entry per element of the consumer's
/// weight), the entries of the input channels the group removes (`kept`,
/// one per group channel) where `ref` says they sit in its input.
void maskConsumerWeight(const PruneGroup &group, const PruneLayerRef &ref,
                        const std::vector<bool> &kept, std::vector<bool> &weightKeep);

/// The plan as AMCT's prune records: one per pruned group, producers and
/// consumers as PruneNodes (type, channels, remain_channels; a consumer
/// also begin / inner: where the group's channels sit in its input).
std::vector<PruneRecordEntry> describeChannelPrune(const ChannelPrunePlan &plan);

/// The plan the filter-prune `records` describe on `func`: each record's
/// producers must form exactly one prune group of the model, with the same
/// channel count and consumers. Errors name the record (`where`), the layer
/// and what differs.
std::optional<ChannelPrunePlan> planFromRecords(mlir::func::FuncOp func,
                                                llvm::ArrayRef<PruneRecordEntry> records,
                                                const std::string &where, std::string &error);

/// One layer's 2:4 mask: keep[i] for every element of its weight.
struct SelectiveMask {
  mlir::Operation *layer;
  std::string name, type;
  std::vector<int64_t> shape;
  std::vector<bool> keep;
};

/// The M4N2 masks of every Conv / ConvTranspose / Linear with a float32
/// constant weight of its own, except the skipped ones (`skipped` gets the
/// others with the reason): in each run of 4 consecutive input channels of
/// a weight row, the 2 of largest magnitude stay (channels padded with
/// zeros to a multiple of 4; ties go to the lower channel).
std::vector<SelectiveMask>
planSelectivePrune(mlir::func::FuncOp func, const std::vector<std::string> &skipLayers,
                   const std::vector<std::string> &skipTypes,
                   std::vector<std::pair<std::string, std::string>> *skipped);

/// Zeroes the masked-out weights.
mlir::LogicalResult applySelectivePrune(llvm::ArrayRef<SelectiveMask> masks);

/// A mask as AMCT's selective_prune record (n_out_of_m_type M4N2,
/// mask_shape, the mask packed 8 per byte, first element in the lowest
/// bit) and back; reading checks the layer exists and its weight's shape.
PruneRecordEntry describeSelectiveMask(const SelectiveMask &mask);
std::optional<SelectiveMask> maskFromRecord(mlir::func::FuncOp func, const PruneRecordEntry &record,
                                            const std::string &where, std::string &error);

} // namespace amct

#endif // AMCT_TRANSFORMS_PRUNE_H
