//===- KernelRegistry.h - what the executor runs ----------------*- C++ -*-===//
//
// The single list of the executor's kernels, keyed by (domain, op type,
// opset range). Typed ops and generic `amct.node`s look kernels up the same
// way: by their ONNX op type and the model's opset for their domain, so a
// node outside a typed op's range (or with an attribute the typed op does
// not declare) still runs when a kernel covers it. Kernels read attributes
// by their ONNX names through `KernelContext::attrs()`, which serves both.
// Domains: "" (ai.onnx), "ascend" (the deploy ops), "amct" (observers and
// fake-quant ops of the quantization passes).
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_RUNTIME_KERNELREGISTRY_H
#define AMCT_RUNTIME_KERNELREGISTRY_H

#include "amct/Runtime/Executor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>
#include <vector>

namespace amct::rt {

struct KernelEntry {
  std::string domain;
  std::string opType;
  /// Opsets of `domain` the kernel implements, inclusive.
  int64_t since = 1, until = kNoOpsetLimit;
  Kernel kernel;
  /// The inputs a node must have (present, not ""): the kernel reads them
  /// without checking, and the executor refuses a node with fewer.
  unsigned minInputs = 1;
  /// The most results a node may have (~0u: any number, as for Split).
  unsigned maxOutputs = 1;
  /// The kernel takes float16 / bfloat16 tensors itself (Cast). For any
  /// other, the executor converts such inputs to float32 and the kernel's
  /// float32 results back to the input's 16-bit type (computing in float32
  /// and rounding on store, as ONNX Runtime does for most ops).
  bool handlesHalf = false;

  KernelEntry &inputs(unsigned n) { minInputs = n; return *this; }
  KernelEntry &outputs(unsigned n) { maxOutputs = n; return *this; }
  KernelEntry &half() { handlesHalf = true; return *this; }

  static constexpr int64_t kNoOpsetLimit = 1 << 30;
};

class KernelRegistry {
public:
  /// The process-wide registry, filled once by the kernel families.
  static const KernelRegistry &get();

  KernelEntry &add(llvm::StringRef domain, llvm::StringRef opType, int64_t since,
                   int64_t until, Kernel kernel);
  /// The kernel for `opType` at `opset` of `domain`; with no opset (a module
  /// written by hand, without `amct.opset_import`) the newest one.
  const KernelEntry *lookup(llvm::StringRef domain, llvm::StringRef opType,
                            std::optional<int64_t> opset) const;
  llvm::ArrayRef<KernelEntry> entries() const { return entries_; }

private:
  std::vector<KernelEntry> entries_;
};

/// The domain, ONNX op type and opset by which `op` is looked up: a typed
/// op's type is its op name ("amct.Relu" -> "Relu"), a node's its
/// `op_type`. The opset is the module's `amct.opset_import` entry for the
/// domain, if any.
struct KernelKey {
  std::string domain;
  std::string opType;
  std::optional<int64_t> opset;
};
KernelKey getKernelKey(mlir::Operation *op);

/// The kernel that runs `op`, or null with the reason in `why`: no kernel
/// for the op at the model's opset, or fewer inputs or more outputs than
/// the kernel handles.
const KernelEntry *findKernel(mlir::Operation *op, std::string *why = nullptr);

// The kernel families (one file each under lib/Runtime/Kernels/).
void registerElementwiseKernels(KernelRegistry &registry);
void registerReductionKernels(KernelRegistry &registry);
void registerDataMovementKernels(KernelRegistry &registry);
void registerIndexingKernels(KernelRegistry &registry);
void registerResizeKernels(KernelRegistry &registry);
void registerConvolutionKernels(KernelRegistry &registry);
void registerMatMulKernels(KernelRegistry &registry);
void registerNormalizationKernels(KernelRegistry &registry);
void registerLossKernels(KernelRegistry &registry);
void registerRecurrentKernels(KernelRegistry &registry);
void registerControlFlowKernels(KernelRegistry &registry);
void registerSignalKernels(KernelRegistry &registry);
void registerSamplingKernels(KernelRegistry &registry);
void registerQuantizationKernels(KernelRegistry &registry);

} // namespace amct::rt

#endif // AMCT_RUNTIME_KERNELREGISTRY_H
