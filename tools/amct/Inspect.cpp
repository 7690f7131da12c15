//===- Inspect.cpp - amct inspect -----------------------------------------===//

#include "AmctTool.h"
#include "amct/Runtime/KernelRegistry.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Dialect/Ascend/IR/Ascend.h"
#include "amct/Transforms/QuantizableLayers.h"

#include <algorithm>

#include <map>

using namespace mlir;
using namespace amct;
using namespace amct::tool;

cl::SubCommand amct::tool::inspectCmd(
    "inspect", "Summarise a model at any stage (ONNX, or .mlir between passes): inputs, "
               "outputs, op counts, and each quantizable layer's state (float, observed, "
               "fake-quantized with its scales, int8) or why it is skipped");
static cl::opt<std::string> inspectModel("model", cl::desc("ONNX model or amct .mlir"),
                                         cl::Required, cl::value_desc("M.onnx|M.mlir"),
                                         cl::sub(inspectCmd));

/// "a..b" (or "a" when equal) of a fake-quant op's scales.
static std::string scaleRange(ArrayRef<float> scales) {
  if (scales.empty())
    return "-";
  auto [lo, hi] = std::minmax_element(scales.begin(), scales.end());
  return *lo == *hi ? formatG(*lo, 6) : formatG(*lo, 4) + ".." + formatG(*hi, 4);
}

/// One row per layer of a quantizable kind, in graph order: what the passes
/// so far did to it (float, observed, fake-quantized with its scales, int8
/// in the deploy model), and the layers that cannot be quantized with the
/// reason.
static void printLayerStates(func::FuncOp func) {
  std::vector<SkippedLayer> skippedList;
  std::vector<QuantizableLayer> layers = findQuantizableLayers(func, &skippedList);
  llvm::DenseMap<Operation *, const SkippedLayer *> skipped;
  for (const SkippedLayer &s : skippedList)
    skipped[s.op] = &s;
  std::vector<std::vector<std::string>> rows{
      {"layer", "type", "state", "scale_d", "offset_d", "scale_w"}};
  std::vector<std::vector<std::string>> skippedRows{{"skipped layer", "type", "reason"}};
  // A weight-only layer's "int4 group 32" from its bits and group size.
  auto weightOnly = [](int64_t bits, int64_t groupSize) {
    return "int" + std::to_string(bits) +
           (groupSize ? " group " + std::to_string(groupSize) : std::string());
  };
  func.walk([&](Operation *op) {
    if (auto deploy = dyn_cast<ascend::WeightQuantBatchMatmulV2Op>(op)) {
      std::optional<std::vector<float>> scales = getConstantFloats(deploy.getAntiquantScale());
      rows.push_back({getNodeName(op).str(), "Linear",
                      weightOnly(deploy.getWeightDtype() == "INT4" ? 4 : 8,
                                 deploy.getAntiquantGroupSize()) +
                          " weights (deploy)",
                      "-", "-", scales ? scaleRange(*scales) : "-"});
      return;
    }
    if (auto deploy = dyn_cast<ascend::QuantBatchMatmulV3Op>(op)) {
      std::optional<std::vector<float>> scales = getConstantFloats(deploy.getScale());
      bool asym = !isa<NoneType>(deploy.getPertokenOffset().getType());
      rows.push_back({getNodeName(op).str(), "Linear",
                      std::string("int8 x int8, inputs per token") + (asym ? " asymmetric" : "") +
                          " (deploy)",
                      "per token", "-", scales ? scaleRange(*scales) : "-"});
      return;
    }
    // A KV-cache projection's output: int8 between AscendQuant and
    // AscendAntiQuant (what the cache holds).
    if (auto quant = dyn_cast<ascend::QuantOp>(op);
        quant && quant->hasOneUse() && isa<ascend::AntiQuantOp>(*quant->getUsers().begin())) {
      std::string name = getNodeName(op).str();
      StringRef layerName = StringRef(name).rsplit(".kv_quant").first;
      rows.push_back({layerName.str(), "KV cache", "int8 cache (AscendQuant -> AscendAntiQuant)",
                      formatG(1.0 / quant.getScale().convertToDouble(), 6),
                      std::to_string((int64_t)quant.getOffset().convertToDouble()), "-"});
      return;
    }
    if (StringRef layerName = getNodeName(op);
        isa<FakeQuantOp>(op) && layerName.consume_back(".kv_quant")) {
      auto fq = cast<FakeQuantOp>(op);
      rows.push_back({layerName.str(), "KV cache",
                      "fake-quantized cache", scaleRange(fq.getScale()),
                      std::to_string(fq.getOffset()[0]), "-"});
      return;
    }
    auto layer = dyn_cast<QuantizableLayerOpInterface>(op);
    if (!layer)
      return;
    std::optional<LayerKind> kind = layer.getLayerKind();
    // A MatMul is a Linear layer by its constant weight; a weight-only
    // quantized one reads amct.dequantize_weight instead.
    if (!kind && isa<MatMulOp>(op) && op->getOperand(1).getDefiningOp<DequantizeWeightOp>())
      kind = LayerKind::Linear;
    if (!kind)
      return;
    std::string name = getNodeName(layer).str();
    Value data = layer->getOperand(layer.getDataOperandIndex());
    std::optional<unsigned> weight =
        isa<MatMulOp>(op) ? std::optional<unsigned>(1) : layer.getWeightOperandIndex();
    std::vector<std::string> row{name, stringifyLayerKind(*kind).str(), "float", "-", "-", "-"};
    auto dataType = dyn_cast<TensorType>(data.getType());
    auto dq = weight ? layer->getOperand(*weight).getDefiningOp<DequantizeWeightOp>()
                     : DequantizeWeightOp();
    if (dq) {
      std::optional<std::vector<float>> scales = getConstantFloats(dq.getScale());
      row[2] = weightOnly(dq.getNumBits(), dq.getGroupSize()) + " weights (fake-quant)";
      row[5] = scales ? scaleRange(*scales) : "-";
      // W8A8: the input is quantized too.
      if (auto fq = data.getDefiningOp<FakeQuantOp>()) {
        row[2] = weightOnly(dq.getNumBits(), dq.getGroupSize()) +
                 " weights, int8 inputs per tensor (fake-quant)";
        row[3] = scaleRange(fq.getScale());
        row[4] = std::to_string(fq.getOffset()[0]);
      } else if (auto pt = data.getDefiningOp<FakeQuantPerTokenOp>()) {
        row[2] = weightOnly(dq.getNumBits(), dq.getGroupSize()) +
                 " weights, int8 inputs per token (fake-quant)";
        row[3] = "per token";
      }
    } else if (dataType && dataType.getElementType().isInteger(8)) {
      row[2] = "int8 (deploy)";
      if (auto q = data.getDefiningOp<ascend::QuantOp>()) {
        row[3] = formatG(1.0 / q.getScale().convertToDouble(), 6);
        row[4] = std::to_string((int64_t)q.getOffset().convertToDouble());
      }
    } else if (auto anti = data.getDefiningOp<ascend::AntiQuantOp>()) {
      row[2] = "int8 in, float (AscendAntiQuant)";
      row[3] = formatG(anti.getScale().convertToDouble(), 6);
    } else if (auto observer = data.getDefiningOp<ObserverOp>()) {
      row[2] = isa<IfmrAttr>(observer.getMethod())   ? "observed (ifmr)"
               : isa<HfmgAttr>(observer.getMethod()) ? "observed (hfmg)"
                                                     : "observed";
    } else if (auto fq = data.getDefiningOp<FakeQuantOp>()) {
      row[2] = "fake-quantized";
      row[3] = scaleRange(fq.getScale());
      row[4] = fq.getOffset().empty() ? "-" : std::to_string(fq.getOffset()[0]);
      if (weight)
        if (auto wq = layer->getOperand(*weight).getDefiningOp<FakeQuantOp>())
          row[5] = scaleRange(wq.getScale());
    } else if (auto it = skipped.find(layer); it != skipped.end()) {
      skippedRows.push_back({name.empty() ? "(unnamed)" : name, it->second->type,
                             it->second->reason});
      return;
    }
    rows.push_back(std::move(row));
  });
  if (rows.size() > 1) {
    llvm::outs() << "layers:\n";
    printTable(llvm::outs(), rows, {false, false, false, true, true, true});
  }
  if (skippedRows.size() > 1)
    printTable(llvm::outs(), skippedRows, {});
}

/// The nodes the executor cannot run (so `amct run`, calibration and
/// evaluation would refuse the model), with the reason, before running
/// anything.
static void printUnrunnableNodes(func::FuncOp func) {
  std::vector<std::vector<std::string>> rows;
  func.walk([&](Operation *op) {
    if (op->getParentOp() != func || isa<func::ReturnOp, ConstOp, ConstantOp, NoneOp>(op))
      return;
    std::string why;
    if (rt::findKernel(op, &why))
      return;
    auto loc = dyn_cast<NameLoc>(op->getLoc());
    rows.push_back({"  " + (loc ? loc.getName().str() : std::string("(unnamed)")), why});
  });
  if (rows.empty()) {
    llvm::outs() << "executor: runs every node\n";
    return;
  }
  llvm::outs() << "executor: cannot run " << rows.size() << " node"
               << (rows.size() == 1 ? "" : "s") << " (amct run, calibrate and quantize refuse "
               << "the model):\n";
  printTable(llvm::outs(), rows, {false, false});
}

int amct::tool::runInspect() {
  ToolSession session("amct inspect");
  OwningOpRef<ModuleOp> module = session.loadModel(inspectModel);
  if (!module)
    return kExitUserError;
  func::FuncOp func = getMainFunction(*module);
  if (!func) {
    llvm::errs() << "amct inspect: error: " << inspectModel << ": no function\n";
    return kExitUserError;
  }
  llvm::outs() << "model: " << inspectModel << "\n";
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    llvm::outs() << "  input  " << func.getArgAttrOfType<StringAttr>(i, "amct.name").getValue()
                 << ": " << func.getArgument(i).getType() << "\n";
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    llvm::outs() << "  output "
                 << func.getResultAttrOfType<StringAttr>(i, "amct.name").getValue()
                 << ": " << func.getResultTypes()[i] << "\n";
  std::map<std::string, std::pair<unsigned, bool>> counts;
  unsigned initializers = 0;
  int64_t weightElements = 0;
  func.walk([&](Operation *op) {
    if (auto c = dyn_cast<ConstOp>(op)) {
      ++initializers;
      weightElements += c.getValue().getNumElements();
      return;
    }
    if (auto node = dyn_cast<NodeOp>(op)) {
      std::string key = node.getDomain().empty()
                            ? node.getOpType().str()
                            : (node.getDomain() + "." + node.getOpType()).str();
      counts[key].first++;
      return;
    }
    // Quantization and deploy ops: what the passes have added so far.
    if (isa<ObserverOp, FakeQuantOp>(op) || op->getDialect()->getNamespace() == "ascend") {
      counts[op->getName().getStringRef().str()].first++;
      counts[op->getName().getStringRef().str()].second = true;
      return;
    }
    if (op->hasTrait<::amct::OpTrait::OnnxOp>()) {
      auto &entry = counts[op->getName().stripDialect().str()];
      entry.first++;
      entry.second = true;
    }
  });
  llvm::outs() << "initializers: " << initializers << " (" << weightElements
               << " elements)\nops:\n";
  for (auto &[name, entry] : counts)
    llvm::outs() << "  " << name << " x" << entry.first
                 << (entry.second ? "" : "  (generic amct.node)") << "\n";
  printUnrunnableNodes(func);
  printLayerStates(func);
  return 0;
}

