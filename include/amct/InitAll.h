//===- InitAll.h - everything amct-mlir registers, for toolchains -*- C++ -*-===//
//
// What a compiler that links amct-mlir calls to get the project's dialects,
// passes and translations into its own driver, as MLIR's InitAllDialects.h
// / InitAllPasses.h do for MLIR's:
//
//   mlir::DialectRegistry registry;
//   amct::registerAllDialects(registry);
//   amct::registerAllPasses();
//   return mlir::asMainReturnCode(mlir::MlirOptMain(argc, argv, "my-opt", registry));
//
// (examples/standalone-tool is such a driver, built against an install).
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_INITALL_H
#define AMCT_INITALL_H

#include "mlir/IR/DialectRegistry.h"

namespace amct {

/// The dialects amct's IR uses: amct, ascend and func (what an imported
/// ONNX model and every pass output contain).
void registerAllDialects(mlir::DialectRegistry &registry);

/// Every amct pass and pipeline (--amct-fold-constants ... --amct-convert,
/// --amct-prepare, --amct-quantize, --amct-calibrate), for MlirOptMain and
/// PassPipeline parsing.
void registerAllPasses();

/// The ONNX translations for MlirTranslateMain: --import-onnx (ONNX model
/// -> amct IR) and --export-onnx (amct IR -> ONNX model).
void registerAllTranslations();

} // namespace amct

#endif // AMCT_INITALL_H
