//===- Executor.h - run a func of amct ops on CPU ---------------*- C++ -*-===//
//
// The embedded executor that calibration, evaluation and `amct run` share.
// `Executor::create` checks, before anything runs, that every op has a
// kernel (an error names the op and its node otherwise); `run` binds inputs
// by position, checks their dtype and rank against the function's argument
// types, runs the ops in order and frees each intermediate buffer after its
// last use (elementwise kernels may write their result over it instead).
// Shapes come from the data, so the batch size is free. Kernels use
// `ExecutorOptions::threads` threads and give the same bytes for any count.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_RUNTIME_EXECUTOR_H
#define AMCT_RUNTIME_EXECUTOR_H

#include "amct/Runtime/Tensor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/Support/LogicalResult.h"

#include <functional>
#include <memory>

namespace amct::rt {

struct ExecutorOptions {
  /// Threads for the kernels, the caller's included (0: all cores; 1: no
  /// other thread).
  int threads = 0;
  /// The largest tensor a kernel may allocate, in bytes (0: no limit): a
  /// bound for untrusted models (the executor fuzzer sets one).
  int64_t maxTensorBytes = 0;
  /// Iterations after which a Loop without a trip count stops with an error.
  int64_t maxLoopIterations = 10'000'000;
};

struct KernelContext;
class Program;
struct RunContext;

/// An op's ONNX attributes by their ONNX names, alike for a typed op (its
/// own attributes) and a generic node (`onnx_attrs`). An absent attribute
/// gives the default; one of the wrong kind (an INTS where an INT belongs)
/// is reported as an error on the op and fails the kernel.
class OnnxAttrs {
public:
  OnnxAttrs(KernelContext &ctx);

  bool has(llvm::StringRef name) const { return static_cast<bool>(get(name)); }
  mlir::Attribute get(llvm::StringRef name) const;
  int64_t getInt(llvm::StringRef name, int64_t defaultValue) const;
  float getFloat(llvm::StringRef name, float defaultValue) const;
  std::string getString(llvm::StringRef name, llvm::StringRef defaultValue) const;
  std::optional<std::vector<int64_t>> getInts(llvm::StringRef name) const;
  std::optional<std::vector<float>> getFloats(llvm::StringRef name) const;
  /// A TENSOR attribute (null if absent).
  mlir::ElementsAttr getTensor(llvm::StringRef name) const;

private:
  void wrongKind(llvm::StringRef name, llvm::StringRef expected) const;
  KernelContext &ctx;
  mlir::DictionaryAttr dict;
};

/// What a kernel sees: its op, its inputs (null for absent optional ones)
/// and the outputs it must fill.
struct KernelContext {
  mlir::Operation *op;
  std::vector<const Tensor *> inputs;
  std::vector<Tensor> outputs;
  /// Threads the kernel may use (>= 1); kernels split their work so that
  /// the result does not depend on it.
  int threads;
  /// Inputs this step uses last, whose buffer the kernel may overwrite.
  std::vector<bool> lastUse = {};
  /// The opset of the op's domain the model imports (the newest the kernel
  /// implements when the module does not say): ops change semantics across
  /// opsets.
  int64_t opset = 1 << 30;
  /// The ONNX op type the kernel was looked up by (a typed op's or a
  /// node's), for kernels that serve several.
  llvm::StringRef opType;
  /// Set when an attribute accessor reported an error: the kernel fails.
  mutable bool attributeError = false;
  /// The op's regions (If's branches, Loop's and Scan's bodies) compiled,
  /// with the outer values each one reads, and the run's context.
  const std::vector<std::unique_ptr<Program>> *regions = nullptr;
  std::vector<std::vector<const Tensor *>> regionCaptures = {};
  const RunContext *run = nullptr;

  OnnxAttrs attrs() { return OnnxAttrs(*this); }

  const Tensor &in(unsigned i) const { return *inputs[i]; }
  bool has(unsigned i) const { return i < inputs.size() && inputs[i]; }
  /// Allocates output `i`, uninitialised unless `zeroed` (kernels write
  /// every element; only accumulating kernels ask for zeros). Fails with a
  /// diagnostic if it cannot.
  mlir::LogicalResult alloc(unsigned i, DType dtype, Shape shape, bool zeroed = false);
  /// Like `alloc`, but output `i` takes input `in`'s buffer when this is the
  /// input's last use, nothing else refers to it and dtype and size match.
  /// For kernels whose output element j depends on input element j only:
  /// they then read and write the same buffer, and touch no new memory.
  mlir::LogicalResult allocInPlace(unsigned i, unsigned in, DType dtype, Shape shape);
  /// Whether `allocInPlace` would reuse input `in`'s buffer.
  bool canOverwrite(unsigned in, DType dtype, const Shape &shape) const;
  /// Emits an error on the op (its node name is the location).
  mlir::InFlightDiagnostic error();
  /// The index of the region holding the subgraph attribute `name` (a
  /// node's `subgraphs`), or -1.
  int regionIndex(llvm::StringRef name) const;
  /// Runs region `i` on `args` (its block arguments) with the outer values
  /// it reads; its results (the subgraph's outputs).
  mlir::FailureOr<std::vector<Tensor>> runRegion(unsigned i, const std::vector<Tensor> &args);
};

using Kernel = std::function<mlir::LogicalResult(KernelContext &)>;

/// A constant's data as a tensor: blobs are viewed in place (the tensor
/// lives no longer than the module), dense attributes copied.
mlir::FailureOr<Tensor> materialize(mlir::Operation *op, mlir::ElementsAttr attr);

/// The value of an ONNX Constant node (typed or generic), whichever
/// attribute holds it.
mlir::FailureOr<Tensor> constantNodeValue(mlir::Operation *op);

/// The element type of an MLIR tensor type as a DType, if it has one.
std::optional<DType> getDType(mlir::Type elementType);

class Program;

/// What a program run needs besides its data: the thread count and the
/// observer callback (observers inside subgraphs report too).
struct RunContext {
  int threads = 1;
  int64_t maxTensorBytes = 0;
  int64_t maxLoopIterations = 10'000'000;
  const std::function<void(mlir::Operation *, const Tensor &)> *observerCallback = nullptr;
};

/// A run of a function that stops before chosen ops (of the function's
/// body, not of subgraphs), so that a caller can gather their inputs over
/// several runs and change them before the ops run: sequential GPTQ
/// quantizes a layer's weight once every calibration batch has reached the
/// layer, and the layers after it see the quantized one.
class SteppedRun {
public:
  ~SteppedRun();
  /// Runs the op stopped at (if any) and on, up to the next stop op (not
  /// run) or the end: that op, or null at the end. Fails on a kernel error.
  mlir::FailureOr<mlir::Operation *> next();
  /// The value operand `i` of the op stopped at gets (an empty tensor for
  /// an absent optional operand).
  const Tensor &operand(unsigned i) const;
  /// Replaces that value: for this op and every later use of the same
  /// value in this run.
  void setOperand(unsigned i, Tensor value);
  /// The function's results, once next() has returned null.
  mlir::FailureOr<std::vector<Tensor>> results();

  struct State;

private:
  friend class Executor;
  explicit SteppedRun(std::unique_ptr<State> state);
  std::unique_ptr<State> state;
};

class Executor {
public:
  static mlir::FailureOr<std::unique_ptr<Executor>>
  create(mlir::func::FuncOp func, const ExecutorOptions &options = {});
  ~Executor();

  /// Runs the function. Emits a diagnostic and fails on a bad input (wrong
  /// count, dtype, rank or static dim) or a kernel error.
  mlir::FailureOr<std::vector<Tensor>> run(const std::vector<Tensor> &inputs);

  /// A run on `inputs` that stops before each op of `stops` (ops of the
  /// function's body). Checks the inputs as `run` does.
  mlir::FailureOr<std::unique_ptr<SteppedRun>>
  startStepped(const std::vector<Tensor> &inputs, llvm::ArrayRef<mlir::Operation *> stops);

  /// Graph input and output names (the `amct.name` attributes).
  const std::vector<std::string> &inputNames() const { return inputNames_; }
  const std::vector<std::string> &outputNames() const { return outputNames_; }
  mlir::func::FuncOp getFunction() const { return func; }

  /// Called with every value an observer op sees (calibration statistics).
  void setObserverCallback(std::function<void(mlir::Operation *, const Tensor &)> cb) {
    observerCallback = std::move(cb);
  }

private:
  explicit Executor(mlir::func::FuncOp func, const ExecutorOptions &options);
  mlir::LogicalResult prepare();
  mlir::LogicalResult checkInputs(const std::vector<Tensor> &inputs);
  RunContext runContext() const;

  mlir::func::FuncOp func;
  ExecutorOptions options;
  std::vector<std::string> inputNames_, outputNames_;
  std::unique_ptr<Program> program;
  std::function<void(mlir::Operation *, const Tensor &)> observerCallback;
};

/// Sets up the BLAS library for the kernels (process-wide): it runs
/// single-threaded, inside the kernels' own parallel work items.
void setKernelThreads(int threads);

} // namespace amct::rt

#endif // AMCT_RUNTIME_EXECUTOR_H
