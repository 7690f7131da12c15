//===- ModelIO.cpp - loading, binding inputs and running a model ----------===//

#include "AmctTool.h"

#include "amct/Support/AlgorithmRegistry.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Runtime/Executor.h"
#include "amct/Support/Npy.h"
#include "amct/Support/Progress.h"
#include "amct/Target/ONNX/ImportONNX.h"

#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"

#include <map>
#include <tuple>

using namespace mlir;
using namespace amct;
using namespace amct::tool;

ToolSession::ToolSession(StringRef tool) {
  DialectRegistry registry;
  registerImportDialects(registry);
  ctx = std::make_unique<MLIRContext>(registry);
  ctx->loadAllAvailableDialects();
  // Errors name the layer or file; the enclosing IR would bury them.
  ctx->printOpOnDiagnostic(false);
  diagnostics = std::make_unique<ToolDiagnostics>(*ctx, tool);
}

OwningOpRef<ModuleOp> ToolSession::loadModel(StringRef path) {
  // MLIR by its extension; everything else is an ONNX model (exports do not
  // always end in .onnx).
  if (!path.ends_with(".mlir") && !path.ends_with(".mlirbc")) {
    auto module = importONNXFile(path, ctx.get());
    return failed(module) ? OwningOpRef<ModuleOp>() : std::move(*module);
  }
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> file = openSourceFile(path, &error);
  if (!file) {
    emitError(FileLineColLoc::get(ctx.get(), path, 0, 0)) << error;
    return {};
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, ctx.get());
  return parseSourceFile<ModuleOp>(sourceMgr, ctx.get());
}

InputOptions::InputOptions(cl::SubCommand &command)
    : inputs("input",
             cl::desc("graph input NAME=FILE (.npy, or raw .bin with --input-shape and "
                      "--input-dtype)"),
             cl::value_desc("NAME=FILE"), cl::sub(command)),
      shapes("input-shape", cl::desc("shape of a .bin input, NAME=1x3x224x224"),
             cl::value_desc("NAME=DIMS"), cl::sub(command)),
      dtypes("input-dtype", cl::desc("dtype of a .bin input, NAME=float32"),
             cl::value_desc("NAME=DTYPE"), cl::sub(command)) {}

PluginOptions::PluginOptions(cl::SubCommand &command)
    : plugins("plugin",
              cl::desc("shared library of user weight algorithms (defines "
                       "amct_register_algorithms; amct/Support/AlgorithmRegistry.h)"),
              cl::value_desc("P.so"), cl::sub(command)) {}

bool PluginOptions::load(StringRef tool) const {
  for (const std::string &path : plugins) {
    std::string error;
    if (!loadAlgorithmPlugin(path, error)) {
      llvm::errs() << tool << ": error: " << error << "\n";
      return false;
    }
  }
  return true;
}

/// Splits NAME=VALUE; fails with a message naming the option.
bool amct::tool::splitAssignment(StringRef tool, StringRef option, StringRef text,
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
std::string amct::tool::outputFileName(StringRef name) {
  std::string s = name.str();
  for (char &c : s)
    if (!llvm::isAlnum(c) && c != '_' && c != '.' && c != '-')
      c = '_';
  return s + ".npy";
}


int amct::tool::executeModel(StringRef tool, StringRef modelPath, const InputOptions &inputOptions,
                 int threads, int64_t batchSize, std::vector<std::string> &outNames,
                 std::vector<rt::Tensor> &results) {
  ToolSession session(tool);
  OwningOpRef<ModuleOp> module = session.loadModel(modelPath);
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
       {std::tuple{&inputOptions.inputs, "input", &files},
        {&inputOptions.shapes, "input-shape", &shapes},
        {&inputOptions.dtypes, "input-dtype", &dtypes}})
    for (const std::string &text : *list) {
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
    std::vector<rt::Tensor> outputPieces;
    for (auto &p : pieces)
      outputPieces.push_back(p[o]);
    std::optional<rt::Tensor> result = rt::Tensor::concatRows(outputPieces);
    if (!result) {
      llvm::errs() << tool << ": error: cannot allocate output '" << outNames[o] << "'\n";
      return kExitUserError;
    }
    results.push_back(std::move(*result));
  }
  return 0;
}

/// Prints rows as columns separated by two spaces; a column is left-aligned
/// unless `rightAligned[i]` (numbers). The last column is not padded.
void amct::tool::printTable(llvm::raw_ostream &os, const std::vector<std::vector<std::string>> &rows,
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
std::string amct::tool::formatG(double value, int digits) {
  char buffer[64];
  snprintf(buffer, sizeof(buffer), "%.*g", digits, value);
  return buffer;
}
