//===- ChannelPrune.h - which channels can be removed, and removing them -*- C++ -*-===//
//
// Filter (channel) pruning removes output channels of a layer (the
// producer) and everything that has one entry per such channel downstream:
// the matching input channels of the layers that read them (consumers),
// BatchNormalization parameters, constants added or multiplied per
// channel, depthwise convolutions (pruned passively), Concat offsets,
// Flatten / Reshape feature blocks. Producers whose channels meet in an
// element-wise op (a residual Add) form one group and lose the same
// channels. The analysis follows the channel axis through the ops that
// declare how they carry it (the channel-flow traits of AmctInterfaces.td
// and QuantizableLayerOpInterface); a group whose channels reach anything
// else (a graph output, Softmax over channels, a Reshape that splits them,
// an unknown node) is not prunable, with the reason, and is never touched.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_TRANSFORMS_CHANNELPRUNE_H
#define AMCT_TRANSFORMS_CHANNELPRUNE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LogicalResult.h"

#include <string>
#include <vector>

namespace amct {

/// Where a group's channels sit in a constant the group changes: operand
/// `operand` of `op`, dimension `axis`, from channel `offset` on, each
/// channel `inner` consecutive entries along the axis.
struct ChannelSlice {
  mlir::Operation *op;
  unsigned operand;
  int64_t axis, offset, inner;
};

/// An op whose attributes or shape operand change with the channel count:
/// a depthwise Conv's `group`, or entry `dim` of a Reshape's constant
/// shape (shrinking by `inner` per removed channel).
struct ChannelCountEdit {
  mlir::Operation *op;
  int64_t dim = -1;
  int64_t inner = 1;
};

/// A layer a group changes: where the group's channels sit along the
/// layer's input (consumers) or output (producers: offset 0, inner 1).
struct PruneLayerRef {
  mlir::Operation *op;
  std::string name;
  /// AMCT's layer type (Conv2d, Linear, ...).
  std::string type;
  int64_t offset = 0, inner = 1;
};

/// Producers that lose the same output channels, and what that changes.
struct PruneGroup {
  int64_t channels = 0;
  /// In IR order.
  std::vector<PruneLayerRef> producers;
  std::vector<PruneLayerRef> consumers;
  /// Depthwise convolutions pruned passively (their names, for reports).
  std::vector<std::string> passive;
  std::vector<ChannelSlice> slices;
  std::vector<ChannelCountEdit> edits;
  /// Why the group cannot be pruned; empty when it can.
  std::string skipReason;
};

/// The prune groups of `func`, in the IR order of their first producer.
/// Producers are Conv (any rank, group 1), ConvTranspose (group 1), Gemm
/// (transA 0) and MatMul by a constant 2-D matrix, with a float32
/// constant weight no other op reads.
std::vector<PruneGroup> findPruneGroups(mlir::func::FuncOp func);

/// AMCT's balanced L2 norm of each channel of `group`: per producer, the
/// L2 norm of each output filter over the weight's other axes, min-max
/// normalised to [0, 1]; summed over the group's producers.
std::vector<double> filterImportance(const PruneGroup &group);

/// The channels to keep: the `ratio` of least important ones removed
/// (floor(channels * ratio)); the kept count is then rounded up to a
/// multiple of `align` (1: no rounding) and never below 1 or above the
/// channel count. Ties go to the lower channel index.
std::vector<bool> selectKeptChannels(llvm::ArrayRef<double> importance, double ratio,
                                     int64_t align);

/// Removes, for each group g, the channels c with !keep[g][c] (groups with
/// a skipReason must keep everything); re-infers the result types of every
/// op. Errors (a constant of an unexpected shape) are emitted on the op.
mlir::LogicalResult applyChannelPrune(mlir::func::FuncOp func,
                                      llvm::ArrayRef<PruneGroup> groups,
                                      llvm::ArrayRef<std::vector<bool>> keep);

/// Re-infers the result types of every typed op of `func` in order (after
/// a pass changed constants' shapes). Fails with the op's error.
mlir::LogicalResult refreshResultTypes(mlir::func::FuncOp func);

} // namespace amct

#endif // AMCT_TRANSFORMS_CHANNELPRUNE_H
