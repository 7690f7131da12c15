//===- AutoCalibrate.cpp - amct auto-calibrate ----------------------------===//
//
// AMCT's accuracy_based_auto_calibration as a command: the search of
// amct/Pipelines/AutoCalibrate.h, the evaluator as a shell command when
// the metric is a user's score, and the files: P_quant_config.json, the
// models, the record and P_auto_calibration.log (every trial).
//
//===----------------------------------------------------------------------===//

#include "AmctTool.h"

#include "amct/Pipelines/AutoCalibrate.h"
#include "amct/Pipelines/Report.h"
#include "amct/Support/Npy.h"
#include "amct/Target/ONNX/ExportONNX.h"
#include "amct/Target/ONNX/SaveModels.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <cstdio>
#include <sys/wait.h>

using namespace mlir;
using namespace amct;
using namespace amct::tool;

cl::SubCommand amct::tool::autoCalibrateCmd(
    "auto-calibrate",
    "Accuracy-based auto calibration: find a config that meets an accuracy target, keeping "
    "the fewest sensitive layers in float");
static cl::opt<std::string> acModel("model", cl::desc("ONNX model"), cl::Required,
                                    cl::value_desc("M.onnx"), cl::sub(autoCalibrateCmd));
static cl::opt<std::string> acConfig("config", cl::desc("starting config (default: AMCT's)"),
                                     cl::value_desc("FILE"), cl::sub(autoCalibrateCmd));
static cl::list<std::string> acCalibData("calib-data", cl::desc("calibration inputs NAME=FILE.npy"),
                                         cl::value_desc("NAME=FILE"), cl::sub(autoCalibrateCmd));
static cl::list<std::string> acEvalData("eval-data", cl::desc("evaluation inputs NAME=FILE.npy"),
                                        cl::value_desc("NAME=FILE"), cl::sub(autoCalibrateCmd));
static cl::opt<std::string> acLabels("labels", cl::desc("labels of the evaluation samples (accuracy)"),
                                     cl::value_desc("y.npy"), cl::sub(autoCalibrateCmd));
static cl::opt<std::string> acReference(
    "reference-model",
    cl::desc("model whose output is the reference for agreement / cosine (default: the model)"),
    cl::value_desc("R.onnx"), cl::sub(autoCalibrateCmd));
static cl::opt<std::string> acEvaluator(
    "evaluator",
    cl::desc("shell command printing a model's score; {model} is replaced by its path"),
    cl::value_desc("CMD"), cl::sub(autoCalibrateCmd));
static cl::opt<std::string> acTarget("target", cl::desc("METRIC>=VALUE (accuracy, agreement, "
                                                        "cosine, score)"),
                                     cl::value_desc("M>=V"), cl::sub(autoCalibrateCmd));
static cl::opt<std::string> acMaxDrop(
    "max-drop", cl::desc("largest drop of the metric from the fp32 model's, [METRIC=]D"),
    cl::value_desc("[M=]D"), cl::sub(autoCalibrateCmd));
static cl::list<std::string> acRepairs(
    "repairs", cl::desc("repairs tried before layers go float, in order (default: "
                        "channel,hfmg,dmq,ada; none: no repair)"),
    cl::CommaSeparated, cl::sub(autoCalibrateCmd));
static cl::opt<std::string> acSavePath("save-path", cl::desc("output prefix P"), cl::Required,
                                       cl::value_desc("P"), cl::sub(autoCalibrateCmd));
static cl::opt<std::string> acReport(
    "report", cl::desc("also write the sensitivity report of the final config (HTML)"),
    cl::value_desc("P_report.html"), cl::sub(autoCalibrateCmd));
static cl::opt<int> acBatchNum("batch-num", cl::desc("calibration batches"), cl::init(0),
                               cl::sub(autoCalibrateCmd));
static cl::opt<int64_t> acBatchSize("batch-size", cl::desc("samples per calibration batch"),
                                    cl::init(0), cl::sub(autoCalibrateCmd));
static cl::opt<int> acThreads("threads", cl::desc("threads"), cl::init(0),
                              cl::sub(autoCalibrateCmd));

static const char *kTool = "amct auto-calibrate";

/// Runs the evaluator command on `module` (as a temporary ONNX file) and
/// reads the last number it prints.
static FailureOr<double> runEvaluator(ModuleOp module) {
  return scoreAsONNXFile(module, [&](StringRef path) -> FailureOr<double> {
    std::string command = acEvaluator;
    for (size_t at; (at = command.find("{model}")) != std::string::npos;)
      command.replace(at, 7, std::string(path));
    FILE *pipe = popen(command.c_str(), "r");
    if (!pipe)
      return module.emitError() << "--evaluator: cannot run '" << acEvaluator << "'";
    std::string output;
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof(buffer), pipe))
      output.append(buffer, n);
    int status = pclose(pipe);
    if (status != 0)
      return module.emitError() << "--evaluator '" << acEvaluator << "' failed (exit status "
                                << (WIFEXITED(status) ? WEXITSTATUS(status) : status) << ")";
    std::optional<double> value = lastNumberIn(output);
    if (!value)
      return module.emitError() << "--evaluator '" << acEvaluator
                                << "' printed no number (its output: '"
                                << StringRef(output).trim().take_front(200) << "')";
    return *value;
  });
}

int amct::tool::runAutoCalibrate() {
  ToolSession session(kTool);
  auto usage = [](const std::string &message) {
    llvm::errs() << kTool << ": error: " << message << "\n";
    return kExitUsageError;
  };
  AutoCalibrateOptions options;
  // The target and the metric.
  std::string error;
  std::optional<AutoTarget> parsed = parseAutoTarget(acTarget, acMaxDrop, error);
  if (!parsed)
    return usage(error);
  std::optional<AutoMetric> metric = parsed->metric;
  options.target = parsed->target;
  options.maxDrop = parsed->maxDrop;
  if (!metric)
    metric = !acLabels.empty()      ? AutoMetric::Accuracy
             : !acEvaluator.empty() ? AutoMetric::Score
                                    : AutoMetric::Cosine;
  options.metric = *metric;
  if (*metric == AutoMetric::Accuracy && acLabels.empty())
    return usage("the accuracy metric needs --labels y.npy");
  if (*metric == AutoMetric::Score && acEvaluator.empty())
    return usage("the score metric needs --evaluator \"CMD {model}\"");
  if (*metric != AutoMetric::Score && acEvalData.empty())
    return usage("give the evaluation data with --eval-data NAME=FILE.npy");
  if (acCalibData.empty())
    return usage("give the calibration data with --calib-data NAME=FILE.npy");
  for (auto [flag, value] : {std::pair<const char *, int64_t>{"batch-num", acBatchNum},
                             {"batch-size", acBatchSize},
                             {"threads", acThreads}})
    if (value < 0)
      return usage(std::string("--") + flag + " must be >= 1 (0 or absent: the default)");
  if (!acRepairs.empty() && !(acRepairs.size() == 1 && acRepairs[0] == "none"))
    options.repairs.assign(acRepairs.begin(), acRepairs.end());
  else if (!acRepairs.empty())
    options.repairs.clear();

  OwningOpRef<ModuleOp> module = session.loadModel(acModel);
  if (!module)
    return kExitUserError;
  OwningOpRef<ModuleOp> reference;
  if (!acReference.empty()) {
    reference = session.loadModel(acReference);
    if (!reference)
      return kExitUserError;
    options.referenceModel = *reference;
  }
  func::FuncOp main = getMainFunction(*module);
  for (auto [list, target, what] :
       {std::tuple{&acCalibData, &options.quantize.calibData, "--calib-data"},
        {&acEvalData, &options.evalData, "--eval-data"}}) {
    std::optional<std::map<std::string, rt::Tensor>> data = readCalibrationData(
        std::vector<std::string>(list->begin(), list->end()), main, error);
    if (!data) {
      llvm::errs() << kTool << ": error: " << what << ": " << error << "\n";
      return kExitUserError;
    }
    std::vector<std::string> inputs;
    for (unsigned i = 0; i < main.getNumArguments(); ++i)
      inputs.push_back(getGraphInputName(main, i));
    for (const auto &entry : *data)
      if (!llvm::is_contained(inputs, entry.first)) {
        llvm::errs() << kTool << ": error: " << what << " names '" << entry.first
                     << "', which is not an input of " << acModel
                     << " (inputs: " << llvm::join(inputs, ", ") << ")\n";
        return kExitUserError;
      }
    *target = std::move(*data);
  }
  if (!acLabels.empty()) {
    options.labels = readNpy(acLabels, error);
    if (!options.labels) {
      llvm::errs() << kTool << ": error: --labels: " << error << "\n";
      return kExitUserError;
    }
  }
  if (*metric == AutoMetric::Score)
    options.score = runEvaluator;
  options.quantize.configPath = acConfig;
  options.quantize.batchNum = acBatchNum;
  options.quantize.batchSize = acBatchSize;
  options.quantize.threads = acThreads;
  options.quantize.cosineSamples = 32;
  std::string log;
  options.onTrial = [&](const std::string &line) {
    llvm::outs() << line << "\n";
    llvm::outs().flush();
    log += line + "\n";
  };

  std::string logPath = acSavePath + "_auto_calibration.log";
  auto writeLog = [&](const std::string &last) {
    std::string text = log + last + "\n", writeError;
    if (StringRef dir = llvm::sys::path::parent_path(logPath); !dir.empty())
      (void)llvm::sys::fs::create_directories(dir);
    if (failed(writeFileAtomically(logPath, [&](llvm::raw_ostream &os) {
          os << text;
          return success();
        }, &writeError)))
      llvm::errs() << kTool << ": error: " << writeError << "\n";
  };
  FailureOr<AutoCalibrateResult> result = autoCalibrate(*module, options);
  if (failed(result)) {
    // The log of a search that ran and missed the target; a bad input
    // (nothing tried yet) writes nothing.
    if (!log.empty())
      writeLog("no config met the target; no model written");
    return kExitUserError;
  }
  std::string summary = describeAutoCalibrateResult(*result, options.metric);
  std::string reportHtml;
  if (!acReport.empty()) {
    FailureOr<std::string> html = renderQuantizeReport(
        result->quantized, reportSamples(result->quantized, options.quantize.calibData),
        acThreads, llvm::sys::path::filename(acModel));
    if (failed(html))
      return kExitUserError;
    reportHtml = std::move(*html);
  }
  std::vector<OutputFile> extra;
  if (!acReport.empty())
    extra.push_back({acReport, [&](llvm::raw_ostream &os) {
                       os << reportHtml;
                       return success();
                     }});
  std::vector<std::string> files;
  if (failed(saveAutoCalibrateResult(*result, acSavePath, std::move(extra), files, error))) {
    if (!error.empty())
      llvm::errs() << kTool << ": error: " << error << "\n";
    return kExitUserError;
  }
  writeLog("result: " + summary);
  llvm::outs() << "result: " << summary << "\nconfig: " << files[0]
               << "\nfake-quant model: " << files[1] << "\ndeploy model: " << files[2]
               << "\nrecord: " << files[3] << "\nlog: " << logPath << "\n";
  return 0;
}
