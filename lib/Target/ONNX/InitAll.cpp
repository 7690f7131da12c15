//===- InitAll.cpp - the registrations of include/amct/InitAll.h ----------===//
//
// In the ONNX target library because it is the one that sees every other
// (dialects, pipelines, import and export).
//
//===----------------------------------------------------------------------===//

#include "amct/InitAll.h"

#include "amct/Pipelines/Passes.h"
#include "amct/Target/ONNX/ExportONNX.h"
#include "amct/Target/ONNX/ImportONNX.h"

#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

void amct::registerAllDialects(DialectRegistry &registry) { registerImportDialects(registry); }

void amct::registerAllPasses() { registerAllPassesAndPipelines(); }

void amct::registerAllTranslations() {
  // Registration is global and by name: a second call would abort.
  static bool registered = [] {
    TranslateToMLIRRegistration importOnnx(
        "import-onnx", "ONNX model -> amct IR",
        [](llvm::SourceMgr &sourceMgr, MLIRContext *context) -> OwningOpRef<Operation *> {
          const llvm::MemoryBuffer *buffer = sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
          auto module = importONNXBuffer(buffer->getBuffer(), buffer->getBufferIdentifier(),
                                         context);
          if (failed(module))
            return nullptr;
          return OwningOpRef<Operation *>(module->release());
        });
    TranslateFromMLIRRegistration exportOnnx(
        "export-onnx", "amct IR -> ONNX model",
        [](Operation *op, llvm::raw_ostream &os) -> LogicalResult {
          auto module = dyn_cast<ModuleOp>(op);
          if (!module)
            return op->emitError("export-onnx needs a builtin.module");
          return exportONNX(module, os);
        },
        [](DialectRegistry &registry) { registerImportDialects(registry); });
    return true;
  }();
  (void)registered;
}
