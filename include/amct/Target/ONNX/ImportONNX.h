//===- ImportONNX.h - ONNX model -> amct IR ---------------------*- C++ -*-===//
//
// Reads an ONNX ModelProto into a module holding `func.func @main`. Typed amct
// ops for the ONNX ops and opsets they implement, `amct.node` for the rest;
// initializers become `amct.const` (dense_resource blobs for large ones,
// taken from the parsed protobuf without a copy). Every failure is an error
// diagnostic naming the file and the node, tensor or attribute at fault.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_TARGET_ONNX_IMPORTONNX_H
#define AMCT_TARGET_ONNX_IMPORTONNX_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LogicalResult.h"

namespace amct {

/// The newest default-domain opset the importer understands.
constexpr int64_t kMaxSupportedOpset = 22;

struct ImportOptions {
  /// Run ONNX's own shape inference first so intermediate values get types.
  bool inferShapes = true;
  /// Tensors with at most this many elements are dense attributes, larger
  /// ones dense_resource blobs.
  int64_t maxInlineElements = 8;
};

/// Imports the ONNX model at `path`. Diagnostics go to the context's handler.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
importONNXFile(llvm::StringRef path, mlir::MLIRContext *context,
               const ImportOptions &options = {});

/// Imports a serialized ONNX model; `name` is used in diagnostics and as the
/// base directory for external data.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
importONNXBuffer(llvm::StringRef bytes, llvm::StringRef name,
                 mlir::MLIRContext *context, const ImportOptions &options = {});

/// Registers the dialects the importer creates.
void registerImportDialects(mlir::DialectRegistry &registry);

} // namespace amct

#endif // AMCT_TARGET_ONNX_IMPORTONNX_H
