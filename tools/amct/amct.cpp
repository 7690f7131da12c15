//===- amct.cpp - the amct user command line ------------------------------===//
//
// AMCT's Python API as commands: `amct <command> [options]`. Each command is
// a subcommand with its own --help. Commands arrive with the issues that
// build them; `inspect` summarises what the importer makes of a model.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Support/ToolSupport.h"
#include "amct/Target/ONNX/ImportONNX.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace mlir;
using namespace amct;

namespace cl = llvm::cl;

static cl::SubCommand inspectCmd("inspect",
                                 "Summarise an ONNX model: inputs, outputs, op counts, "
                                 "which nodes have typed ops");
static cl::opt<std::string> inspectModel("model", cl::desc("ONNX model"), cl::Required,
                                         cl::value_desc("M.onnx"), cl::sub(inspectCmd));

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
  llvm::errs() << "amct: error: no command given; see amct --help\n";
  return kExitUsageError;
}
