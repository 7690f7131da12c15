//===- QuantizePass.cpp - --amct-quantize ---------------------------------===//
//
// quantizeModel as a pass, so one amct-opt call does the whole job. It lives
// with the pipelines (not lib/Transforms) because it runs the executor.
//
//===----------------------------------------------------------------------===//

#include "amct/Pipelines/Quantize.h"
#include "amct/Dialect/Ascend/IR/Ascend.h"
#include "amct/Support/Npy.h"
#include "amct/Support/Progress.h"
#include "amct/Support/ToolSupport.h"
#include "amct/Pipelines/Passes.h"

#include "mlir/IR/Diagnostics.h"

namespace amct {
#define GEN_PASS_DEF_AMCTQUANTIZE
#include "amct/Pipelines/Passes.h.inc"
} // namespace amct

using namespace mlir;
using namespace amct;

namespace {

struct AmctQuantizePass : amct::impl::AmctQuantizeBase<AmctQuantizePass> {
  using AmctQuantizeBase::AmctQuantizeBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    QuantizeOptions options;
    options.configPath = configPath;
    options.batchNum = batchNum;
    options.batchSize = batchSize;
    // The pass reports no summary, so the fp32 comparison would be wasted.
    options.cosineSamples = 0;
    options.showProgress = true;
    if (calibData.empty()) {
      module.emitError("--amct-quantize needs calib-data=NAME=FILE.npy");
      return signalPassFailure();
    }
    std::string error;
    std::optional<std::map<std::string, rt::Tensor>> data = readCalibrationData(
        std::vector<std::string>(calibData.begin(), calibData.end()),
        getMainFunction(module), error);
    if (!data) {
      module.emitError() << "--amct-quantize: " << error;
      return signalPassFailure();
    }
    options.calibData = std::move(*data);
    // A diagnostic raised while the calibration bar is drawn must not land
    // on its line: erase the bar, then let amct-opt's handler print it.
    ScopedDiagnosticHandler clearBar(&getContext(), [](Diagnostic &) {
      ProgressBar::clearCurrent();
      return failure();
    });
    FailureOr<QuantizeResult> result = quantizeModel(module, options);
    if (failed(result))
      return signalPassFailure();
    if (!recordPath.empty()) {
      std::string text = writeRecordFile(result->record), error;
      if (failed(writeFileAtomically(recordPath, [&](llvm::raw_ostream &os) {
            os << text;
            return success();
          }, &error))) {
        module.emitError() << error;
        return signalPassFailure();
      }
    }
    // The module becomes the fake-quant model.
    module.getBody()->clear();
    module.getBody()->getOperations().splice(module.getBody()->end(),
                                             result->fakeQuant->getBody()->getOperations());
  }
};

} // namespace
