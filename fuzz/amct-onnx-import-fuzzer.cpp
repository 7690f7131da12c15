//===- amct-onnx-import-fuzzer.cpp - libFuzzer target for the importer ---===//
//
// Feeds arbitrary bytes to the ONNX importer as `amct-translate
// --import-onnx` does, then verifies and exports whatever imported. ONNX's
// shape inference runs in a forked child (libonnx crashes on malformed
// models), which under ASan costs ~10 ms an input; it runs on one input in
// eight, chosen by length, so most executions test the importer's own
// checks at full speed. Any input must give a module or diagnostics, never a
// crash, a sanitizer report or a huge allocation.
//
//===----------------------------------------------------------------------===//

#include "amct/Target/ONNX/ExportONNX.h"
#include "amct/Target/ONNX/ImportONNX.h"
#include "QuietImportContext.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::unique_ptr<mlir::MLIRContext> context = makeQuietImportContext();

  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  amct::ImportOptions options;
  options.inferShapes = size % 8 == 0;
  auto module = amct::importONNXBuffer(bytes, "fuzz.onnx", context.get(), options);
  if (mlir::failed(module))
    return 0;
  // The importer promises a valid module; a verifier failure is a bug.
  if (mlir::failed(mlir::verify(module->get())))
    __builtin_trap();
  std::string exported;
  llvm::raw_string_ostream os(exported);
  (void)amct::exportONNX(module->get(), os);
  return 0;
}
