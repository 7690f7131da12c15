//===- amct-translate.cpp - ONNX <-> MLIR translation driver --------------===//
//
//   amct-translate --import-onnx model.onnx -o model.mlir
//   amct-translate --export-onnx model.mlir -o model.onnx
//
// Outputs are written atomically: a failed run leaves no output file and an
// existing one untouched. Exit status 1 for bad input, 2 for bad usage.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Ascend/IR/Ascend.h"
#include "amct/Support/ToolSupport.h"
#include "amct/Target/ONNX/ExportONNX.h"
#include "amct/Target/ONNX/ImportONNX.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
using namespace amct;

namespace cl = llvm::cl;

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::OptionCategory category("amct-translate options");
  cl::opt<bool> importOnnx("import-onnx", cl::desc("ONNX model -> amct MLIR"),
                           cl::cat(category));
  cl::opt<bool> exportOnnx("export-onnx", cl::desc("amct MLIR -> ONNX model"),
                           cl::cat(category));
  cl::opt<std::string> input(cl::Positional, cl::desc("<input file>"), cl::Required,
                             cl::cat(category));
  cl::opt<std::string> output("o", cl::desc("output file ('-' for stdout)"),
                              cl::value_desc("file"), cl::init("-"), cl::cat(category));
  cl::opt<bool> emitBytecode("emit-bytecode", cl::desc("write MLIR bytecode"),
                             cl::cat(category));
  cl::opt<bool> noShapeInference("no-onnx-shape-inference",
                                 cl::desc("do not run ONNX shape inference on import"),
                                 cl::cat(category));
  cl::opt<bool> stripNames("strip-names",
                           cl::desc("print MLIR without locations (ONNX names are lost)"),
                           cl::cat(category));
  cl::opt<bool> externalData(
      "onnx-external-data",
      cl::desc("with --export-onnx: the weights as ONNX external data in <output>.data (done "
               "anyway when the model exceeds protobuf's 2 GiB)"),
      cl::cat(category));
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  if (!cl::ParseCommandLineOptions(argc, argv, "amct ONNX <-> MLIR translator\n",
                                   &llvm::errs()))
    return kExitUsageError;
  if (importOnnx == exportOnnx) {
    llvm::errs() << "amct-translate: error: give exactly one of --import-onnx, --export-onnx\n";
    return kExitUsageError;
  }

  DialectRegistry registry;
  registerImportDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  ToolDiagnostics diagnostics(context, "amct-translate");

  OwningOpRef<ModuleOp> module;
  if (importOnnx) {
    ImportOptions options;
    options.inferShapes = !noShapeInference;
    auto imported = importONNXFile(input, &context, options);
    if (failed(imported))
      return kExitUserError;
    module = std::move(*imported);
  } else {
    llvm::SourceMgr sourceMgr;
    std::string error;
    auto file = openSourceFile(input, &error);
    if (!file) {
      llvm::errs() << "amct-translate: error: " << error << "\n";
      return kExitUserError;
    }
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    SourceMgrDiagnosticHandler handler(sourceMgr, &context);
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
    if (!module)
      return kExitUserError;
  }

  std::string error;
  if (exportOnnx && output != "-") {
    // The model, and its external data when asked or needed.
    FailureOr<std::vector<OutputFile>> files = onnxOutputFiles(*module, output, externalData);
    if (failed(files))
      return kExitUserError;
    if (succeeded(writeFilesAtomically(*files, &error)))
      return 0;
    if (!error.empty())
      llvm::errs() << "amct-translate: error: " << error << "\n";
    return kExitUserError;
  }
  if (externalData) {
    llvm::errs() << "amct-translate: error: --onnx-external-data needs --export-onnx and an "
                    "output file (-o)\n";
    return kExitUsageError;
  }
  LogicalResult written = writeFileAtomically(
      output,
      [&](llvm::raw_ostream &os) -> LogicalResult {
        if (exportOnnx)
          return exportONNX(*module, os);
        if (emitBytecode)
          return writeBytecodeToFile(*module, os);
        // Node and tensor names are locations: print them unless asked not to.
        OpPrintingFlags flags;
        if (!stripNames)
          flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
        module->print(os, flags);
        os << "\n";
        return success();
      },
      &error);
  if (failed(written)) {
    if (!error.empty())
      llvm::errs() << "amct-translate: error: " << error << "\n";
    return kExitUserError;
  }
  return 0;
}
