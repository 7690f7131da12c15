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

#include "amct/Support/ToolSupport.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/Support/raw_ostream.h"

namespace amct {

struct OnnxExportOptions {
  /// When set, the initializers of 1 KiB or more are ONNX external data in
  /// this file (a name relative to the model's folder, as ONNX's
  /// `location`), each at a 64-byte aligned offset, written by
  /// exportONNXExternalData; the model file holds the references.
  std::string externalDataFile;
};

/// Serializes `module` as ONNX to `os`. Emits diagnostics on failure (a
/// model over protobuf's 2 GiB limit is one unless its weights are
/// external data).
mlir::LogicalResult exportONNX(mlir::ModuleOp module, llvm::raw_ostream &os,
                               const OnnxExportOptions &options = {});

/// The bytes of the external data file the model exportONNX writes with
/// the same options refers to.
mlir::LogicalResult exportONNXExternalData(mlir::ModuleOp module, llvm::raw_ostream &os,
                                           const OnnxExportOptions &options);

/// Whether `module`, weights inline, would exceed protobuf's 2 GiB limit.
mlir::FailureOr<bool> exceedsProtobufLimit(mlir::ModuleOp module);

/// The files an export of `module` to `path` writes, for
/// writeFilesAtomically: the model alone, or, with `externalData` or when
/// the weights do not fit protobuf's 2 GiB, `<path>.data` (the weights, as
/// ONNX external data named by the model's file name + ".data") and the
/// model. The writers read the module when they run.
mlir::FailureOr<std::vector<OutputFile>> onnxOutputFiles(mlir::ModuleOp module,
                                                         llvm::StringRef path,
                                                         bool externalData = false);

/// onnxOutputFiles for several models, each written to its path.
mlir::FailureOr<std::vector<OutputFile>>
onnxOutputFiles(llvm::ArrayRef<std::pair<mlir::ModuleOp, std::string>> models,
                bool externalData);

/// Writes `module` as ONNX to `path` (and its external data beside it, see
/// onnxOutputFiles) through temporary files in the same folder, renamed
/// into place only when all were written: a failed export leaves no new
/// file and existing ones untouched.
mlir::LogicalResult exportONNXFile(mlir::ModuleOp module, llvm::StringRef path,
                                   bool externalData = false);

/// A model's score from a user's evaluator that reads model files (auto
/// calibration's `--evaluator` command, Python's ModelEvaluator): `module`
/// exported to a temporary ONNX file, `score(path)`, the file removed.
mlir::FailureOr<double>
scoreAsONNXFile(mlir::ModuleOp module,
                llvm::function_ref<mlir::FailureOr<double>(llvm::StringRef path)> score);

} // namespace amct

#endif // AMCT_TARGET_ONNX_EXPORTONNX_H
