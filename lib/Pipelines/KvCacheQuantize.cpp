//===- KvCacheQuantize.cpp - KV-cache int8 quantization -------------------===//
//
// Reference 001's KV-cache quantization (create_quant_cali_config,
// create_quant_cali_model, QuantCalibrationOp) on an ONNX model: the
// outputs of the K and V projection layers, which a KV cache stores, are
// calibrated with IFMR or HFMG (the CNN flow's observers and numerics) and
// quantized to int8 per tensor. The fake-quant model carries an
// amct.fake_quant on each of those outputs; --amct-convert turns it into
// AscendQuant -> AscendAntiQuant, between which the cache holds int8. The
// factors go to the record as AMCT's kv_cache_value { scale offset }.
//
// The layers are the config's, or found: the Linear layers on the key and
// value operands of attention (the two non-constant MatMuls around each
// Softmax) and on the graph outputs named like present key / value caches,
// followed up through the reshapes, transposes, rotary products, cache
// concatenations and head repeats between them.
//
//===----------------------------------------------------------------------===//

#include "QuantizeSupport.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Pipelines/Calibration.h"
#include "amct/Quant/Observers.h"
#include "amct/Runtime/Executor.h"
#include "amct/Support/KvCacheConfig.h"
#include "amct/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;

namespace amct {
namespace {

bool isOpType(Operation *op, StringRef type) {
  if (auto node = dyn_cast<NodeOp>(op))
    return node.getOpType() == type && node.getDomain().empty();
  return op->getName().stripDialect() == type && op->hasTrait<OpTrait::OnnxOp>();
}

/// A MatMul of two computed values (an attention product, not a layer).
bool isActivationMatMul(Operation *op) {
  if (!op || !isOpType(op, "MatMul") || op->getNumOperands() != 2)
    return false;
  return llvm::none_of(op->getOperands(), [](Value v) {
    return isa_and_nonnull<ConstOp, ConstantOp>(v.getDefiningOp());
  });
}

/// The value the layer produces (a MatMul's bias Add's result).
Value layerOutput(const QuantizableLayer &l) {
  Operation *op = QuantizableLayerOpInterface(l.op);
  if (l.biasOp && l.biasOp != op)
    return l.biasOp->getResult(0);
  return op->getResult(0);
}

/// The Linear layers `start` is computed from, looking through everything
/// that is not a layer (reshapes, transposes, rotary products, cache
/// concatenations, head repeats) up to 64 ops deep.
void collectProducers(Value start, const llvm::DenseMap<Value, size_t> &layerByOutput,
                      llvm::SetVector<size_t> &found) {
  llvm::SmallVector<std::pair<Value, int>> work{{start, 0}};
  llvm::DenseSet<Value> seen;
  while (!work.empty()) {
    auto [v, depth] = work.pop_back_val();
    if (!seen.insert(v).second)
      continue;
    if (auto it = layerByOutput.find(v); it != layerByOutput.end()) {
      found.insert(it->second);
      continue;
    }
    Operation *def = v.getDefiningOp();
    if (!def || depth >= 64 || isa<ConstOp, ConstantOp>(def) || isActivationMatMul(def) ||
        isOpType(def, "Softmax"))
      continue;
    // Only the float data path: shape and index operands (Reshape's
    // shape, Slice's starts, Expand's shape) are computed from other
    // tensors' shapes and lead anywhere.
    for (Value operand : def->getOperands()) {
      auto type = dyn_cast<TensorType>(operand.getType());
      if (isa<UnknownType>(operand.getType()) || (type && isa<FloatType>(type.getElementType())))
        work.push_back({operand, depth + 1});
    }
  }
}

/// The query-key product behind attention scores `v`: an activation MatMul
/// reached through the element-wise scaling, masking and casts between it
/// and the Softmax (up to 8 of them); null if there is none.
Operation *scoresMatMul(Value v, int depth) {
  Operation *def = v.getDefiningOp();
  if (!def || depth > 8)
    return nullptr;
  if (isActivationMatMul(def))
    return def;
  if (!(isOpType(def, "Add") || isOpType(def, "Mul") || isOpType(def, "Div") ||
        isOpType(def, "Sub") || isOpType(def, "Where") || isOpType(def, "Cast")))
    return nullptr;
  for (Value operand : def->getOperands())
    if (Operation *found = scoresMatMul(operand, depth + 1))
      return found;
  return nullptr;
}

/// The key and value operands of every attention in `main` and its outputs
/// named like present key / value caches ("present..." as exporters name
/// them).
std::vector<Value> kvValues(func::FuncOp main) {
  std::vector<Value> values;
  main.walk([&](Operation *softmax) {
    if (!isOpType(softmax, "Softmax"))
      return;
    // Values: the MatMul reading the probabilities.
    for (Operation *user : softmax->getResult(0).getUsers())
      if (isActivationMatMul(user) && user->getOperand(0) == softmax->getResult(0))
        values.push_back(user->getOperand(1));
    // Keys: the product of queries and keys the scores come from, through
    // the scaling and masking between it and the Softmax.
    if (Operation *scores = scoresMatMul(softmax->getOperand(0), 0))
      values.push_back(scores->getOperand(1));
  });
  auto ret = cast<func::ReturnOp>(main.getBody().front().getTerminator());
  for (auto [i, operand] : llvm::enumerate(ret.getOperands()))
    if (auto name = main.getResultAttrOfType<StringAttr>(i, "amct.name"))
      if (StringRef(name.getValue().lower()).contains("present"))
        values.push_back(operand);
  return values;
}

/// An 8-bit fake_quant with `entry`'s factors (per tensor, or per channel
/// along the last axis) on the output of `l`; the layer and its method in
/// `result`.
void insertKvFakeQuant(OpBuilder &b, const QuantizableLayer &l, const KVCacheRecord &entry,
                       const std::string &what, QuantizeResult &result) {
  Value out = layerOutput(l);
  b.setInsertionPointAfterValue(out);
  std::string name = l.name + ".kv_quant";
  SmallVector<int64_t> offsets(entry.offset.begin(), entry.offset.end());
  bool perChannel = entry.scale.size() > 1;
  auto fq = b.create<FakeQuantOp>(
      makeNodeLoc(b.getContext(), name, {name + "_out"}, b.getUnknownLoc()), out.getType(), out,
      b.getDenseF32ArrayAttr(entry.scale), b.getDenseI64ArrayAttr(offsets),
      b.getI64IntegerAttr(8),
      perChannel ? b.getI64IntegerAttr(cast<RankedTensorType>(out.getType()).getRank() - 1)
                 : IntegerAttr());
  out.replaceAllUsesExcept(fq.getResult(), fq);
  std::string &method = result.layerMethod[l.name];
  method = method.empty() ? what : method + " + " + what;
  if (llvm::none_of(result.quantized,
                    [&](const QuantizableLayer &q) { return q.name == l.name; }))
    result.quantized.push_back(l);
}

} // namespace

FailureOr<std::vector<QuantizableLayer>> findKvCacheLayers(func::FuncOp main,
                                                          const KvCacheConfig &config,
                                                          const std::string &configName) {
  std::vector<SkippedLayer> skipped;
  std::vector<QuantizableLayer> layers =
      findQuantizableLayers(main, &skipped, /*weightOnly=*/true);
  llvm::erase_if(layers, [](const QuantizableLayer &l) { return l.kind != LayerKind::Linear; });
  std::vector<QuantizableLayer> out;
  if (!config.quantLayers.empty()) {
    for (const std::string &name : config.quantLayers) {
      auto it = llvm::find_if(layers, [&](const QuantizableLayer &l) { return l.name == name; });
      if (it == layers.end()) {
        auto skip = llvm::find_if(skipped, [&](const SkippedLayer &s) { return s.name == name; });
        bool exists = false;
        main.walk([&](Operation *op) { exists |= getNodeName(op) == name; });
        InFlightDiagnostic diag = main.emitError()
                                  << configName << ": kv_cache_quant_config.quant_layers names '"
                                  << name << "', ";
        if (skip != skipped.end())
          return diag << "a layer that cannot be quantized: " << skip->reason;
        if (exists)
          return diag << "which is not a Linear layer (a MatMul by a constant 2-D weight, or a "
                         "Gemm)";
        return diag << "which is not a node of the model";
      }
      out.push_back(*it);
    }
  } else {
    llvm::DenseMap<Value, size_t> byOutput;
    for (auto [i, l] : llvm::enumerate(layers))
      byOutput[layerOutput(l)] = i;
    llvm::SetVector<size_t> found;
    for (Value v : kvValues(main))
      collectProducers(v, byOutput, found);
    // In graph order.
    std::vector<size_t> order(found.begin(), found.end());
    llvm::sort(order);
    for (size_t i : order)
      out.push_back(layers[i]);
    if (out.empty())
      return main.emitError() << configName
                              << ": no K or V projection found (no Linear layer feeds the keys "
                                 "or values of an attention's Softmax, or a present key / value "
                                 "output); name them in kv_cache_quant_config.quant_layers";
  }
  for (const QuantizableLayer &l : out) {
    auto type = dyn_cast<RankedTensorType>(layerOutput(l).getType());
    if (!type || !type.getElementType().isF32())
      return l.op->emitError() << configName << ": layer '" << l.name
                               << "': KV-cache quantization takes float32 outputs so far";
  }
  return out;
}

/// Per-channel KV factors: the observers of `copy` (one per layer, keyed
/// `<layer>.kv_cache`) report each batch's output to an IFMR or HFMG search
/// per output channel (the last dim).
static LogicalResult calibratePerChannel(func::FuncOp copy, const std::vector<QuantizableLayer> &layers,
                                  const KvCacheConfig &config,
                                  const std::vector<std::vector<rt::Tensor>> &batches,
                                  int threads, std::vector<KVCacheRecord> &factors) {
  const ActivationQuantParams &act = config.act;
  struct Channels {
    std::vector<quant::IfmrObserver> ifmr;
    std::vector<quant::HfmgObserver> hfmg;
  };
  std::vector<Channels> channels(layers.size());
  llvm::StringMap<size_t> byKey;
  for (auto [i, l] : llvm::enumerate(layers))
    byKey[l.name + ".kv_cache"] = i;
  std::string error;
  quant::IfmrConfig ifmr;
  ifmr.maxPercentile = act.maxPercentile;
  ifmr.minPercentile = act.minPercentile;
  ifmr.searchStart = act.searchRangeStart;
  ifmr.searchEnd = act.searchRangeEnd;
  ifmr.searchStep = act.searchStep;
  rt::ExecutorOptions options;
  options.threads = threads;
  auto exec = rt::Executor::create(copy, options);
  if (failed(exec))
    return failure();
  bool failedAny = false;
  std::vector<float> column;
  (*exec)->setObserverCallback([&](Operation *op, const rt::Tensor &t) {
    auto obs = cast<ObserverOp>(op);
    auto it = byKey.find(obs.getLayer());
    if (it == byKey.end() || failedAny)
      return;
    size_t i = it->second;
    if (t.dtype() != rt::DType::F32 || t.rank() < 1) {
      obs.emitError() << "layer '" << layers[i].name << "': its output is not float32";
      failedAny = true;
      return;
    }
    int64_t n = t.dim(t.rank() - 1), rows = n ? t.numElements() / n : 0;
    Channels &c = channels[i];
    if (c.ifmr.empty() && c.hfmg.empty())
      for (int64_t ch = 0; ch < n; ++ch) {
        if (act.algo == "hfmg") {
          std::optional<quant::HfmgObserver> h = quant::HfmgObserver::create(act.numOfBins, error);
          if (!h) {
            failedAny = true;
            return;
          }
          c.hfmg.push_back(std::move(*h));
        } else {
          std::optional<quant::IfmrObserver> o = quant::IfmrObserver::create(ifmr, error);
          if (!o) {
            failedAny = true;
            return;
          }
          c.ifmr.push_back(std::move(*o));
        }
      }
    if (int64_t(c.ifmr.size() + c.hfmg.size()) != n) {
      obs.emitError() << "layer '" << layers[i].name << "': " << n
                      << " output channels in this batch, " << c.ifmr.size() + c.hfmg.size()
                      << " before";
      failedAny = true;
      return;
    }
    const float *data = t.data<float>();
    column.resize(rows);
    for (int64_t ch = 0; ch < n; ++ch) {
      for (int64_t r = 0; r < rows; ++r)
        column[r] = data[r * n + ch];
      if (!c.ifmr.empty())
        c.ifmr[ch].observe(column.data(), rows);
      else
        c.hfmg[ch].observe(column.data(), rows);
    }
  });
  for (const std::vector<rt::Tensor> &batch : batches) {
    if (failed((*exec)->run(batch)))
      return failure();
    if (failedAny) {
      if (!error.empty())
        return copy.emitError() << error;
      return failure();
    }
  }
  for (auto [i, l] : llvm::enumerate(layers)) {
    Channels &c = channels[i];
    size_t n = c.ifmr.size() + c.hfmg.size();
    if (n == 0)
      return l.op->emitError() << "layer '" << l.name << "': the calibration never reached it";
    for (size_t ch = 0; ch < n; ++ch) {
      std::optional<quant::QuantParams> p =
          !c.ifmr.empty() ? c.ifmr[ch].finalize(act.numBits, act.asymmetric, error, threads)
                          : c.hfmg[ch].finalize(act.numBits, act.asymmetric, error);
      if (!p)
        return l.op->emitError() << "layer '" << l.name << "': output channel " << ch << ": "
                                 << error;
      factors[i].scale.push_back(p->scale);
      factors[i].offset.push_back(p->offset);
    }
  }
  return success();
}

LogicalResult quantizeKvCache(ModuleOp module, const std::vector<QuantizableLayer> &layers,
                              const KvCacheConfig &config,
                              const std::vector<std::vector<rt::Tensor>> &batches, int threads,
                              bool showProgress, QuantizeResult &result) {
  // Calibration on a copy with an observer on each output.
  OwningOpRef<ModuleOp> observed = module.clone();
  func::FuncOp main = getMainFunction(module), copy = getMainFunction(*observed);
  // The layers of the copy, by position in the walk.
  llvm::DenseMap<Operation *, size_t> index;
  std::vector<Operation *> ops, copyOps;
  main.walk([&](Operation *op) { ops.push_back(op); });
  copy.walk([&](Operation *op) { copyOps.push_back(op); });
  for (auto [i, op] : llvm::enumerate(ops))
    index[op] = i;
  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  const ActivationQuantParams &act = config.act;
  Attribute method =
      act.algo == "hfmg"
          ? Attribute(HfmgAttr::get(ctx, act.numBits, act.asymmetric, act.numOfBins))
          : Attribute(IfmrAttr::get(ctx, act.numBits, act.asymmetric,
                                    llvm::APFloat(act.maxPercentile),
                                    llvm::APFloat(act.minPercentile),
                                    llvm::APFloat(act.searchRangeStart),
                                    llvm::APFloat(act.searchRangeEnd),
                                    llvm::APFloat(act.searchStep)));
  for (const QuantizableLayer &l : layers) {
    Value out = layerOutput(l);
    Operation *producer = copyOps[index.lookup(out.getDefiningOp())];
    Value copyOut = producer->getResult(0);
    b.setInsertionPointAfter(producer);
    // Keyed apart from the layer's own entry (whose observer would carry
    // its weight's parameters).
    auto obs = b.create<ObserverOp>(producer->getLoc(), copyOut.getType(), copyOut,
                                    b.getStringAttr(l.name + ".kv_cache"), method, ArqAttr());
    copyOut.replaceAllUsesExcept(obs.getResult(), obs);
  }
  // Per layer: the factors, one per tensor or one per output channel.
  std::vector<KVCacheRecord> factors(layers.size());
  if (!config.channelWise) {
    Record kv;
    CalibrationOptions options;
    options.threads = threads;
    options.showProgress = showProgress;
    if (failed(calibrate(copy, batches, options, kv)))
      return failure();
    for (auto [i, l] : llvm::enumerate(layers)) {
      const LayerRecord *r = kv.find(l.name + ".kv_cache");
      if (!r || !r->scaleD || !r->offsetD)
        return l.op->emitError() << "layer '" << l.name
                                 << "': calibration gave no KV-cache factors";
      factors[i].scale = {*r->scaleD};
      factors[i].offset = {*r->offsetD};
    }
  } else if (failed(calibratePerChannel(copy, layers, config, batches, threads, factors))) {
    return failure();
  }
  for (auto [i, l] : llvm::enumerate(layers)) {
    result.record.kvCache.push_back({l.name, factors[i]});
    insertKvFakeQuant(b, l, factors[i],
                      "kv-cache int8 " + act.algo + (config.channelWise ? " per channel" : ""),
                      result);
  }
  return success();
}

LogicalResult applyKvCacheRecord(ModuleOp module, const Record &record,
                                 const std::string &recordName, QuantizeResult &result) {
  func::FuncOp main = getMainFunction(module);
  std::vector<SkippedLayer> skipped;
  std::vector<QuantizableLayer> layers =
      findQuantizableLayers(main, &skipped, /*weightOnly=*/true);
  OpBuilder b(module.getContext());
  for (const auto &[name, entry] : record.kvCache) {
    auto fail = [&, &name = name]() -> InFlightDiagnostic {
      return main.emitError() << recordName << ": layer '" << name << "': ";
    };
    auto it = llvm::find_if(layers, [&](const QuantizableLayer &l) {
      return l.name == name && l.kind == LayerKind::Linear;
    });
    if (it == layers.end())
      return fail() << "has KV-cache factors (kv_cache_value) but is not a Linear layer of the "
                       "model";
    auto type = dyn_cast<RankedTensorType>(layerOutput(*it).getType());
    if (!type || !type.getElementType().isF32() || type.getRank() < 1)
      return fail() << "KV-cache quantization takes float32 outputs so far";
    int64_t n = type.getShape().back();
    if (entry.scale.empty() || (entry.scale.size() != 1 && int64_t(entry.scale.size()) != n))
      return fail() << entry.scale.size() << " kv_cache_value scales, expected 1 or " << n
                    << " (one per output channel)";
    if (entry.offset.size() != entry.scale.size())
      return fail() << entry.offset.size() << " kv_cache_value offsets for "
                    << entry.scale.size() << " scales";
    for (auto [j, v] : llvm::enumerate(entry.scale))
      if (!(v > 0) || !std::isfinite(v))
        return fail() << "kv_cache_value scale[" << j << "] is not a positive finite number";
    for (auto [j, o] : llvm::enumerate(entry.offset))
      if (o < -128 || o > 127)
        return fail() << "kv_cache_value offset[" << j << "] = " << o
                      << " is outside [-128, 127]";
    insertKvFakeQuant(b, *it, entry,
                      std::string("kv-cache int8 (record)") +
                          (entry.scale.size() > 1 ? " per channel" : ""),
                      result);
  }
  return success();
}

FailureOr<QuantizeResult> convertKvCacheModel(ModuleOp model, const Record &record,
                                              const std::string &recordName) {
  QuantizeResult result;
  OwningOpRef<ModuleOp> module = model.clone();
  if (!getMainFunction(*module))
    return model.emitError("the model has no function to convert");
  if (failed(runFuncPass(*module, createAmctFoldConstants())))
    return failure();
  result.fused = module->clone();
  if (failed(applyKvCacheRecord(*module, record, recordName, result)))
    return failure();
  result.record = record;
  if (failed(convertToDeploy(std::move(module), result)))
    return failure();
  return result;
}

FailureOr<std::vector<std::string>> findKvCacheProjections(func::FuncOp main) {
  FailureOr<std::vector<QuantizableLayer>> layers =
      findKvCacheLayers(main, KvCacheConfig(), "the model");
  if (failed(layers))
    return failure();
  std::vector<std::string> names;
  for (const QuantizableLayer &l : *layers)
    names.push_back(l.name);
  return names;
}

FailureOr<QuantizeResult> quantizeKvCacheModel(ModuleOp model, const KvCacheConfig &config,
                                               const std::string &configName,
                                               const QuantizeOptions &options) {
  QuantizeResult result;
  PhaseClock clock(result.phases);
  OwningOpRef<ModuleOp> module = model.clone();
  if (!getMainFunction(*module))
    return model.emitError("the model has no function to quantize");
  if (failed(runFuncPass(*module, createAmctFoldConstants())))
    return failure();
  result.fused = module->clone();
  func::FuncOp main = getMainFunction(*module);
  FailureOr<std::vector<QuantizableLayer>> layers = findKvCacheLayers(main, config, configName);
  if (failed(layers))
    return failure();
  clock.lap("fold constants, find K / V projections");
  int batchNum = options.batchNum > 0 ? options.batchNum : int(config.batchNum);
  FailureOr<std::vector<std::vector<rt::Tensor>>> batches =
      makeCalibrationBatches(main, options.calibData, batchNum, options.batchSize);
  if (failed(batches))
    return failure();
  if (failed(quantizeKvCache(*module, *layers, config, *batches, options.threads,
                             options.showProgress, result)))
    return failure();
  clock.lap("KV-cache calibration");
  if (failed(compareAndConvertQuantized(std::move(module), (*batches)[0], options, clock,
                                        result)))
    return failure();
  return result;
}

} // namespace amct
