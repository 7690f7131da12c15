//===- SteppedBatches.cpp - calibration batches run side by side ----------===//

#include "QuantizeSupport.h"

using namespace mlir;
using namespace amct;

FailureOr<SteppedBatches>
SteppedBatches::start(func::FuncOp func, ArrayRef<Operation *> stops,
                      const std::vector<std::vector<rt::Tensor>> &batches, int threads) {
  rt::ExecutorOptions options;
  options.threads = threads;
  auto executor = rt::Executor::create(func, options);
  if (failed(executor))
    return failure();
  SteppedBatches out;
  out.executor = std::move(*executor);
  for (const std::vector<rt::Tensor> &batch : batches) {
    auto run = out.executor->startStepped(batch, stops);
    if (failed(run))
      return failure();
    out.runs.push_back(std::move(*run));
  }
  return out;
}

FailureOr<Operation *> SteppedBatches::next() {
  Operation *at = nullptr;
  for (auto &run : runs) {
    FailureOr<Operation *> next = run->next();
    if (failed(next))
      return failure();
    at = *next;
  }
  return at;
}

void SteppedBatches::setOperand(unsigned i, const rt::Tensor &value) {
  for (auto &run : runs)
    run->setOperand(i, value);
}

LogicalResult SteppedBatches::finish() {
  for (auto &run : runs)
    if (failed(run->results()))
      return failure();
  return success();
}
