//===- ChannelPrune.cpp - which channels can be removed, and removing them -===//
//
// The analysis walks the function once in order and gives every value that
// carries prunable channels a channel map: the axis, how many consecutive
// entries each channel takes along it (`inner`, > 1 after a Flatten) and
// the segments the axis is made of (a Concat joins several). Each producer
// starts a channel space; spaces that meet in an element-wise op are
// united (union-find), and a space whose channels reach an op that does not
// say how it carries them is poisoned with the reason.
//
//===----------------------------------------------------------------------===//

#include "amct/Transforms/ChannelPrune.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>

using namespace mlir;
using namespace amct;

namespace {

int64_t product(ArrayRef<int64_t> dims) {
  return std::accumulate(dims.begin(), dims.end(), int64_t(1), std::multiplies<int64_t>());
}

std::string opLabel(Operation *op) {
  std::string type = op->getName().stripDialect().str();
  if (auto node = dyn_cast<NodeOp>(op))
    type = node.getOpType().str();
  std::string name = getNodeName(op).str();
  return "'" + type + "'" + (name.empty() ? "" : " node '" + name + "'");
}

/// A run of channels along a value's channel axis: `count` channels of
/// space `space` (-1: channels no producer owns, which stay).
struct Segment {
  int space;
  int64_t count;
};

struct ChannelMap {
  int64_t axis = 0;
  int64_t inner = 1;
  SmallVector<Segment, 2> segments;

  int64_t channels() const {
    int64_t n = 0;
    for (const Segment &s : segments)
      n += s.count;
    return n;
  }
};

/// What one space collects before spaces are united.
struct SpaceData {
  int parent;
  int64_t channels;
  std::string reason;
  std::vector<PruneLayerRef> producers, consumers;
  std::vector<std::string> passive;
  std::vector<ChannelSlice> slices;
  std::vector<ChannelCountEdit> edits;
};

class Analysis {
public:
  std::vector<PruneGroup> run(func::FuncOp func);

private:
  int find(int s) {
    while (spaces[s].parent != s)
      s = spaces[s].parent = spaces[spaces[s].parent].parent;
    return s;
  }
  void poison(int space, const std::string &reason) {
    int root = find(space);
    if (spaces[root].reason.empty())
      spaces[root].reason = reason;
  }
  void poison(const ChannelMap &map, const std::string &reason) {
    for (const Segment &s : map.segments)
      if (s.space >= 0)
        poison(s.space, reason);
  }
  void unite(int a, int b) {
    a = find(a);
    b = find(b);
    if (a == b)
      return;
    if (b < a)
      std::swap(a, b);
    spaces[b].parent = a;
    if (spaces[a].channels != spaces[b].channels) {
      poison(a, "channel counts of producers meeting in an element-wise op differ");
      return;
    }
    if (spaces[a].reason.empty())
      spaces[a].reason = spaces[b].reason;
  }
  /// Makes the channels of `a` and `b` one (they meet element by element).
  bool unify(const ChannelMap &a, const ChannelMap &b, Operation *op) {
    bool same = a.inner == b.inner && a.segments.size() == b.segments.size();
    for (size_t i = 0; same && i < a.segments.size(); ++i)
      same = a.segments[i].count == b.segments[i].count;
    if (!same) {
      poison(a, opLabel(op) + " combines differently arranged channels");
      poison(b, opLabel(op) + " combines differently arranged channels");
      return false;
    }
    for (auto [x, y] : llvm::zip(a.segments, b.segments)) {
      if (x.space >= 0 && y.space >= 0)
        unite(x.space, y.space);
      else if (x.space >= 0 || y.space >= 0)
        poison(x.space >= 0 ? x.space : y.space,
               opLabel(op) + " combines its channels with channels no layer produces");
    }
    return true;
  }
  /// A slice of every segment of `map` (consumers and passive constants).
  void addSlices(const ChannelMap &map, Operation *op, unsigned operand, int64_t axis) {
    int64_t offset = 0;
    for (const Segment &s : map.segments) {
      if (s.space >= 0)
        spaces[s.space].slices.push_back({op, operand, axis, offset, map.inner});
      offset += s.count;
    }
  }
  void addEdit(const ChannelMap &map, ChannelCountEdit edit) {
    for (const Segment &s : map.segments)
      if (s.space >= 0)
        spaces[s.space].edits.push_back(edit);
  }

  void visit(Operation *op);
  void visitLayer(QuantizableLayerOpInterface layer);
  void startProducer(QuantizableLayerOpInterface layer, LayerKind kind);
  bool visitElementwise(Operation *op, unsigned dataOperand);
  void visitConcat(ConcatOp op);
  void visitReshape(Operation *op, Value data, Value result);
  void visitTranspose(TransposeOp op);

  std::vector<SpaceData> spaces;
  llvm::DenseMap<Value, ChannelMap> maps;
};

RankedTensorType rankedType(Value v) { return dyn_cast<RankedTensorType>(v.getType()); }

/// A constant whose entries can be sliced (whole-byte elements), checked
/// without reading its data (weights can be large).
bool isConstant(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return isa_and_nonnull<ConstOp, ConstantOp>(v.getDefiningOp()) && type &&
         type.getElementType().isIntOrFloat() &&
         type.getElementType().getIntOrFloatBitWidth() % 8 == 0;
}

void Analysis::startProducer(QuantizableLayerOpInterface layer, LayerKind kind) {
  Operation *op = layer.getOperation();
  std::string why;
  std::optional<InputChannelLayout> layout = layer.getInputChannelLayout(why);
  Value weight = op->getOperand(*layer.getWeightOperandIndex());
  auto wType = rankedType(weight);
  auto result = rankedType(op->getResult(0));
  if (!layout || !wType || !wType.hasStaticShape() || !result || !isConstant(weight))
    return; // not a layer with a weight of its own here (a MatMul of activations)
  // A layer that cannot lose output channels still shows up, as a group
  // that is not pruned, with the reason.
  std::string reason;
  if (layout->groups != 1)
    reason = "a grouped convolution (its groups would lose different channels)";
  else if (!weight.hasOneUse())
    reason = "its weight is shared with another node";
  else if (!wType.getElementType().isF32())
    reason = "its weight is not float32";
  else if (auto gemm = dyn_cast<GemmOp>(op); gemm && gemm.getTransA())
    reason = "a Gemm with transA";
  int64_t channels = layer.getOutputChannelCount();
  int space = spaces.size();
  spaces.push_back({space, channels, reason, {}, {}, {}, {}, {}});
  if (!reason.empty()) {
    spaces.back().producers.push_back({op, getNodeName(op).str(), stringifyLayerKind(kind).str(),
                                       0, 1});
    ChannelMap map;
    map.axis = layer.getResultChannelAxis();
    map.segments.push_back({space, channels});
    maps[op->getResult(0)] = map;
    return;
  }
  SpaceData &data = spaces.back();
  std::string name = getNodeName(op).str();
  data.producers.push_back({op, name, stringifyLayerKind(kind).str(), 0, 1});
  data.slices.push_back({op, *layer.getWeightOperandIndex(), layer.getWeightOutputChannelAxis(),
                         0, 1});
  // The layer's own bias (Conv, ConvTranspose: [M]; Gemm's C, broadcast).
  if (!isa<MatMulOp>(op) && op->getNumOperands() > 2 &&
      !isa<NoneType>(op->getOperand(2).getType())) {
    Value bias = op->getOperand(2);
    auto bType = rankedType(bias);
    if (!bType || !isConstant(bias)) {
      poison(space, "the bias of '" + name + "' is not a constant");
    } else if (bType.getRank() > 0 && bType.getShape().back() == channels && channels != 1) {
      data.slices.push_back({op, 2, bType.getRank() - 1, 0, 1});
    } else if (bType.getRank() > 0 && bType.getShape().back() != 1) {
      poison(space, "the bias of '" + name + "' does not broadcast per channel");
    }
  }
  if (name.empty())
    poison(space, "the layer has no node name");
  ChannelMap map;
  map.axis = layer.getResultChannelAxis();
  map.segments.push_back({space, channels});
  maps[op->getResult(0)] = map;
}

void Analysis::visitLayer(QuantizableLayerOpInterface layer) {
  Operation *op = layer.getOperation();
  std::optional<LayerKind> kind = layer.getLayerKind();
  std::optional<unsigned> weightIndex = layer.getWeightOperandIndex();
  unsigned dataIndex = layer.getDataOperandIndex();
  auto it = maps.find(op->getOperand(dataIndex));
  bool spacedInput = it != maps.end();
  for (auto [i, operand] : llvm::enumerate(op->getOperands()))
    if (i != dataIndex && maps.count(operand))
      poison(maps[operand], opLabel(op) + " reads the channels as a weight or bias");

  std::string why;
  std::optional<InputChannelLayout> layout =
      kind && weightIndex ? layer.getInputChannelLayout(why) : std::nullopt;
  bool depthwise = layout && isa<ConvOp>(op) && layout->groups > 1 &&
                   layout->channelsPerGroup == 1 && layout->outPerGroup == 1;

  if (spacedInput) {
    ChannelMap map = it->second;
    Value weight = weightIndex ? op->getOperand(*weightIndex) : Value();
    auto data = rankedType(op->getOperand(dataIndex));
    if (!kind || !weightIndex || !layout || !weight || !isConstant(weight)) {
      // Not a weighted layer here (an AveragePool is channel-wise, below).
      if (!op->hasTrait<amct::OpTrait::Channelwise>())
        poison(map, opLabel(op) + " reads the channels" + (why.empty() ? "" : ": " + why));
    } else if (!weight.hasOneUse()) {
      poison(map, opLabel(op) + " shares its weight with another node");
    } else if (!data || map.axis != layout->dataAxis) {
      poison(map, opLabel(op) + " reads the channels along another axis");
    } else if (depthwise) {
      if (map.inner != 1) {
        poison(map, opLabel(op) + " (depthwise) reads flattened channels");
      } else {
        addSlices(map, op, *weightIndex, 0);
        if (op->getNumOperands() > 2 && !isa<NoneType>(op->getOperand(2).getType())) {
          if (isConstant(op->getOperand(2)))
            addSlices(map, op, 2, 0);
          else
            poison(map, "the bias of " + opLabel(op) + " is not a constant");
        }
        addEdit(map, {op, -1, 1});
        for (const Segment &s : map.segments)
          if (s.space >= 0)
            spaces[s.space].passive.push_back(getNodeName(op).str());
        maps[op->getResult(0)] = map;
      }
      return;
    } else if (layout->groups != 1) {
      poison(map, opLabel(op) + " is a grouped convolution (its groups would lose different "
                                "channels)");
    } else if (map.inner != 1 && !isa<GemmOp, MatMulOp>(op)) {
      poison(map, opLabel(op) + " reads flattened channels");
    } else if (map.channels() * map.inner != layout->channels()) {
      poison(map, opLabel(op) + " has a weight that does not match its input channels");
    } else {
      std::string name = getNodeName(op).str();
      int64_t offset = 0;
      for (const Segment &s : map.segments) {
        if (s.space >= 0)
          spaces[s.space].consumers.push_back(
              {op, name, stringifyLayerKind(*kind).str(), offset, map.inner});
        offset += s.count;
      }
      addSlices(map, op, *weightIndex, layer.getWeightInputChannelAxis());
      if (name.empty())
        poison(map, "a consumer has no node name");
    }
  }
  if (kind && weightIndex && !depthwise && *kind != LayerKind::AvgPool2d)
    startProducer(layer, *kind);
  else if (spacedInput && op->hasTrait<amct::OpTrait::Channelwise>())
    visitElementwise(op, dataIndex);
}

/// Ops that carry the channels of operand `dataOperand` (unary, pooling)
/// or of all operands (broadcasting); constants along the axis are sliced.
bool Analysis::visitElementwise(Operation *op, unsigned dataOperand) {
  auto resultType = rankedType(op->getResult(0));
  bool broadcast = op->hasTrait<amct::OpTrait::BroadcastElementwise>();
  ChannelMap out;
  bool haveOut = false;
  SmallVector<ChannelMap> inMaps;
  for (auto [i, operand] : llvm::enumerate(op->getOperands()))
    if (auto it = maps.find(operand); it != maps.end())
      inMaps.push_back(it->second);
  auto poisonAll = [&](const std::string &reason) {
    for (const ChannelMap &m : inMaps)
      poison(m, reason);
  };
  if (!resultType) {
    poisonAll(opLabel(op) + " has an unranked result");
    return false;
  }
  if (op->getNumResults() > 1)
    for (Value extra : op->getResults().drop_front())
      if (!extra.use_empty()) {
        poisonAll(opLabel(op) + " has a second result that depends on the channel layout");
        return false;
      }
  int64_t rank = resultType.getRank();
  for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
    auto it = maps.find(operand);
    if (it == maps.end())
      continue;
    if (!broadcast && i != dataOperand) {
      poisonAll(opLabel(op) + " reads the channels as a parameter");
      return false;
    }
    ChannelMap m = it->second;
    auto type = rankedType(operand);
    if (!type) {
      poisonAll(opLabel(op) + " has an unranked operand");
      return false;
    }
    m.axis += rank - type.getRank();
    if (op->hasTrait<amct::OpTrait::Channelwise>() && m.axis != 1) {
      poisonAll(opLabel(op) + " pools over the channel axis");
      return false;
    }
    if (!haveOut) {
      out = m;
      haveOut = true;
    } else if (out.axis != m.axis) {
      poisonAll(opLabel(op) + " combines channels along different axes");
      return false;
    } else if (!unify(out, m, op)) {
      return false;
    }
  }
  if (broadcast) {
    for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
      if (maps.count(operand))
        continue;
      auto type = rankedType(operand);
      if (!type) {
        poisonAll(opLabel(op) + " has an unranked operand");
        return false;
      }
      int64_t axis = out.axis - (rank - type.getRank());
      if (axis < 0 || type.getDimSize(axis) == 1)
        continue;
      if (type.getDimSize(axis) != out.channels() * out.inner || !isConstant(operand)) {
        poisonAll(opLabel(op) + " combines the channels with a tensor that has its own "
                                "values per channel");
        return false;
      }
      addSlices(out, op, i, axis);
    }
  }
  maps[op->getResult(0)] = out;
  return true;
}

void Analysis::visitConcat(ConcatOp op) {
  auto type = rankedType(op.getResult());
  SmallVector<ChannelMap> inMaps;
  for (Value v : op.getInputs())
    if (auto it = maps.find(v); it != maps.end())
      inMaps.push_back(it->second);
  auto poisonAll = [&](const std::string &reason) {
    for (const ChannelMap &m : inMaps)
      poison(m, reason);
  };
  if (!type) {
    poisonAll(opLabel(op) + " has an unranked result");
    return;
  }
  int64_t axis = op.getAxis() < 0 ? op.getAxis() + type.getRank() : op.getAxis();
  if (llvm::any_of(inMaps, [&](const ChannelMap &m) { return m.axis != axis; })) {
    // Joined along another axis: every input must carry the same channels.
    if (inMaps.size() != op.getInputs().size()) {
      poisonAll(opLabel(op) + " joins the channels with tensors that have their own");
      return;
    }
    ChannelMap out = inMaps.front();
    for (const ChannelMap &m : ArrayRef(inMaps).drop_front())
      if (m.axis != out.axis || !unify(out, m, op)) {
        poisonAll(opLabel(op) + " joins differently arranged channels");
        return;
      }
    maps[op.getResult()] = out;
    return;
  }
  ChannelMap out;
  out.axis = axis;
  out.inner = inMaps.front().inner;
  for (Value v : op.getInputs()) {
    auto it = maps.find(v);
    if (it != maps.end()) {
      if (it->second.inner != out.inner) {
        poisonAll(opLabel(op) + " joins channels of different widths");
        return;
      }
      out.segments.append(it->second.segments.begin(), it->second.segments.end());
      continue;
    }
    auto vType = rankedType(v);
    if (!vType || vType.isDynamicDim(axis) || vType.getDimSize(axis) % out.inner != 0) {
      poisonAll(opLabel(op) + " joins the channels with a tensor of unknown size");
      return;
    }
    out.segments.push_back({-1, vType.getDimSize(axis) / out.inner});
  }
  maps[op.getResult()] = out;
}

/// Reshape and Flatten: the channel axis may merge with the axes after it
/// (inner grows) and move; anything that splits it or mixes it with the
/// axes before it stops the channels.
void Analysis::visitReshape(Operation *op, Value data, Value result) {
  ChannelMap map = maps[data];
  auto in = rankedType(data), out = rankedType(result);
  if (!in || !out) {
    poison(map, opLabel(op) + " has an unranked operand or result");
    return;
  }
  ArrayRef<int64_t> inDims = in.getShape(), outDims = out.getShape();
  int64_t m = map.axis;
  std::optional<SmallVector<int64_t>> shape;
  if (auto reshape = dyn_cast<ReshapeOp>(op)) {
    shape = getConstantIntegers(reshape.getShape());
    if (!shape || int64_t(shape->size()) != out.getRank()) {
      poison(map, opLabel(op) + " has a shape that is not a constant");
      return;
    }
  }
  // The output axis j the channels land on: the axes before it hold what
  // the axes before m held. With static sizes, by their products; with a
  // dynamic batch, axis for axis (Flatten at m, or shape entries that copy
  // (0) or equal the input's, one -1 allowed).
  int64_t j = -1;
  if (llvm::none_of(inDims.take_front(m), ShapedType::isDynamic) &&
      llvm::none_of(outDims, ShapedType::isDynamic)) {
    int64_t before = product(inDims.take_front(m)), cumulative = 1, k = 0;
    while (k < int64_t(outDims.size()) && cumulative < before)
      cumulative *= outDims[k++];
    while (k < int64_t(outDims.size()) && outDims[k] == 1 && inDims[m] != 1)
      ++k;
    if (cumulative == before && k < int64_t(outDims.size()))
      j = k;
  } else if (auto flatten = dyn_cast<FlattenOp>(op)) {
    int64_t axis = flatten.getAxis() < 0 ? flatten.getAxis() + in.getRank() : flatten.getAxis();
    if (axis == m && m == 1)
      j = 1;
  } else if (out.getRank() > m) {
    bool same = true;
    int wildcards = 0;
    for (int64_t i = 0; i < m && same; ++i) {
      int64_t entry = (*shape)[i];
      wildcards += entry == -1;
      same = entry == 0 || entry == -1 || (!in.isDynamicDim(i) && entry == inDims[i]);
    }
    if (same && wildcards <= 1 && llvm::count(*shape, -1) == wildcards)
      j = m;
  }
  if (j < 0 || out.isDynamicDim(j)) {
    poison(map, opLabel(op) + " mixes the channels with the axes before them");
    return;
  }
  int64_t merged = 1, next = m + 1;
  while (!in.isDynamicDim(m) && inDims[m] * merged < outDims[j] && next < int64_t(inDims.size()) &&
         !in.isDynamicDim(next))
    merged *= inDims[next++];
  if (in.isDynamicDim(m) || inDims[m] * merged != outDims[j]) {
    poison(map, opLabel(op) + " splits the channel axis");
    return;
  }
  ChannelMap outMap = map;
  outMap.axis = j;
  outMap.inner = map.inner * merged;
  if (shape) {
    int64_t entry = (*shape)[j];
    if (entry == 0 && !(j == m && merged == 1)) {
      poison(map, opLabel(op) + " copies the channel dimension from another axis");
      return;
    }
    if (entry > 0)
      addEdit(map, {op, j, outMap.inner});
  }
  maps[result] = outMap;
}

void Analysis::visitTranspose(TransposeOp op) {
  ChannelMap map = maps[op.getData()];
  auto type = rankedType(op.getData());
  if (!type) {
    poison(map, opLabel(op) + " has an unranked operand");
    return;
  }
  SmallVector<int64_t> perm;
  if (auto p = op.getPerm())
    perm.assign(p->begin(), p->end());
  else
    for (int64_t i = type.getRank() - 1; i >= 0; --i)
      perm.push_back(i);
  auto at = llvm::find(perm, map.axis);
  if (at == perm.end()) {
    poison(map, opLabel(op) + " has an invalid perm");
    return;
  }
  map.axis = at - perm.begin();
  maps[op.getResult()] = map;
}

void Analysis::visit(Operation *op) {
  if (auto layer = dyn_cast<QuantizableLayerOpInterface>(op)) {
    visitLayer(layer);
    return;
  }
  bool spaced = llvm::any_of(op->getOperands(), [&](Value v) { return maps.count(v); });
  if (!spaced)
    return;
  if (isa<func::ReturnOp>(op)) {
    for (Value v : op->getOperands())
      if (auto it = maps.find(v); it != maps.end())
        poison(it->second, "its channels reach a graph output");
    return;
  }
  if (op->hasTrait<amct::OpTrait::ElementwiseUnary>() || op->hasTrait<amct::OpTrait::Channelwise>() ||
      op->hasTrait<amct::OpTrait::BroadcastElementwise>()) {
    visitElementwise(op, 0);
    return;
  }
  if (auto bn = dyn_cast<BatchNormalizationOp>(op)) {
    ChannelMap map = maps[bn.getX()];
    for (unsigned i = 1; i < 5; ++i)
      if (maps.count(op->getOperand(i)) || !isConstant(op->getOperand(i))) {
        poison(map, opLabel(op) + " has parameters that are not constants");
        return;
      }
    if (map.axis != 1 || map.inner != 1) {
      poison(map, opLabel(op) + " normalises along another axis");
      return;
    }
    for (unsigned i = 1; i < 5; ++i)
      addSlices(map, op, i, 0);
    maps[bn.getY()] = map;
    return;
  }
  if (auto concat = dyn_cast<ConcatOp>(op))
    return visitConcat(concat);
  if (auto reshape = dyn_cast<ReshapeOp>(op); reshape && maps.count(reshape.getData()) &&
                                               !maps.count(reshape.getShape()))
    return visitReshape(op, reshape.getData(), reshape.getReshaped());
  if (auto flatten = dyn_cast<FlattenOp>(op))
    return visitReshape(op, flatten.getInput(), flatten.getOutput());
  if (auto transpose = dyn_cast<TransposeOp>(op))
    return visitTranspose(transpose);
  for (Value v : op->getOperands())
    if (auto it = maps.find(v); it != maps.end())
      poison(it->second, opLabel(op) + " reads the channels");
}

std::vector<PruneGroup> Analysis::run(func::FuncOp func) {
  for (Operation &op : func.getBody().front())
    visit(&op);
  // Gather the spaces by root, in the order of their first producer.
  std::map<int, PruneGroup> byRoot;
  for (int s = 0; s < int(spaces.size()); ++s) {
    int root = find(s);
    PruneGroup &group = byRoot[root];
    SpaceData &data = spaces[s];
    group.channels = spaces[root].channels;
    group.skipReason = spaces[root].reason;
    auto append = [](auto &to, auto &from) { to.insert(to.end(), from.begin(), from.end()); };
    append(group.producers, data.producers);
    append(group.consumers, data.consumers);
    append(group.passive, data.passive);
    append(group.slices, data.slices);
    append(group.edits, data.edits);
  }
  std::vector<PruneGroup> groups;
  for (auto &[root, group] : byRoot) {
    // A consumer or passive layer reached through two united spaces once.
    auto dedupe = [](auto &list, auto key) {
      std::vector<std::remove_reference_t<decltype(list[0])>> out;
      for (auto &x : list)
        if (llvm::none_of(out, [&](auto &y) { return key(x) == key(y); }))
          out.push_back(x);
      list = std::move(out);
    };
    dedupe(group.consumers, [](const PruneLayerRef &r) { return std::make_pair(r.op, r.offset); });
    dedupe(group.slices, [](const ChannelSlice &s) {
      return std::make_tuple(s.op, s.operand, s.axis, s.offset);
    });
    dedupe(group.edits, [](const ChannelCountEdit &e) { return std::make_pair(e.op, e.dim); });
    dedupe(group.passive, [](const std::string &n) { return n; });
    groups.push_back(std::move(group));
  }
  return groups;
}

} // namespace

std::vector<PruneGroup> amct::findPruneGroups(func::FuncOp func) {
  return Analysis().run(func);
}

std::vector<double> amct::filterImportance(const PruneGroup &group) {
  std::vector<double> total(group.channels, 0.0);
  for (const PruneLayerRef &producer : group.producers) {
    auto layer = cast<QuantizableLayerOpInterface>(producer.op);
    Value weight = producer.op->getOperand(*layer.getWeightOperandIndex());
    std::optional<std::vector<float>> w = getConstantFloats(weight);
    ArrayRef<int64_t> shape = cast<RankedTensorType>(weight.getType()).getShape();
    int64_t axis = layer.getWeightOutputChannelAxis();
    int64_t inner = product(shape.drop_front(axis + 1)), dim = shape[axis];
    std::vector<double> norm(group.channels, 0.0);
    for (size_t i = 0; w && i < w->size(); ++i) {
      double v = (*w)[i];
      norm[(i / inner) % dim] += v * v;
    }
    for (double &n : norm)
      n = std::sqrt(n);
    auto [lo, hi] = std::minmax_element(norm.begin(), norm.end());
    double low = *lo, range = *hi - *lo;
    for (int64_t c = 0; c < group.channels; ++c)
      total[c] += range > 0 ? (norm[c] - low) / range : 0.0;
  }
  return total;
}

std::vector<bool> amct::selectKeptChannels(ArrayRef<double> importance, double ratio,
                                           int64_t align) {
  int64_t channels = importance.size();
  int64_t keepCount = channels - int64_t(std::floor(double(channels) * ratio));
  if (align > 1)
    keepCount = (keepCount + align - 1) / align * align;
  keepCount = std::clamp<int64_t>(keepCount, std::min<int64_t>(1, channels), channels);
  std::vector<int64_t> order(channels);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return importance[a] > importance[b]; });
  std::vector<bool> keep(channels, false);
  for (int64_t i = 0; i < keepCount; ++i)
    keep[order[i]] = true;
  return keep;
}

LogicalResult amct::refreshResultTypes(func::FuncOp func) {
  WalkResult walk = func.walk([](Operation *op) {
    auto shaped = dyn_cast<ShapeInferenceOpInterface>(op);
    if (!shaped)
      return WalkResult::advance();
    SmallVector<Type> inferred;
    if (failed(shaped.inferResultTypes(inferred)))
      return WalkResult::interrupt();
    for (auto [result, type] : llvm::zip(op->getResults(), inferred))
      result.setType(type);
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}

LogicalResult amct::applyChannelPrune(func::FuncOp func, ArrayRef<PruneGroup> groups,
                                      ArrayRef<std::vector<bool>> keep) {
  // Removed entries per (op, operand), along one axis.
  // Removed indices per (op, operand) and axis (a layer that consumes one
  // group and produces another loses entries along two weight axes).
  using Cut = std::map<int64_t, std::vector<int64_t>>;
  llvm::MapVector<std::pair<Operation *, unsigned>, Cut> cuts;
  llvm::MapVector<std::pair<Operation *, int64_t>, int64_t> shrink;
  for (auto [group, kept] : llvm::zip(groups, keep)) {
    int64_t removedCount = llvm::count(kept, false);
    if (removedCount == 0)
      continue;
    if (!group.skipReason.empty() || int64_t(kept.size()) != group.channels)
      return emitError(func.getLoc()) << "internal error: pruning a group that cannot be pruned";
    for (const ChannelSlice &s : group.slices) {
      std::vector<int64_t> &removed = cuts[{s.op, s.operand}][s.axis];
      for (int64_t c = 0; c < group.channels; ++c)
        if (!kept[c])
          for (int64_t i = 0; i < s.inner; ++i)
            removed.push_back((s.offset + c) * s.inner + i);
    }
    for (const ChannelCountEdit &e : group.edits)
      shrink[{e.op, e.dim}] += removedCount * e.inner;
  }

  for (auto &[key, cut] : cuts) {
    auto [op, operand] = key;
    Value old = op->getOperand(operand);
    auto type = dyn_cast<RankedTensorType>(old.getType());
    std::optional<std::vector<char>> bytes = getConstantBytes(old);
    if (!type || !type.hasStaticShape() || !bytes)
      return op->emitError() << "cannot prune operand #" << operand << ": not a static constant";
    SmallVector<int64_t> shape(type.getShape());
    int64_t width = type.getElementTypeBitWidth() / 8;
    for (auto &[axis, removed] : cut) {
      if (axis >= int64_t(shape.size()))
        return op->emitError() << "cannot prune operand #" << operand << " along axis " << axis;
      int64_t dim = shape[axis];
      std::vector<bool> keepIndex(dim, true);
      for (int64_t r : removed) {
        if (r < 0 || r >= dim)
          return op->emitError() << "cannot prune operand #" << operand << ": channel index "
                                 << r << " outside its dimension of " << dim;
        keepIndex[r] = false;
      }
      int64_t outer = product(ArrayRef(shape).take_front(axis));
      int64_t block = product(ArrayRef(shape).drop_front(axis + 1)) * width;
      std::vector<char> out;
      out.reserve(bytes->size());
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t d = 0; d < dim; ++d)
          if (keepIndex[d]) {
            const char *from = bytes->data() + (o * dim + d) * block;
            out.insert(out.end(), from, from + block);
          }
      *bytes = std::move(out);
      shape[axis] = llvm::count(keepIndex, true);
    }
    OpBuilder b(op);
    std::string name;
    if (auto loc = dyn_cast<NameLoc>(old.getLoc()))
      name = loc.getName().str();
    Value fresh = createConstant(b, old.getLoc(), RankedTensorType::get(shape, type.getElementType()),
                                 *bytes, name.empty() ? "pruned" : name);
    op->setOperand(operand, fresh);
    if (Operation *def = old.getDefiningOp(); def && def->use_empty())
      def->erase();
  }

  for (auto &[key, amount] : shrink) {
    auto [op, dim] = key;
    if (auto conv = dyn_cast<ConvOp>(op)) {
      conv.setGroup(conv.getGroup() - amount);
      continue;
    }
    auto reshape = cast<ReshapeOp>(op);
    std::optional<SmallVector<int64_t>> shape = getConstantIntegers(reshape.getShape());
    if (!shape || dim >= int64_t(shape->size()))
      return op->emitError() << "cannot update the Reshape's shape";
    (*shape)[dim] -= amount;
    Value old = reshape.getShape();
    auto type = RankedTensorType::get({int64_t(shape->size())},
                                      IntegerType::get(op->getContext(), 64));
    OpBuilder b(op);
    std::string name;
    if (auto loc = dyn_cast<NameLoc>(old.getLoc()))
      name = loc.getName().str();
    Value fresh = createConstant(
        b, old.getLoc(), type,
        ArrayRef<char>(reinterpret_cast<const char *>(shape->data()), shape->size() * 8),
        name.empty() ? "pruned_shape" : name);
    op->setOperand(1, fresh);
    if (Operation *def = old.getDefiningOp(); def && def->use_empty())
      def->erase();
  }
  return refreshResultTypes(func);
}
