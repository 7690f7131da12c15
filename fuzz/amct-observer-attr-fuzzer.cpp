//===- amct-observer-attr-fuzzer.cpp - libFuzzer target for typed params --===//
//
// The typed observer parameters (#amct.ifmr<...>, #amct.hfmg<...>,
// #amct.arq<...>, #amct.dmq, #amct.layer_output) are a new syntax that
// calib.mlir files carry between `amct-opt` and `amct calibrate`. The input
// is spliced in as an observer's `method` and `weights`; what parses and
// verifies must print and parse back to the same text.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string attr(reinterpret_cast<const char *>(data), size);
  // One attribute: no braces that could close the dictionary early.
  if (attr.find_first_of("{}\n") != std::string::npos)
    return 0;
  std::string src = "func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n"
                    "  %o = amct.observer %x {layer = \"l\", method = " +
                    attr + "} : tensor<2xf32>\n  return %o : tensor<2xf32>\n}\n";
  mlir::MLIRContext context;
  context.loadDialect<amct::AmctDialect, mlir::func::FuncDialect>();
  context.getDiagEngine().registerHandler([](mlir::Diagnostic &) {});
  auto module = mlir::parseSourceString<mlir::ModuleOp>(src, &context);
  if (!module)
    return 0;
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  auto reparsed = mlir::parseSourceString<mlir::ModuleOp>(printed, &context);
  if (!reparsed)
    __builtin_trap();
  std::string again;
  llvm::raw_string_ostream os2(again);
  reparsed->print(os2);
  if (again != printed)
    __builtin_trap();
  return 0;
}
