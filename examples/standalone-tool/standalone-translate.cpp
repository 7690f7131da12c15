//===- standalone-translate.cpp - a toolchain's translate driver ----------===//
//
// amct's ONNX import and export in MLIR's translate driver:
//
//   standalone-translate --import-onnx model.onnx -o model.mlir
//   standalone-translate --export-onnx model.mlir -o model.onnx
//
//===----------------------------------------------------------------------===//

#include "amct/InitAll.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  amct::registerAllTranslations();
  return mlir::failed(mlir::mlirTranslateMain(argc, argv, "standalone ONNX translator\n"));
}
