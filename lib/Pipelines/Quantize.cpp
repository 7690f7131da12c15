//===- Quantize.cpp - the whole PTQ job as one library call ---------------===//

#include "amct/Pipelines/Quantize.h"
#include "QuantizeSupport.h"
#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Pipelines/Calibration.h"
#include "amct/Pipelines/DmqCalibration.h"
#include "amct/Quant/Quant.h"
#include "amct/Runtime/Executor.h"
#include "amct/Support/Npy.h"
#include "amct/Support/Progress.h"
#include "amct/Support/FileAccess.h"
#include "amct/Support/LlmConfig.h"
#include "amct/Support/QuantConfig.h"
#include "amct/Transforms/DmqBalance.h"
#include "amct/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>

using namespace mlir;

namespace amct {

LogicalResult runFuncPass(ModuleOp module, std::unique_ptr<Pass> pass) {
  PassManager pm(module.getContext());
  pm.addNestedPass<func::FuncOp>(std::move(pass));
  return pm.run(module);
}

namespace {


/// Puts an observer (#amct.layer_output) on the result of each layer of `names`,
/// so that the executor hands the layer's output to its observer callback.
void tapLayerOutputs(func::FuncOp main, const std::vector<std::string> &names) {
  llvm::StringSet<> wanted;
  for (const std::string &name : names)
    wanted.insert(name);
  auto isFloat = [](Type t) { return t.isF32() || t.isF16() || t.isBF16(); };
  SmallVector<Operation *> layers;
  main.walk([&](Operation *op) {
    if (op->getNumResults() == 1 && !isa<ConstOp, FakeQuantOp, ObserverOp>(op) &&
        isa<RankedTensorType>(op->getResult(0).getType()) &&
        isFloat(cast<RankedTensorType>(op->getResult(0).getType()).getElementType()) &&
        wanted.erase(getNodeName(op)))
      layers.push_back(op);
  });
  OpBuilder b(main.getContext());
  MLIRContext *ctx = main.getContext();
  for (Operation *op : layers) {
    b.setInsertionPointAfter(op);
    Value out = op->getResult(0);
    auto type = cast<RankedTensorType>(out.getType());
    if (type.getElementType().isF32()) {
      auto tap = b.create<ObserverOp>(op->getLoc(), type, out, b.getStringAttr(getNodeName(op)),
                                      LayerOutputAttr::get(ctx), ArqAttr());
      out.replaceAllUsesExcept(tap, tap);
      continue;
    }
    // A 16-bit layer (a half-precision language model): observed through a
    // float32 Cast on a side branch that nothing else reads.
    auto f32 = b.create<CastOp>(op->getLoc(), type.clone(b.getF32Type()), out,
                                b.getI64IntegerAttr(1 /* TensorProto FLOAT */), IntegerAttr());
    b.create<ObserverOp>(op->getLoc(), f32.getType(), f32, b.getStringAttr(getNodeName(op)),
                         LayerOutputAttr::get(ctx), ArqAttr());
  }
}

} // namespace

/// Runs the fp32 model and the fake-quant model on `inputs` and fills the
/// result's layer and output cosines. The fp32 layer outputs are held until
/// the fake-quant run reaches the same layer, then compared and dropped.
LogicalResult compareWithFp32(ModuleOp fp32, ModuleOp fakeQuant,
                              const std::vector<std::string> &names,
                              const std::vector<rt::Tensor> &inputs, int threads,
                              bool showProgress, QuantizeResult &result) {
  OwningOpRef<ModuleOp> ref = fp32.clone(), quant = fakeQuant.clone();
  tapLayerOutputs(getMainFunction(*ref), names);
  tapLayerOutputs(getMainFunction(*quant), names);
  rt::ExecutorOptions options;
  options.threads = threads;
  auto refExec = rt::Executor::create(getMainFunction(*ref), options);
  auto quantExec = rt::Executor::create(getMainFunction(*quant), options);
  if (failed(refExec) || failed(quantExec))
    return failure();

  ProgressBar bar("comparing layers", showProgress ? 2 * names.size() : 0);
  int64_t step = 0;
  std::map<std::string, rt::Tensor> refOutputs;
  (*refExec)->setObserverCallback([&](Operation *op, const rt::Tensor &t) {
    refOutputs[cast<ObserverOp>(op).getLayer().str()] = t;
    bar.update(++step);
  });
  (*quantExec)->setObserverCallback([&](Operation *op, const rt::Tensor &t) {
    auto it = refOutputs.find(cast<ObserverOp>(op).getLayer().str());
    if (it != refOutputs.end() && it->second.shape() == t.shape()) {
      quant::Cosine cos;
      cos.add(it->second.data<float>(), t.data<float>(),
              std::min(it->second.numElements(), t.numElements()));
      result.layerCosine[it->first] = cos.value();
      result.layerSqnr[it->first] = cos.sqnrDb();
      refOutputs.erase(it);
    }
    bar.update(++step);
  });
  auto refOut = (*refExec)->run(inputs);
  if (failed(refOut))
    return failure();
  auto quantOut = (*quantExec)->run(inputs);
  if (failed(quantOut))
    return failure();
  const std::vector<std::string> &outNames = (*refExec)->outputNames();
  for (size_t i = 0; i < refOut->size() && i < quantOut->size(); ++i) {
    rt::Tensor a = (*refOut)[i], b = (*quantOut)[i];
    // A 16-bit model's outputs are compared in float32.
    for (rt::Tensor *t : {&a, &b})
      if (rt::isHalfFloat(t->dtype()))
        if (std::optional<rt::Tensor> f = t->convertFloat(rt::DType::F32))
          *t = std::move(*f);
    if (a.dtype() != rt::DType::F32 || a.shape() != b.shape() || b.dtype() != rt::DType::F32)
      continue;
    quant::Cosine cos;
    cos.add(a.data<float>(), b.data<float>(), a.numElements());
    result.outputCosine.emplace_back(i < outNames.size() ? outNames[i] : "output" + std::to_string(i),
                                     cos.value());
  }
  return success();
}


namespace {

/// Why a layer the model could quantize is left out by the config.
std::string configSkipReason(const QuantConfig &config, const std::string &name) {
  const LayerQuantConfig *entry = config.find(name);
  if (!entry)
    return "not in the config";
  return "quant_enable is false in the config (skip_layers, skip_layer_types)";
}

} // namespace

std::optional<std::map<std::string, rt::Tensor>>
readCalibrationData(ArrayRef<std::string> entries, func::FuncOp main, std::string &error) {
  std::map<std::string, rt::Tensor> data;
  for (const std::string &entry : entries) {
    StringRef text(entry);
    std::string name, path = entry;
    if (text.contains('=')) {
      auto [n, p] = text.split('=');
      name = n.str();
      path = p.str();
      if (name.empty() || path.empty()) {
        error = "calib-data '" + entry + "' is not NAME=FILE.npy";
        return std::nullopt;
      }
    } else {
      // A bare FILE names the single graph input.
      if (!main || main.getNumArguments() != 1) {
        error = "calib-data '" + entry +
                "' has no NAME= and the model does not have exactly one input";
        return std::nullopt;
      }
      name = getGraphInputName(main, 0);
    }
    if (data.count(name)) {
      error = "calib-data gives '" + name + "' twice";
      return std::nullopt;
    }
    std::string readError;
    std::optional<rt::Tensor> t = readNpy(path, readError);
    if (!t) {
      error = "calibration data '" + name + "': " + readError;
      return std::nullopt;
    }
    data.emplace(name, std::move(*t));
  }
  return data;
}

/// The config file's text (empty without a path), read once; a
/// language-model quantize() config is parsed into `llm` for its own flow.
static LogicalResult readConfigText(ModuleOp model, const std::string &path, std::string &text,
                                    std::optional<LlmQuantConfig> &llm) {
  if (path.empty())
    return success();
  std::string error;
  if (!readRegularFile(path, text, error))
    return model.emitError() << "quant config " << error;
  if (detectConfigKind(text) != ConfigKind::LlmJson)
    return success();
  llm = parseLlmConfig(text, path, error);
  if (!llm)
    return model.emitError() << error;
  return success();
}

/// The first step of quantize and convert: constants folded (a Transpose
/// of a constant weight), then the quantizable layers.
static FailureOr<std::vector<QuantizableLayer>> foldConstantsAndFindLayers(ModuleOp module) {
  if (failed(runFuncPass(module, createAmctFoldConstants())))
    return failure();
  return findQuantizableLayers(getMainFunction(module), nullptr);
}

/// --amct-fuse when the config's do_fusion says so, skipping its
/// skip_fusion_layers.
static LogicalResult fuseAsConfigured(ModuleOp module, const QuantConfig &config) {
  if (!config.doFusion)
    return success();
  AmctFuseOptions fuseOptions;
  fuseOptions.skipLayers = config.skipFusionLayers;
  return runFuncPass(module, createAmctFuse(fuseOptions));
}

FailureOr<QuantizeResult> quantizeModel(ModuleOp model, const QuantizeOptions &options) {
  // The config is read once: a language-model quantize() config takes its
  // own flow, a layer config (or none) the one below.
  std::string configText, error;
  std::optional<LlmQuantConfig> llm;
  if (failed(readConfigText(model, options.configPath, configText, llm)))
    return failure();
  std::optional<KvCacheConfig> kv;
  if (!options.kvCacheConfigPath.empty()) {
    std::string text;
    if (!readRegularFile(options.kvCacheConfigPath, text, error))
      return model.emitError() << "KV-cache config " << error;
    kv = parseKvCacheConfig(text, options.kvCacheConfigPath, error);
    if (!kv)
      return model.emitError() << error;
  }
  if (llm)
    return quantizeLlmModel(model, *llm, options.configPath, kv ? &*kv : nullptr, options);
  if (kv) {
    if (!options.configPath.empty())
      return model.emitError()
             << options.kvCacheConfigPath
             << ": a KV-cache config goes with a language-model quantize() config (JSON with "
                "\"quant_cfg\") or alone; "
             << options.configPath << " is a layer config of the CNN flow";
    return quantizeKvCacheModel(model, *kv, options.kvCacheConfigPath, options);
  }
  QuantizeResult result;
  PhaseClock clock(result.phases);
  OwningOpRef<ModuleOp> module = model.clone();
  func::FuncOp main = getMainFunction(*module);
  if (!main)
    return model.emitError("the model has no function to quantize");

  FailureOr<std::vector<QuantizableLayer>> found = foldConstantsAndFindLayers(*module);
  if (failed(found))
    return failure();
  std::vector<QuantizableLayer> &layers = *found;
  main = getMainFunction(*module);
  // The one parse of the config; every step below gets it in memory.
  std::optional<QuantConfig> config =
      options.config       ? std::optional<QuantConfig>(*options.config)
      : options.configPath.empty()
          ? loadQuantConfigFile("", getLayerList(layers), error)
          : loadQuantConfig(configText, options.configPath, getLayerList(layers), error);
  if (!config)
    return main.emitError() << error;

  if (llvm::none_of(layers, [&](const QuantizableLayer &l) { return config->isQuantized(l.name); }))
    return main.emitError() << (options.configPath.empty() ? std::string("the model")
                                                           : options.configPath)
                            << ": no layer is left to quantize (" << layers.size()
                            << " quantizable layers, all disabled or absent from the config)";
  if (failed(fuseAsConfigured(*module, *config)))
    return failure();
  result.fused = module->clone();

  // Calibration batches: batch_num batches of batch_size samples.
  main = getMainFunction(*module);
  int batchNum = options.batchNum > 0 ? options.batchNum : config->batchNum;
  FailureOr<std::vector<std::vector<rt::Tensor>>> batchesOr =
      makeCalibrationBatches(main, options.calibData, batchNum, options.batchSize);
  if (failed(batchesOr))
    return failure();
  std::vector<std::vector<rt::Tensor>> &batches = *batchesOr;

  // DMQ (AMCT's quantize_preprocess): balance factors from the data, applied
  // before the activation calibration sees it.
  if (failed(computeDmqFactors(getMainFunction(*module), *config, batches, options.threads,
                               result.record)) ||
      failed(applyDmqBalance(getMainFunction(*module), result.record)))
    return failure();
  bool balanced = !result.record.layers.empty();
  if (balanced)
    clock.lap("fold constants, fuse, DMQ balance factors");

  // Observers, calibration, record.
  if (failed(insertCalibration(getMainFunction(*module), *config, /*adaByCaller=*/true)))
    return failure();
  clock.lap(balanced ? "insert observers" : "fold constants, fuse, insert observers");
  CalibrationOptions calibOptions;
  calibOptions.threads = options.threads;
  CalibrationTimes calibTimes;
  calibOptions.times = &calibTimes;
  calibOptions.showProgress = options.showProgress;
  if (failed(calibrate(getMainFunction(*module), batches, calibOptions, result.record)))
    return failure();
  clock.add("calibration: executor runs", calibTimes.executor);
  clock.add("calibration: IFMR/HFMG search", calibTimes.activationSearch);
  clock.add("calibration: ARQ weights", calibTimes.weights);
  clock.restart();

  if (failed(foldObservers(getMainFunction(*module), result.record, "the record")))
    return failure();
  clock.lap("fold observers");
  // ADA: the rounding of those layers' weights, learnt layer by layer.
  AdaOutcome ada;
  if (failed(adaQuantizeWeights(getMainFunction(*module), getMainFunction(*result.fused),
                                *config, result.record, batches, options.threads, ada)))
    return failure();
  if (!ada.layers.empty()) {
    clock.lap("ADA rounding");
    for (const auto &[name, outcome] : ada.layers)
      result.weightRounding[name] = "ada: " + describeAdaOutcome(outcome);
  }

  // What was quantized and what was not, and how close each layer stayed.
  std::vector<SkippedLayer> skipped;
  std::vector<QuantizableLayer> all = findQuantizableLayers(getMainFunction(*result.fused), &skipped);
  std::vector<std::string> names;
  for (const QuantizableLayer &layer : all) {
    if (config->isQuantized(layer.name)) {
      result.quantized.push_back(layer);
      names.push_back(layer.name);
    } else {
      skipped.push_back({layer.op, layer.name, configSkipReason(*config, layer.name), layer.type});
    }
  }
  // In graph order, whatever the reason.
  std::vector<Operation *> opOrder;
  getMainFunction(*result.fused).walk([&](Operation *op) { opOrder.push_back(op); });
  llvm::DenseMap<Operation *, size_t> position;
  for (auto [i, op] : llvm::enumerate(opOrder))
    position[op] = i;
  llvm::stable_sort(skipped, [&](const SkippedLayer &a, const SkippedLayer &b) {
    return position.lookup(a.op) < position.lookup(b.op);
  });
  result.skipped = std::move(skipped);

  if (failed(compareAndConvert(std::move(module), names, batches[0], options, clock, result)))
    return failure();
  // The modified model carries ADA's weights (as AMCT's does), so a convert
  // of it with the record gives the same models; the comparison above used
  // the fp32 weights.
  if (failed(applyAdaWeights(getMainFunction(*result.fused), ada)))
    return failure();
  return result;
}

LogicalResult compareAndConvertQuantized(OwningOpRef<ModuleOp> module,
                                         const std::vector<rt::Tensor> &firstBatch,
                                         const QuantizeOptions &options, PhaseClock &clock,
                                         QuantizeResult &result) {
  std::vector<std::string> names;
  for (const QuantizableLayer &l : result.quantized)
    names.push_back(l.name);
  return compareAndConvert(std::move(module), names, firstBatch, options, clock, result);
}

LogicalResult compareAndConvert(OwningOpRef<ModuleOp> module,
                                const std::vector<std::string> &names,
                                const std::vector<rt::Tensor> &firstBatch,
                                const QuantizeOptions &options, PhaseClock &clock,
                                QuantizeResult &result) {
  if (options.cosineSamples > 0) {
    func::FuncOp main = getMainFunction(*result.fused);
    bool staticBatch = false;
    for (unsigned i = 0; i < main.getNumArguments(); ++i) {
      auto type = dyn_cast<RankedTensorType>(main.getArgument(i).getType());
      staticBatch |= type && type.getRank() > 0 && !type.isDynamicDim(0);
    }
    // A prefix of the first batch, unless the model fixes the batch size or
    // the inputs do not share a batch dim 0 (a sequence-first input fed
    // whole): then the whole first batch.
    int64_t batchSize = firstBatch.empty() || firstBatch[0].rank() == 0 ? 0 : firstBatch[0].dim(0);
    bool sliceable = llvm::all_of(firstBatch, [&](const rt::Tensor &t) {
      return t.rank() >= 1 && t.dim(0) == batchSize;
    });
    bool whole = staticBatch || !sliceable;
    result.cosineSamples = whole ? batchSize : std::min(options.cosineSamples, batchSize);
    if (failed(compareWithFp32(*result.fused, *module, names,
                               whole ? firstBatch
                                     : sliceBatch(firstBatch, 0, result.cosineSamples),
                               options.threads, options.showProgress, result)))
      return failure();
    clock.lap("layer cosine (fp32 and fake-quant runs)");
  }
  if (failed(convertToDeploy(std::move(module), result)))
    return failure();
  clock.lap("convert to the deploy model");
  return success();
}

FailureOr<QuantizeResult> convertModel(ModuleOp model, const std::string &configPath,
                                       const Record &record, const std::string &recordName) {
  std::string configText;
  std::optional<LlmQuantConfig> llm;
  if (failed(readConfigText(model, configPath, configText, llm)))
    return failure();
  if (llm)
    return convertLlmModel(model, *llm, configPath, record, recordName);
  // KV-cache factors alone (amct quantize --kv-cache-config without a
  // weight config); with a layer config of the CNN flow they are refused.
  if (!record.kvCache.empty()) {
    if (!configPath.empty() || llvm::any_of(record.layers, [](const auto &entry) {
          return entry.second.scaleD || !entry.second.scaleW.empty();
        }))
      return model.emitError() << recordName << ": layer '" << record.kvCache.front().first
                               << "' has KV-cache factors (kv_cache_value), which go with a "
                                  "language-model config (--config with \"quant_cfg\") or "
                                  "alone, not with the CNN flow's layers";
    return convertKvCacheModel(model, record, recordName);
  }
  QuantizeResult result;
  OwningOpRef<ModuleOp> module = model.clone();
  func::FuncOp main = getMainFunction(*module);
  if (!main)
    return model.emitError("the model has no function to convert");
  FailureOr<std::vector<QuantizableLayer>> found = foldConstantsAndFindLayers(*module);
  if (failed(found))
    return failure();
  std::vector<QuantizableLayer> &layers = *found;
  main = getMainFunction(*module);
  std::string error;
  std::optional<QuantConfig> config;
  if (configPath.empty()) {
    // A weight-only record (no activation scale anywhere, weight scales
    // present) comes from a quantize() config, which says how to read it.
    if (llvm::none_of(record.layers, [](const auto &e) { return e.second.scaleD.has_value(); }) &&
        llvm::any_of(record.layers, [](const auto &e) { return !e.second.scaleW.empty(); }))
      return main.emitError() << recordName
                              << ": a weight-only (language-model) record, with weight scales "
                                 "and no activation scale; give the quantize() config it was "
                                 "made with (--config), which says the weights' type and "
                                 "granularity";
    // The layers the record quantized: those with an activation scale.
    std::vector<std::string> skip;
    for (const QuantizableLayer &l : layers) {
      const LayerRecord *r = record.find(l.name);
      if (!r || !r->scaleD)
        skip.push_back(l.name);
    }
    for (const auto &[name, r] : record.layers)
      if (r.scaleD && llvm::none_of(layers, [&](const QuantizableLayer &l) {
            return l.name == name;
          }))
        return main.emitError() << recordName << ": layer '" << name
                                << "' is not a quantizable layer of the model";
    config = createQuantConfig(getLayerList(layers), skip, /*batchNum=*/1,
                               /*activationOffset=*/true, error);
  } else {
    config = loadQuantConfig(configText, configPath, getLayerList(layers), error);
  }
  if (!config)
    return main.emitError() << error;
  if (failed(fuseAsConfigured(*module, *config)))
    return failure();
  result.fused = module->clone();
  if (failed(applyDmqBalance(getMainFunction(*module), record)) ||
      failed(insertCalibration(getMainFunction(*module), *config, /*adaByCaller=*/true)) ||
      failed(foldObservers(getMainFunction(*module), record, recordName)) ||
      failed(checkAdaWeightsOnGrid(getMainFunction(*module), *config, recordName)))
    return failure();
  result.record = record;
  for (const QuantizableLayer &layer : findQuantizableLayers(getMainFunction(*result.fused),
                                                             nullptr))
    if (config->isQuantized(layer.name))
      result.quantized.push_back(layer);
  if (failed(convertToDeploy(std::move(module), result)))
    return failure();
  return result;
}

LogicalResult convertToDeploy(OwningOpRef<ModuleOp> module, QuantizeResult &result) {
  result.deploy = module->clone();
  if (failed(runFuncPass(*result.deploy, createAmctConvert())))
    return failure();
  result.fakeQuant = std::move(module);
  return success();
}

} // namespace amct
