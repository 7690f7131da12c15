//===- PassSupport.h - what the calibrating passes share --------*- C++ -*-===//
//
// Private to lib/Pipelines: --amct-quantize and --amct-calibrate read their
// calib-data= option, keep the progress bar off the diagnostics' lines and
// write their record= file the same way.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_LIB_PIPELINES_PASSSUPPORT_H
#define AMCT_LIB_PIPELINES_PASSSUPPORT_H

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Pipelines/Quantize.h"
#include "amct/Support/Progress.h"
#include "amct/Support/RecordFile.h"
#include "amct/Support/ToolSupport.h"

#include "mlir/IR/Diagnostics.h"

namespace amct::detail {

/// The calibration inputs of a pass's calib-data= option, or nothing after
/// an error on `module` naming `passFlag`.
inline std::optional<std::map<std::string, rt::Tensor>>
readPassCalibrationData(mlir::ModuleOp module, llvm::ArrayRef<std::string> calibData,
                        llvm::StringRef passFlag) {
  if (calibData.empty()) {
    module.emitError() << passFlag << " needs calib-data=NAME=FILE.npy";
    return std::nullopt;
  }
  std::string error;
  std::optional<std::map<std::string, rt::Tensor>> data =
      readCalibrationData(calibData, getMainFunction(module), error);
  if (!data)
    module.emitError() << passFlag << ": " << error;
  return data;
}

/// A diagnostic raised while the calibration bar is drawn must not land on
/// its line: erase the bar, then let the tool's handler print it.
struct ClearProgressOnDiagnostic : mlir::ScopedDiagnosticHandler {
  explicit ClearProgressOnDiagnostic(mlir::MLIRContext *context)
      : ScopedDiagnosticHandler(context, [](mlir::Diagnostic &) {
          ProgressBar::clearCurrent();
          return mlir::failure();
        }) {}
};

/// Writes `record` to a pass's record= file atomically; an error on
/// `module` names `passFlag`.
inline mlir::LogicalResult writePassRecord(mlir::ModuleOp module, llvm::StringRef path,
                                           const Record &record, llvm::StringRef passFlag) {
  std::string text = writeRecordFile(record), error;
  if (succeeded(writeFileAtomically(path, [&](llvm::raw_ostream &os) {
        os << text;
        return mlir::success();
      }, &error)))
    return mlir::success();
  return module.emitError() << passFlag << " record=" << path << ": " << error;
}

} // namespace amct::detail

#endif // AMCT_LIB_PIPELINES_PASSSUPPORT_H
