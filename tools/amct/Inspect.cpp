//===- Inspect.cpp - amct inspect -----------------------------------------===//

#include "AmctTool.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Target/ONNX/ImportONNX.h"

#include <map>

using namespace mlir;
using namespace amct;
using namespace amct::tool;

cl::SubCommand amct::tool::inspectCmd("inspect",
                                 "Summarise an ONNX model: inputs, outputs, op counts, "
                                 "which nodes have typed ops");
static cl::opt<std::string> inspectModel("model", cl::desc("ONNX model"), cl::Required,
                                         cl::value_desc("M.onnx"), cl::sub(inspectCmd));

int amct::tool::runInspect() {
  ToolSession session("amct inspect");
  OwningOpRef<ModuleOp> module = session.loadModel(inspectModel);
  if (!module)
    return kExitUserError;
  func::FuncOp func = getMainFunction(*module);
  if (!func) {
    llvm::errs() << "amct inspect: error: " << inspectModel << ": no function\n";
    return kExitUserError;
  }
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

