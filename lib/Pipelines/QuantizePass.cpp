//===- QuantizePass.cpp - --amct-quantize ---------------------------------===//
//
// quantizeModel as a pass, so one amct-opt call does the whole job. It lives
// with the pipelines (not lib/Transforms) because it runs the executor.
//
//===----------------------------------------------------------------------===//

#include "PassSupport.h"
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
    options.kvCacheConfigPath = kvCacheConfigPath;
    options.batchNum = batchNum;
    options.batchSize = batchSize;
    // The pass reports no summary, so the fp32 comparison would be wasted.
    options.cosineSamples = 0;
    options.showProgress = true;
    std::optional<std::map<std::string, rt::Tensor>> data = amct::detail::readPassCalibrationData(
        module, std::vector<std::string>(calibData.begin(), calibData.end()), "--amct-quantize");
    if (!data)
      return signalPassFailure();
    options.calibData = std::move(*data);
    amct::detail::ClearProgressOnDiagnostic clearBar(&getContext());
    FailureOr<QuantizeResult> result = quantizeModel(module, options);
    if (failed(result) || (!recordPath.empty() &&
                           failed(amct::detail::writePassRecord(module, recordPath, result->record,
                                                          "--amct-quantize"))))
      return signalPassFailure();
    // The module becomes the fake-quant model.
    module.getBody()->clear();
    module.getBody()->getOperations().splice(module.getBody()->end(),
                                             result->fakeQuant->getBody()->getOperations());
  }
};

} // namespace
