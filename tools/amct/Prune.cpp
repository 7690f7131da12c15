//===- Prune.cpp - amct prune: channel pruning and 2:4 sparsity ----------===//
//
// AMCT's create_prune_retrain_model / restore_prune_retrain_model for an
// ONNX model, usable without retraining: the pruned model (refitted by
// least squares on calibration data when given) and the prune record.
//
//===----------------------------------------------------------------------===//

#include "AmctTool.h"

#include "amct/Pipelines/Prune.h"
#include "amct/Pipelines/Quantize.h"
#include "amct/Target/ONNX/SaveModels.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace amct;
using namespace amct::tool;

cl::SubCommand amct::tool::pruneCmd("prune",
                                    "Channel pruning or 2:4 sparsity: the pruned model and the "
                                    "prune record");
static cl::opt<std::string> pModel("model", cl::desc("ONNX model (fp32)"), cl::Required,
                                   cl::value_desc("M.onnx"), cl::sub(pruneCmd));
static cl::opt<std::string> pSavePath("save-path",
                                      cl::desc("output prefix P: P_pruned_model.onnx, "
                                               "P_prune_record.txt"),
                                      cl::Required, cl::value_desc("P"), cl::sub(pruneCmd));
static cl::opt<std::string> pMethod("method",
                                    cl::desc("channel (balanced L2 norm filter pruning, with "
                                             "--ratio) or 2:4 (keep 2 of every 4 input-channel "
                                             "weights)"),
                                    cl::value_desc("channel|2:4"), cl::sub(pruneCmd));
static cl::opt<double> pRatio("ratio", cl::desc("channel: share of each group's channels to "
                                                "remove, in (0, 1)"),
                              cl::init(-1), cl::sub(pruneCmd));
static cl::opt<int64_t> pAlign("align",
                               cl::desc("channel: round each kept count up to a multiple of this "
                                        "(AMCT's ascend_optimized: 16; 1: the exact ratio)"),
                               cl::init(16), cl::sub(pruneCmd));
static cl::list<std::string> pSkipLayers("skip-layers", cl::desc("layers not to prune"),
                                         cl::CommaSeparated, cl::value_desc("NAME,..."),
                                         cl::sub(pruneCmd));
static cl::opt<std::string> pConfig("config",
                                    cl::desc("AMCT prune config (.cfg or JSON): pruner, skip "
                                             "lists, per-type and per-layer overrides"),
                                    cl::value_desc("FILE"), cl::sub(pruneCmd));
static cl::opt<std::string> pRecord("record",
                                    cl::desc("re-apply this prune record (AMCT's restore)"),
                                    cl::value_desc("FILE"), cl::sub(pruneCmd));
static cl::opt<bool> pAuto("auto",
                           cl::desc("AMCT's auto_channel_prune_search: per-layer ratios found "
                                    "from measured sensitivities (needs --calib-data and "
                                    "--compress-ratio); also writes P_prune_config.cfg"),
                           cl::sub(pruneCmd));
static cl::opt<double> pCompressRatio("compress-ratio",
                                      cl::desc("--auto: share of the model's FLOPs to remove, "
                                               "in (0, 1)"),
                                      cl::init(0), cl::sub(pruneCmd));
static cl::opt<double> pMaxPruneRatio("max-prune-ratio",
                                      cl::desc("--auto: at most this share of a layer's "
                                               "channels, in (0, 1] (default 1)"),
                                      cl::init(1.0), cl::sub(pruneCmd));
static cl::list<std::string> pCalibData("calib-data",
                                        cl::desc("calibration inputs NAME=FILE.npy for the "
                                                 "least-squares refit of the pruned layers"),
                                        cl::value_desc("NAME=FILE"), cl::sub(pruneCmd));
static cl::opt<int> pBatchNum("batch-num", cl::desc("calibration batches"), cl::init(1),
                              cl::sub(pruneCmd));
static cl::opt<int64_t> pBatchSize("batch-size", cl::desc("samples per batch (0: all)"),
                                   cl::init(0), cl::sub(pruneCmd));
static cl::opt<bool> pNoReconstruct("no-reconstruct",
                                    cl::desc("no least-squares refit, even with calibration data"),
                                    cl::sub(pruneCmd));
static cl::opt<int> pThreads("threads", cl::desc("threads (default: all cores)"), cl::init(0),
                             cl::sub(pruneCmd));
static cl::opt<bool> pExternalData("onnx-external-data",
                                   cl::desc("write the weights as ONNX external data"),
                                   cl::sub(pruneCmd));

int amct::tool::runPrune() {
  const char *tool = "amct prune";
  int sources = int(!pMethod.empty()) + int(!pConfig.empty()) + int(!pRecord.empty()) +
                int(pAuto);
  if (sources != 1) {
    llvm::errs() << tool << ": error: give one of --method, --config, --record, --auto\n";
    return kExitUsageError;
  }
  if (pAuto) {
    if (!(pCompressRatio > 0 && pCompressRatio < 1)) {
      llvm::errs() << tool << ": error: --auto needs --compress-ratio R, R in (0, 1)\n";
      return kExitUsageError;
    }
    if (!(pMaxPruneRatio > 0 && pMaxPruneRatio <= 1)) {
      llvm::errs() << tool << ": error: --max-prune-ratio " << formatG(pMaxPruneRatio, 6)
                   << " is outside (0, 1]\n";
      return kExitUsageError;
    }
    if (pCalibData.empty()) {
      llvm::errs() << tool << ": error: --auto measures sensitivities on --calib-data\n";
      return kExitUsageError;
    }
    if (pAlign.getNumOccurrences() && pAlign != 1 && pAlign != 16) {
      llvm::errs() << tool << ": error: --auto takes --align 16 (ascend_optimized) or 1\n";
      return kExitUsageError;
    }
  } else if (pCompressRatio.getNumOccurrences() || pMaxPruneRatio.getNumOccurrences()) {
    llvm::errs() << tool << ": error: --compress-ratio and --max-prune-ratio go with --auto\n";
    return kExitUsageError;
  }
  PruneJobOptions options;
  if (!pMethod.empty()) {
    if (pMethod == "2:4") {
      options.settings.method = PruneSettings::Method::Selective;
      if (pRatio.getNumOccurrences()) {
        llvm::errs() << tool << ": error: --ratio is for --method channel; 2:4 removes half of "
                                "every 4 weights\n";
        return kExitUsageError;
      }
    } else if (pMethod == "channel") {
      if (!pRatio.getNumOccurrences()) {
        llvm::errs() << tool << ": error: --method channel needs --ratio R, R in (0, 1)\n";
        return kExitUsageError;
      }
      if (!(pRatio > 0.0 && pRatio < 1.0)) {
        llvm::errs() << tool << ": error: --ratio " << formatG(pRatio, 6) << " is outside (0, 1)\n";
        return kExitUsageError;
      }
      if (pAlign < 1) {
        llvm::errs() << tool << ": error: --align must be at least 1, got " << pAlign << "\n";
        return kExitUsageError;
      }
      options.settings.ratio = pRatio;
      options.settings.align = pAlign;
    } else {
      llvm::errs() << tool << ": error: unknown --method '" << pMethod
                   << "' (expected channel or 2:4)\n";
      return kExitUsageError;
    }
    options.settings.skipLayers.assign(pSkipLayers.begin(), pSkipLayers.end());
  } else if (pRatio.getNumOccurrences() || (pAlign.getNumOccurrences() && !pAuto) ||
             pSkipLayers.getNumOccurrences()) {
    llvm::errs() << tool << ": error: --ratio, --align and --skip-layers go with --method; "
                            "a config or record says them itself\n";
    return kExitUsageError;
  }
  if (pBatchNum < 1 || pBatchSize < 0 || pThreads < 0) {
    llvm::errs() << tool << ": error: --batch-num must be >= 1, --batch-size and --threads "
                            ">= 0\n";
    return kExitUsageError;
  }
  std::string error;
  if (!pConfig.empty()) {
    std::optional<PruneSettings> settings = readPruneConfig(pConfig, error);
    if (!settings) {
      llvm::errs() << tool << ": error: " << error << "\n";
      return kExitUserError;
    }
    options.settings = std::move(*settings);
  }
  if (!pRecord.empty()) {
    options.record = readRecordFile(pRecord, error);
    if (!options.record) {
      llvm::errs() << tool << ": error: " << error << "\n";
      return kExitUserError;
    }
    options.recordName = pRecord;
  }

  ToolSession session(tool);
  OwningOpRef<ModuleOp> module = session.loadModel(pModel);
  if (!module)
    return kExitUserError;
  if (!pCalibData.empty()) {
    std::optional<std::map<std::string, rt::Tensor>> data = readCalibrationData(
        std::vector<std::string>(pCalibData.begin(), pCalibData.end()), getMainFunction(*module),
        error);
    if (!data) {
      llvm::errs() << tool << ": error: " << error << "\n";
      return kExitUserError;
    }
    options.calibData = std::move(*data);
  }
  options.batchNum = pBatchNum;
  options.batchSize = pBatchSize;
  options.reconstruct = !pNoReconstruct;
  options.threads = pThreads;
  std::optional<AutoPruneOptions> search;
  if (pAuto) {
    search.emplace();
    search->compressRatio = pCompressRatio;
    search->maxPruneRatio = pMaxPruneRatio;
    search->ascendOptimized = !pAlign.getNumOccurrences() || pAlign == 16;
    search->calibData = options.calibData;
    search->threads = pThreads;
  }
  std::vector<std::string> lines, files;
  if (failed(runPruneAndSave(*module, std::move(options), search, pSavePath, pExternalData, lines,
                             files, error))) {
    if (!error.empty())
      llvm::errs() << tool << ": error: " << error << "\n";
    return kExitUserError;
  }
  for (const std::string &line : lines)
    llvm::outs() << line << "\n";
  return 0;
}
