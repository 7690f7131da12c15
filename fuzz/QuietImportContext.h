//===- QuietImportContext.h - the context the ONNX fuzzers import into ----===//
//
// A fresh context per input, so one input's uniqued attributes and resource
// blobs do not pile up across millions of runs; the import dialects loaded,
// no threads, diagnostics swallowed (a refusal is an expected outcome).
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_FUZZ_QUIETIMPORTCONTEXT_H
#define AMCT_FUZZ_QUIETIMPORTCONTEXT_H

#include "amct/Target/ONNX/ImportONNX.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <memory>

inline std::unique_ptr<mlir::MLIRContext> makeQuietImportContext() {
  mlir::DialectRegistry registry;
  amct::registerImportDialects(registry);
  auto context =
      std::make_unique<mlir::MLIRContext>(registry, mlir::MLIRContext::Threading::DISABLED);
  context->loadAllAvailableDialects();
  context->getDiagEngine().registerHandler([](mlir::Diagnostic &) { return mlir::success(); });
  return context;
}

#endif // AMCT_FUZZ_QUIETIMPORTCONTEXT_H
