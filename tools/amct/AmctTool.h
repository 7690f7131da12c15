//===- AmctTool.h - what the amct subcommands share -------------*- C++ -*-===//
//
// `amct <command>`: one file per command (Inspect, Run, Evaluate,
// CreateConfig, Quantize), each defining its cl::SubCommand with its
// options in the same file (their registration needs the subcommand
// constructed first), and the pieces they share (ModelIO.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_TOOLS_AMCT_AMCTTOOL_H
#define AMCT_TOOLS_AMCT_AMCTTOOL_H

#include "amct/Runtime/Tensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "amct/Support/ToolSupport.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/CommandLine.h"

#include <memory>
#include <string>
#include <vector>

namespace amct::tool {

namespace cl = llvm::cl;

extern cl::SubCommand inspectCmd, runCmd, evaluateCmd, createConfigCmd, quantizeCmd,
    calibrateCmd, kernelsCmd, convertCmd, autoCalibrateCmd, pruneCmd, decomposeCmd;
int runInspect();
int runRun();
int runEvaluate();
int runCreateConfig();
int runQuantize();
int runCalibrate();
int runKernels();
int runConvert();
int runAutoCalibrate();
int runPrune();
int runDecompose();

/// An MLIRContext with the import dialects loaded and diagnostics printed
/// as `<tool>: error: ...`: what every command opens first.
class ToolSession {
public:
  explicit ToolSession(llvm::StringRef tool);
  mlir::MLIRContext &context() { return *ctx; }
  /// A model: .mlir / .mlirbc parsed, anything else imported as ONNX; null
  /// after an error (reported).
  mlir::OwningOpRef<mlir::ModuleOp> loadModel(llvm::StringRef path);

private:
  std::unique_ptr<mlir::MLIRContext> ctx;
  std::unique_ptr<ToolDiagnostics> diagnostics;
};

/// The graph-input options of commands that run a model (run, evaluate):
/// one declaration, instantiated in each command's file.
struct InputOptions {
  explicit InputOptions(cl::SubCommand &command);
  cl::list<std::string> inputs, shapes, dtypes;
};

/// `--plugin P.so` (repeatable): shared libraries of user weight
/// algorithms (amct/Support/AlgorithmRegistry.h), loaded before the config
/// is read. One declaration, instantiated in each command's file.
struct PluginOptions {
  explicit PluginOptions(cl::SubCommand &command);
  cl::list<std::string> plugins;
  /// Loads them all; false after printing the error (`tool: error: ...`).
  bool load(llvm::StringRef tool) const;
};

/// Splits NAME=VALUE; fails with a message naming the option.
bool splitAssignment(llvm::StringRef tool, llvm::StringRef option, llvm::StringRef text,
                     std::string &name, std::string &value);

/// Output file name for a graph output: characters outside [A-Za-z0-9_.-]
/// become '_'.
std::string outputFileName(llvm::StringRef name);

/// Loads a model, binds NAME=FILE inputs (by graph input name), runs it on
/// the executor (in batches along dim 0 if `batchSize` > 0) and returns every
/// graph output, concatenated back. Returns an exit status (0: success).
int executeModel(llvm::StringRef tool, llvm::StringRef modelPath, const InputOptions &inputs,
                 int threads, int64_t batchSize, std::vector<std::string> &outNames,
                 std::vector<rt::Tensor> &results);

/// Prints rows as columns separated by two spaces; a column is left-aligned
/// unless `rightAligned[i]` (numbers). The last column is not padded.
void printTable(llvm::raw_ostream &os, const std::vector<std::vector<std::string>> &rows,
                const std::vector<bool> &rightAligned);

/// `value` with `digits` significant digits, as %g prints it.
std::string formatG(double value, int digits);

} // namespace amct::tool

#endif // AMCT_TOOLS_AMCT_AMCTTOOL_H
