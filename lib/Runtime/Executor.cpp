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
  llvm::DenseMap<Value, int> slotOf;
  auto newSlot = [&](Value v) {
    slotOf[v] = numSlots;
    return numSlots++;
  };
  for (BlockArgument arg : block.getArguments()) {
    if (!isa<TensorType>(arg.getType()) ||
        !getDType(cast<TensorType>(arg.getType()).getElementType()))
      return func.emitError() << "graph input #" << arg.getArgNumber() << " of type "
                              << arg.getType() << " cannot be executed";
    argSlots.push_back(newSlot(arg));
    inputNames_.push_back(getGraphInputName(func, arg.getArgNumber()));
  }
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    auto name = func.getResultAttrOfType<StringAttr>(i, "amct.name");
    outputNames_.push_back(name ? name.str() : "output" + std::to_string(i));
  }

  bool missing = false;
  for (Operation &op : block) {
    if (isa<func::ReturnOp>(op)) {
      for (Value v : op.getOperands())
        resultSlots.push_back(slotOf.lookup(v));
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
      constants.resize(numSlots);
      constants[slot] = *t;
      isConstant.resize(numSlots, false);
      isConstant[slot] = true;
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
    Step step{&op,           &entry->kernel,       key.opset.value_or(entry->until),
              entry->opType, entry->handlesHalf, {}, {}, {}};
    for (Value v : op.getOperands())
      step.inputSlots.push_back(isa<NoneType>(v.getType()) ? -1 : slotOf.lookup(v));
    for (Value r : op.getResults())
      step.outputSlots.push_back(newSlot(r));
    steps.push_back(std::move(step));
  }
  if (missing)
    return failure();
  constants.resize(numSlots);
  isConstant.resize(numSlots, false);

  // Free each slot after the step that uses it last (never graph outputs or
  // constants, which outlive a run).
  std::vector<int> lastUse(numSlots, -1);
  for (auto [i, step] : llvm::enumerate(steps))
    for (int s : step.inputSlots)
      if (s >= 0)
        lastUse[s] = i;
  for (int s : resultSlots)
    lastUse[s] = -1;
  for (int s = 0; s < numSlots; ++s)
    if (lastUse[s] >= 0 && !isConstant[s])
      steps[lastUse[s]].freeAfter.push_back(s);
  return success();
}

FailureOr<std::vector<Tensor>> Executor::run(const std::vector<Tensor> &inputs) {
  if (inputs.size() != argSlots.size())
    return func.emitError() << "expected " << argSlots.size() << " inputs, got "
                            << inputs.size();
  std::vector<Tensor> slots = constants;
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
    slots[argSlots[i]] = input;
  }
  for (Step &step : steps) {
    KernelContext ctx{step.op, {}, {}, options.threads};
    ctx.opset = step.opset;
    ctx.opType = step.opType;
    for (int s : step.inputSlots) {
      ctx.inputs.push_back(s < 0 ? nullptr : &slots[s]);
      // Graph inputs belong to the caller: never overwritten.
      ctx.lastUse.push_back(s >= 0 && llvm::is_contained(step.freeAfter, s) &&
                            !llvm::is_contained(argSlots, s));
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
    if (observerCallback && isa<ObserverOp>(step.op)) {
      // Statistics are gathered in float32.
      const Tensor &seen = slots[step.outputSlots[0]];
      if (isHalfFloat(seen.dtype())) {
        std::optional<Tensor> f = seen.convertFloat(DType::F32);
        if (!f)
          return step.op->emitError("cannot allocate a float32 copy of a 16-bit value");
        observerCallback(step.op, *f);
      } else {
        observerCallback(step.op, seen);
      }
    }
    for (int s : step.freeAfter)
      slots[s] = Tensor();
  }
  // Outputs that view a constant would die with the module: copy them.
  std::vector<Tensor> results;
  for (int s : resultSlots) {
    if (slots[s].ownsData()) {
      results.push_back(slots[s]);
      continue;
    }
    std::optional<Tensor> copy = slots[s].clone();
    if (!copy)
      return func.emitError("cannot allocate an output");
    results.push_back(std::move(*copy));
  }
  return results;
}

} // namespace amct::rt
