//===- KernelRegistry.cpp - the executor's kernel list --------------------===//
//
// Filled once from the kernel families; looked up by domain, op type and
// opset for typed ops and generic nodes alike.
//
//===----------------------------------------------------------------------===//

#include "amct/Runtime/KernelRegistry.h"
#include "amct/Dialect/Amct/IR/Amct.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace amct::rt {

const KernelRegistry &KernelRegistry::get() {
  static const KernelRegistry registry = [] {
    KernelRegistry r;
    registerElementwiseKernels(r);
    registerReductionKernels(r);
    registerDataMovementKernels(r);
    registerIndexingKernels(r);
    registerResizeKernels(r);
    registerConvolutionKernels(r);
    registerMatMulKernels(r);
    registerNormalizationKernels(r);
    registerLossKernels(r);
    registerRecurrentKernels(r);
    registerControlFlowKernels(r);
    registerSignalKernels(r);
    registerSamplingKernels(r);
    registerQuantizationKernels(r);
    return r;
  }();
  return registry;
}

KernelEntry &KernelRegistry::add(StringRef domain, StringRef opType, int64_t since,
                                 int64_t until, Kernel kernel) {
  KernelEntry e;
  e.domain = domain.str();
  e.opType = opType.str();
  e.since = since;
  e.until = until;
  e.kernel = std::move(kernel);
  entries_.push_back(std::move(e));
  return entries_.back();
}

const KernelEntry *KernelRegistry::lookup(StringRef domain, StringRef opType,
                                          std::optional<int64_t> opset) const {
  const KernelEntry *best = nullptr;
  for (const KernelEntry &e : entries_) {
    if (e.domain != domain || e.opType != opType)
      continue;
    if (opset ? (e.since <= *opset && *opset <= e.until) : (!best || e.since > best->since))
      best = &e;
    if (opset && best)
      break;
  }
  return best;
}

/// The module's opset for `domain` ("" and "ai.onnx" are one domain).
static std::optional<int64_t> moduleOpset(Operation *op, StringRef domain) {
  auto module = op->getParentOfType<ModuleOp>();
  auto opsets = module ? module->getAttrOfType<ArrayAttr>("amct.opset_import") : nullptr;
  if (!opsets)
    return std::nullopt;
  if (domain == "ai.onnx")
    domain = "";
  for (Attribute a : opsets) {
    auto pair = dyn_cast<ArrayAttr>(a);
    if (!pair || pair.size() != 2)
      continue;
    auto d = dyn_cast<StringAttr>(pair[0]);
    auto v = dyn_cast<IntegerAttr>(pair[1]);
    if (d && v && (d.getValue() == domain || (domain.empty() && d.getValue() == "ai.onnx")))
      return v.getInt();
  }
  return std::nullopt;
}

KernelKey getKernelKey(Operation *op) {
  KernelKey key;
  if (auto node = dyn_cast<NodeOp>(op)) {
    key.domain = node.getDomain() == "ai.onnx" ? "" : node.getDomain().str();
    key.opType = node.getOpType().str();
    key.opset = moduleOpset(op, key.domain);
    return key;
  }
  StringRef dialect = op->getName().getDialectNamespace();
  key.opType = op->getName().stripDialect().str();
  if (op->hasTrait<amct::OpTrait::OnnxOp>()) {
    key.opset = moduleOpset(op, "");
    // A module without opsets (written by hand): the newest the typed op
    // stands for.
    if (!key.opset)
      if (auto version = dyn_cast<OnnxVersionOpInterface>(op))
        key.opset = version.getOnnxUntilVersion() >= 999 ? KernelEntry::kNoOpsetLimit
                                                         : version.getOnnxUntilVersion();
  } else {
    // The quantization passes' own ops and the Ascend deploy ops have no
    // opsets.
    key.domain = dialect.str();
  }
  return key;
}

const KernelEntry *findKernel(Operation *op, std::string *why) {
  KernelKey key = getKernelKey(op);
  const KernelEntry *entry =
      KernelRegistry::get().lookup(key.domain, key.opType, key.opset);
  if (!entry && why) {
    *why = "the executor has no kernel for ONNX op '" + key.opType + "'";
    if (!key.domain.empty())
      *why += " of domain '" + key.domain + "'";
    if (key.opset)
      *why += " at opset " + std::to_string(*key.opset);
    // Say which opsets it does run, if any.
    std::string ranges;
    for (const KernelEntry &e : KernelRegistry::get().entries())
      if (e.domain == key.domain && e.opType == key.opType)
        ranges += (ranges.empty() ? "" : ", ") + std::to_string(e.since) +
                  (e.until == KernelEntry::kNoOpsetLimit ? "+" : "-" + std::to_string(e.until));
    if (!ranges.empty())
      *why += " (it runs opsets " + ranges + ")";
  }
  if (!entry)
    return nullptr;
  // Counts the kernel relies on.
  unsigned present = 0;
  while (present < op->getNumOperands() && !isa<NoneType>(op->getOperand(present).getType()))
    ++present;
  std::string reason;
  if (present < entry->minInputs)
    reason = "the executor's " + entry->opType + " kernel needs " +
             std::to_string(entry->minInputs) + " input" + (entry->minInputs == 1 ? "" : "s") +
             ", the node has " + std::to_string(present);
  else if (op->getNumResults() > entry->maxOutputs)
    reason = "the executor's " + entry->opType + " kernel computes " +
             std::to_string(entry->maxOutputs) + " output" +
             (entry->maxOutputs == 1 ? "" : "s") + ", the node has " +
             std::to_string(op->getNumResults());
  if (reason.empty())
    return entry;
  if (why)
    *why = reason;
  return nullptr;
}

} // namespace amct::rt
