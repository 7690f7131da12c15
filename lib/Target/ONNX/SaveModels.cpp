//===- SaveModels.cpp - a quantize or convert job's files -----------------===//

#include "amct/Target/ONNX/SaveModels.h"

#include "amct/Support/RecordFile.h"
#include "amct/Target/ONNX/ExportONNX.h"

#include "amct/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace amct;

std::string amct::fakeQuantModelPath(StringRef savePath) {
  return savePath.str() + "_fake_quant_model.onnx";
}

std::string amct::deployModelPath(StringRef savePath) {
  return savePath.str() + "_deploy_model.onnx";
}

LogicalResult amct::saveQuantizeResult(const QuantizeResult &result,
                                       const SaveModelsOptions &options, std::string &error) {
  error.clear();
  std::vector<OutputFile> outputs;
  std::string recordText;
  if (!options.recordPath.empty()) {
    recordText = writeRecordFile(result.record);
    outputs.push_back({options.recordPath, [&](llvm::raw_ostream &os) {
                         os << recordText;
                         return success();
                       }});
  }
  std::vector<std::pair<ModuleOp, std::string>> models;
  for (auto [module, path] : {std::pair{result.fakeQuant.get(), &options.fakeQuantPath},
                              {result.deploy.get(), &options.deployPath},
                              {result.fused.get(), &options.modifiedPath}})
    if (!path->empty())
      models.push_back({module, *path});
  llvm::append_range(models, options.extraModels);
  FailureOr<std::vector<OutputFile>> modelFiles = onnxOutputFiles(models, options.externalData);
  if (failed(modelFiles))
    return failure();
  llvm::append_range(outputs, *modelFiles);
  llvm::append_range(outputs, options.extraFiles);
  // Everything is computed; the save path's folder (AMCT creates it), then
  // the files. A record or modified model named into a missing folder is
  // an error, as any output file of the tools is.
  for (const std::string *path : {&options.fakeQuantPath, &options.deployPath})
    if (StringRef dir = llvm::sys::path::parent_path(*path); !dir.empty())
      if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
        error = "cannot create " + dir.str() + ": " + ec.message();
        return failure();
      }
  return writeFilesAtomically(outputs, &error);
}

LogicalResult amct::saveAutoCalibrateResult(const AutoCalibrateResult &result, StringRef savePath,
                                            std::vector<OutputFile> extraFiles,
                                            std::vector<std::string> &files, std::string &error) {
  SaveModelsOptions save;
  save.extraFiles = std::move(extraFiles);
  save.fakeQuantPath = fakeQuantModelPath(savePath);
  save.deployPath = deployModelPath(savePath);
  save.recordPath = savePath.str() + "_record.txt";
  std::string configPath = savePath.str() + "_quant_config.json";
  std::string json = writeQuantConfigJson(result.config);
  save.extraFiles.push_back({configPath, [json](llvm::raw_ostream &os) {
                               os << json;
                               return success();
                             }});
  if (failed(saveQuantizeResult(result.quantized, save, error)))
    return failure();
  files = {configPath, save.fakeQuantPath, save.deployPath, save.recordPath};
  return success();
}

namespace {

/// One model and its text files under the model's folder (created), all
/// or nothing.
LogicalResult saveModelAndTexts(ModuleOp model, const std::string &modelPath,
                                std::vector<std::pair<std::string, std::string>> texts,
                                std::vector<OutputFile> extraFiles, bool externalData,
                                std::string &error) {
  FailureOr<std::vector<OutputFile>> outputs = onnxOutputFiles({{model, modelPath}}, externalData);
  if (failed(outputs))
    return failure();
  for (auto &[path, text] : texts)
    outputs->push_back({path, [text = std::move(text)](llvm::raw_ostream &os) {
                          os << text;
                          return success();
                        }});
  llvm::append_range(*outputs, extraFiles);
  if (StringRef dir = llvm::sys::path::parent_path(modelPath); !dir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
      error = "cannot create " + dir.str() + ": " + ec.message();
      return failure();
    }
  return writeFilesAtomically(*outputs, &error);
}

/// "parameters: A -> B (P%)" and "FLOPs: ..." of a structural change.
void appendCostLines(std::vector<std::string> &lines, int64_t paramsBefore, int64_t paramsAfter,
                     double flopsBefore, double flopsAfter) {
  auto percent = [](double after, double before) {
    return before > 0 ? 100.0 * after / before : 100.0;
  };
  lines.push_back(llvm::formatv("parameters: {0} -> {1} ({2:F1}%)", paramsBefore, paramsAfter,
                                percent(double(paramsAfter), double(paramsBefore)))
                      .str());
  lines.push_back(llvm::formatv("FLOPs: {0:e3} -> {1:e3} ({2:F1}%)", flopsBefore, flopsAfter,
                                percent(flopsAfter, flopsBefore))
                      .str());
}

} // namespace

LogicalResult amct::savePruneResult(const PruneJobResult &result, StringRef savePath,
                                    bool externalData, std::vector<OutputFile> extraFiles,
                                    std::vector<std::string> &files, std::string &error) {
  error.clear();
  std::string modelPath = savePath.str() + "_pruned_model.onnx";
  std::string recordPath = savePath.str() + "_prune_record.txt";
  if (failed(saveModelAndTexts(*result.pruned, modelPath,
                               {{recordPath, writeRecordFile(result.record)}},
                               std::move(extraFiles), externalData, error)))
    return failure();
  files = {modelPath, recordPath};
  return success();
}

LogicalResult amct::runPruneAndSave(ModuleOp model, PruneJobOptions options,
                                    const std::optional<AutoPruneOptions> &search,
                                    StringRef savePath, bool externalData,
                                    std::vector<std::string> &lines,
                                    std::vector<std::string> &files, std::string &error) {
  error.clear();
  std::vector<OutputFile> extraFiles;
  std::string configPath = savePath.str() + "_prune_config.cfg";
  if (search) {
    FailureOr<AutoPruneResult> found = searchChannelPrune(model, *search);
    if (failed(found))
      return failure();
    for (const std::string &line : found->table)
      lines.push_back("search: " + line);
    options.settings = found->settings;
    std::string text = writePruneConfig(found->settings);
    extraFiles.push_back({configPath, [text](llvm::raw_ostream &os) {
                            os << text;
                            return success();
                          }});
  }
  FailureOr<PruneJobResult> result = pruneModel(model, options);
  if (failed(result))
    return failure();
  if (failed(savePruneResult(*result, savePath, externalData, extraFiles, files, error)))
    return failure();
  llvm::append_range(lines, result->summary);
  for (const RefitOutcome &r : result->refits) {
    double change = r.errorBefore > 0 ? 100.0 * (r.errorAfter - r.errorBefore) / r.errorBefore : 0;
    lines.push_back(llvm::formatv("{0}: refit, output error {1:e3} -> {2:e3} ({3:+F1}%)",
                                  r.layer, r.errorBefore, r.errorAfter, change)
                        .str());
  }
  appendCostLines(lines, result->paramsBefore, result->paramsAfter, result->flopsBefore,
                  result->flopsAfter);
  lines.push_back("pruned model: " + files[0]);
  lines.push_back("prune record: " + files[1]);
  if (search) {
    files.push_back(configPath);
    lines.push_back("prune config: " + configPath);
  }
  return success();
}

LogicalResult amct::runDecomposeAndSave(ModuleOp model, const DecomposeSettings &settings,
                                        const std::vector<DecomposedLayer> *info,
                                        StringRef savePath, bool externalData,
                                        std::vector<std::string> &lines,
                                        std::vector<std::string> &files, std::string &error) {
  error.clear();
  OwningOpRef<ModuleOp> module(model.clone());
  PassManager pm(module->getContext());
  pm.addNestedPass<func::FuncOp>(createAmctFoldConstants());
  if (failed(pm.run(*module)))
    return failure();
  func::FuncOp main = getMainFunction(*module);
  if (!main)
    return emitError(module->getLoc()) << "the model has no function";
  int64_t paramsBefore, paramsAfter;
  double flopsBefore, flopsAfter;
  countModelCost(*module, paramsBefore, flopsBefore);
  std::vector<KeptLayer> kept;
  FailureOr<std::vector<DecomposedLayer>> done = decomposeLayers(main, settings, info, &kept);
  if (failed(done))
    return failure();
  countModelCost(*module, paramsAfter, flopsAfter);
  if (failed(saveDecomposeResult(*module, writeDecomposeInfo(*done), savePath, externalData, files,
                                 error)))
    return failure();
  for (const DecomposedLayer &d : *done) {
    std::string ranks;
    for (int64_t r : d.ranks)
      ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    lines.push_back(llvm::formatv("{0} ({1}): {2} at rank {3}; multiply-adds per position "
                                  "{4:F0} -> {5:F0}",
                                  d.name, d.type, d.method, ranks, d.costBefore, d.costAfter)
                        .str());
  }
  for (const KeptLayer &k : kept)
    lines.push_back(k.name + ": not decomposed: " + k.reason);
  lines.push_back(llvm::formatv("{0} layer{1} decomposed", done->size(),
                                done->size() == 1 ? "" : "s")
                      .str());
  appendCostLines(lines, paramsBefore, paramsAfter, flopsBefore, flopsAfter);
  lines.push_back("decomposed model: " + files[0]);
  lines.push_back("decompose info: " + files[1]);
  return success();
}

LogicalResult amct::saveDecomposeResult(ModuleOp model, const std::string &infoJson,
                                        StringRef savePath, bool externalData,
                                        std::vector<std::string> &files, std::string &error) {
  error.clear();
  std::string modelPath = savePath.str() + "_decomposed_model.onnx";
  std::string infoPath = savePath.str() + "_decompose_info.json";
  if (failed(saveModelAndTexts(model, modelPath, {{infoPath, infoJson}}, {}, externalData, error)))
    return failure();
  files = {modelPath, infoPath};
  return success();
}

std::string amct::describeAutoCalibrateResult(const AutoCalibrateResult &result,
                                              AutoMetric metric) {
  return llvm::formatv("{0} {1:F6} (fp32 {2:F6}, target {3:F6}); repairs kept: {4}; layers in "
                       "float: {5}",
                       autoMetricName(metric), result.metric, result.fp32Metric, result.target,
                       result.repairsKept.empty() ? std::string("none")
                                                  : llvm::join(result.repairsKept, ", "),
                       result.floatLayers.empty() ? std::string("none")
                                                  : llvm::join(result.floatLayers, ", "))
      .str();
}

FailureOr<double> amct::scoreAsONNXFile(ModuleOp module,
                                        llvm::function_ref<FailureOr<double>(StringRef)> score) {
  SmallString<128> path;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("amct_eval", "onnx", path))
    return module.emitError() << "cannot create a temporary model file: " << ec.message();
  FailureOr<double> value = failure();
  if (succeeded(exportONNXFile(module, path)))
    value = score(path);
  llvm::sys::fs::remove(path);
  return value;
}
