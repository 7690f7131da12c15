//===- CalibratePass.cpp - --amct-calibrate -------------------------------===//
//
// calibrateModule as a pass. It lives with the pipelines (not
// lib/Transforms) because it runs the executor.
//
//===----------------------------------------------------------------------===//

#include "PassSupport.h"
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
    std::optional<std::map<std::string, rt::Tensor>> data = amct::detail::readPassCalibrationData(
        module, std::vector<std::string>(calibData.begin(), calibData.end()), "--amct-calibrate");
    if (!data)
      return signalPassFailure();
    CalibrateModuleOptions options;
    options.data = std::move(*data);
    options.batchNum = batchNum;
    options.batchSize = batchSize;
    options.showProgress = true;
    amct::detail::ClearProgressOnDiagnostic clearBar(&getContext());
    Record record;
    if (failed(calibrateModule(module, options, record)) ||
        failed(amct::detail::writePassRecord(module, recordPath, record, "--amct-calibrate")))
      signalPassFailure();
  }
};

} // namespace
