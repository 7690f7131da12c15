//===- AdaQuantize.cpp - ADA rounding in the quantize job -----------------===//
//
// wts_algo ada_quantize: after the observers are folded (activation scales
// and ARQ's weight scales known), each ADA layer in graph order learns its
// weights' rounding (quant/AdaRound.h) on the inputs it sees in the
// fake-quant model, whose earlier layers are already rounded: the
// calibration batches run side by side on the executor and stop before
// each ADA layer; its inputs' Gram matrices are accumulated, the rounding
// learnt, and the rounded weight (scale * q, on the record's grid) handed
// to the runs for the layers after it and written into the model.
//
//===----------------------------------------------------------------------===//

#include "QuantizeSupport.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Quant/AdaRound.h"
#include "amct/Runtime/Executor.h"
#include "amct/Runtime/LayerColumns.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace amct;

namespace {

struct AdaLayer {
  QuantizableLayer layer;
  const LayerQuantConfig *config;
  rt::LayerMatrices matrices;
};

/// The constant under the layer's weight fake_quant (the folded model).
FakeQuantOp weightFakeQuant(const QuantizableLayer &layer) {
  return layer.op->getOperand(layer.weightOperand).getDefiningOp<FakeQuantOp>();
}

/// Replaces operand `operand` of `user` (a constant) by a new constant of
/// `values`, the same type; the old one goes when nothing else reads it.
void replaceConstantInput(Operation *user, unsigned operand, ArrayRef<float> values,
                          StringRef name) {
  Value old = user->getOperand(operand);
  OpBuilder b(user);
  Value fresh = createFloatConstant(b, old.getLoc(), cast<RankedTensorType>(old.getType()),
                                    values, name);
  user->setOperand(operand, fresh);
  if (Operation *def = old.getDefiningOp(); def && def->use_empty())
    def->erase();
}

} // namespace

LogicalResult amct::adaQuantizeWeights(func::FuncOp main, func::FuncOp fp32,
                                       const QuantConfig &config, const Record &record,
                                       const std::vector<std::vector<rt::Tensor>> &batches,
                                       int threads, AdaOutcome &outcome) {
  std::vector<AdaLayer> adaLayers;
  std::vector<Operation *> stops;
  for (const QuantizableLayer &layer : findQuantizableLayers(main, nullptr)) {
    const LayerQuantConfig *entry = config.find(layer.name);
    if (!entry || !config.isQuantized(layer.name) || layer.weightOperand < 0 ||
        entry->wts.algo != "ada_quantize")
      continue;
    if (entry->dmq.enabled)
      return layer.op->emitError() << "layer '" << layer.name
                                   << "': ada_quantize with dmq_balancer on the same layer is "
                                      "not supported (the modified model would need the "
                                      "unbalanced rounded weights); use one of them";
    FakeQuantOp fq = weightFakeQuant(layer);
    if (!fq)
      return layer.op->emitError() << "layer '" << layer.name
                                   << "': ADA expects the folded weight fake_quant";
    auto type = cast<RankedTensorType>(fq.getInput().getType());
    FailureOr<rt::LayerMatrices> matrices =
        rt::describeLayerMatrices(layer.op, layer.kind, type.getShape());
    if (failed(matrices))
      return failure();
    adaLayers.push_back({layer, entry, std::move(*matrices)});
    stops.push_back(layer.op);
  }
  if (adaLayers.empty())
    return success();

  // The same layers in the float model: their inputs there are the
  // target's (asymmetric reconstruction).
  llvm::StringMap<Operation *> fpOps;
  for (const QuantizableLayer &layer : findQuantizableLayers(fp32, nullptr))
    fpOps[layer.name] = layer.op;
  std::vector<Operation *> fpStops;
  for (const AdaLayer &a : adaLayers) {
    Operation *op = fpOps.lookup(a.layer.name);
    if (!op)
      return a.layer.op->emitError() << "layer '" << a.layer.name
                                     << "' is not in the float model";
    fpStops.push_back(op);
  }

  auto runs = SteppedBatches::start(main, stops, batches, threads);
  auto fpRuns = SteppedBatches::start(fp32, fpStops, batches, threads);
  if (failed(runs) || failed(fpRuns))
    return failure();
  llvm::DenseMap<Operation *, AdaLayer *> byOp;
  for (AdaLayer &a : adaLayers)
    byOp[a.layer.op] = &a;

  while (true) {
    FailureOr<Operation *> at = runs->next(), fpAt = fpRuns->next();
    if (failed(at) || failed(fpAt))
      return failure();
    if (!*at)
      break;
    AdaLayer &a = *byOp.lookup(*at);
    const QuantizableLayer &layer = a.layer;
    if (*fpAt != fpOps.lookup(layer.name))
      return layer.op->emitError() << "layer '" << layer.name
                                   << "': the float model's run is not at the same layer";
    const rt::LayerMatrices &m = a.matrices;
    rt::InputGrams grams;
    for (size_t b = 0; b < runs->size(); ++b)
      if (failed(rt::accumulateInputGram(layer.op, m, runs->operand(b, layer.dataOperand),
                                         &fpRuns->operand(b, layer.dataOperand), threads, grams)))
        return failure();

    // The weight as the matrices, each row with its channel's scale.
    FakeQuantOp fq = weightFakeQuant(layer);
    std::optional<std::vector<float>> w = getConstantFloats(fq.getInput());
    const LayerRecord *entry = record.find(layer.name);
    if (!w || !entry || entry->scaleW.empty())
      return layer.op->emitError() << "layer '" << layer.name
                                   << "': ADA needs the float weight and its scales";
    std::vector<float> weight(m.weightIndex.size()), rowScale(m.rowChannel.size());
    for (size_t i = 0; i < weight.size(); ++i)
      weight[i] = (*w)[m.weightIndex[i]];
    for (size_t r = 0; r < rowScale.size(); ++r)
      rowScale[r] = entry->scaleW.size() == 1 ? entry->scaleW[0] : entry->scaleW[m.rowChannel[r]];

    quant::AdaRoundProblem problem;
    problem.groups = m.groups;
    problem.rows = m.rows;
    problem.k = m.k;
    problem.weight = weight.data();
    problem.rowScale = rowScale.data();
    // The float model's output as the target (asymmetric reconstruction):
    // measured on the trained MobileNetV2-style model, it closes 52% of
    // ARQ's output-cosine loss at 2000 iterations where the quantized
    // model's own output as the target closes 43% (docs/Quantization.md).
    problem.gram = grams.qq.data();
    problem.crossGram = grams.qf.data();
    problem.floatGram = grams.ff.data();
    problem.positions = grams.positions;
    quant::AdaRoundOptions ada;
    const WeightQuantParams &wts = a.config->wts;
    ada.iterations = wts.numIteration;
    ada.regParam = wts.regParam;
    ada.betaStart = wts.betaRangeStart;
    ada.betaEnd = wts.betaRangeEnd;
    ada.warmStart = wts.warmStart;
    ada.numBits = wts.numBits;
    ada.threads = threads;
    std::string error;
    std::optional<quant::AdaRoundResult> rounded = quant::adaRound(problem, ada, error);
    if (!rounded)
      return layer.op->emitError() << "layer '" << layer.name << "': " << error;

    // scale * q in the weight's own layout: on the grid, so the weight
    // fake_quant (and convert's int8 weight) gives back exactly q.
    std::vector<float> onGrid(w->size());
    for (size_t i = 0; i < weight.size(); ++i)
      onGrid[m.weightIndex[i]] = float(rounded->q[i]) * rowScale[i / m.k];
    ArrayRef<int64_t> shape = cast<RankedTensorType>(fq.getInput().getType()).getShape();
    auto tensor = rt::Tensor::zeros(rt::DType::F32, rt::Shape(shape.begin(), shape.end()));
    if (!tensor)
      return layer.op->emitError() << "cannot allocate the rounded weight";
    std::copy(onGrid.begin(), onGrid.end(), tensor->mutableData<float>());
    runs->setOperand(layer.weightOperand, *tensor);
    replaceConstantInput(fq, 0, onGrid, layer.name + ".ada_weight");

    AdaLayerOutcome &o = outcome.layers[layer.name];
    o.weights = onGrid;
    o.flipped = rounded->flipped;
    o.count = int64_t(weight.size());
    o.nearestError = rounded->nearestError;
    o.adaError = rounded->adaError;
    o.positions = grams.positions;
  }
  return success(succeeded(runs->finish()) && succeeded(fpRuns->finish()));
}

LogicalResult amct::applyAdaWeights(func::FuncOp fused, const AdaOutcome &outcome) {
  for (const QuantizableLayer &layer : findQuantizableLayers(fused, nullptr)) {
    auto it = outcome.layers.find(layer.name);
    if (it == outcome.layers.end())
      continue;
    if (!getConstantFloats(layer.op->getOperand(layer.weightOperand)))
      return layer.op->emitError() << "layer '" << layer.name
                                   << "': the modified model's weight is not a constant";
    replaceConstantInput(layer.op, layer.weightOperand, it->second.weights,
                         layer.name + ".ada_weight");
  }
  return success();
}

std::string amct::describeAdaOutcome(const AdaLayerOutcome &o) {
  double change = o.nearestError > 0 ? 100.0 * (o.adaError - o.nearestError) / o.nearestError : 0;
  return llvm::formatv("{0} of {1} weights rounded the other way; output error {2:e3} -> "
                       "{3:e3} ({4:+F1}%) on {5} positions",
                       o.flipped, o.count, o.nearestError, o.adaError, change,
                       int64_t(o.positions))
      .str();
}

LogicalResult amct::checkAdaWeightsOnGrid(func::FuncOp main, const QuantConfig &config,
                                          StringRef recordName) {
  for (const QuantizableLayer &layer : findQuantizableLayers(main, nullptr)) {
    const LayerQuantConfig *entry = config.find(layer.name);
    if (!entry || !config.isQuantized(layer.name) || entry->wts.algo != "ada_quantize")
      continue;
    FakeQuantOp fq = weightFakeQuant(layer);
    std::optional<std::vector<float>> w = fq ? getConstantFloats(fq.getInput()) : std::nullopt;
    std::string error;
    std::optional<std::vector<int32_t>> q = fq ? quantizeConstantInput(fq, error) : std::nullopt;
    if (!w || !q)
      return layer.op->emitError() << "layer '" << layer.name << "': " << error;
    ArrayRef<float> scale = fq.getScale();
    int64_t channels = scale.size(), axis = fq.getAxis().value_or(0);
    auto shape = cast<RankedTensorType>(fq.getInput().getType()).getShape();
    int64_t inner = 1;
    for (int64_t d = axis + 1; d < int64_t(shape.size()); ++d)
      inner *= shape[d];
    for (size_t i = 0; i < w->size(); ++i) {
      float s = channels == 1 ? scale[0] : scale[(i / inner) % shape[axis]];
      if (std::fabs((*w)[i] - float((*q)[i]) * s) > 1e-3f * s)
        return layer.op->emitError()
               << recordName << ": layer '" << layer.name
               << "' has wts_algo ada_quantize, whose rounding is in the model amct quantize "
                  "wrote (its modified model, --modified-model / quantize_model's "
                  "modified_onnx_file), not in the record; this model's weights are not on "
                  "the record's grid, so converting it would round them to nearest instead";
    }
  }
  return success();
}
