//===- standalone-opt.cpp - a toolchain's opt driver with amct's passes ---===//
//
// What a compiler links to run amct-mlir's passes in its own driver: the
// dialects and passes registered through amct/InitAll.h, MLIR's own
// canonicalizer and CSE beside them, and MlirOptMain for the rest.
//
//   standalone-opt model.mlir --amct-prepare --amct-quantize="calib-data=x.npy" --amct-convert
//
//===----------------------------------------------------------------------===//

#include "amct/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  amct::registerAllDialects(registry);
  amct::registerAllPasses();
  mlir::registerTransformsPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "standalone optimizer with amct's passes\n", registry));
}
