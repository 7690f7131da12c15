//===- amct.cpp - the amct user command line ------------------------------===//
//
// AMCT's Python API as commands: `amct <command> [options]`. Each command is
// a subcommand with its own --help. Commands arrive with the issues that
// build them; `inspect` summarises what the importer makes of a model.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Pipelines/Quantize.h"
#include "amct/Runtime/Executor.h"
#include "amct/Support/QuantConfig.h"
#include "amct/Target/ONNX/ExportONNX.h"
#include "amct/Transforms/Passes.h"
#include "amct/Transforms/QuantizableLayers.h"

#include "mlir/Pass/PassManager.h"
#include "amct/Support/Npy.h"
#include "amct/Support/FileAccess.h"
#include "amct/Support/Progress.h"
#include "amct/Support/ToolSupport.h"
#include "amct/Target/ONNX/ImportONNX.h"

#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <map>
#include <tuple>

#if defined(__linux__) || defined(__APPLE__)
#include <sys/resource.h>
#endif

using namespace mlir;
using namespace amct;

namespace cl = llvm::cl;

static cl::SubCommand inspectCmd("inspect",
                                 "Summarise an ONNX model: inputs, outputs, op counts, "
                                 "which nodes have typed ops");
static cl::opt<std::string> inspectModel("model", cl::desc("ONNX model"), cl::Required,
                                         cl::value_desc("M.onnx"), cl::sub(inspectCmd));

//===----------------------------------------------------------------------===//
// amct run
//===----------------------------------------------------------------------===//

static cl::SubCommand runCmd("run", "Run a model on the CPU executor: .npy inputs in, "
                                    "one .npy per graph output out");
static cl::opt<std::string> runModel("model", cl::desc("ONNX model or amct .mlir"),
                                     cl::Required, cl::value_desc("M.onnx|M.mlir"),
                                     cl::sub(runCmd));
// Declared here so that run and evaluate share one set of input options.
static cl::SubCommand evaluateCmd("evaluate",
                                  "Accuracy of a model: top-1 against labels, agreement and "
                                  "cosine similarity against a reference output");
static cl::list<std::string> modelInputs("input",
                                         cl::desc("graph input NAME=FILE (.npy, or raw .bin "
                                                  "with --input-shape and --input-dtype)"),
                                         cl::value_desc("NAME=FILE"), cl::sub(runCmd),
                                         cl::sub(evaluateCmd));
static cl::list<std::string> modelInputShapes("input-shape",
                                              cl::desc("shape of a .bin input, NAME=1x3x224x224"),
                                              cl::value_desc("NAME=DIMS"), cl::sub(runCmd),
                                              cl::sub(evaluateCmd));
static cl::list<std::string> modelInputDtypes("input-dtype",
                                              cl::desc("dtype of a .bin input, NAME=float32"),
                                              cl::value_desc("NAME=DTYPE"), cl::sub(runCmd),
                                              cl::sub(evaluateCmd));
static cl::opt<std::string> runOutputDir("output-dir", cl::desc("folder for the outputs"),
                                         cl::Required, cl::value_desc("DIR"), cl::sub(runCmd));
static cl::opt<int> runThreads("threads", cl::desc("threads (default: all cores)"),
                               cl::init(0), cl::sub(runCmd));
static cl::opt<int64_t> runBatchSize("batch-size",
                                     cl::desc("run the inputs in batches of this many "
                                              "samples along dim 0 (default: all at once)"),
                                     cl::init(0), cl::sub(runCmd));

/// Loads a model from .onnx (imported) or .mlir (parsed).
static OwningOpRef<ModuleOp> loadModel(StringRef path, MLIRContext &context) {
  if (path.ends_with_insensitive(".onnx")) {
    auto module = importONNXFile(path, &context);
    return failed(module) ? OwningOpRef<ModuleOp>() : std::move(*module);
  }
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> file = openSourceFile(path, &error);
  if (!file) {
    emitError(FileLineColLoc::get(&context, path, 0, 0)) << error;
    return {};
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  return parseSourceFile<ModuleOp>(sourceMgr, &context);
}

static func::FuncOp getMainFunction(ModuleOp module) {
  func::FuncOp main;
  for (auto f : module.getOps<func::FuncOp>())
    if (f.getSymName() == "main" || !main)
      main = f;
  return main;
}

/// Splits NAME=VALUE; fails with a message naming the option.
static bool splitAssignment(StringRef tool, StringRef option, StringRef text,
                            std::string &name, std::string &value) {
  auto [n, v] = text.split('=');
  if (n.empty() || v.empty() || !text.contains('=')) {
    llvm::errs() << tool << ": error: --" << option << " '" << text
                 << "' is not NAME=VALUE\n";
    return false;
  }
  name = n.str();
  value = v.str();
  return true;
}

/// Output file name for a graph output: characters outside [A-Za-z0-9_.-] become '_'.
static std::string outputFileName(StringRef name) {
  std::string s = name.str();
  for (char &c : s)
    if (!llvm::isAlnum(c) && c != '_' && c != '.' && c != '-')
      c = '_';
  return s + ".npy";
}

/// Loads a model, binds NAME=FILE inputs (by graph input name), runs it on
/// the executor (in batches along dim 0 if `batchSize` > 0) and returns every
/// graph output, concatenated back. Returns an exit status (0: success).
static int executeModel(StringRef tool, StringRef modelPath, ArrayRef<std::string> inputArgs,
                        ArrayRef<std::string> shapeArgs, ArrayRef<std::string> dtypeArgs,
                        int threads, int64_t batchSize, std::vector<std::string> &outNames,
                        std::vector<rt::Tensor> &results) {
  DialectRegistry registry;
  registerImportDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  ToolDiagnostics diagnostics(context, tool);
  OwningOpRef<ModuleOp> module = loadModel(modelPath, context);
  if (!module)
    return kExitUserError;
  func::FuncOp main = getMainFunction(*module);
  if (!main) {
    llvm::errs() << tool << ": error: " << modelPath << ": no function to run\n";
    return kExitUserError;
  }
  rt::ExecutorOptions options;
  options.threads = threads;
  auto executor = rt::Executor::create(main, options);
  if (failed(executor))
    return kExitUserError;
  const std::vector<std::string> &names = (*executor)->inputNames();

  // Inputs by name, each checked against the model.
  std::map<std::string, std::string> files, shapes, dtypes;
  for (auto [list, option, map] :
       {std::tuple{inputArgs, "input", &files}, {shapeArgs, "input-shape", &shapes},
        {dtypeArgs, "input-dtype", &dtypes}})
    for (const std::string &text : list) {
      std::string name, value;
      if (!splitAssignment(tool, option, text, name, value))
        return kExitUsageError;
      if (!llvm::is_contained(names, name)) {
        llvm::errs() << tool << ": error: --" << option << " names '" << name
                     << "', which is not an input of " << modelPath << " (inputs: "
                     << llvm::join(names, ", ") << ")\n";
        return kExitUserError;
      }
      if (!map->emplace(name, value).second) {
        llvm::errs() << tool << ": error: --" << option << " gives '" << name
                     << "' twice\n";
        return kExitUsageError;
      }
    }
  std::vector<rt::Tensor> inputs;
  for (const std::string &name : names) {
    auto file = files.find(name);
    if (file == files.end()) {
      llvm::errs() << tool << ": error: missing --input " << name << "=FILE (the model's inputs: "
                   << llvm::join(names, ", ") << ")\n";
      return kExitUserError;
    }
    std::string error;
    std::optional<rt::Tensor> t;
    if (StringRef(file->second).ends_with_insensitive(".bin")) {
      auto shapeText = shapes.find(name);
      auto dtypeText = dtypes.find(name);
      if (shapeText == shapes.end() || dtypeText == dtypes.end()) {
        llvm::errs() << tool << ": error: raw input '" << file->second
                     << "' needs --input-shape " << name << "=DIMS and --input-dtype " << name
                     << "=DTYPE\n";
        return kExitUsageError;
      }
      rt::Shape shape;
      SmallVector<StringRef> dims;
      StringRef(shapeText->second).split(dims, 'x');
      for (StringRef d : dims) {
        int64_t v;
        if (d.getAsInteger(10, v) || v < 0) {
          llvm::errs() << tool << ": error: --input-shape " << name << "='" << shapeText->second
                       << "' is not a list of sizes like 1x3x224x224\n";
          return kExitUsageError;
        }
        shape.push_back(v);
      }
      std::optional<rt::DType> dtype = rt::dtypeFromName(dtypeText->second);
      if (!dtype) {
        llvm::errs() << tool << ": error: --input-dtype " << name << "='" << dtypeText->second
                     << "' is not a dtype (float32, float16, int64, int32, int8, uint8, bool, ...)\n";
        return kExitUsageError;
      }
      t = readRawBinary(file->second, *dtype, shape, error);
    } else {
      t = readNpy(file->second, error);
    }
    if (!t) {
      llvm::errs() << tool << ": error: input '" << name << "': " << error << "\n";
      return kExitUserError;
    }
    inputs.push_back(std::move(*t));
  }

  // Batches along dim 0, outputs concatenated back.
  int64_t total = inputs.empty() || inputs[0].rank() == 0 ? 1 : inputs[0].dim(0);
  int64_t batch = batchSize > 0 ? batchSize : total;
  if (batchSize > 0)
    for (auto [i, t] : llvm::enumerate(inputs))
      if (t.rank() == 0 || t.dim(0) != total) {
        llvm::errs() << tool << ": error: --batch-size needs every input to have the same dim 0; '"
                     << names[i] << "' is " << rt::formatShape(t.shape()) << "\n";
        return kExitUserError;
      }
  std::vector<std::vector<rt::Tensor>> pieces;
  // A bar only for more than a few batches: a short run needs none.
  int64_t numBatches = total == 0 ? 1 : (total + batch - 1) / batch;
  ProgressBar bar("running", numBatches, /*minSteps=*/4);
  bar.update(0);
  for (int64_t begin = 0; begin < total || (total == 0 && pieces.empty()); begin += batch) {
    int64_t end = std::min(total, begin + batch);
    std::vector<rt::Tensor> batchInputs;
    for (const rt::Tensor &t : inputs)
      batchInputs.push_back(batchSize > 0 ? t.rows(begin, end) : t);
    auto outputs = (*executor)->run(batchInputs);
    if (failed(outputs))
      return kExitUserError;
    pieces.push_back(std::move(*outputs));
    bar.update(pieces.size());
    if (total == 0)
      break;
  }
  bar.finish();

  outNames = (*executor)->outputNames();
  results.clear();
  for (size_t o = 0; o < outNames.size(); ++o) {
    rt::Tensor result = pieces[0][o];
    if (pieces.size() > 1) {
      rt::Shape shape = result.shape();
      shape[0] = 0;
      for (auto &p : pieces)
        shape[0] += p[o].dim(0);
      result = *rt::Tensor::zeros(result.dtype(), shape);
      char *dst = result.mutableData<char>();
      for (auto &p : pieces) {
        memcpy(dst, p[o].raw(), p[o].byteSize());
        dst += p[o].byteSize();
      }
    }
    results.push_back(std::move(result));
  }
  return 0;
}

static int runRun() {
  std::vector<std::string> outNames;
  std::vector<rt::Tensor> results;
  if (int status = executeModel("amct run", runModel, modelInputs, modelInputShapes, modelInputDtypes,
                                runThreads, runBatchSize, outNames, results))
    return status;
  if (std::error_code ec = llvm::sys::fs::create_directories(runOutputDir)) {
    llvm::errs() << "amct run: error: cannot create " << runOutputDir << ": " << ec.message()
                 << "\n";
    return kExitUserError;
  }
  for (size_t o = 0; o < outNames.size(); ++o) {
    const rt::Tensor &result = results[o];
    SmallString<256> path(runOutputDir);
    llvm::sys::path::append(path, outputFileName(outNames[o]));
    std::string error;
    if (failed(writeFileAtomically(
            path,
            [&](llvm::raw_ostream &os) {
              os << serializeNpy(result);
              return success();
            },
            &error))) {
      llvm::errs() << "amct run: error: " << error << "\n";
      return kExitUserError;
    }
    llvm::outs() << outNames[o] << ": " << rt::formatShape(result.shape()) << " "
                 << rt::dtypeName(result.dtype()) << " -> " << path << "\n";
  }
  return 0;
}

//===----------------------------------------------------------------------===//
// amct evaluate (AMCT's ModelEvaluator)
//===----------------------------------------------------------------------===//

static cl::opt<std::string> evModel("model", cl::desc("ONNX model or amct .mlir"), cl::Required,
                                    cl::value_desc("M.onnx"), cl::sub(evaluateCmd));
static cl::opt<std::string> evLabels("labels", cl::desc("int labels, one per sample (.npy)"),
                                     cl::value_desc("y.npy"), cl::sub(evaluateCmd));
static cl::opt<std::string> evReference("reference",
                                        cl::desc("reference output to compare with (.npy)"),
                                        cl::value_desc("R.npy"), cl::sub(evaluateCmd));
static cl::opt<std::string> evReferenceModel("reference-model",
                                             cl::desc("or a model whose output is the reference"),
                                             cl::value_desc("R.onnx"), cl::sub(evaluateCmd));
static cl::opt<std::string> evOutput("output", cl::desc("graph output to evaluate (default: the first)"),
                                     cl::sub(evaluateCmd));
static cl::opt<int64_t> evBatchSize("batch-size", cl::desc("samples per run"), cl::init(0),
                                    cl::sub(evaluateCmd));
static cl::opt<int> evThreads("threads", cl::desc("threads"), cl::init(0), cl::sub(evaluateCmd));

/// Row-wise views of a float output as [samples][features] in double.
static std::optional<std::vector<std::vector<double>>> rowsOf(const rt::Tensor &t) {
  if (t.dtype() != rt::DType::F32 || t.rank() == 0)
    return std::nullopt;
  int64_t n = t.dim(0), k = t.numElements() / std::max<int64_t>(1, n);
  std::vector<std::vector<double>> rows(n, std::vector<double>(k));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j)
      rows[i][j] = t.data<float>()[i * k + j];
  return rows;
}

static int64_t argmax(const std::vector<double> &v) {
  return std::max_element(v.begin(), v.end()) - v.begin();
}

static int runEvaluate() {
  const char *tool = "amct evaluate";
  std::vector<std::string> names;
  std::vector<rt::Tensor> outputs;
  if (int status = executeModel(tool, evModel, modelInputs, modelInputShapes, modelInputDtypes, evThreads,
                                evBatchSize, names, outputs))
    return status;
  size_t which = 0;
  if (!evOutput.empty()) {
    auto it = llvm::find(names, evOutput);
    if (it == names.end()) {
      llvm::errs() << tool << ": error: --output '" << evOutput << "' is not an output of "
                   << evModel << " (outputs: " << llvm::join(names, ", ") << ")\n";
      return kExitUserError;
    }
    which = it - names.begin();
  }
  auto rows = rowsOf(outputs[which]);
  if (!rows) {
    llvm::errs() << tool << ": error: output '" << names[which]
                 << "' must be a float32 tensor with samples along dim 0\n";
    return kExitUserError;
  }
  std::string json = "{\n  \"model\": \"" + evModel + "\",\n  \"output\": \"" + names[which] +
                     "\",\n  \"samples\": " + std::to_string(rows->size());
  std::string error;
  if (!evLabels.empty()) {
    std::optional<rt::Tensor> labels = readNpy(evLabels, error);
    if (!labels || (labels->dtype() != rt::DType::I64 && labels->dtype() != rt::DType::I32) ||
        labels->numElements() != (int64_t)rows->size()) {
      llvm::errs() << tool << ": error: --labels " << evLabels << ": "
                   << (labels ? "expected " + std::to_string(rows->size()) +
                                    " int64 or int32 labels, found " +
                                    rt::formatShape(labels->shape()) + " " +
                                    rt::dtypeName(labels->dtype())
                              : error)
                   << "\n";
      return kExitUserError;
    }
    int64_t correct = 0;
    for (size_t i = 0; i < rows->size(); ++i) {
      int64_t label = labels->dtype() == rt::DType::I64 ? labels->data<int64_t>()[i]
                                                        : labels->data<int32_t>()[i];
      correct += argmax((*rows)[i]) == label;
    }
    json += llvm::formatv(",\n  \"top1_accuracy\": {0:F6}", (double)correct / rows->size()).str();
  }
  std::optional<rt::Tensor> reference;
  if (!evReference.empty()) {
    reference = readNpy(evReference, error);
    if (!reference) {
      llvm::errs() << tool << ": error: --reference: " << error << "\n";
      return kExitUserError;
    }
  } else if (!evReferenceModel.empty()) {
    std::vector<std::string> refNames;
    std::vector<rt::Tensor> refOutputs;
    if (int status = executeModel(tool, evReferenceModel, modelInputs, modelInputShapes, modelInputDtypes,
                                  evThreads, evBatchSize, refNames, refOutputs))
      return status;
    reference = refOutputs[std::min(which, refOutputs.size() - 1)];
  }
  if (reference) {
    auto refRows = rowsOf(*reference);
    if (!refRows || reference->shape() != outputs[which].shape()) {
      llvm::errs() << tool << ": error: the reference is " << rt::formatShape(reference->shape())
                   << " " << rt::dtypeName(reference->dtype()) << ", expected "
                   << rt::formatShape(outputs[which].shape()) << " float32\n";
      return kExitUserError;
    }
    double sumCos = 0, minCos = 1, maxDiff = 0;
    int64_t agree = 0;
    for (size_t i = 0; i < rows->size(); ++i) {
      const auto &a = (*rows)[i], &b = (*refRows)[i];
      double dot = 0, na = 0, nb = 0;
      for (size_t j = 0; j < a.size(); ++j) {
        dot += a[j] * b[j];
        na += a[j] * a[j];
        nb += b[j] * b[j];
        maxDiff = std::max(maxDiff, std::abs(a[j] - b[j]));
      }
      double cos = (na == 0 && nb == 0) ? 1.0 : dot / std::sqrt(na * nb + 1e-300);
      sumCos += cos;
      minCos = std::min(minCos, cos);
      agree += argmax(a) == argmax(b);
    }
    double n = std::max<size_t>(1, rows->size());
    json += llvm::formatv(",\n  \"top1_agreement\": {0:F6},\n  \"mean_cosine\": {1:F8},\n"
                          "  \"min_cosine\": {2:F8},\n  \"max_abs_diff\": {3:E6}",
                          agree / n, sumCos / n, minCos, maxDiff)
                .str();
  }
  llvm::outs() << json << "\n}\n";
  return 0;
}

//===----------------------------------------------------------------------===//
// amct create-config / amct quantize
//===----------------------------------------------------------------------===//

static cl::SubCommand createConfigCmd(
    "create-config", "Write AMCT's JSON quant config for every quantizable layer of a model");
static cl::opt<std::string> ccModel("model", cl::desc("ONNX model"), cl::Required,
                                    cl::value_desc("M.onnx"), cl::sub(createConfigCmd));
static cl::opt<std::string> ccOutput("o", cl::desc("output JSON config"), cl::Required,
                                     cl::value_desc("config.json"), cl::sub(createConfigCmd));
static cl::list<std::string> ccSkipLayers("skip-layers", cl::desc("layers not to quantize"),
                                          cl::CommaSeparated, cl::sub(createConfigCmd));
static cl::opt<int> ccBatchNum("batch-num", cl::desc("calibration batches"), cl::init(1),
                               cl::sub(createConfigCmd));
static cl::opt<bool> ccActivationOffset("activation-offset",
                                        cl::desc("asymmetric activations (default true)"),
                                        cl::init(true), cl::sub(createConfigCmd));
static cl::opt<std::string> ccSimpleConfig("simple-config",
                                           cl::desc("expand this simple .cfg instead"),
                                           cl::value_desc("q.cfg"), cl::sub(createConfigCmd));

static cl::SubCommand quantizeCmd("quantize",
                                  "Post-training quantization: fake-quant model, deploy model, "
                                  "record file");
static cl::opt<std::string> qModel("model", cl::desc("ONNX model"), cl::Required,
                                   cl::value_desc("M.onnx"), cl::sub(quantizeCmd));
static cl::list<std::string> qCalibData("calib-data",
                                        cl::desc("calibration inputs NAME=FILE.npy "
                                                 "(samples along dim 0)"),
                                        cl::value_desc("NAME=FILE"), cl::sub(quantizeCmd));
static cl::opt<std::string> qConfig("config", cl::desc("AMCT JSON config or simple .cfg"),
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
static cl::opt<bool> qTimeReport("time-report",
                                 cl::desc("print the wall time of each step and the peak RSS "
                                          "on stderr"),
                                 cl::sub(quantizeCmd));

static int runCreateConfig() {
  DialectRegistry registry;
  registerImportDialects(registry);
  MLIRContext context(registry);
  ToolDiagnostics diagnostics(context, "amct create-config");
  auto module = importONNXFile(ccModel, &context);
  if (failed(module))
    return kExitUserError;
  // The layers the quantizer will see: after constant folding.
  {
    PassManager pm(&context);
    pm.addNestedPass<func::FuncOp>(createAmctFoldConstants());
    if (failed(pm.run(**module)))
      return kExitUserError;
  }
  func::FuncOp main = getMainFunction(**module);
  std::vector<SkippedLayer> skipped;
  std::vector<QuantizableLayer> layers = findQuantizableLayers(main, &skipped);
  LayerList list = getLayerList(layers);
  std::string error;
  std::optional<QuantConfig> config;
  if (!ccSimpleConfig.empty()) {
    std::string text;
    if (!readRegularFile(ccSimpleConfig, text, error)) {
      llvm::errs() << "amct create-config: error: " << error << "\n";
      return kExitUserError;
    }
    config = parseSimpleConfig(text, ccSimpleConfig, list, error);
  } else {
    config = createQuantConfig(list, std::vector<std::string>(ccSkipLayers.begin(), ccSkipLayers.end()),
                               ccBatchNum, ccActivationOffset, error);
  }
  if (!config) {
    llvm::errs() << "amct create-config: error: " << error << "\n";
    return kExitUserError;
  }
  std::string json = writeQuantConfigJson(*config);
  if (failed(writeFileAtomically(ccOutput, [&](llvm::raw_ostream &os) {
        os << json;
        return success();
      }, &error))) {
    llvm::errs() << "amct create-config: error: " << error << "\n";
    return kExitUserError;
  }
  llvm::outs() << layers.size() << " quantizable layers written to " << ccOutput << "\n";
  for (const SkippedLayer &s : skipped)
    llvm::outs() << "  not quantizable: " << s.name << " (" << s.reason << ")\n";
  return 0;
}

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

/// Prints rows as columns separated by two spaces; a column is left-aligned
/// unless `rightAligned[i]` (numbers). The last column is not padded.
static void printTable(llvm::raw_ostream &os, const std::vector<std::vector<std::string>> &rows,
                       const std::vector<bool> &rightAligned) {
  std::vector<size_t> width;
  for (const auto &row : rows)
    for (auto [i, cell] : llvm::enumerate(row)) {
      if (width.size() <= i)
        width.push_back(0);
      width[i] = std::max(width[i], cell.size());
    }
  for (const auto &row : rows) {
    std::string line;
    for (auto [i, cell] : llvm::enumerate(row)) {
      if (i)
        line += "  ";
      size_t pad = width[i] - cell.size();
      bool right = i < rightAligned.size() && rightAligned[i];
      if (right)
        line += std::string(pad, ' ');
      line += cell;
      if (!right && i + 1 < row.size())
        line += std::string(pad, ' ');
    }
    os << line << "\n";
  }
}

/// `value` with `digits` significant digits, as %g prints it.
static std::string formatG(double value, int digits) {
  char buffer[64];
  snprintf(buffer, sizeof(buffer), "%.*g", digits, value);
  return buffer;
}

/// The quantize summary on stdout: one row per quantized layer, one per
/// skipped layer with the reason, the model outputs' cosine, the files.
static void printQuantizeSummary(const QuantizeResult &result, ArrayRef<std::string> files) {
  std::vector<std::vector<std::string>> rows{
      {"layer", "type", "scale_d", "offset_d", "scale_w", "cosine"}};
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
    rows.push_back({layer.name, layer.type, scaleD, offsetD, scaleW, cosine});
  }
  printTable(llvm::outs(), rows, {false, false, true, true, true, true});
  if (!result.skipped.empty()) {
    std::vector<std::vector<std::string>> skippedRows{{"skipped layer", "type", "reason"}};
    for (const SkippedLayer &s : result.skipped)
      skippedRows.push_back({s.name.empty() ? "(unnamed)" : s.name, s.type, s.reason});
    printTable(llvm::outs(), skippedRows, {});
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

static int runQuantize() {
  auto begin = std::chrono::steady_clock::now();
  auto lapStart = begin;
  std::vector<PhaseTime> phases;
  auto lap = [&](StringRef name) {
    auto now = std::chrono::steady_clock::now();
    phases.push_back({name.str(), std::chrono::duration<double>(now - lapStart).count()});
    lapStart = now;
  };
  DialectRegistry registry;
  registerImportDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  ToolDiagnostics diagnostics(context, "amct quantize");
  lapStart = std::chrono::steady_clock::now();
  auto module = importONNXFile(qModel, &context);
  if (failed(module))
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
  options.batchNum = qBatchNum;
  options.batchSize = qBatchSize;
  options.threads = qThreads;
  options.cosineSamples = qCosineSamples;
  options.showProgress = true;
  if (qCalibData.empty()) {
    llvm::errs() << "amct quantize: error: give the calibration data with --calib-data NAME=FILE.npy\n";
    return kExitUsageError;
  }
  for (const std::string &text : qCalibData) {
    std::string name, path, error;
    if (!splitAssignment("amct quantize", "calib-data", text, name, path))
      return kExitUsageError;
    if (options.calibData.count(name)) {
      llvm::errs() << "amct quantize: error: --calib-data gives '" << name << "' twice\n";
      return kExitUsageError;
    }
    std::optional<rt::Tensor> t = readNpy(path, error);
    if (!t) {
      llvm::errs() << "amct quantize: error: calibration data '" << name << "': " << error << "\n";
      return kExitUserError;
    }
    options.calibData[name] = std::move(*t);
  }
  lap("read calibration data");
  auto result = quantizeModel(**module, options);
  if (failed(result))
    return kExitUserError;
  phases.insert(phases.end(), result->phases.begin(), result->phases.end());

  // Everything is computed; now the files, each written atomically.
  lapStart = std::chrono::steady_clock::now();
  if (StringRef dir = llvm::sys::path::parent_path(qSavePath); !dir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
      llvm::errs() << "amct quantize: error: cannot create " << dir << ": " << ec.message() << "\n";
      return kExitUserError;
    }
  std::string fakePath = qSavePath + "_fake_quant_model.onnx";
  std::string deployPath = qSavePath + "_deploy_model.onnx";
  std::string recordPath = qRecordFile.empty() ? qSavePath + "_record.txt" : std::string(qRecordFile);
  std::string recordText = writeRecordFile(result->record), error;
  std::vector<OutputFile> outputs{
      {recordPath,
       [&](llvm::raw_ostream &os) {
         os << recordText;
         return success();
       }},
      {fakePath, [&](llvm::raw_ostream &os) { return exportONNX(*result->fakeQuant, os); }},
      {deployPath, [&](llvm::raw_ostream &os) { return exportONNX(*result->deploy, os); }}};
  if (!qModifiedModel.empty())
    outputs.push_back(
        {qModifiedModel, [&](llvm::raw_ostream &os) { return exportONNX(*result->fused, os); }});
  if (failed(writeFilesAtomically(outputs, &error))) {
    if (!error.empty())
      llvm::errs() << "amct quantize: error: " << error << "\n";
    return kExitUserError;
  }
  lap("export " + std::to_string(outputs.size()) + " files");

  std::vector<std::string> files{"fake-quant model: " + fakePath, "deploy model: " + deployPath,
                                 "record: " + recordPath};
  if (!qModifiedModel.empty())
    files.push_back("fused model: " + qModifiedModel);
  printQuantizeSummary(*result, files);
  if (qTimeReport)
    printTimeReport(phases,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count());
  return 0;
}

static int runInspect() {
  DialectRegistry registry;
  registerImportDialects(registry);
  MLIRContext context(registry);
  ToolDiagnostics diagnostics(context, "amct inspect");
  auto module = importONNXFile(inspectModel, &context);
  if (failed(module))
    return kExitUserError;
  func::FuncOp func = *(*module).get().getBody()->getOps<func::FuncOp>().begin();
  llvm::outs() << "model: " << inspectModel << "\n";
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    llvm::outs() << "  input  " << func.getArgAttrOfType<StringAttr>(i, "amct.name").getValue()
                 << ": " << func.getArgument(i).getType() << "\n";
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    llvm::outs() << "  output "
                 << func.getResultAttrOfType<StringAttr>(i, "amct.name").getValue()
                 << ": " << func.getResultTypes()[i] << "\n";
  std::map<std::string, std::pair<unsigned, bool>> counts;
  unsigned initializers = 0;
  int64_t weightElements = 0;
  func.walk([&](Operation *op) {
    if (auto c = dyn_cast<ConstOp>(op)) {
      ++initializers;
      weightElements += c.getValue().getNumElements();
      return;
    }
    if (auto node = dyn_cast<NodeOp>(op)) {
      std::string key = node.getDomain().empty()
                            ? node.getOpType().str()
                            : (node.getDomain() + "." + node.getOpType()).str();
      counts[key].first++;
      return;
    }
    if (op->hasTrait<::amct::OpTrait::OnnxOp>()) {
      auto &entry = counts[op->getName().stripDialect().str()];
      entry.first++;
      entry.second = true;
    }
  });
  llvm::outs() << "initializers: " << initializers << " (" << weightElements
               << " elements)\nops:\n";
  for (auto &[name, entry] : counts)
    llvm::outs() << "  " << name << " x" << entry.first
                 << (entry.second ? "" : "  (generic amct.node)") << "\n";
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  if (!cl::ParseCommandLineOptions(argc, argv,
                                   "amct: model compression for the Ascend NPU\n\n"
                                   "  amct <command> --help   for a command's options\n",
                                   &llvm::errs()))
    return kExitUsageError;
  if (inspectCmd)
    return runInspect();
  if (runCmd)
    return runRun();
  if (createConfigCmd)
    return runCreateConfig();
  if (evaluateCmd)
    return runEvaluate();
  if (quantizeCmd)
    return runQuantize();
  llvm::errs() << "amct: error: no command given; see amct --help\n";
  return kExitUsageError;
}
