//===- Quantize.cpp - the whole PTQ job as one library call ---------------===//

#include "amct/Pipelines/Quantize.h"
#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Pipelines/Calibration.h"
#include "amct/Runtime/Executor.h"
#include "amct/Support/QuantConfig.h"
#include "amct/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;

namespace amct {

namespace {

func::FuncOp getMain(ModuleOp module) {
  func::FuncOp main;
  for (auto f : module.getOps<func::FuncOp>())
    if (f.getSymName() == "main" || !main)
      main = f;
  return main;
}

LogicalResult runFuncPass(ModuleOp module, std::unique_ptr<Pass> pass) {
  PassManager pm(module.getContext());
  pm.addNestedPass<func::FuncOp>(std::move(pass));
  return pm.run(module);
}

/// Batch `b` of `batchSize` samples of every input, as views.
std::vector<rt::Tensor> sliceBatch(const std::vector<rt::Tensor> &inputs, int64_t b,
                                   int64_t batchSize) {
  std::vector<rt::Tensor> out;
  for (const rt::Tensor &t : inputs) {
    rt::Shape shape = t.shape();
    int64_t row = t.numElements() / std::max<int64_t>(1, shape[0]);
    shape[0] = batchSize;
    auto owner = std::make_shared<rt::Tensor>(t);
    out.push_back(rt::Tensor::view(
        t.dtype(), shape, std::shared_ptr<const void>(owner, owner->raw()),
        t.data<char>() + b * batchSize * row * rt::dtypeSize(t.dtype())));
  }
  return out;
}

/// Cosine similarity of two equally long float buffers.
double cosine(const rt::Tensor &a, const rt::Tensor &b) {
  double dot = 0, na = 0, nb = 0;
  const float *pa = a.data<float>(), *pb = b.data<float>();
  for (int64_t i = 0, n = std::min(a.numElements(), b.numElements()); i < n; ++i) {
    dot += (double)pa[i] * pb[i];
    na += (double)pa[i] * pa[i];
    nb += (double)pb[i] * pb[i];
  }
  if (na == 0 && nb == 0)
    return 1.0;
  return dot / std::sqrt(na * nb + 1e-300);
}

/// Outputs of the named layers on `inputs`: the function is cloned with the
/// layer results appended to its returns.
FailureOr<std::map<std::string, rt::Tensor>>
layerOutputs(ModuleOp module, const std::vector<std::string> &names,
             const std::vector<rt::Tensor> &inputs, int threads) {
  OwningOpRef<ModuleOp> copy = module.clone();
  func::FuncOp main = getMain(*copy);
  auto ret = cast<func::ReturnOp>(main.getBody().front().getTerminator());
  SmallVector<Value> results(ret.getOperands());
  std::vector<std::string> found;
  main.walk([&](Operation *op) {
    if (op->getNumResults() == 1 && llvm::is_contained(names, getNodeName(op).str()) &&
        !isa<ConstOp, FakeQuantOp, ObserverOp>(op)) {
      results.push_back(op->getResult(0));
      found.push_back(getNodeName(op).str());
    }
  });
  ret->setOperands(results);
  main.setType(FunctionType::get(main.getContext(), main.getArgumentTypes(),
                                 ValueRange(results).getTypes()));
  rt::ExecutorOptions options;
  options.threads = threads;
  auto exec = rt::Executor::create(main, options);
  if (failed(exec))
    return failure();
  auto outs = (*exec)->run(inputs);
  if (failed(outs))
    return failure();
  std::map<std::string, rt::Tensor> byName;
  size_t base = outs->size() - found.size();
  for (size_t i = 0; i < found.size(); ++i)
    byName[found[i]] = (*outs)[base + i];
  return byName;
}

} // namespace

FailureOr<QuantizeResult> quantizeModel(ModuleOp model, const QuantizeOptions &options) {
  QuantizeResult result;
  OwningOpRef<ModuleOp> module = model.clone();
  func::FuncOp main = getMain(*module);
  if (!main)
    return model.emitError("the model has no function to quantize");

  if (failed(runFuncPass(*module, createAmctFoldConstants())))
    return failure();
  main = getMain(*module);
  std::vector<QuantizableLayer> layers = findQuantizableLayers(main, nullptr);
  std::string error;
  std::optional<QuantConfig> config = loadQuantConfig(options.configPath, layers, error);
  if (!config)
    return main.emitError() << error;

  if (llvm::none_of(layers, [&](const QuantizableLayer &l) { return config->isQuantized(l.name); }))
    return main.emitError() << (options.configPath.empty() ? std::string("the model")
                                                           : options.configPath)
                            << ": no layer is left to quantize (" << layers.size()
                            << " quantizable layers, all disabled or absent from the config)";
  if (config->doFusion) {
    AmctFuseOptions fuseOptions;
    fuseOptions.skipLayers = config->skipFusionLayers;
    if (failed(runFuncPass(*module, createAmctFuse(fuseOptions))))
      return failure();
  }
  result.fused = module->clone();

  // Calibration batches: batch_num batches of batch_size samples.
  main = getMain(*module);
  rt::ExecutorOptions probe;
  std::vector<std::string> inputNames;
  for (unsigned i = 0; i < main.getNumArguments(); ++i) {
    auto name = main.getArgAttrOfType<StringAttr>(i, "amct.name");
    inputNames.push_back(name ? name.str() : "input" + std::to_string(i));
  }
  std::vector<rt::Tensor> inputs;
  for (const std::string &name : inputNames) {
    auto it = options.calibData.find(name);
    if (it == options.calibData.end())
      return main.emitError() << "no calibration data for graph input '" << name << "'";
    if (it->second.rank() == 0)
      return main.emitError() << "calibration data for '" << name
                              << "' is a scalar; samples go along dim 0";
    inputs.push_back(it->second);
  }
  for (const auto &[name, t] : options.calibData)
    if (!llvm::is_contained(inputNames, name))
      return main.emitError() << "calibration data names '" << name
                              << "', which is not a graph input (inputs: "
                              << llvm::join(inputNames, ", ") << ")";
  int64_t samples = inputs.empty() ? 0 : inputs[0].dim(0);
  for (auto [name, t] : llvm::zip(inputNames, inputs))
    if (t.dim(0) != samples)
      return main.emitError() << "calibration inputs differ in sample count: '" << name
                              << "' has " << t.dim(0) << ", expected " << samples;
  int batchNum = options.batchNum > 0 ? options.batchNum : config->batchNum;
  if (samples == 0)
    return main.emitError("the calibration set is empty");
  int64_t batchSize = options.batchSize > 0 ? options.batchSize : samples / batchNum;
  if (batchSize < 1 || batchSize * batchNum > samples)
    return main.emitError() << "batch_num " << batchNum << " x batch size "
                            << std::max<int64_t>(batchSize, 1) << " needs "
                            << batchNum * std::max<int64_t>(batchSize, 1)
                            << " calibration samples, the data has " << samples;
  std::vector<std::vector<rt::Tensor>> batches;
  for (int b = 0; b < batchNum; ++b)
    batches.push_back(sliceBatch(inputs, b, batchSize));

  // Observers, calibration, record.
  AmctInsertCalibrationOptions insertOptions;
  insertOptions.configPath = options.configPath;
  if (failed(runFuncPass(*module, createAmctInsertCalibration(insertOptions))))
    return failure();
  CalibrationOptions calibOptions;
  calibOptions.threads = options.threads;
  calibOptions.progress = options.progress;
  if (failed(calibrate(getMain(*module), batches, calibOptions, result.record)))
    return failure();

  // Fold: the record goes through a file, exactly as --amct-fold-observers reads it.
  SmallString<128> recordPath;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("amct-record", "txt", fd, recordPath))
    return main.emitError("cannot create a temporary record file");
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << writeRecordFile(result.record);
  }
  AmctFoldObserversOptions foldOptions;
  foldOptions.recordPath = recordPath.str().str();
  LogicalResult folded = runFuncPass(*module, createAmctFoldObservers(foldOptions));
  llvm::sys::fs::remove(recordPath);
  if (failed(folded))
    return failure();

  // What was quantized and what was not, and how close each layer stayed.
  std::vector<SkippedLayer> skipped;
  std::vector<QuantizableLayer> all = findQuantizableLayers(getMain(*result.fused), &skipped);
  std::vector<std::string> names;
  for (const QuantizableLayer &layer : all) {
    if (config->isQuantized(layer.name)) {
      result.quantized.push_back(layer);
      names.push_back(layer.name);
    } else {
      skipped.push_back({layer.op, layer.name, "disabled by the config (quant_enable false or skip_layers)"});
    }
  }
  result.skipped = std::move(skipped);
  auto fp32 = layerOutputs(*result.fused, names, batches[0], options.threads);
  auto fq = layerOutputs(*module, names, batches[0], options.threads);
  if (failed(fp32) || failed(fq))
    return failure();
  for (const std::string &name : names)
    if (fp32->count(name) && fq->count(name))
      result.layerCosine[name] = cosine(fp32->at(name), fq->at(name));
  result.deploy = module->clone();
  if (failed(runFuncPass(*result.deploy, createAmctConvert())))
    return failure();
  result.fakeQuant = std::move(module);
  return result;
}

} // namespace amct
