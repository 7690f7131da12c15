//===- Convert.cpp - --amct-convert: fake-quant -> Ascend deploy ----------===//
//
// The deploy model AMCT's save_model writes: integer layers between
// AscendQuant and AscendDequant. Arithmetic as docs/Quantization.md gives it.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Dialect/Ascend/IR/Ascend.h"
#include "amct/Transforms/Passes.h"
#include "amct/Transforms/QuantizableLayers.h"

#include "mlir/IR/Builders.h"

#include <cmath>
#include <cstring>
#include <map>

namespace amct {
#define GEN_PASS_DEF_AMCTCONVERT
#include "amct/Transforms/Passes.h.inc"
} // namespace amct

using namespace mlir;
using namespace amct;

namespace {

struct AmctConvertPass : amct::impl::AmctConvertBase<AmctConvertPass> {
  void runOnOperation() override;

  /// One AscendQuant per (input, scale, offset): layers reading the same
  /// tensor with the same parameters share it.
  Value getQuantized(OpBuilder &b, FakeQuantOp act, Location loc) {
    float scale = act.getScale()[0];
    int64_t offset = act.getOffset()[0];
    auto key = std::make_tuple(act.getInput().getAsOpaquePointer(), scale, offset);
    auto it = quantCache.find(key);
    if (it != quantCache.end())
      return it->second;
    auto inType = cast<TensorType>(act.getInput().getType());
    Value q = b.create<ascend::QuantOp>(
        loc, inType.clone(b.getIntegerType(8)), act.getInput(), b.getF32FloatAttr(1.0f / scale),
        b.getF32FloatAttr((float)offset), b.getBoolAttr(false), b.getStringAttr("Round"),
        b.getStringAttr("INT8"));
    quantCache[key] = q;
    return q;
  }

  std::map<std::tuple<void *, float, int64_t>, Value> quantCache;
};

/// Quantizes a constant weight with per-channel (or per-tensor) parameters.
std::vector<int8_t> quantizeWeight(const std::vector<float> &w, ArrayRef<int64_t> shape,
                                   FakeQuantOp fq) {
  std::optional<int64_t> axis = fq.getAxis();
  int64_t inner = 1, channels = axis ? shape[*axis] : 1;
  if (axis)
    for (size_t i = *axis + 1; i < shape.size(); ++i)
      inner *= shape[i];
  else
    inner = w.size();
  std::vector<int8_t> q(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    int64_t c = axis ? (i / inner) % channels : 0;
    float v = std::nearbyint(w[i] / fq.getScale()[c]) + fq.getOffset()[c];
    q[i] = static_cast<int8_t>(std::clamp(v, -128.0f, 127.0f));
  }
  return q;
}

void AmctConvertPass::runOnOperation() {
  func::FuncOp func = getOperation();
  quantCache.clear(); // values of another function are not this one's
  SmallVector<Operation *> replacedConstants;
  OpBuilder b(func.getContext());
  bool failedAny = false;
  for (const QuantizableLayer &layer : findQuantizableLayers(func, nullptr)) {
    Operation *op = layer.op;
    auto act = op->getOperand(layer.dataOperand).getDefiningOp<FakeQuantOp>();
    if (!act || act.getAxis() || act.getNumBits() != 8)
      continue; // not quantized (or not in a form the NPU runs): stays float
    b.setInsertionPoint(op);
    Location loc = op->getLoc();
    Value q = getQuantized(b, act, NameLoc::get(b.getStringAttr(layer.name + "_quant")));
    float scaleD = act.getScale()[0];

    if (layer.type == "AvgPool2d") {
      // Integer in, float pooling on the dequantized values.
      auto anti = b.create<ascend::AntiQuantOp>(
          NameLoc::get(b.getStringAttr(layer.name + "_antiquant")), act.getType(), q,
          b.getF32FloatAttr(scaleD), b.getF32FloatAttr(-(float)act.getOffset()[0]),
          b.getI64IntegerAttr(0), b.getBoolAttr(false));
      op->setOperand(layer.dataOperand, anti);
      continue;
    }
    auto wq = op->getOperand(layer.weightOperand).getDefiningOp<FakeQuantOp>();
    auto wConst = wq ? wq.getInput().getDefiningOp<ConstOp>() : ConstOp();
    std::optional<std::vector<float>> w = wConst ? getConstantFloats(wConst) : std::nullopt;
    if (!w) {
      op->emitError() << "layer '" << layer.name
                      << "': the activation is fake-quantized but the weight is not a "
                         "fake-quantized constant";
      failedAny = true;
      continue;
    }
    if (llvm::any_of(wq.getOffset(), [](int64_t o) { return o != 0; })) {
      op->emitError() << "layer '" << layer.name
                      << "': weights with a non-zero offset_w have no deploy form (ARQ "
                         "weights are symmetric)";
      failedAny = true;
      continue;
    }
    auto wType = cast<RankedTensorType>(wConst.getType());
    std::vector<int8_t> wInt = quantizeWeight(*w, wType.getShape(), wq);
    Value wNew = createConstant(
        b, wConst->getLoc(), RankedTensorType::get(wType.getShape(), b.getIntegerType(8)),
        ArrayRef<char>(reinterpret_cast<const char *>(wInt.data()), wInt.size()),
        (getNodeName(wConst) + "_int8").str());

    // Per output channel: deq = scale_d * scale_w[c]; bias -> int32.
    int64_t channels = wType.getDimSize(layer.weightChannelAxis);
    if (layer.type == "ConvTranspose2d")
      channels *= cast<ConvTransposeOp>(op).getGroup();
    ArrayRef<float> scaleW = wq.getScale();
    std::vector<float> deq(scaleW.size() == 1 ? 1 : channels);
    for (size_t c = 0; c < deq.size(); ++c)
      deq[c] = scaleD * scaleW[scaleW.size() == 1 ? 0 : c % scaleW.size()];

    SmallVector<Value> operands(op->getOperands());
    operands[layer.dataOperand] = q;
    operands[layer.weightOperand] = wNew;
    int biasOperand = layer.type == "Linear" && isa<MatMulOp>(op) ? -1 : 2;
    if (biasOperand >= 0 && !isa<NoneType>(op->getOperand(biasOperand).getType())) {
      Value biasValue = op->getOperand(biasOperand);
      std::optional<std::vector<float>> bias = getConstantFloats(biasValue);
      auto biasShape = cast<ShapedType>(biasValue.getType());
      // One value per output channel ([C], or Gemm's [1, N]); a single value
      // is broadcast to every channel since the deq scales differ.
      bool perChannelShape =
          biasShape.hasRank() &&
          (biasShape.getRank() == 1 ||
           (biasShape.getRank() == 2 && biasShape.getDimSize(0) == 1));
      if (!bias || !perChannelShape ||
          (bias->size() != (size_t)channels && bias->size() != 1)) {
        op->emitError() << "layer '" << layer.name << "': the bias must be a constant of "
                        << channels << " values ([C] or [1, C]) to become int32";
        failedAny = true;
        continue;
      }
      if (bias->size() == 1 && deq.size() > 1)
        bias->assign(deq.size(), bias->front());
      std::vector<int32_t> biasInt(bias->size());
      for (size_t c = 0; c < bias->size(); ++c) {
        double v = std::nearbyint((double)(*bias)[c] / deq[deq.size() == 1 ? 0 : c]);
        if (!(v >= INT32_MIN && v <= INT32_MAX)) {
          op->emitError() << "layer '" << layer.name << "': bias[" << c << "] = " << (*bias)[c]
                          << " overflows int32 at scale " << deq[deq.size() == 1 ? 0 : c];
          failedAny = true;
          break;
        }
        biasInt[c] = static_cast<int32_t>(v);
      }
      if (failedAny)
        continue;
      SmallVector<int64_t> biasDims(biasShape.getShape());
      biasDims.back() = biasInt.size();
      replacedConstants.push_back(biasValue.getDefiningOp());
      operands[biasOperand] = createConstant(
          b, biasValue.getDefiningOp()->getLoc(),
          RankedTensorType::get(biasDims, b.getIntegerType(32)),
          ArrayRef<char>(reinterpret_cast<const char *>(biasInt.data()), biasInt.size() * 4),
          (getNodeName(op->getOperand(biasOperand).getDefiningOp()) + "_int32").str());
    }

    auto resultType = cast<TensorType>(op->getResult(0).getType());
    OperationState state(loc, op->getName());
    state.addOperands(operands);
    state.addAttributes(op->getAttrs());
    // An asymmetric activation's zero point rides on the layer (Ascend's
    // offset_x), so padding and products see real zero.
    if (int64_t offset = act.getOffset()[0])
      state.addAttribute("offset_x", b.getI64IntegerAttr(offset));
    state.addTypes(resultType.clone(b.getIntegerType(32)));
    Operation *intOp = b.create(state);

    std::vector<uint64_t> deqBits(deq.size());
    for (size_t c = 0; c < deq.size(); ++c) {
      uint32_t bits;
      memcpy(&bits, &deq[c], 4);
      deqBits[c] = bits; // fp32 pattern in the low 32 bits, high bits zero
    }
    Value deqScale = createConstant(
        b, NameLoc::get(b.getStringAttr(layer.name + "_deq_scale")),
        RankedTensorType::get({(int64_t)deqBits.size()}, b.getIntegerType(64, false)),
        ArrayRef<char>(reinterpret_cast<const char *>(deqBits.data()), deqBits.size() * 8),
        layer.name + "_deq_scale");
    auto dequant = b.create<ascend::DequantOp>(
        NameLoc::get(b.getStringAttr(layer.name + "_dequant")), resultType,
        intOp->getResult(0), deqScale, b.getBoolAttr(false), b.getBoolAttr(false),
        b.getI64IntegerAttr(0));
    // The dequantized value keeps the layer's output tensor name.
    SmallVector<std::string> outNames;
    for (StringRef n : getOutputNames(op))
      outNames.push_back(n.str());
    dequant->setLoc(makeNodeLoc(b.getContext(), layer.name + "_dequant", outNames, loc));
    intOp->setLoc(NameLoc::get(b.getStringAttr(layer.name)));
    op->getResult(0).replaceAllUsesWith(dequant.getResult());
    op->erase();
  }
  // Fake-quant ops now unused (and their float weights) go.
  SmallVector<Operation *> dead;
  func.walk([&](FakeQuantOp fq) { dead.push_back(fq); });
  for (Operation *fq : dead)
    if (fq->use_empty()) {
      Operation *in = fq->getOperand(0).getDefiningOp();
      fq->erase();
      if (in && isa<ConstOp>(in) && in->use_empty())
        in->erase();
    }
  for (Operation *c : replacedConstants)
    if (c->use_empty())
      c->erase();
  if (failedAny)
    signalPassFailure();
}

} // namespace
