//===- CalibratePass.cpp - --amct-calibrate -------------------------------===//
//
// calibrateModule as a pass. It lives with the pipelines (not
// lib/Transforms) because it runs the executor.
//
//===----------------------------------------------------------------------===//

#include "amct/Pipelines/Calibration.h"
#include "amct/Pipelines/Passes.h"
#include "amct/Pipelines/Quantize.h"
#include "amct/Support/Progress.h"
#include "amct/Support/RecordFile.h"
#include "amct/Support/ToolSupport.h"

#include "mlir/IR/Diagnostics.h"

namespace amct {
#define GEN_PASS_DEF_AMCTCALIBRATE
#include "amct/Pipelines/Passes.h.inc"
} // namespace amct

using namespace mlir;
using namespace amct;

namespace {

struct AmctCalibratePass : amct::impl::AmctCalibrateBase<AmctCalibratePass> {
  using AmctCalibrateBase::AmctCalibrateBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (recordPath.empty()) {
      module.emitError("--amct-calibrate needs record=<record file to write>");
      return signalPassFailure();
    }
    if (calibData.empty()) {
      module.emitError("--amct-calibrate needs calib-data=NAME=FILE.npy");
      return signalPassFailure();
    }
    std::string error;
    std::optional<std::map<std::string, rt::Tensor>> data = readCalibrationData(
        std::vector<std::string>(calibData.begin(), calibData.end()), getMainFunction(module),
        error);
    if (!data) {
      module.emitError() << "--amct-calibrate: " << error;
      return signalPassFailure();
    }
    CalibrateModuleOptions options;
    options.data = std::move(*data);
    options.batchNum = batchNum;
    options.batchSize = batchSize;
    options.showProgress = true;
    ScopedDiagnosticHandler clearBar(&getContext(), [](Diagnostic &) {
      ProgressBar::clearCurrent();
      return failure();
    });
    Record record;
    if (failed(calibrateModule(module, options, record)))
      return signalPassFailure();
    std::string text = writeRecordFile(record);
    if (failed(writeFileAtomically(recordPath, [&](llvm::raw_ostream &os) {
          os << text;
          return success();
        }, &error))) {
      module.emitError() << "--amct-calibrate record=" << recordPath << ": " << error;
      signalPassFailure();
    }
  }
};

} // namespace
