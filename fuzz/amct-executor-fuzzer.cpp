//===- amct-executor-fuzzer.cpp - libFuzzer target for the executor -------===//
//
// Imports arbitrary bytes as an ONNX model and, when it imports and the
// executor accepts it, runs it once on inputs made from the graph's input
// types (static shapes of at most 4096 elements, values from the input
// bytes). Models reach every kernel with attributes and shapes no exporter
// writes; each must run or fail with a diagnostic, never crash, hang or
// trip a sanitizer. Tensors are capped at 64 MB and Loops at 10,000
// iterations, as a service running untrusted models would set them.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Runtime/Executor.h"
#include "amct/Target/ONNX/ImportONNX.h"
#include "QuietImportContext.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstdint>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::unique_ptr<mlir::MLIRContext> context = makeQuietImportContext();
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  amct::ImportOptions options;
  options.inferShapes = false;
  auto module = amct::importONNXBuffer(bytes, "fuzz.onnx", context.get(), options);
  if (mlir::failed(module))
    return 0;
  mlir::func::FuncOp main = amct::getMainFunction(module->get());
  if (!main)
    return 0;
  amct::rt::ExecutorOptions execOptions;
  execOptions.threads = 1;
  execOptions.maxTensorBytes = 64 << 20;
  execOptions.maxLoopIterations = 10000;
  auto exec = amct::rt::Executor::create(main, execOptions);
  if (mlir::failed(exec))
    return 0;
  std::vector<amct::rt::Tensor> inputs;
  size_t cursor = 0;
  for (mlir::BlockArgument arg : main.getArguments()) {
    auto type = llvm::dyn_cast<mlir::RankedTensorType>(arg.getType());
    if (!type || !type.hasStaticShape() || type.getNumElements() > 4096)
      return 0;
    std::optional<amct::rt::DType> dtype = amct::rt::getDType(type.getElementType());
    if (!dtype)
      return 0;
    amct::rt::Shape shape(type.getShape().begin(), type.getShape().end());
    std::optional<amct::rt::Tensor> t = amct::rt::Tensor::zeros(*dtype, shape);
    if (!t)
      return 0;
    // Fill from the model's own bytes: arbitrary values, NaN and all.
    char *p = t->mutableData<char>();
    for (size_t i = 0; i < t->byteSize() && size; ++i)
      p[i] = char(data[(cursor++) % size]);
    if (*dtype == amct::rt::DType::Bool)
      for (int64_t i = 0; i < t->numElements(); ++i)
        p[i] &= 1;
    inputs.push_back(std::move(*t));
  }
  (void)(*exec)->run(inputs);
  return 0;
}
