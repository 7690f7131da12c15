//===- Decompose.cpp - tensor decomposition of layers, --amct-decompose ---===//
//
// Each decomposed layer is replaced by clones of itself with the factors
// as weights: the clones keep the layer's attributes where they matter
// (the KxK core keeps pads, strides, dilations; the first 1x1 of an SVD'd
// Conv keeps its strides), the bias goes to the last layer, and the last
// layer keeps the original output tensor's name so graph outputs and
// consumers are untouched.
//
//===----------------------------------------------------------------------===//

#include "amct/Transforms/Decompose.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Quant/Decomposition.h"
#include "amct/Transforms/Passes.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace amct {
#define GEN_PASS_DEF_AMCTDECOMPOSE
#include "amct/Transforms/Passes.h.inc"
} // namespace amct

using namespace mlir;
using namespace amct;

namespace {

/// A layer the decomposition can take: its weight as the matrix or 4-D
/// tensor the numerics want.
struct Candidate {
  Operation *op;
  std::string name, type;
  bool tucker = false;
  /// SVD: W [n (out), k (in)] as rows; Tucker: W [m, c, kh, kw].
  std::vector<float> matrix;
  int64_t n = 0, k = 0, kh = 1, kw = 1;
  /// Input positions per output position (a strided conv reads more).
  double positionRatio = 1.0;
};

std::optional<Candidate> candidateOf(Operation *op, std::string &why) {
  auto layer = dyn_cast<QuantizableLayerOpInterface>(op);
  if (!layer || !layer.getLayerKind() || !layer.getWeightOperandIndex())
    return std::nullopt;
  Candidate c;
  c.op = op;
  c.name = getNodeName(op).str();
  c.type = stringifyLayerKind(*layer.getLayerKind()).str();
  Value weight = op->getOperand(*layer.getWeightOperandIndex());
  auto type = dyn_cast<RankedTensorType>(weight.getType());
  std::optional<std::vector<float>> w = getConstantFloats(weight);
  if (!type || !w) {
    why = "the weight is not a float32 constant";
    return std::nullopt;
  }
  if (!weight.hasOneUse()) {
    why = "the weight is shared with another node";
    return std::nullopt;
  }
  if (c.name.empty()) {
    why = "the layer has no node name";
    return std::nullopt;
  }
  ArrayRef<int64_t> shape = type.getShape();
  if (auto conv = dyn_cast<ConvOp>(op)) {
    if (shape.size() != 4 || conv.getGroup() != 1) {
      why = "only Conv2d with group 1 is decomposed";
      return std::nullopt;
    }
    c.n = shape[0];
    c.k = shape[1];
    c.kh = shape[2];
    c.kw = shape[3];
    c.tucker = c.kh * c.kw > 1;
    c.matrix = std::move(*w);
    auto in = dyn_cast<RankedTensorType>(conv.getX().getType());
    auto out = dyn_cast<RankedTensorType>(conv.getY().getType());
    if (in && out && in.getRank() == 4 && out.getRank() == 4 && in.hasStaticShape() &&
        out.hasStaticShape())
      c.positionRatio = double(in.getDimSize(2) * in.getDimSize(3)) /
                        double(std::max<int64_t>(1, out.getDimSize(2) * out.getDimSize(3)));
    return c;
  }
  if (auto gemm = dyn_cast<GemmOp>(op)) {
    if (gemm.getTransA() || shape.size() != 2) {
      why = "Gemm with transA";
      return std::nullopt;
    }
    bool transB = gemm.getTransB();
    c.n = transB ? shape[0] : shape[1];
    c.k = transB ? shape[1] : shape[0];
    c.matrix.resize(w->size());
    for (int64_t i = 0; i < c.n; ++i)
      for (int64_t j = 0; j < c.k; ++j)
        c.matrix[i * c.k + j] = transB ? (*w)[i * c.k + j] : (*w)[j * c.n + i];
    return c;
  }
  if (isa<MatMulOp>(op) && shape.size() == 2) {
    c.k = shape[0];
    c.n = shape[1];
    c.matrix.resize(w->size());
    for (int64_t i = 0; i < c.n; ++i)
      for (int64_t j = 0; j < c.k; ++j)
        c.matrix[i * c.k + j] = (*w)[j * c.n + i];
    return c;
  }
  why = "only Conv2d and Linear layers are decomposed";
  return std::nullopt;
}

double originalCost(const Candidate &c) { return double(c.n) * c.k * c.kh * c.kw; }

double factorCost(const Candidate &c, ArrayRef<int64_t> ranks) {
  if (!c.tucker)
    return double(ranks[0]) * (c.k + c.n);
  int64_t rIn = ranks[0], rOut = ranks[1];
  return c.positionRatio * c.k * rIn + double(rIn) * rOut * c.kh * c.kw + double(rOut) * c.n;
}

/// Sets the result type of a freshly built op from its own inference.
LogicalResult inferTypes(Operation *op) {
  SmallVector<Type> types;
  if (failed(cast<ShapeInferenceOpInterface>(op).inferResultTypes(types)))
    return failure();
  for (auto [result, type] : llvm::zip(op->getResults(), types))
    result.setType(type);
  return success();
}

Value floatConstant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, ArrayRef<float> values,
                    StringRef name) {
  return createFloatConstant(b, loc, RankedTensorType::get(shape, b.getF32Type()), values, name);
}

/// The layer `op` replaced by `count` clones, clone i on the previous
/// one's output; `configure(i, clone)` sets its weight, bias and
/// attributes. The last takes the original's location (name and output
/// tensor names) and replaces its result.
LogicalResult replaceByChain(Operation *op, const std::vector<std::string> &names,
                             llvm::function_ref<void(unsigned, Operation *)> configure) {
  OpBuilder b(op);
  Value data = op->getOperand(cast<QuantizableLayerOpInterface>(op).getDataOperandIndex());
  Operation *last = nullptr;
  for (unsigned i = 0; i < names.size(); ++i) {
    Operation *clone = b.clone(*op);
    clone->setOperand(cast<QuantizableLayerOpInterface>(clone).getDataOperandIndex(), data);
    bool isLast = i + 1 == names.size();
    clone->setLoc(isLast ? op->getLoc()
                         : makeNodeLoc(op->getContext(), names[i], {names[i] + "_output_0"},
                                       op->getLoc()));
    configure(i, clone);
    if (failed(inferTypes(clone)))
      return failure();
    data = clone->getResult(0);
    last = clone;
  }
  Value oldWeight = op->getOperand(*cast<QuantizableLayerOpInterface>(op).getWeightOperandIndex());
  op->getResult(0).replaceAllUsesWith(last->getResult(0));
  op->erase();
  if (Operation *def = oldWeight.getDefiningOp(); def && def->use_empty())
    def->erase();
  return success();
}

/// Sets a Conv clone to a 1x1 kernel without padding, stride or dilation.
void makePointwise(Operation *clone) {
  auto conv = cast<ConvOp>(clone);
  conv.setKernelShapeAttr(DenseI64ArrayAttr::get(clone->getContext(), {1, 1}));
  conv.removePadsAttr();
  conv.removeStridesAttr();
  conv.removeDilationsAttr();
  conv.setAutoPad("NOTSET");
}

LogicalResult applySvd(const Candidate &c, int64_t rank, std::vector<std::string> &names,
                       std::string &error) {
  std::optional<quant::SvdFactors> f = quant::truncatedSvd(c.matrix.data(), c.n, c.k, rank, error);
  if (!f)
    return failure();
  names = {c.name + ".0", c.name};
  Operation *op = c.op;
  OpBuilder b(op);
  Location loc = op->getLoc();
  Value none = b.create<NoneOp>(loc);
  Value first, second;
  if (isa<ConvOp>(op)) {
    first = floatConstant(b, loc, {rank, c.k, 1, 1}, f->first, names[0] + ".weight");
    second = floatConstant(b, loc, {c.n, rank, 1, 1}, f->second, c.name + ".1.weight");
  } else if (isa<GemmOp>(op)) {
    first = floatConstant(b, loc, {rank, c.k}, f->first, names[0] + ".weight");
    second = floatConstant(b, loc, {c.n, rank}, f->second, c.name + ".1.weight");
  } else {
    // MatMul weights are [in, out]: A^T [K, R], B^T [R, N].
    std::vector<float> at(f->first.size()), bt(f->second.size());
    for (int64_t r = 0; r < rank; ++r) {
      for (int64_t i = 0; i < c.k; ++i)
        at[i * rank + r] = f->first[r * c.k + i];
      for (int64_t i = 0; i < c.n; ++i)
        bt[r * c.n + i] = f->second[i * rank + r];
    }
    first = floatConstant(b, loc, {c.k, rank}, at, names[0] + ".weight");
    second = floatConstant(b, loc, {rank, c.n}, bt, c.name + ".1.weight");
  }
  return replaceByChain(op, names, [&](unsigned i, Operation *clone) {
    clone->setOperand(1, i == 0 ? first : second);
    if (auto gemm = dyn_cast<GemmOp>(clone)) {
      gemm.setTransB(1);
      if (i == 0) {
        clone->setOperand(2, none);
        gemm.setAlpha(APFloat(1.0f));
        gemm.setBeta(APFloat(1.0f));
      }
    } else if (isa<ConvOp>(clone)) {
      if (i == 0)
        clone->setOperand(2, none);
      else
        makePointwise(clone);
    }
  });
}

LogicalResult applyTucker(const Candidate &c, int64_t rIn, int64_t rOut,
                          std::vector<std::string> &names, std::string &error) {
  std::optional<quant::Tucker2Factors> f =
      quant::tucker2(c.matrix.data(), c.n, c.k, c.kh, c.kw, rIn, rOut, error);
  if (!f)
    return failure();
  names = {c.name + ".0", c.name + ".1", c.name};
  Operation *op = c.op;
  OpBuilder b(op);
  Location loc = op->getLoc();
  Value none = b.create<NoneOp>(loc);
  Value first = floatConstant(b, loc, {rIn, c.k, 1, 1}, f->first, names[0] + ".weight");
  Value core = floatConstant(b, loc, {rOut, rIn, c.kh, c.kw}, f->core, names[1] + ".weight");
  Value last = floatConstant(b, loc, {c.n, rOut, 1, 1}, f->last, c.name + ".2.weight");
  return replaceByChain(op, names, [&](unsigned i, Operation *clone) {
    clone->setOperand(1, i == 0 ? first : i == 1 ? core : last);
    if (i < 2)
      clone->setOperand(2, none);
    if (i != 1)
      makePointwise(clone);
  });
}

} // namespace

FailureOr<std::vector<DecomposedLayer>>
amct::decomposeLayers(func::FuncOp func, const DecomposeSettings &settings,
                      const std::vector<DecomposedLayer> *fromInfo, std::vector<KeptLayer> *kept) {
  std::vector<Operation *> layers;
  func.walk([&](QuantizableLayerOpInterface op) { layers.push_back(op); });
  llvm::StringMap<const DecomposedLayer *> wanted;
  if (fromInfo)
    for (const DecomposedLayer &d : *fromInfo)
      wanted[d.name] = &d;
  std::vector<DecomposedLayer> done;
  for (Operation *op : layers) {
    std::string why, name = getNodeName(op).str();
    if (fromInfo && !wanted.count(name))
      continue;
    std::optional<Candidate> c = candidateOf(op, why);
    if (!c) {
      if (fromInfo)
        return op->emitError() << "the decomposition info names '" << name
                               << "', which cannot be decomposed here: " << why;
      if (kept && !why.empty())
        kept->push_back({name, why});
      continue;
    }
    if (llvm::is_contained(settings.skipLayers, c->name)) {
      if (kept)
        kept->push_back({c->name, "in the skip list"});
      continue;
    }
    DecomposedLayer d;
    d.name = c->name;
    d.type = c->type;
    d.method = c->tucker ? "tucker2" : "svd";
    d.costBefore = originalCost(*c);
    int64_t maxOut = std::min(c->n, c->k * c->kh * c->kw), maxIn = std::min(c->k, c->n * c->kh * c->kw);
    int64_t maxRank = std::min(c->n, c->k);
    if (fromInfo) {
      const DecomposedLayer &want = *wanted.lookup(name);
      if (want.method != d.method)
        return op->emitError() << "the decomposition info gives '" << name << "' method "
                               << want.method << ", but the layer takes " << d.method;
      d.ranks = want.ranks;
      bool ok = c->tucker ? d.ranks.size() == 2 && d.ranks[0] >= 1 && d.ranks[0] <= maxIn &&
                                d.ranks[1] >= 1 && d.ranks[1] <= maxOut
                          : d.ranks.size() == 1 && d.ranks[0] >= 1 && d.ranks[0] <= maxRank;
      if (!ok)
        return op->emitError() << "the decomposition info's ranks for '" << name
                               << "' do not fit the layer's weight";
    } else if (settings.energy) {
      std::string error;
      if (c->tucker) {
        auto spectra = quant::tucker2Spectra(c->matrix.data(), c->n, c->k, c->kh, c->kw, error);
        if (!spectra)
          return op->emitError() << error;
        d.ranks = {quant::rankForEnergy(spectra->second, *settings.energy),
                   quant::rankForEnergy(spectra->first, *settings.energy)};
      } else {
        auto s = quant::singularValues(c->matrix.data(), c->n, c->k, error);
        if (!s)
          return op->emitError() << error;
        d.ranks = {quant::rankForEnergy(*s, *settings.energy)};
      }
    } else {
      double budget = *settings.ratio * d.costBefore;
      if (!c->tucker) {
        d.ranks = {std::clamp<int64_t>(int64_t(budget / double(c->k + c->n)), 1, maxRank)};
      } else {
        // The largest common share s of both channel counts that fits.
        double lo = 0, hi = 1;
        for (int it = 0; it < 40; ++it) {
          double s = (lo + hi) / 2;
          int64_t rIn = std::max<int64_t>(1, std::llround(c->k * s));
          int64_t rOut = std::max<int64_t>(1, std::llround(c->n * s));
          (factorCost(*c, {rIn, rOut}) <= budget ? lo : hi) = s;
        }
        d.ranks = {std::clamp<int64_t>(std::llround(c->k * lo), 1, maxIn),
                   std::clamp<int64_t>(std::llround(c->n * lo), 1, maxOut)};
      }
    }
    d.costAfter = factorCost(*c, d.ranks);
    if (!fromInfo && !settings.evenIfLarger && d.costAfter >= d.costBefore) {
      if (kept)
        kept->push_back({c->name, llvm::formatv("the factors at rank {0} would cost {1:F0} "
                                                "multiply-adds per position, not fewer than {2:F0}",
                                                d.ranks.back(), d.costAfter, d.costBefore)
                                      .str()});
      continue;
    }
    std::string error;
    LogicalResult applied = c->tucker
                                ? applyTucker(*c, d.ranks[0], d.ranks[1], d.newLayers, error)
                                : applySvd(*c, d.ranks[0], d.newLayers, error);
    if (failed(applied))
      return func.emitError() << "layer '" << name << "': " << error;
    done.push_back(std::move(d));
  }
  if (fromInfo)
    for (const DecomposedLayer &d : *fromInfo)
      if (llvm::none_of(done, [&](const DecomposedLayer &x) { return x.name == d.name; }))
        return func.emitError() << "the decomposition info names layer '" << d.name
                                << "', which the model does not have";
  return done;
}

std::string amct::writeDecomposeInfo(const std::vector<DecomposedLayer> &layers) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const DecomposedLayer &d : layers) {
    nlohmann::ordered_json entry;
    entry["name"] = d.name;
    entry["type"] = d.type;
    entry["method"] = d.method;
    entry["ranks"] = d.ranks;
    entry["new_layers"] = d.newLayers;
    entry["macs_per_position"] = {d.costBefore, d.costAfter};
    out.push_back(entry);
  }
  nlohmann::ordered_json doc;
  doc["decompose_info"] = out;
  return doc.dump(2) + "\n";
}

std::optional<std::vector<DecomposedLayer>>
amct::parseDecomposeInfo(const std::string &text, const std::string &fileName,
                         std::string &error) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("decompose_info") ||
      !doc["decompose_info"].is_array()) {
    error = fileName + ": expected a JSON object with a \"decompose_info\" array";
    return std::nullopt;
  }
  std::vector<DecomposedLayer> layers;
  for (const nlohmann::json &entry : doc["decompose_info"]) {
    std::string at = fileName + ": decompose_info[" + std::to_string(layers.size()) + "]";
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() ||
        !entry.contains("method") || !entry["method"].is_string() || !entry.contains("ranks") ||
        !entry["ranks"].is_array()) {
      error = at + ": expected name (string), method (string) and ranks (integers)";
      return std::nullopt;
    }
    DecomposedLayer d;
    d.name = entry["name"].get<std::string>();
    d.method = entry["method"].get<std::string>();
    if (d.method != "svd" && d.method != "tucker2") {
      error = at + ": method '" + d.method + "' is not svd or tucker2";
      return std::nullopt;
    }
    for (const nlohmann::json &r : entry["ranks"]) {
      if (!r.is_number_integer() || r.get<int64_t>() < 1) {
        error = at + ": ranks must be positive integers";
        return std::nullopt;
      }
      d.ranks.push_back(r.get<int64_t>());
    }
    if (d.ranks.size() != (d.method == "svd" ? 1u : 2u)) {
      error = at + ": " + d.method + " takes " + (d.method == "svd" ? "one rank" : "two ranks");
      return std::nullopt;
    }
    if (llvm::any_of(layers, [&](const DecomposedLayer &x) { return x.name == d.name; })) {
      error = at + ": layer '" + d.name + "' is listed twice";
      return std::nullopt;
    }
    layers.push_back(std::move(d));
  }
  return layers;
}

namespace {

struct AmctDecomposePass : amct::impl::AmctDecomposeBase<AmctDecomposePass> {
  using AmctDecomposeBase::AmctDecomposeBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    DecomposeSettings settings;
    if ((energy > 0) == (ratio > 0)) {
      emitError(func.getLoc()) << "--amct-decompose: give energy in (0, 1] or ratio in (0, 1)";
      return signalPassFailure();
    }
    if (energy > 1 || ratio >= 1) {
      emitError(func.getLoc()) << "--amct-decompose: energy must be in (0, 1], ratio in (0, 1)";
      return signalPassFailure();
    }
    if (energy > 0)
      settings.energy = energy;
    else
      settings.ratio = ratio;
    settings.evenIfLarger = evenIfLarger;
    settings.skipLayers.assign(skipLayers.begin(), skipLayers.end());
    std::vector<KeptLayer> kept;
    if (failed(decomposeLayers(func, settings, nullptr, &kept)))
      return signalPassFailure();
  }
};

} // namespace
