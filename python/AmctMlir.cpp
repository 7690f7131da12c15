//===- AmctMlir.cpp - the C++ side of the amct_mlir Python module ---------===//
//
// `amct_mlir._core`: the library's jobs (create_quant_config, quantize,
// convert, the executor, the algorithm registry) on Python objects. The
// public API with AMCT's names and argument checks is amct_mlir/__init__.py;
// this file takes already-checked arguments: a model as a path (str) or
// serialized ONNX (bytes), data as numpy arrays (viewed, not copied, when
// C-contiguous), and raises AmctError with the text the command-line tool
// prints for the same failure.
//
// Compiled with exceptions and RTTI (pybind11 needs both); the libraries
// are not, so no C++ exception may cross into them: every callback into
// Python catches everything before returning to the library.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Pipelines/AutoCalibrate.h"
#include "amct/Pipelines/CreateConfig.h"
#include "amct/Pipelines/Prune.h"
#include "amct/Pipelines/Quantize.h"
#include "amct/Pipelines/Report.h"
#include "amct/Runtime/Executor.h"
#include "amct/Support/AlgorithmRegistry.h"
#include "amct/Support/FileAccess.h"
#include "amct/Support/PruneConfig.h"
#include "amct/Support/RecordFile.h"
#include "amct/Support/ToolSupport.h"
#include "amct/Target/ONNX/ExportONNX.h"
#include "amct/Target/ONNX/ImportONNX.h"
#include "amct/Target/ONNX/SaveModels.h"
#include "amct/Transforms/Decompose.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

namespace py = pybind11;
using namespace mlir;
using namespace amct;

namespace {

/// Raised for everything the library refuses; Python sees amct_mlir.AmctError.
struct AmctError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// An MLIR context whose diagnostics are collected as the CLI prints them
/// (`<function>: error: ...`), for the exception a failure raises.
class Session {
public:
  explicit Session(const std::string &function) : function(function), stream(messages) {
    DialectRegistry registry;
    registerImportDialects(registry);
    context = std::make_unique<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
    context->loadAllAvailableDialects();
    diagnostics = std::make_unique<ToolDiagnostics>(*context, function, stream);
  }

  MLIRContext &ctx() { return *context; }

  /// Raises AmctError with the diagnostics so far, then `error` (a
  /// message of a library call that returns its error as text).
  [[noreturn]] void fail(const std::string &error = "") {
    stream.flush();
    std::string text = messages;
    if (!error.empty())
      text += function + ": error: " + error + "\n";
    if (text.empty())
      text = function + ": error: failed (no message)\n";
    if (text.back() == '\n')
      text.pop_back();
    throw AmctError(text);
  }

  /// A model given as a path (.mlir / .mlirbc parsed, anything else ONNX)
  /// or as serialized ONNX bytes.
  OwningOpRef<ModuleOp> load(const py::object &model) {
    OwningOpRef<ModuleOp> module;
    if (py::isinstance<py::bytes>(model)) {
      std::string bytes = model.cast<std::string>();
      auto imported = importONNXBuffer(bytes, "<onnx.ModelProto>", context.get());
      if (failed(imported))
        fail();
      return std::move(*imported);
    }
    std::string path = model.cast<std::string>();
    if (StringRef(path).ends_with(".mlir") || StringRef(path).ends_with(".mlirbc")) {
      std::string error;
      std::unique_ptr<llvm::MemoryBuffer> file = openSourceFile(path, &error);
      if (!file)
        fail(error);
      llvm::SourceMgr sourceMgr;
      sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
      SourceMgrDiagnosticHandler handler(sourceMgr, context.get(), stream);
      module = parseSourceFile<ModuleOp>(sourceMgr, context.get());
    } else {
      auto imported = importONNXFile(path, context.get());
      if (succeeded(imported))
        module = std::move(*imported);
    }
    if (!module)
      fail();
    return module;
  }

private:
  std::string function;
  std::string messages;
  llvm::raw_string_ostream stream;
  std::unique_ptr<MLIRContext> context;
  std::unique_ptr<ToolDiagnostics> diagnostics;
};

/// The tensor type of a numpy dtype, by the names both use ("float32",
/// "int64", "bool", ...); none for other types and for a byte order other
/// than the machine's ('>f4' names itself so).
std::optional<rt::DType> dtypeOf(const py::dtype &dtype) {
  return rt::dtypeFromName(py::str(static_cast<const py::handle &>(dtype)).cast<std::string>());
}

/// A numpy array as a tensor that views its memory (a C-contiguous copy
/// first when it is not contiguous) and keeps it alive.
rt::Tensor tensorOf(const std::string &name, const py::handle &object) {
  if (!py::isinstance<py::array>(object))
    throw py::type_error("input '" + name + "' is a " +
                         std::string(py::str(object.get_type().attr("__name__"))) +
                         ", expected a numpy array");
  py::array array = py::array::ensure(object, py::array::c_style);
  if (!array)
    throw py::type_error("input '" + name + "' cannot be made a contiguous numpy array");
  std::optional<rt::DType> dtype = dtypeOf(array.dtype());
  if (!dtype)
    throw py::type_error("input '" + name + "' has numpy dtype " +
                         std::string(py::str(array.dtype())) +
                         ", which is not a tensor type (float16/32/64, int8..64, uint8..64, "
                         "bool, in the machine's byte order)");
  rt::Shape shape(array.shape(), array.shape() + array.ndim());
  // The owner drops its reference under the GIL, whichever thread frees
  // the tensor last.
  auto *keep = new py::object(array);
  std::shared_ptr<const void> owner(keep->ptr(), [keep](const void *) {
    py::gil_scoped_acquire gil;
    delete keep;
  });
  return rt::Tensor::view(*dtype, shape, owner, array.data());
}

/// The arrays of `data` by input name; the key "" (one array given
/// without a name) stands for the model's only input.
std::map<std::string, rt::Tensor> tensorsOf(Session &session, ModuleOp module,
                                            const py::dict &data) {
  std::map<std::string, rt::Tensor> tensors;
  for (auto [key, value] : data) {
    if (!py::isinstance<py::str>(key))
      throw py::type_error("input_data keys must be input names (str)");
    std::string name = key.cast<std::string>();
    if (name.empty()) {
      func::FuncOp main = getMainFunction(module);
      if (!main || main.getNumArguments() != 1)
        session.fail("input_data is one array and the model does not have exactly one input: "
                     "give {input name: array}");
      name = getGraphInputName(main, 0);
    }
    tensors.emplace(name, tensorOf(name, value));
  }
  return tensors;
}

py::array arrayOf(const rt::Tensor &t) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  // bfloat16 has no numpy type: float32, exactly (as amct run's .npy).
  if (t.dtype() == rt::DType::BF16) {
    py::array_t<float> out(shape);
    const uint16_t *src = t.data<uint16_t>();
    float *dst = out.mutable_data();
    for (py::ssize_t i = 0, e = out.size(); i < e; ++i)
      dst[i] = rt::bf16ToFloat(src[i]);
    return out;
  }
  py::array out(py::dtype(rt::dtypeName(t.dtype())), shape);
  if (t.byteSize())
    std::memcpy(out.mutable_data(), t.raw(), t.byteSize());
  return out;
}

/// What a quantize / convert job did, as plain Python values.
py::dict reportOf(const QuantizeResult &result, const py::dict &files) {
  py::list quantized;
  for (const QuantizableLayer &layer : result.quantized) {
    py::dict row;
    row["name"] = layer.name;
    row["type"] = layer.type;
    const LayerRecord *r = result.record.find(layer.name);
    row["scale_d"] = r && r->scaleD ? py::cast(*r->scaleD) : py::none();
    row["offset_d"] = r && r->offsetD ? py::cast(*r->offsetD) : py::none();
    row["scale_w"] = r ? py::cast(r->scaleW) : py::cast(std::vector<float>());
    auto cos = result.layerCosine.find(layer.name);
    row["cosine"] = cos == result.layerCosine.end() ? py::none() : py::cast(cos->second);
    auto method = result.layerMethod.find(layer.name);
    row["method"] = method == result.layerMethod.end() ? py::none() : py::cast(method->second);
    auto err = result.weightError.find(layer.name);
    row["weight_error"] = err == result.weightError.end() ? py::none() : py::cast(err->second);
    auto rounding = result.weightRounding.find(layer.name);
    row["rounding"] =
        rounding == result.weightRounding.end() ? py::none() : py::cast(rounding->second);
    quantized.append(row);
  }
  py::list skipped;
  for (const SkippedLayer &s : result.skipped) {
    py::dict row;
    row["name"] = s.name;
    row["type"] = s.type;
    row["reason"] = s.reason;
    skipped.append(row);
  }
  py::dict outputCosine;
  for (const auto &[name, value] : result.outputCosine)
    outputCosine[py::str(name)] = value;
  py::dict report;
  report["quantized"] = quantized;
  report["skipped"] = skipped;
  report["output_cosine"] = outputCosine;
  report["cosine_samples"] = result.cosineSamples;
  report["files"] = files;
  return report;
}

void save(Session &session, const QuantizeResult &result, const SaveModelsOptions &options) {
  std::string error;
  if (failed(saveQuantizeResult(result, options, error)))
    session.fail(error);
}

py::dict createConfig(const std::string &function, const std::string &configFile,
                      const py::object &model, const std::vector<std::string> &skipLayers,
                      int batchNum, bool activationOffset, const std::string &simpleConfig,
                      bool kvCache) {
  Session session(function);
  OwningOpRef<ModuleOp> module = session.load(model);
  CreateConfigOptions options;
  options.skipLayers = skipLayers;
  options.batchNum = batchNum;
  options.activationOffset = activationOffset;
  options.simpleConfigPath = simpleConfig;
  options.kvCache = kvCache;
  FailureOr<CreatedConfig> created = createConfigForModel(*module, options);
  if (failed(created))
    session.fail();
  std::string error;
  if (failed(writeFileAtomically(configFile, [&](llvm::raw_ostream &os) {
        os << created->text;
        return success();
      }, &error)))
    session.fail(error);
  py::list notQuantizable;
  for (const SkippedLayer &s : created->notQuantizable)
    notQuantizable.append(py::make_tuple(s.name, s.reason));
  py::dict info;
  info["layers"] = created->layers;
  info["not_quantizable"] = notQuantizable;
  return info;
}

struct QuantizeArgs {
  std::string configFile, kvCacheConfig;
  int batchNum = 0;
  int64_t batchSize = 0;
  int threads = 0;
  int64_t cosineSamples = 8;
};

QuantizeResult runQuantize(Session &session, ModuleOp module, const py::dict &inputData,
                           const QuantizeArgs &args,
                           std::map<std::string, rt::Tensor> *calibData = nullptr) {
  QuantizeOptions options;
  options.configPath = args.configFile;
  options.kvCacheConfigPath = args.kvCacheConfig;
  options.batchNum = args.batchNum;
  options.batchSize = args.batchSize;
  options.threads = args.threads;
  options.cosineSamples = args.cosineSamples;
  options.calibData = tensorsOf(session, module, inputData);
  FailureOr<QuantizeResult> result;
  {
    // Python algorithms take the GIL back when the pipeline calls them.
    py::gil_scoped_release release;
    result = quantizeModel(module, options);
  }
  if (failed(result))
    session.fail();
  if (calibData)
    *calibData = options.calibData;
  return std::move(*result);
}

/// AMCT's quantize_model (the ONNX edition's order: config, model, modified
/// model, record), calibrating on `inputData` with the embedded executor.
py::dict quantizeModelJob(const py::object &model, const py::dict &inputData,
                          const QuantizeArgs &args, const std::string &modifiedFile,
                          const std::string &recordFile) {
  Session session("quantize_model");
  OwningOpRef<ModuleOp> module = session.load(model);
  QuantizeResult result = runQuantize(session, *module, inputData, args);
  SaveModelsOptions options;
  options.modifiedPath = modifiedFile;
  options.recordPath = recordFile;
  save(session, result, options);
  py::dict files;
  files["modified_model"] = modifiedFile;
  files["record"] = recordFile;
  return reportOf(result, files);
}

/// `amct quantize`: the whole job, every file.
py::dict quantizeJob(const py::object &model, const py::dict &inputData, const QuantizeArgs &args,
                     const std::string &savePath, const std::string &recordFile,
                     const std::string &modifiedFile, bool externalData,
                     const std::string &reportFile) {
  Session session("quantize");
  OwningOpRef<ModuleOp> module = session.load(model);
  std::map<std::string, rt::Tensor> calibData;
  QuantizeResult result = runQuantize(session, *module, inputData, args, &calibData);
  // The report first: a job it cannot describe writes nothing. Titled by
  // the model's file name, as the CLI's.
  std::string title = py::isinstance<py::str>(model)
                          ? llvm::sys::path::filename(model.cast<std::string>()).str()
                          : std::string("onnx.ModelProto");
  std::string reportHtml;
  if (!reportFile.empty()) {
    FailureOr<std::string> html;
    {
      py::gil_scoped_release release;
      html = renderQuantizeReport(result, reportSamples(result, calibData), args.threads,
                                  title);
    }
    if (failed(html))
      session.fail();
    reportHtml = std::move(*html);
  }
  SaveModelsOptions options;
  options.fakeQuantPath = fakeQuantModelPath(savePath);
  options.deployPath = deployModelPath(savePath);
  options.recordPath = recordFile.empty() ? savePath + "_record.txt" : recordFile;
  options.modifiedPath = modifiedFile;
  options.externalData = externalData;
  if (!reportFile.empty())
    options.extraFiles.push_back({reportFile, [&](llvm::raw_ostream &os) {
                                    os << reportHtml;
                                    return success();
                                  }});
  save(session, result, options);
  py::dict files;
  files["fake_quant_model"] = options.fakeQuantPath;
  files["deploy_model"] = options.deployPath;
  files["record"] = options.recordPath;
  if (!modifiedFile.empty())
    files["modified_model"] = modifiedFile;
  if (!reportFile.empty())
    files["report"] = reportFile;
  return reportOf(result, files);
}

/// `amct convert` (and AMCT's save_model): a record to the models.
py::dict convertJob(const std::string &function, const py::object &model,
                    const std::string &recordFile, const std::string &savePath,
                    const std::string &configFile, bool externalData) {
  Session session(function);
  std::string error;
  std::optional<Record> record = readRecordFile(recordFile, error);
  if (!record)
    session.fail(error);
  OwningOpRef<ModuleOp> module = session.load(model);
  FailureOr<QuantizeResult> result;
  {
    py::gil_scoped_release release;
    result = convertModel(*module, configFile, *record, recordFile);
  }
  if (failed(result))
    session.fail();
  SaveModelsOptions options;
  options.fakeQuantPath = fakeQuantModelPath(savePath);
  options.deployPath = deployModelPath(savePath);
  options.externalData = externalData;
  save(session, *result, options);
  py::dict files;
  files["fake_quant_model"] = options.fakeQuantPath;
  files["deploy_model"] = options.deployPath;
  return reportOf(*result, files);
}

/// `amct prune`: the same options, files and summary lines.
py::dict pruneJob(const py::object &model, const py::dict &inputData, const std::string &method,
                  double ratio, int64_t align, const std::vector<std::string> &skipLayers,
                  const std::string &configFile, const std::string &recordFile, bool reconstruct,
                  double compressRatio, double maxPruneRatio, int batchNum, int64_t batchSize,
                  int threads, const std::string &savePath, bool externalData) {
  Session session("prune");
  std::string error;
  PruneJobOptions options;
  std::optional<AutoPruneOptions> search;
  if (!configFile.empty()) {
    std::optional<PruneSettings> settings = readPruneConfig(configFile, error);
    if (!settings)
      session.fail(error);
    options.settings = std::move(*settings);
  } else if (!recordFile.empty()) {
    options.record = readRecordFile(recordFile, error);
    if (!options.record)
      session.fail(error);
    options.recordName = recordFile;
  } else if (compressRatio > 0) {
    search.emplace();
    search->compressRatio = compressRatio;
    search->maxPruneRatio = maxPruneRatio;
    search->ascendOptimized = align != 1;
    search->threads = threads;
  } else {
    options.settings.method =
        method == "2:4" ? PruneSettings::Method::Selective : PruneSettings::Method::Channel;
    options.settings.ratio = ratio;
    options.settings.align = align;
    options.settings.skipLayers = skipLayers;
  }
  OwningOpRef<ModuleOp> module = session.load(model);
  options.calibData = tensorsOf(session, *module, inputData);
  if (search)
    search->calibData = options.calibData;
  options.batchNum = batchNum;
  options.batchSize = batchSize;
  options.reconstruct = reconstruct;
  options.threads = threads;
  std::vector<std::string> lines, files;
  LogicalResult done = success();
  {
    py::gil_scoped_release release;
    done = runPruneAndSave(*module, std::move(options), search, savePath, externalData, lines,
                           files, error);
  }
  if (failed(done))
    session.fail(error);
  py::dict out;
  out["pruned_model"] = files[0];
  out["record_file"] = files[1];
  if (files.size() > 2)
    out["prune_config"] = files[2];
  out["summary"] = lines;
  return out;
}

/// `amct decompose`.
py::dict decomposeJob(const py::object &model, double ratio, double energy,
                      const std::string &infoFile, bool evenIfLarger,
                      const std::vector<std::string> &skipLayers, const std::string &savePath,
                      bool externalData) {
  Session session("decompose");
  std::string error;
  DecomposeSettings settings;
  if (ratio > 0)
    settings.ratio = ratio;
  if (energy > 0)
    settings.energy = energy;
  settings.evenIfLarger = evenIfLarger;
  settings.skipLayers = skipLayers;
  std::optional<std::vector<DecomposedLayer>> info;
  if (!infoFile.empty()) {
    std::string text;
    if (!readRegularFile(infoFile, text, error) ||
        !(info = parseDecomposeInfo(text, infoFile, error)))
      session.fail(error);
  }
  OwningOpRef<ModuleOp> module = session.load(model);
  std::vector<std::string> lines, files;
  LogicalResult done = success();
  {
    py::gil_scoped_release release;
    done = runDecomposeAndSave(*module, settings, info ? &*info : nullptr, savePath, externalData,
                               lines, files, error);
  }
  if (failed(done))
    session.fail(error);
  py::dict out;
  out["decomposed_model"] = files[0];
  out["decompose_info"] = files[1];
  out["summary"] = lines;
  return out;
}

/// The executor on a model: outputs by name, in output order.
py::dict runModel(const py::object &model, const py::dict &inputData, int threads) {
  Session session("run_model");
  OwningOpRef<ModuleOp> module = session.load(model);
  func::FuncOp main = getMainFunction(*module);
  if (!main)
    session.fail("the model has no function to run");
  rt::ExecutorOptions options;
  options.threads = threads;
  auto executor = rt::Executor::create(main, options);
  if (failed(executor))
    session.fail();
  std::map<std::string, rt::Tensor> given = tensorsOf(session, *module, inputData);
  std::vector<rt::Tensor> inputs;
  const std::vector<std::string> &names = (*executor)->inputNames();
  for (const auto &[name, tensor] : given)
    if (!llvm::is_contained(names, name))
      session.fail("'" + name + "' is not an input of the model (inputs: " +
                   llvm::join(names, ", ") + ")");
  for (const std::string &name : names) {
    auto it = given.find(name);
    if (it == given.end())
      session.fail("missing input '" + name + "' (the model's inputs: " + llvm::join(names, ", ") +
                   ")");
    inputs.push_back(it->second);
  }
  FailureOr<std::vector<rt::Tensor>> outputs;
  {
    py::gil_scoped_release release;
    outputs = (*executor)->run(inputs);
  }
  if (failed(outputs))
    session.fail();
  py::dict result;
  for (auto [name, tensor] : llvm::zip((*executor)->outputNames(), *outputs))
    result[py::str(name)] = arrayOf(tensor);
  return result;
}

/// The algorithm parameters from the Python layer's tuples.
std::vector<AlgorithmParam> paramsOf(const std::vector<py::tuple> &specs) {
  std::vector<AlgorithmParam> params;
  for (const py::tuple &spec : specs) {
    AlgorithmParam p;
    p.name = spec[0].cast<std::string>();
    std::string kind = spec[1].cast<std::string>();
    p.kind = kind == "bool"      ? AlgorithmParam::Kind::Bool
             : kind == "integer" ? AlgorithmParam::Kind::Integer
                                 : AlgorithmParam::Kind::Number;
    p.min = spec[2].cast<double>();
    p.max = spec[3].cast<double>();
    p.minExclusive = spec[4].cast<bool>();
    p.maxExclusive = spec[5].cast<bool>();
    p.defaultValue = spec[6].cast<double>();
    params.push_back(p);
  }
  return params;
}

/// The parameter values as Python values of their schema's kind.
py::dict paramsDict(const std::vector<AlgorithmParam> &schema, const AlgorithmParams *params) {
  py::dict d;
  if (!params)
    return d;
  for (const auto &[name, value] : *params) {
    auto it = llvm::find_if(schema, [&](const AlgorithmParam &p) { return p.name == name; });
    AlgorithmParam::Kind kind = it == schema.end() ? AlgorithmParam::Kind::Number : it->kind;
    if (kind == AlgorithmParam::Kind::Integer)
      d[py::str(name)] = static_cast<int64_t>(value);
    else if (kind == AlgorithmParam::Kind::Bool)
      d[py::str(name)] = value != 0;
    else
      d[py::str(name)] = value;
  }
  return d;
}

/// Runs `body` (which calls into Python) with the GIL held, turning any
/// Python or C++ exception into `error`: nothing may unwind into the
/// library, which is built without exceptions.
template <typename Body>
bool callPython(const std::string &what, std::string &error, Body body) {
  py::gil_scoped_acquire gil;
  try {
    return body();
  } catch (py::error_already_set &e) {
    error = what + " raised " + e.what();
  } catch (std::exception &e) {
    error = what + ": " + e.what();
  } catch (...) {
    error = what + " failed";
  }
  return false;
}

/// AMCT's accuracy_based_auto_calibration: the search of
/// amct/Pipelines/AutoCalibrate.h; a Python evaluator (called with the
/// path of each candidate's fake-quant model) gives the score metric.
py::dict autoCalibrateJob(const py::object &model, const py::dict &inputData,
                          const py::dict &evalData, const QuantizeArgs &args,
                          const std::string &metricName, std::optional<double> target,
                          std::optional<double> maxDrop, const py::object &labels,
                          const py::object &referenceModel, const py::object &evaluator,
                          const std::vector<std::string> &repairs, const std::string &savePath) {
  Session session("accuracy_based_auto_calibration");
  OwningOpRef<ModuleOp> module = session.load(model);
  OwningOpRef<ModuleOp> reference;
  if (!referenceModel.is_none())
    reference = session.load(referenceModel);
  AutoCalibrateOptions options;
  options.quantize.configPath = args.configFile;
  options.quantize.batchNum = args.batchNum;
  options.quantize.batchSize = args.batchSize;
  options.quantize.threads = args.threads;
  options.quantize.cosineSamples = std::max<int64_t>(args.cosineSamples, 32);
  options.quantize.calibData = tensorsOf(session, *module, inputData);
  options.evalData = tensorsOf(session, *module, evalData);
  options.metric = *parseAutoMetric(metricName);
  options.target = target;
  options.maxDrop = maxDrop;
  options.repairs = repairs;
  if (!labels.is_none())
    options.labels = tensorOf("labels", labels);
  if (reference)
    options.referenceModel = *reference;
  std::string log;
  options.onTrial = [&](const std::string &line) { log += line + "\n"; };
  // A candidate for the Python evaluator: exported to a temporary file.
  if (!evaluator.is_none())
    options.score = [&](ModuleOp candidate) -> FailureOr<double> {
      return scoreAsONNXFile(candidate, [&](StringRef path) -> FailureOr<double> {
        double value = 0;
        std::string error;
        if (!callPython("the model_evaluator", error, [&] {
              py::object target = py::hasattr(evaluator, "evaluate")
                                      ? evaluator.attr("evaluate")
                                      : evaluator;
              value = target(path.str()).cast<double>();
              return true;
            }))
          return candidate.emitError() << error;
        return value;
      });
    };
  FailureOr<AutoCalibrateResult> result;
  {
    py::gil_scoped_release release;
    result = autoCalibrate(*module, options);
  }
  std::string error;
  std::string logPath = savePath + "_auto_calibration.log";
  auto writeLog = [&](const std::string &last) {
    std::string text = log + last + "\n", ignored;
    (void)writeFileAtomically(logPath, [&](llvm::raw_ostream &os) {
      os << text;
      return success();
    }, &ignored);
  };
  if (failed(result)) {
    if (!log.empty())
      writeLog("no config met the target; no model written");
    session.fail();
  }
  std::vector<std::string> files;
  if (failed(saveAutoCalibrateResult(*result, savePath, {}, files, error)))
    session.fail(error);
  std::string summary = describeAutoCalibrateResult(*result, options.metric);
  writeLog("result: " + summary);
  py::list trials;
  for (const AutoCalibrateTrial &t : result->trials) {
    py::dict row;
    row["change"] = t.change;
    row["metric"] = t.metric;
    row["seconds"] = t.seconds;
    row["kept"] = t.kept;
    trials.append(row);
  }
  py::dict out;
  out["metric"] = result->metric;
  out["fp32_metric"] = result->fp32Metric;
  out["target"] = result->target;
  out["float_layers"] = result->floatLayers;
  out["repairs_kept"] = result->repairsKept;
  out["trials"] = trials;
  out["summary"] = summary;
  py::dict paths;
  paths["config"] = files[0];
  paths["fake_quant_model"] = files[1];
  paths["deploy_model"] = files[2];
  paths["record"] = files[3];
  paths["log"] = logPath;
  out["files"] = paths;
  return out;
}

void registerWeightAlgorithm(const std::string &name, const py::function &function,
                             const std::vector<py::tuple> &paramSpecs, bool needsInputs,
                             const std::string &origin) {
  WeightAlgorithm algorithm;
  algorithm.name = name;
  algorithm.params = paramsOf(paramSpecs);
  algorithm.needsInputs = needsInputs;
  algorithm.origin = origin;
  // Never freed: the registry lives until exit, after the interpreter.
  auto *callable = new py::function(function);
  algorithm.run = [callable, name, schema = algorithm.params](const WeightAlgorithmInput &in,
                                                              WeightAlgorithmOutput &out,
                                                              std::string &error) {
    return callPython("Python algorithm '" + name + "' on layer '" + in.layer + "'", error, [&] {
      py::array_t<float> weight({in.k, in.n});
      std::memcpy(weight.mutable_data(), in.weight, sizeof(float) * in.k * in.n);
      py::object inputs = py::none();
      if (in.inputs) {
        py::array_t<float> rows({in.rows, in.k});
        std::memcpy(rows.mutable_data(), in.inputs, sizeof(float) * in.rows * in.k);
        inputs = rows;
      }
      const char *strategy = in.groupSize > 0 ? "group" : in.groupSize == 0 ? "channel" : "tensor";
      py::object r = (*callable)(weight, py::arg("bits") = in.bits,
                                 py::arg("symmetric") = in.symmetric,
                                 py::arg("strategy") = strategy,
                                 py::arg("group_size") = std::max<int64_t>(in.groupSize, 0),
                                 py::arg("inputs") = inputs, py::arg("params") = paramsDict(schema, in.params),
                                 py::arg("layer") = in.layer);
      if (!py::isinstance<py::tuple>(r) || (py::len(r) != 2 && py::len(r) != 3))
        throw std::runtime_error("must return (q, scale) or (q, scale, offset), got a " +
                                 std::string(py::str(r.get_type().attr("__name__"))));
      py::tuple t = r.cast<py::tuple>();
      py::array q = py::array::ensure(t[0], py::array::c_style);
      if (!q || (q.dtype().kind() != 'i' && q.dtype().kind() != 'u'))
        throw std::runtime_error("q must be an integer numpy array");
      if (q.size() != in.k * in.n)
        throw std::runtime_error("q has " + std::to_string(q.size()) + " values, the weight " +
                                 std::to_string(in.k * in.n) + " ([K, N] = [" +
                                 std::to_string(in.k) + ", " + std::to_string(in.n) + "])");
      py::array_t<int64_t, py::array::forcecast> q64(q);
      out.q.resize(q64.size());
      const int64_t *qv = q64.data();
      for (size_t i = 0; i < out.q.size(); ++i) {
        // The registry checks the bits' range; values past int8 are
        // reported as such, not wrapped.
        if (qv[i] < -128 || qv[i] > 127)
          throw std::runtime_error("q[" + std::to_string(i) + "] = " + std::to_string(qv[i]) +
                                   " is outside the " + std::to_string(in.bits) + "-bit range");
        out.q[i] = int8_t(qv[i]);
      }
      py::array_t<float, py::array::forcecast> scale(t[1]);
      out.scale.assign(scale.data(), scale.data() + scale.size());
      out.offset.clear();
      if (py::len(t) == 3 && !t[2].is_none()) {
        py::array_t<int32_t, py::array::forcecast> offset(t[2]);
        out.offset.assign(offset.data(), offset.data() + offset.size());
      }
      return true;
    });
  };
  std::string error;
  if (!algorithmRegistry().addWeightAlgorithm(std::move(algorithm), error))
    throw AmctError("algorithm_register: error: " + error);
}

void registerActivationAlgorithm(const std::string &name, const py::function &function,
                                 const std::vector<py::tuple> &paramSpecs,
                                 const std::string &origin) {
  ActivationAlgorithm algorithm;
  algorithm.name = name;
  algorithm.params = paramsOf(paramSpecs);
  algorithm.origin = origin;
  auto *callable = new py::function(function);
  algorithm.run = [callable, name, schema = algorithm.params](const ActivationAlgorithmInput &in,
                                                              ActivationAlgorithmOutput &out,
                                                              std::string &error) {
    return callPython("Python algorithm '" + name + "' on layer '" + in.layer + "'", error, [&] {
      py::array_t<float> values({in.rows, in.k});
      std::memcpy(values.mutable_data(), in.values, sizeof(float) * in.rows * in.k);
      py::object r = (*callable)(values, py::arg("bits") = in.bits,
                                 py::arg("symmetric") = in.symmetric,
                                 py::arg("params") = paramsDict(schema, in.params),
                                 py::arg("layer") = in.layer);
      if (!py::isinstance<py::tuple>(r) || py::len(r) != 2)
        throw std::runtime_error("must return (scale, offset)");
      py::tuple t = r.cast<py::tuple>();
      out.scale = t[0].cast<float>();
      out.offset = t[1].cast<int32_t>();
      return true;
    });
  };
  std::string error;
  if (!algorithmRegistry().addActivationAlgorithm(std::move(algorithm), error))
    throw AmctError("algorithm_register: error: " + error);
}

} // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "amct-mlir's C++ library (use the amct_mlir package, not this module)";
  py::register_exception<AmctError>(m, "AmctError", PyExc_RuntimeError);

  m.def("create_config", &createConfig, py::arg("function"), py::arg("config_file"),
        py::arg("model"), py::arg("skip_layers"), py::arg("batch_num"),
        py::arg("activation_offset"), py::arg("simple_config"), py::arg("kv_cache"));

  py::class_<QuantizeArgs>(m, "QuantizeArgs")
      .def(py::init<>())
      .def_readwrite("config_file", &QuantizeArgs::configFile)
      .def_readwrite("kv_cache_config", &QuantizeArgs::kvCacheConfig)
      .def_readwrite("batch_num", &QuantizeArgs::batchNum)
      .def_readwrite("batch_size", &QuantizeArgs::batchSize)
      .def_readwrite("threads", &QuantizeArgs::threads)
      .def_readwrite("cosine_samples", &QuantizeArgs::cosineSamples);
  m.def("quantize_model", &quantizeModelJob, py::arg("model"), py::arg("input_data"),
        py::arg("args"), py::arg("modified_onnx_file"), py::arg("record_file"));
  m.def("quantize", &quantizeJob, py::arg("model"), py::arg("input_data"), py::arg("args"),
        py::arg("save_path"), py::arg("record_file"), py::arg("modified_onnx_file"),
        py::arg("external_data"), py::arg("report_file"));
  m.def("convert", &convertJob, py::arg("function"), py::arg("model"), py::arg("record_file"),
        py::arg("save_path"), py::arg("config_file"), py::arg("external_data"));
  m.def("run_model", &runModel, py::arg("model"), py::arg("input_data"), py::arg("threads"));
  m.def("prune", &pruneJob, py::arg("model"), py::arg("input_data"), py::arg("method"),
        py::arg("ratio"), py::arg("align"), py::arg("skip_layers"), py::arg("config_file"),
        py::arg("record_file"), py::arg("reconstruct"), py::arg("compress_ratio"),
        py::arg("max_prune_ratio"), py::arg("batch_num"), py::arg("batch_size"),
        py::arg("threads"), py::arg("save_path"), py::arg("external_data"));
  m.def("decompose", &decomposeJob, py::arg("model"), py::arg("ratio"), py::arg("energy"),
        py::arg("info_file"), py::arg("even_if_larger"), py::arg("skip_layers"),
        py::arg("save_path"), py::arg("external_data"));

  m.def("accuracy_based_auto_calibration", &autoCalibrateJob, py::arg("model"),
        py::arg("input_data"), py::arg("eval_data"), py::arg("args"), py::arg("metric"),
        py::arg("target"), py::arg("max_drop"), py::arg("labels"), py::arg("reference_model"),
        py::arg("evaluator"), py::arg("repairs"), py::arg("save_path"));
  m.def("register_weight_algorithm", &registerWeightAlgorithm);
  m.def("register_activation_algorithm", &registerActivationAlgorithm);
  m.def("load_plugin", [](const std::string &path) {
    std::string error;
    if (!loadAlgorithmPlugin(path, error))
      throw AmctError("load_plugin: error: " + error);
  });
  m.def("registered_algorithms", &registeredAlgorithmNames);
}
