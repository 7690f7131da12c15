//===- ExportONNX.h - amct IR -> ONNX model ---------------------*- C++ -*-===//
//
// Writes a module holding `func.func @main` of amct / ascend ops as an ONNX
// ModelProto. Typed ops become their ONNX op, `amct.node` its recorded op,
// ascend ops the Ascend custom ops. Names, opset imports, IR version and
// metadata recorded at import are written back.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_TARGET_ONNX_EXPORTONNX_H
#define AMCT_TARGET_ONNX_EXPORTONNX_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/Support/raw_ostream.h"

namespace amct {

/// Serializes `module` as ONNX to `os`. Emits diagnostics on failure.
mlir::LogicalResult exportONNX(mlir::ModuleOp module, llvm::raw_ostream &os);

/// Writes `module` as ONNX to `path` through a temporary file in the same
/// folder, renamed into place only on success: a failed export leaves no new
/// file and an existing one untouched.
mlir::LogicalResult exportONNXFile(mlir::ModuleOp module, llvm::StringRef path);

} // namespace amct

#endif // AMCT_TARGET_ONNX_EXPORTONNX_H
