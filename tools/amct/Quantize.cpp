//===- Quantize.cpp - amct quantize: the PTQ job, its summary and files ---===//

#include "AmctTool.h"

#include "amct/Pipelines/Prune.h"
#include "amct/Pipelines/Quantize.h"
#include "amct/Pipelines/Report.h"
#include "amct/Support/Npy.h"
#include "amct/Support/RecordFile.h"
#include "amct/Target/ONNX/SaveModels.h"
#include "amct/Target/ONNX/ImportONNX.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <chrono>

#if defined(__linux__) || defined(__APPLE__)
#include <sys/resource.h>
#endif

using namespace mlir;
using namespace amct;
using namespace amct::tool;

cl::SubCommand amct::tool::quantizeCmd("quantize",
                                  "Post-training quantization: fake-quant model, deploy model, "
                                  "record file");
static PluginOptions pluginOptions(quantizeCmd);
static cl::opt<std::string> qModel("model", cl::desc("ONNX model"), cl::Required,
                                   cl::value_desc("M.onnx"), cl::sub(quantizeCmd));
static cl::list<std::string> qCalibData("calib-data",
                                        cl::desc("calibration inputs NAME=FILE.npy "
                                                 "(samples along dim 0)"),
                                        cl::value_desc("NAME=FILE"), cl::sub(quantizeCmd));
static cl::opt<std::string> qConfig("config", cl::desc("AMCT JSON config or simple .cfg"),
                                    cl::value_desc("FILE"), cl::sub(quantizeCmd));
static cl::opt<std::string> qKvCacheConfig(
    "kv-cache-config",
    cl::desc("KV-cache config (kv_cache_quant_config { quant_layers calibration_config }): "
             "int8 K / V projection outputs, alone or with a language-model --config"),
    cl::value_desc("FILE"), cl::sub(quantizeCmd));
static cl::opt<int> qBatchNum("batch-num", cl::desc("calibration batches (default: config)"),
                              cl::init(0), cl::sub(quantizeCmd));
static cl::opt<int64_t> qBatchSize("batch-size", cl::desc("samples per batch"), cl::init(0),
                                   cl::sub(quantizeCmd));
static cl::opt<std::string> qSavePath("save-path", cl::desc("output prefix P: P_fake_quant_model.onnx, "
                                                            "P_record.txt"),
                                      cl::Required, cl::value_desc("P"), cl::sub(quantizeCmd));
static cl::opt<std::string> qRecordFile("record-file", cl::desc("record file (default P_record.txt)"),
                                        cl::value_desc("FILE"), cl::sub(quantizeCmd));
static cl::opt<std::string> qModifiedModel("modified-model",
                                           cl::desc("also save the fused model here"),
                                           cl::value_desc("F.onnx"), cl::sub(quantizeCmd));
static cl::opt<int> qThreads("threads", cl::desc("threads (default: all cores)"), cl::init(0),
                             cl::sub(quantizeCmd));
static cl::opt<int64_t> qCosineSamples(
    "cosine-samples",
    cl::desc("compare each layer's output, fp32 vs fake-quant, on this many samples of the "
             "first calibration batch (0: no comparison)"),
    cl::init(8), cl::sub(quantizeCmd));
static cl::opt<bool> qExternalData(
    "onnx-external-data",
    cl::desc("write the models' weights as ONNX external data (<model>.onnx.data; done anyway "
             "for a model over protobuf's 2 GiB)"),
    cl::sub(quantizeCmd));
static cl::opt<std::string> qReport(
    "report",
    cl::desc("write the per-layer sensitivity report here (HTML with inline SVG: layer cosine "
             "and SQNR, activation histograms with the clip range, weight ranges per channel)"),
    cl::value_desc("P_report.html"), cl::sub(quantizeCmd));
static cl::opt<std::string> qPruneConfig(
    "prune-config",
    cl::desc("prune first with this AMCT prune config (.cfg or JSON), refitted on the "
             "calibration data, then quantize the pruned model; writes P_pruned_model.onnx, and "
             "the record holds both"),
    cl::value_desc("FILE"), cl::sub(quantizeCmd));
static cl::opt<std::string> qPruneRecord(
    "prune-record", cl::desc("prune first by this record's prune_record entries (AMCT's restore)"),
    cl::value_desc("FILE"), cl::sub(quantizeCmd));
static cl::opt<bool> qNoReconstruct("no-reconstruct",
                                    cl::desc("with --prune-config/--prune-record: no "
                                             "least-squares refit of the pruned layers"),
                                    cl::sub(quantizeCmd));
static cl::opt<bool> qTimeReport("time-report",
                                 cl::desc("print the wall time of each step and the peak RSS "
                                          "on stderr"),
                                 cl::sub(quantizeCmd));


/// Peak resident set size of this process in bytes (0 if unknown).
static uint64_t peakRss() {
#if defined(__linux__) || defined(__APPLE__)
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0)
#if defined(__APPLE__)
    return usage.ru_maxrss;
#else
    return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
#endif
#endif
  return 0;
}

/// The quantize summary on stdout: one row per quantized layer, one per
/// skipped layer with the reason, the model outputs' cosine, the files.
static void printQuantizeSummary(const QuantizeResult &result, ArrayRef<std::string> files) {
  // Weight-only language-model layers: the method and the weight's
  // relative error instead of the activation factors.
  bool weightOnly = !result.layerMethod.empty();
  std::vector<std::vector<std::string>> rows{
      weightOnly ? std::vector<std::string>{"layer", "type", "method", "scale_w", "weight error",
                                            "cosine"}
                 : std::vector<std::string>{"layer", "type", "scale_d", "offset_d", "scale_w",
                                            "cosine"}};
  for (const QuantizableLayer &layer : result.quantized) {
    const LayerRecord *r = result.record.find(layer.name);
    std::string scaleD = r && r->scaleD ? formatG(*r->scaleD, 6) : "-";
    std::string offsetD = r && r->offsetD ? std::to_string(*r->offsetD) : "-";
    // Per-channel weight scales as their range.
    std::string scaleW = "-";
    if (r && !r->scaleW.empty()) {
      auto [lo, hi] = std::minmax_element(r->scaleW.begin(), r->scaleW.end());
      scaleW = r->scaleW.size() == 1 ? formatG(*lo, 6)
                                     : formatG(*lo, 4) + ".." + formatG(*hi, 4);
    }
    auto cos = result.layerCosine.find(layer.name);
    std::string cosine = cos == result.layerCosine.end()
                             ? "-"
                             : llvm::formatv("{0:F6}", cos->second).str();
    if (weightOnly) {
      auto method = result.layerMethod.find(layer.name);
      auto err = result.weightError.find(layer.name);
      rows.push_back({layer.name, layer.type,
                      method == result.layerMethod.end() ? "-" : method->second, scaleW,
                      err == result.weightError.end() ? "-"
                                                      : llvm::formatv("{0:F5}", err->second).str(),
                      cosine});
      continue;
    }
    rows.push_back({layer.name, layer.type, scaleD, offsetD, scaleW, cosine});
  }
  printTable(llvm::outs(), rows,
             weightOnly ? std::vector<bool>{false, false, false, true, true, true}
                        : std::vector<bool>{false, false, true, true, true, true});
  if (!result.skipped.empty()) {
    std::vector<std::vector<std::string>> skippedRows{{"skipped layer", "type", "reason"}};
    for (const SkippedLayer &s : result.skipped)
      skippedRows.push_back({s.name.empty() ? "(unnamed)" : s.name, s.type, s.reason});
    printTable(llvm::outs(), skippedRows, {});
  }
  if (!result.weightRounding.empty()) {
    llvm::outs() << "weight rounding (ADA, output error on the calibration data):\n";
    for (const QuantizableLayer &layer : result.quantized)
      if (auto it = result.weightRounding.find(layer.name); it != result.weightRounding.end())
        llvm::outs() << "  " << layer.name << ": " << it->second << "\n";
  }
  llvm::outs() << result.quantized.size()
               << (result.quantized.size() == 1 ? " layer" : " layers") << " quantized, "
               << result.skipped.size() << " skipped\n";
  if (result.cosineSamples > 0) {
    llvm::outs() << "cosine: the layer's output in the fp32 and in the fake-quant model, on "
                 << result.cosineSamples << " calibration samples\nmodel output cosine:";
    for (const auto &[name, value] : result.outputCosine)
      llvm::outs() << " " << name << " " << llvm::formatv("{0:F6}", value);
    llvm::outs() << "\n";
  }
  for (const std::string &line : files)
    llvm::outs() << line << "\n";
}

/// `--time-report`: each step's wall time and share, then the peak RSS.
static void printTimeReport(const std::vector<PhaseTime> &phases, double total) {
  std::vector<std::vector<std::string>> rows{{"step", "seconds", "share"}};
  double accounted = 0;
  for (const PhaseTime &p : phases) {
    rows.push_back({p.name, llvm::formatv("{0:F3}", p.seconds).str(),
                    llvm::formatv("{0:F1}%", 100 * p.seconds / std::max(total, 1e-9)).str()});
    accounted += p.seconds;
  }
  double other = std::max(0.0, total - accounted);
  rows.push_back({"other (startup, checks)", llvm::formatv("{0:F3}", other).str(),
                  llvm::formatv("{0:F1}%", 100 * other / std::max(total, 1e-9)).str()});
  rows.push_back({"total", llvm::formatv("{0:F3}", total).str(), "100.0%"});
  llvm::errs() << "amct quantize: time report (wall clock)\n";
  printTable(llvm::errs(), rows, {false, true, true});
  llvm::errs() << llvm::formatv("peak RSS  {0:F1} MB\n", peakRss() / 1048576.0);
}

int amct::tool::runQuantize() {
  auto begin = std::chrono::steady_clock::now();
  auto lapStart = begin;
  std::vector<PhaseTime> phases;
  auto lap = [&](StringRef name) {
    auto now = std::chrono::steady_clock::now();
    phases.push_back({name.str(), std::chrono::duration<double>(now - lapStart).count()});
    lapStart = now;
  };
  ToolSession session("amct quantize");
  if (!pluginOptions.load("amct quantize"))
    return kExitUserError;
  lapStart = std::chrono::steady_clock::now();
  OwningOpRef<ModuleOp> module = session.loadModel(qModel);
  if (!module)
    return kExitUserError;
  lap("import " + std::string(llvm::sys::path::filename(qModel)));

  for (auto [flag, value] : {std::pair<const char *, int64_t>{"batch-num", qBatchNum},
                             {"batch-size", qBatchSize},
                             {"threads", qThreads}})
    if (value < 0) {
      llvm::errs() << "amct quantize: error: --" << flag << " must be >= 1 (0 or absent: the "
                   << "default), got " << value << "\n";
      return kExitUsageError;
    }
  if (qCosineSamples < 0) {
    llvm::errs() << "amct quantize: error: --cosine-samples must be >= 0, got " << qCosineSamples
                 << "\n";
    return kExitUsageError;
  }
  QuantizeOptions options;
  options.configPath = qConfig;
  options.kvCacheConfigPath = qKvCacheConfig;
  options.batchNum = qBatchNum;
  options.batchSize = qBatchSize;
  options.threads = qThreads;
  options.cosineSamples = qCosineSamples;
  options.showProgress = true;
  if (qCalibData.empty()) {
    llvm::errs() << "amct quantize: error: give the calibration data with --calib-data NAME=FILE.npy\n";
    return kExitUsageError;
  }
  {
    std::string error;
    std::optional<std::map<std::string, rt::Tensor>> data = readCalibrationData(
        std::vector<std::string>(qCalibData.begin(), qCalibData.end()),
        getMainFunction(*module), error);
    if (!data) {
      llvm::errs() << "amct quantize: error: " << error << "\n";
      return kExitUserError;
    }
    options.calibData = std::move(*data);
  }
  lap("read calibration data");
  // Prune + quantize: the pruned model (refitted on the same calibration
  // data) is what gets quantized.
  std::optional<PruneJobResult> pruned;
  if (!qPruneConfig.empty() || !qPruneRecord.empty()) {
    if (!qPruneConfig.empty() && !qPruneRecord.empty()) {
      llvm::errs() << "amct quantize: error: give --prune-config or --prune-record, not both\n";
      return kExitUsageError;
    }
    PruneJobOptions prune;
    std::string error;
    if (!qPruneConfig.empty()) {
      std::optional<PruneSettings> settings = readPruneConfig(qPruneConfig, error);
      if (!settings) {
        llvm::errs() << "amct quantize: error: " << error << "\n";
        return kExitUserError;
      }
      prune.settings = std::move(*settings);
    } else {
      prune.record = readRecordFile(qPruneRecord, error);
      if (!prune.record) {
        llvm::errs() << "amct quantize: error: " << error << "\n";
        return kExitUserError;
      }
      prune.recordName = qPruneRecord;
    }
    prune.calibData = options.calibData;
    prune.batchNum = qBatchNum > 0 ? int(qBatchNum) : 1;
    prune.batchSize = qBatchSize;
    prune.reconstruct = !qNoReconstruct;
    prune.threads = qThreads;
    FailureOr<PruneJobResult> done = pruneModel(*module, prune);
    if (failed(done))
      return kExitUserError;
    pruned = std::move(*done);
    lap("prune");
  } else if (qNoReconstruct) {
    llvm::errs() << "amct quantize: error: --no-reconstruct goes with --prune-config or "
                    "--prune-record\n";
    return kExitUsageError;
  }
  auto result = quantizeModel(pruned ? *pruned->pruned : *module, options);
  if (failed(result))
    return kExitUserError;
  if (pruned)
    result->record.pruneRecords = pruned->record.pruneRecords;
  phases.insert(phases.end(), result->phases.begin(), result->phases.end());

  // The report, from the fp32 model on (up to 64 of) the calibration samples.
  std::string reportHtml;
  if (!qReport.empty()) {
    FailureOr<std::string> html =
        renderQuantizeReport(*result, reportSamples(*result, options.calibData), qThreads,
                             llvm::sys::path::filename(qModel));
    if (failed(html))
      return kExitUserError;
    reportHtml = std::move(*html);
    lap("report");
  }

  // Everything is computed; now the files, all written atomically.
  lapStart = std::chrono::steady_clock::now();
  SaveModelsOptions save;
  save.fakeQuantPath = fakeQuantModelPath(qSavePath);
  save.deployPath = deployModelPath(qSavePath);
  save.recordPath = qRecordFile.empty() ? qSavePath + "_record.txt" : std::string(qRecordFile);
  save.modifiedPath = qModifiedModel;
  save.externalData = qExternalData;
  std::string prunedPath = qSavePath + "_pruned_model.onnx";
  if (pruned)
    save.extraModels.push_back({*pruned->pruned, prunedPath});
  if (!qReport.empty())
    save.extraFiles.push_back({qReport, [&](llvm::raw_ostream &os) {
                                 os << reportHtml;
                                 return success();
                               }});
  std::string error;
  if (failed(saveQuantizeResult(*result, save, error))) {
    if (!error.empty())
      llvm::errs() << "amct quantize: error: " << error << "\n";
    return kExitUserError;
  }
  lap("export " + std::to_string(3 + !qModifiedModel.empty() + bool(pruned)) + " files");

  std::vector<std::string> files{"fake-quant model: " + save.fakeQuantPath,
                                 "deploy model: " + save.deployPath, "record: " + save.recordPath};
  if (!qModifiedModel.empty())
    files.push_back("fused model: " + qModifiedModel);
  if (pruned) {
    files.push_back("pruned model: " + prunedPath);
    for (const std::string &line : pruned->summary)
      llvm::outs() << "prune: " << line << "\n";
    for (const RefitOutcome &r : pruned->refits)
      llvm::outs() << llvm::formatv("prune: {0}: refit, output error {1:e3} -> {2:e3}\n", r.layer,
                                    r.errorBefore, r.errorAfter);
    llvm::outs() << llvm::formatv("prune: parameters {0} -> {1}, FLOPs {2:e3} -> {3:e3}\n",
                                  pruned->paramsBefore, pruned->paramsAfter, pruned->flopsBefore,
                                  pruned->flopsAfter);
  }
  if (!qReport.empty())
    files.push_back("report: " + qReport);
  printQuantizeSummary(*result, files);
  if (qTimeReport)
    printTimeReport(phases,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count());
  return 0;
}

