//===- amct-opt.cpp - the amct pass driver --------------------------------===//
//
// mlir-opt with the amct dialects and passes, which also reads and writes
// ONNX: an input ending in .onnx is imported first, and an output (-o) ending
// in .onnx is exported after the pipeline. Everything else is MlirOptMain, so
// every standard flag works (--pass-pipeline, --mlir-print-ir-after-all,
// -split-input-file, -verify-diagnostics, ...). Output is written only after
// the whole run succeeded.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Ascend/IR/Ascend.h"
#include "amct/InitAll.h"
#include "amct/Support/ToolSupport.h"
#include "amct/Target/ONNX/ExportONNX.h"
#include "amct/Target/ONNX/ImportONNX.h"
#include "amct/Pipelines/Passes.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/AsmState.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;
using namespace amct;

namespace cl = llvm::cl;

static bool hasOnnxExtension(StringRef path) { return path.ends_with_insensitive(".onnx"); }

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerTransformsPasses();
  // What any toolchain registers (amct/InitAll.h).
  amct::registerAllPasses();

  DialectRegistry registry;
  amct::registerAllDialects(registry);

  cl::opt<std::string> inputFilename(cl::Positional, cl::desc("<input file (.mlir or .onnx)>"),
                                     cl::init("-"));
  cl::opt<std::string> outputFilename("o", cl::desc("output file (.onnx exports ONNX)"),
                                      cl::value_desc("filename"), cl::init("-"));
  cl::opt<bool> externalData(
      "onnx-external-data",
      cl::desc("with a .onnx output: the weights as ONNX external data in <output>.data "
               "(done anyway when the model exceeds protobuf's 2 GiB)"));
  MlirOptMainConfig::registerCLOptions(registry);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  // ONNX node and tensor names live in locations: print them by default so
  // that a .mlir written here exports with the model's names.
  SmallVector<char *> args(argv, argv + argc);
  std::string debugInfoFlag = "--mlir-print-debuginfo";
  if (llvm::none_of(args, [](StringRef a) { return a.starts_with("--mlir-print-debuginfo") ||
                                                   a.starts_with("-mlir-print-debuginfo") ||
                                                   a == "--strip-names"; }))
    args.insert(args.begin() + 1, debugInfoFlag.data());
  llvm::erase_if(args, [](StringRef a) { return a == "--strip-names"; });
  // An error names what is wrong; the enclosing function printed after it
  // (thousands of lines on a real model) buries it. Ask for it with
  // --mlir-print-op-on-diagnostic.
  std::string quietDiagnostics = "--mlir-print-op-on-diagnostic=false";
  if (llvm::none_of(args, [](StringRef a) {
        return a.starts_with("--mlir-print-op-on-diagnostic") ||
               a.starts_with("-mlir-print-op-on-diagnostic");
      }))
    args.insert(args.begin() + 1, quietDiagnostics.data());
  if (!cl::ParseCommandLineOptions(args.size(), args.data(), "amct modular optimizer driver\n",
                                   &llvm::errs()))
    return kExitUsageError;
  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();
  bool exportOnnx = hasOnnxExtension(outputFilename);
  if (exportOnnx && !config.inputSplitMarker().empty()) {
    llvm::errs() << "amct-opt: error: -split-input-file cannot write one ONNX model\n";
    return kExitUsageError;
  }

  // The input as MLIR: ONNX models are imported and handed over as bytecode.
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  if (hasOnnxExtension(inputFilename)) {
    MLIRContext context(registry);
    ToolDiagnostics diagnostics(context, "amct-opt");
    auto module = importONNXFile(inputFilename, &context);
    if (failed(module))
      return kExitUserError;
    std::string bytes;
    llvm::raw_string_ostream os(bytes);
    if (failed(writeBytecodeToFile(**module, os)))
      return kExitUserError;
    buffer = llvm::MemoryBuffer::getMemBufferCopy(bytes, inputFilename);
  } else {
    std::string error;
    buffer = openSourceFile(inputFilename, &error);
    if (!buffer) {
      llvm::errs() << "amct-opt: error: " << error << "\n";
      return kExitUserError;
    }
  }

  if (exportOnnx)
    config.emitBytecode(true);
  std::string result;
  llvm::raw_string_ostream resultStream(result);
  if (failed(MlirOptMain(resultStream, std::move(buffer), registry, config)))
    return kExitUserError;

  std::string error;
  LogicalResult written = success();
  if (exportOnnx) {
    MLIRContext context(registry);
    ToolDiagnostics diagnostics(context, "amct-opt");
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(result, &context);
    if (!module)
      return kExitUserError;
    // exportOnnx means a .onnx output file, never stdout.
    FailureOr<std::vector<OutputFile>> files =
        onnxOutputFiles(*module, outputFilename, externalData);
    if (failed(files))
      return kExitUserError;
    written = writeFilesAtomically(*files, &error);
  } else {
    written = writeFileAtomically(
        outputFilename,
        [&](llvm::raw_ostream &os) {
          os << result;
          return success();
        },
        &error);
  }
  if (failed(written)) {
    if (!error.empty())
      llvm::errs() << "amct-opt: error: " << error << "\n";
    return kExitUserError;
  }
  return 0;
}
