//===- Executor.cpp - run a func of amct ops on CPU -----------------------===//
//
// Preparation turns the function into a list of steps over numbered value
// slots: constants are materialised once (blob-backed weights are viewed,
// not copied), every other op gets its kernel, and each slot's last use is
// found so its buffer is released as soon as it is dead.
//
//===----------------------------------------------------------------------===//

#include "amct/Runtime/Executor.h"
#include "amct/Runtime/KernelRegistry.h"
#include "amct/Dialect/Amct/IR/Amct.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <malloc.h>
#include <thread>

using namespace mlir;

namespace amct::rt {

std::optional<DType> getDType(Type t) {
  if (t.isF32()) return DType::F32;
  if (t.isF16()) return DType::F16;
  if (t.isF64()) return DType::F64;
  if (t.isBF16()) return DType::BF16;
  auto i = dyn_cast<IntegerType>(t);
  if (!i)
    return std::nullopt;
  bool u = i.isUnsigned();
  switch (i.getWidth()) {
  case 1: return DType::Bool;
  case 8: return u ? DType::U8 : DType::I8;
  case 16: return u ? DType::U16 : DType::I16;
  case 32: return u ? DType::U32 : DType::I32;
  case 64: return u ? DType::U64 : DType::I64;
  default: return std::nullopt;
  }
}

LogicalResult KernelContext::alloc(unsigned i, DType dtype, Shape shape, bool zeroed) {
  if (run && run->maxTensorBytes > 0) {
    std::optional<int64_t> n = numElementsOf(shape);
    if (!n || *n > run->maxTensorBytes / int64_t(dtypeSize(dtype)))
      return error() << "a " << formatShape(shape) << " " << dtypeName(dtype)
                     << " result exceeds the " << run->maxTensorBytes << "-byte tensor limit";
  }
  std::optional<Tensor> t =
      zeroed ? Tensor::zeros(dtype, shape) : Tensor::uninitialized(dtype, shape);
  if (!t)
    return error() << "cannot allocate a " << formatShape(shape) << " "
                   << dtypeName(dtype) << " result";
  if (outputs.size() <= i)
    outputs.resize(i + 1);
  outputs[i] = std::move(*t);
  return success();
}

bool KernelContext::canOverwrite(unsigned in, DType dtype, const Shape &shape) const {
  return in < lastUse.size() && lastUse[in] && inputs[in] && inputs[in]->hasUniqueBuffer() &&
         inputs[in]->dtype() == dtype && numElementsOf(shape) == inputs[in]->numElements();
}

LogicalResult KernelContext::allocInPlace(unsigned i, unsigned in, DType dtype, Shape shape) {
  if (canOverwrite(in, dtype, shape)) {
    if (outputs.size() <= i)
      outputs.resize(i + 1);
    outputs[i] = inputs[in]->reshaped(std::move(shape));
    return success();
  }
  return alloc(i, dtype, std::move(shape));
}

InFlightDiagnostic KernelContext::error() { return op->emitError(); }

OnnxAttrs::OnnxAttrs(KernelContext &ctx) : ctx(ctx) {
  auto node = dyn_cast<NodeOp>(ctx.op);
  dict = node ? node.getOnnxAttrs() : ctx.op->getAttrDictionary();
}

Attribute OnnxAttrs::get(StringRef name) const { return dict.get(name); }

void OnnxAttrs::wrongKind(StringRef name, StringRef expected) const {
  ctx.error() << "attribute '" << name << "' must be " << expected << ", found "
              << dict.get(name);
  ctx.attributeError = true;
}

int64_t OnnxAttrs::getInt(StringRef name, int64_t defaultValue) const {
  Attribute a = get(name);
  if (!a)
    return defaultValue;
  if (auto i = dyn_cast<IntegerAttr>(a))
    return i.getValue().getSExtValue();
  wrongKind(name, "an INT");
  return defaultValue;
}

float OnnxAttrs::getFloat(StringRef name, float defaultValue) const {
  Attribute a = get(name);
  if (!a)
    return defaultValue;
  if (auto f = dyn_cast<FloatAttr>(a))
    return f.getValueAsDouble();
  wrongKind(name, "a FLOAT");
  return defaultValue;
}

std::string OnnxAttrs::getString(StringRef name, StringRef defaultValue) const {
  Attribute a = get(name);
  if (!a)
    return defaultValue.str();
  if (auto s = dyn_cast<StringAttr>(a))
    return s.str();
  wrongKind(name, "a STRING");
  return defaultValue.str();
}

std::optional<std::vector<int64_t>> OnnxAttrs::getInts(StringRef name) const {
  Attribute a = get(name);
  if (!a)
    return std::nullopt;
  if (auto ints = dyn_cast<DenseI64ArrayAttr>(a))
    return std::vector<int64_t>(ints.asArrayRef().begin(), ints.asArrayRef().end());
  wrongKind(name, "INTS");
  return std::nullopt;
}

std::optional<std::vector<float>> OnnxAttrs::getFloats(StringRef name) const {
  Attribute a = get(name);
  if (!a)
    return std::nullopt;
  if (auto floats = dyn_cast<DenseF32ArrayAttr>(a))
    return std::vector<float>(floats.asArrayRef().begin(), floats.asArrayRef().end());
  wrongKind(name, "FLOATS");
  return std::nullopt;
}

ElementsAttr OnnxAttrs::getTensor(StringRef name) const {
  Attribute a = get(name);
  if (!a)
    return nullptr;
  if (auto t = dyn_cast<ElementsAttr>(a))
    return t;
  wrongKind(name, "a TENSOR");
  return nullptr;
}

FailureOr<Tensor> materialize(Operation *op, ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  std::optional<DType> dtype = getDType(type.getElementType());
  if (!dtype)
    return op->emitError() << "constant of element type " << type.getElementType()
                           << " cannot be executed";
  Shape shape(type.getShape().begin(), type.getShape().end());
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return op->emitError() << "constant refers to a missing resource blob";
    ArrayRef<char> data = blob->getData();
    Tensor t = Tensor::view(*dtype, shape, nullptr, data.data());
    if ((size_t)data.size() != t.byteSize())
      return op->emitError() << "constant blob has " << data.size()
                             << " bytes, its type needs " << t.byteSize();
    return t;
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return op->emitError() << "unsupported constant attribute";
  std::optional<Tensor> t = Tensor::zeros(*dtype, shape);
  if (!t)
    return op->emitError() << "cannot allocate constant";
  int64_t n = t->numElements();
  if (*dtype == DType::Bool) {
    auto *p = t->mutableData<uint8_t>();
    int64_t i = 0;
    for (bool b : dense.getValues<bool>())
      p[i++] = b;
  } else {
    ArrayRef<char> raw = dense.getRawData();
    size_t elem = dtypeSize(*dtype);
    char *p = t->mutableData<char>();
    for (int64_t i = 0; i < n; ++i)
      memcpy(p + i * elem, raw.data() + (dense.isSplat() ? 0 : i * elem), elem);
  }
  return *t;
}

/// A block compiled to run: the values it uses are numbered slots; its
/// arguments, the outer values it reads (captures: a subgraph reads its
/// enclosing graph's values directly) and its constants fill slots before
/// the steps run, one per op, each freeing the slots it uses last.
class Program {
public:
  /// Compiles `block` (a function body or a node's subgraph); an error on
  /// each op without a kernel.
  static FailureOr<std::unique_ptr<Program>> build(Block &block);

  /// Runs on `args` (one per block argument) and `captures` (one per
  /// getCaptures() value); returns the terminator's operands.
  FailureOr<std::vector<Tensor>> run(const std::vector<Tensor> &args,
                                     const std::vector<const Tensor *> &captures,
                                     const RunContext &rc) const;

  /// The pieces of `run`, for a run that stops on the way (SteppedRun):
  /// the slots at the start; the steps from `next` up to the first whose op
  /// `stopAt` names (not run; `next` is left on it) or to the end; the
  /// results from the final slots.
  std::vector<Tensor> begin(const std::vector<Tensor> &args,
                            const std::vector<const Tensor *> &captures) const;
  LogicalResult runSteps(std::vector<Tensor> &slots, size_t &next, const RunContext &rc,
                         llvm::function_ref<bool(Operation *)> stopAt) const;
  std::vector<Tensor> finish(std::vector<Tensor> &slots) const;
  size_t numSteps() const { return steps.size(); }
  Operation *stepOp(size_t i) const { return steps[i].op; }
  /// The slot of operand `operand` of step `i` (-1: absent).
  int operandSlot(size_t i, unsigned operand) const { return steps[i].inputSlots[operand]; }
  /// Whether any step after `i` reads `slot`, or the program returns it.
  bool usedAfter(int slot, size_t i) const { return lastUseAny[slot] > int64_t(i); }

  ArrayRef<Value> getCaptures() const { return captures; }
  Block &getBlock() const { return *block; }

private:
  struct Step {
    Operation *op;
    const Kernel *kernel;
    int64_t opset;
    StringRef opType;
    bool handlesHalf;
    std::vector<int> inputSlots; // -1 for an absent optional input
    std::vector<int> outputSlots;
    std::vector<int> freeAfter;  // slots whose last use is this step
    std::vector<std::unique_ptr<Program>> regions;
    std::vector<std::vector<int>> regionCaptureSlots;
  };
  Block *block = nullptr;
  std::vector<Step> steps;
  std::vector<Tensor> constants; // by slot; empty for non-constants
  std::vector<bool> isConstant;
  std::vector<bool> isBorrowed;  // arguments and captures: never overwritten
  int numSlots = 0;
  std::vector<int> argSlots, captureSlots, resultSlots;
  std::vector<Value> captures;
  /// The last step reading each slot, constants included (results: past
  /// the end).
  std::vector<int64_t> lastUseAny;
};

/// The values defined outside `block` that its ops (at any depth) use, in
/// order of first use.
static std::vector<Value> capturedValues(Block &block) {
  std::vector<Value> result;
  llvm::DenseSet<Value> seen;
  Region *region = block.getParent();
  block.walk([&](Operation *op) {
    for (Value v : op->getOperands())
      if (!isa<NoneType>(v.getType()) && !region->isAncestor(v.getParentRegion()) &&
          seen.insert(v).second)
        result.push_back(v);
  });
  return result;
}

FailureOr<std::unique_ptr<Program>> Program::build(Block &block) {
  std::unique_ptr<Program> p(new Program());
  p->block = &block;
  llvm::DenseMap<Value, int> slotOf;
  auto newSlot = [&](Value v) {
    slotOf[v] = p->numSlots;
    return p->numSlots++;
  };
  for (BlockArgument arg : block.getArguments())
    p->argSlots.push_back(newSlot(arg));
  p->captures = capturedValues(block);
  for (Value v : p->captures)
    p->captureSlots.push_back(newSlot(v));

  bool missing = false;
  for (Operation &op : block) {
    if (op.hasTrait<mlir::OpTrait::IsTerminator>()) {
      for (Value v : op.getOperands()) {
        auto it = slotOf.find(v);
        if (it == slotOf.end())
          return op.emitError("returns a value the executor has no slot for");
        p->resultSlots.push_back(it->second);
      }
      continue;
    }
    if (isa<NoneOp>(op))
      continue;
    if (isa<ConstOp, ConstantOp>(op)) {
      FailureOr<Tensor> t = isa<ConstOp>(op)
                                ? materialize(&op, cast<ConstOp>(op).getValue())
                                : constantNodeValue(&op);
      if (failed(t))
        return failure();
      int slot = newSlot(op.getResult(0));
      p->constants.resize(p->numSlots);
      p->constants[slot] = *t;
      p->isConstant.resize(p->numSlots, false);
      p->isConstant[slot] = true;
      continue;
    }
    std::string why;
    const KernelEntry *entry = findKernel(&op, &why);
    if (!entry) {
      op.emitError() << why;
      missing = true;
      continue;
    }
    KernelKey key = getKernelKey(&op);
    Step step{&op, &entry->kernel, key.opset.value_or(entry->until), entry->opType,
              entry->handlesHalf, {}, {}, {}, {}, {}};
    for (Value v : op.getOperands())
      step.inputSlots.push_back(isa<NoneType>(v.getType()) ? -1 : slotOf.lookup(v));
    // Subgraphs: compiled once; the outer values they read are inputs of
    // this step, so they stay alive until it has run.
    for (Region &region : op.getRegions()) {
      if (!region.hasOneBlock())
        return op.emitError("a subgraph region must have one block");
      FailureOr<std::unique_ptr<Program>> sub = build(region.front());
      if (failed(sub)) {
        missing = true;
        continue;
      }
      std::vector<int> slots;
      for (Value v : (*sub)->getCaptures()) {
        auto it = slotOf.find(v);
        if (it == slotOf.end())
          return op.emitError("a subgraph reads a value the executor has no slot for");
        slots.push_back(it->second);
        step.inputSlots.push_back(it->second);
      }
      step.regionCaptureSlots.push_back(std::move(slots));
      step.regions.push_back(std::move(*sub));
    }
    for (Value r : op.getResults())
      step.outputSlots.push_back(newSlot(r));
    p->steps.push_back(std::move(step));
  }
  if (missing)
    return failure();
  p->constants.resize(p->numSlots);
  p->isConstant.resize(p->numSlots, false);
  p->isBorrowed.assign(p->numSlots, false);
  for (int s : p->argSlots)
    p->isBorrowed[s] = true;
  for (int s : p->captureSlots)
    p->isBorrowed[s] = true;

  // Free each slot after the step that uses it last (never results or
  // constants, which outlive a run).
  std::vector<int> lastUse(p->numSlots, -1);
  for (auto [i, step] : llvm::enumerate(p->steps))
    for (int s : step.inputSlots)
      if (s >= 0)
        lastUse[s] = i;
  p->lastUseAny.assign(lastUse.begin(), lastUse.end());
  for (int s : p->resultSlots) {
    lastUse[s] = -1;
    p->lastUseAny[s] = int64_t(p->steps.size());
  }
  for (int s = 0; s < p->numSlots; ++s)
    if (lastUse[s] >= 0 && !p->isConstant[s])
      p->steps[lastUse[s]].freeAfter.push_back(s);
  return p;
}

FailureOr<std::vector<Tensor>> Program::run(const std::vector<Tensor> &args,
                                            const std::vector<const Tensor *> &captured,
                                            const RunContext &rc) const {
  std::vector<Tensor> slots = begin(args, captured);
  size_t next = 0;
  if (failed(runSteps(slots, next, rc, [](Operation *) { return false; })))
    return failure();
  return finish(slots);
}

std::vector<Tensor> Program::begin(const std::vector<Tensor> &args,
                                   const std::vector<const Tensor *> &captured) const {
  std::vector<Tensor> slots = constants;
  for (auto [slot, t] : llvm::zip(argSlots, args))
    slots[slot] = t;
  for (auto [slot, t] : llvm::zip(captureSlots, captured))
    slots[slot] = *t;
  return slots;
}

std::vector<Tensor> Program::finish(std::vector<Tensor> &slots) const {
  std::vector<Tensor> results;
  for (int s : resultSlots)
    results.push_back(slots[s]);
  return results;
}

LogicalResult Program::runSteps(std::vector<Tensor> &slots, size_t &next, const RunContext &rc,
                                llvm::function_ref<bool(Operation *)> stopAt) const {
  for (; next < steps.size(); ++next) {
    const Step &step = steps[next];
    if (stopAt(step.op))
      return success();
    KernelContext ctx{step.op, {}, {}, rc.threads};
    ctx.opset = step.opset;
    ctx.opType = step.opType;
    ctx.run = &rc;
    size_t numOperands = step.op->getNumOperands();
    for (auto [i, s] : llvm::enumerate(step.inputSlots)) {
      // Capture slots appended for the regions are not operands.
      if (i >= numOperands)
        break;
      ctx.inputs.push_back(s < 0 ? nullptr : &slots[s]);
      // The caller's values (arguments, captures) are never overwritten.
      ctx.lastUse.push_back(s >= 0 && llvm::is_contained(step.freeAfter, s) && !isBorrowed[s]);
    }
    if (!step.regions.empty()) {
      ctx.regions = &step.regions;
      for (const std::vector<int> &cs : step.regionCaptureSlots) {
        std::vector<const Tensor *> ts;
        for (int s : cs)
          ts.push_back(&slots[s]);
        ctx.regionCaptures.push_back(std::move(ts));
      }
    }
    // float16 / bfloat16 inputs of a float32 kernel: converted in, and
    // its float32 results converted back on store.
    std::optional<DType> half;
    std::vector<Tensor> converted;
    if (!step.handlesHalf) {
      converted.reserve(ctx.inputs.size());
      for (auto [i, t] : llvm::enumerate(ctx.inputs)) {
        if (!t || !isHalfFloat(t->dtype()))
          continue;
        half = half.value_or(t->dtype());
        std::optional<Tensor> f = t->convertFloat(DType::F32);
        if (!f)
          return step.op->emitError("cannot allocate a float32 copy of a 16-bit input");
        converted.push_back(std::move(*f));
        ctx.inputs[i] = &converted.back();
        ctx.lastUse[i] = true; // a temporary the kernel may overwrite
      }
    }
    if (failed((*step.kernel)(ctx)) || ctx.attributeError)
      return failure();
    if (half)
      for (Tensor &t : ctx.outputs)
        if (t.dtype() == DType::F32) {
          std::optional<Tensor> h = t.convertFloat(*half);
          if (!h)
            return step.op->emitError("cannot allocate a 16-bit result");
          t = std::move(*h);
        }
    if (ctx.outputs.size() < step.outputSlots.size())
      return step.op->emitError("kernel produced too few results");
    for (auto [slot, t] : llvm::zip(step.outputSlots, ctx.outputs))
      slots[slot] = std::move(t);
    if (rc.observerCallback && *rc.observerCallback && isa<ObserverOp>(step.op)) {
      // Statistics are gathered in float32.
      const Tensor &seen = slots[step.outputSlots[0]];
      if (isHalfFloat(seen.dtype())) {
        std::optional<Tensor> f = seen.convertFloat(DType::F32);
        if (!f)
          return step.op->emitError("cannot allocate a float32 copy of a 16-bit value");
        (*rc.observerCallback)(step.op, *f);
      } else {
        (*rc.observerCallback)(step.op, seen);
      }
    }
    for (int s : step.freeAfter)
      slots[s] = Tensor();
  }
  return success();
}

int KernelContext::regionIndex(StringRef name) const {
  auto node = dyn_cast<NodeOp>(op);
  if (!node || !node.getSubgraphs())
    return -1;
  for (auto [i, a] : llvm::enumerate(*node.getSubgraphs()))
    if (cast<StringAttr>(a).getValue() == name)
      return i;
  return -1;
}

FailureOr<std::vector<Tensor>> KernelContext::runRegion(unsigned i,
                                                        const std::vector<Tensor> &args) {
  if (!regions || i >= regions->size() || !run)
    return error() << "the node has no subgraph #" << i;
  const Program &p = *(*regions)[i];
  if (args.size() != p.getBlock().getNumArguments())
    return error() << "subgraph #" << i << " takes " << p.getBlock().getNumArguments()
                   << " inputs, the node gives it " << args.size();
  return p.run(args, regionCaptures[i], *run);
}

Executor::Executor(func::FuncOp func, const ExecutorOptions &options)
    : func(func), options(options) {
  if (this->options.threads <= 0)
    this->options.threads = std::max(1u, std::thread::hardware_concurrency());
  setKernelThreads(this->options.threads);
  // Activations are large and short-lived: keep freed buffers in the heap
  // for the next op instead of returning them to the OS, whose fresh pages
  // cost a fault each to touch again.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

Executor::~Executor() = default;

FailureOr<std::unique_ptr<Executor>> Executor::create(func::FuncOp func,
                                                      const ExecutorOptions &options) {
  std::unique_ptr<Executor> exec(new Executor(func, options));
  if (failed(exec->prepare()))
    return failure();
  return exec;
}

LogicalResult Executor::prepare() {
  if (!func.getBody().hasOneBlock())
    return func.emitError("the executor runs single-block functions only");
  Block &block = func.getBody().front();
  for (BlockArgument arg : block.getArguments()) {
    if (!isa<TensorType>(arg.getType()) ||
        !getDType(cast<TensorType>(arg.getType()).getElementType()))
      return func.emitError() << "graph input #" << arg.getArgNumber() << " of type "
                              << arg.getType() << " cannot be executed";
    inputNames_.push_back(getGraphInputName(func, arg.getArgNumber()));
  }
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    auto name = func.getResultAttrOfType<StringAttr>(i, "amct.name");
    outputNames_.push_back(name ? name.str() : "output" + std::to_string(i));
  }
  FailureOr<std::unique_ptr<Program>> p = Program::build(block);
  if (failed(p))
    return failure();
  program = std::move(*p);
  return success();
}

LogicalResult Executor::checkInputs(const std::vector<Tensor> &inputs) {
  if (inputs.size() != func.getNumArguments())
    return func.emitError() << "expected " << func.getNumArguments() << " inputs, got "
                            << inputs.size();
  for (auto [i, input] : llvm::enumerate(inputs)) {
    auto type = cast<TensorType>(func.getArgument(i).getType());
    DType want = *getDType(type.getElementType());
    if (input.dtype() != want)
      return func.emitError() << "input '" << inputNames_[i] << "' is "
                              << dtypeName(input.dtype()) << ", expected "
                              << dtypeName(want);
    if (type.hasRank()) {
      if (input.rank() != type.getRank())
        return func.emitError() << "input '" << inputNames_[i] << "' has shape "
                                << formatShape(input.shape()) << " (rank " << input.rank()
                                << "), expected rank " << type.getRank();
      for (int64_t d = 0; d < type.getRank(); ++d)
        if (!type.isDynamicDim(d) && type.getDimSize(d) != input.dim(d))
          return func.emitError() << "input '" << inputNames_[i] << "' has shape "
                                  << formatShape(input.shape()) << ", expected dim " << d
                                  << " to be " << type.getDimSize(d);
    }
  }
  return success();
}

RunContext Executor::runContext() const {
  RunContext rc;
  rc.threads = options.threads;
  rc.maxTensorBytes = options.maxTensorBytes;
  rc.maxLoopIterations = options.maxLoopIterations;
  rc.observerCallback = &observerCallback;
  return rc;
}

/// Outputs that view a constant would die with the module: copied.
static FailureOr<std::vector<Tensor>> ownedOutputs(func::FuncOp func, std::vector<Tensor> out) {
  std::vector<Tensor> results;
  for (Tensor &t : out) {
    if (t.ownsData()) {
      results.push_back(std::move(t));
      continue;
    }
    std::optional<Tensor> copy = t.clone();
    if (!copy)
      return func.emitError("cannot allocate an output");
    results.push_back(std::move(*copy));
  }
  return results;
}

FailureOr<std::vector<Tensor>> Executor::run(const std::vector<Tensor> &inputs) {
  if (failed(checkInputs(inputs)))
    return failure();
  RunContext rc = runContext();
  FailureOr<std::vector<Tensor>> out = program->run(inputs, {}, rc);
  if (failed(out))
    return failure();
  return ownedOutputs(func, std::move(*out));
}

struct SteppedRun::State {
  const Program *program;
  func::FuncOp func;
  RunContext rc;
  llvm::DenseSet<Operation *> stops;
  std::vector<Tensor> slots;
  size_t next = 0;
  bool atStop = false, done = false;
  /// Slots setOperand filled at the current stop.
  std::vector<int> replaced;
};

SteppedRun::SteppedRun(std::unique_ptr<State> state) : state(std::move(state)) {}
SteppedRun::~SteppedRun() = default;

FailureOr<Operation *> SteppedRun::next() {
  State &s = *state;
  if (s.done)
    return static_cast<Operation *>(nullptr);
  if (s.atStop) {
    // The op stopped at runs alone first (each op is one step); values
    // handed to it that nothing later reads are dropped right after, so a
    // replaced weight does not outlive its layer.
    size_t step = s.next;
    Operation *resume = s.program->stepOp(step);
    if (failed(s.program->runSteps(s.slots, s.next, s.rc,
                                   [&](Operation *o) { return o != resume; })))
      return failure();
    for (int slot : s.replaced)
      if (!s.program->usedAfter(slot, step))
        s.slots[slot] = Tensor();
    s.replaced.clear();
  }
  if (failed(s.program->runSteps(s.slots, s.next, s.rc,
                                 [&](Operation *o) { return s.stops.contains(o); })))
    return failure();
  if (s.next < s.program->numSteps()) {
    s.atStop = true;
    return s.program->stepOp(s.next);
  }
  s.done = true;
  s.atStop = false;
  return static_cast<Operation *>(nullptr);
}

const Tensor &SteppedRun::operand(unsigned i) const {
  static const Tensor absent;
  int slot = state->program->operandSlot(state->next, i);
  return slot < 0 ? absent : state->slots[slot];
}

void SteppedRun::setOperand(unsigned i, Tensor value) {
  int slot = state->program->operandSlot(state->next, i);
  if (slot >= 0) {
    state->slots[slot] = std::move(value);
    state->replaced.push_back(slot);
  }
}

FailureOr<std::vector<Tensor>> SteppedRun::results() {
  if (!state->done)
    return state->func.emitError("the stepped run has not reached its end");
  return ownedOutputs(state->func, state->program->finish(state->slots));
}

FailureOr<std::unique_ptr<SteppedRun>>
Executor::startStepped(const std::vector<Tensor> &inputs, llvm::ArrayRef<Operation *> stops) {
  if (failed(checkInputs(inputs)))
    return failure();
  auto state = std::make_unique<SteppedRun::State>();
  state->program = program.get();
  state->func = func;
  state->rc = runContext();
  state->stops.insert(stops.begin(), stops.end());
  state->slots = program->begin(inputs, {});
  return std::unique_ptr<SteppedRun>(new SteppedRun(std::move(state)));
}

} // namespace amct::rt
