//===- Convert.cpp - --amct-convert: fake-quant -> Ascend deploy ----------===//
//
// The deploy model AMCT's save_model writes: integer layers between
// AscendQuant and AscendDequant. Arithmetic as docs/Quantization.md gives it.
//
//===----------------------------------------------------------------------===//

#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Dialect/Ascend/IR/Ascend.h"
#include "amct/Quant/Quant.h"
#include "amct/Transforms/Passes.h"
#include "amct/Transforms/QuantizableLayers.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/SetVector.h"

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
  /// tensor with the same parameters share it (AMCT's QuantFusionPass keeps
  /// the first, named after its layer: `<layer>.quant`, output
  /// `<layer>.quant.output0`).
  Value getQuantized(OpBuilder &b, FakeQuantOp act, StringRef layerName) {
    float scale = act.getScale()[0];
    int64_t offset = act.getOffset()[0];
    auto key = std::make_tuple(act.getInput().getAsOpaquePointer(), scale, offset);
    auto it = quantCache.find(key);
    if (it != quantCache.end())
      return it->second;
    Location loc = makeNodeLoc(b.getContext(), (layerName + ".quant").str(),
                               {(layerName + ".quant.output0").str()}, b.getUnknownLoc());
    auto inType = cast<TensorType>(act.getInput().getType());
    Value q = b.create<ascend::QuantOp>(
        loc, inType.clone(b.getIntegerType(8)), act.getInput(), b.getF32FloatAttr(1.0f / scale),
        b.getF32FloatAttr((float)offset), b.getStringAttr("INT8"), b.getBoolAttr(false),
        b.getStringAttr("Round"));
    quantCache[key] = q;
    return q;
  }

  std::map<std::tuple<void *, float, int64_t>, Value> quantCache;
};

/// A layer's weight as the int8 integers the deploy model stores: an
/// 8-bit-or-narrower fake_quant of a constant (the CNN flow; the constant's
/// layout, scales along `axis`), or an 8-bit per-tensor / per-channel
/// amct.dequantize_weight without offset (the language-model W8A8 flow;
/// [K, N], scales along 1).
struct Int8Weight {
  std::vector<int8_t> values;
  SmallVector<int64_t> shape;
  std::vector<float> scale;
  std::optional<int64_t> axis;
  Location loc;
  std::string name;
};

/// Int8Weight of `weight`, or the reason it has no int8 deploy form.
FailureOr<Int8Weight> int8WeightOf(Value weight, std::string &why) {
  if (auto dq = weight.getDefiningOp<DequantizeWeightOp>()) {
    std::optional<std::vector<int8_t>> q = getConstantInt8s(dq.getQ());
    std::optional<std::vector<float>> scale = getConstantFloats(dq.getScale());
    auto qType = dyn_cast<RankedTensorType>(dq.getQ().getType());
    if (dq.getNumBits() != 8 || dq.getGroupSize() != 0 ||
        !isa<NoneType>(dq.getOffset().getType()) || !q || !scale || !qType ||
        !qType.hasStaticShape()) {
      why = "an int8 layer takes an 8-bit weight per tensor or channel without offset";
      return failure();
    }
    Int8Weight w{std::move(*q), SmallVector<int64_t>(qType.getShape()), std::move(*scale),
                 std::nullopt, dq.getQ().getLoc(), getNodeName(dq.getQ().getDefiningOp()).str()};
    if (w.scale.size() > 1)
      w.axis = 1;
    return w;
  }
  auto wq = weight.getDefiningOp<FakeQuantOp>();
  auto wConst = wq ? wq.getInput().getDefiningOp<ConstOp>() : ConstOp();
  std::optional<std::vector<int32_t>> ints =
      wConst ? quantizeConstantInput(wq, why) : std::nullopt;
  if (!ints) {
    why = "the weight is not a fake-quantized constant";
    return failure();
  }
  if (llvm::any_of(wq.getOffset(), [](int64_t o) { return o != 0; })) {
    why = "weights with a non-zero offset_w have no deploy form (ARQ weights are symmetric)";
    return failure();
  }
  if (wq.getNumBits() > 8) {
    why = std::to_string(wq.getNumBits()) + "-bit weights have no int8 deploy form";
    return failure();
  }
  auto wType = cast<RankedTensorType>(wConst.getType());
  return Int8Weight{std::vector<int8_t>(ints->begin(), ints->end()),
                    SmallVector<int64_t>(wType.getShape()),
                    std::vector<float>(wq.getScale().begin(), wq.getScale().end()),
                    wq.getAxis(), wConst->getLoc(), getNodeName(wConst).str()};
}

/// Erases amct.dequantize_weight ops nothing reads any more, and their
/// constants.
void eraseDeadWeightDequantizations(func::FuncOp func) {
  SmallVector<Operation *> dead;
  func.walk([&](DequantizeWeightOp dq) {
    if (dq->use_empty())
      dead.push_back(dq);
  });
  for (Operation *dq : dead) {
    SmallVector<Operation *> inputs;
    for (Value v : dq->getOperands())
      if (Operation *def = v.getDefiningOp())
        inputs.push_back(def);
    dq->erase();
    for (Operation *def : inputs)
      if (def->use_empty())
        def->erase();
  }
}

/// The int32 constant replacing the float bias constant `bias`: its shape
/// with the last dim holding the values ([C], or Gemm's [1, C]).
Value createInt32Bias(OpBuilder &b, Value bias, ArrayRef<int32_t> q,
                      SmallVectorImpl<Operation *> &replaced) {
  SmallVector<int64_t> dims(std::max<int64_t>(cast<ShapedType>(bias.getType()).getRank(), 1), 1);
  dims.back() = q.size();
  replaced.push_back(bias.getDefiningOp());
  return createConstant(b, bias.getLoc(), RankedTensorType::get(dims, b.getIntegerType(32)),
                        ArrayRef<char>(reinterpret_cast<const char *>(q.data()), q.size() * 4),
                        getNodeName(bias.getDefiningOp()));
}

/// The layer's int32 bias. The fake-quant model carries it as a 32-bit
/// fake_quant with the accumulator scales (fold-observers puts it there),
/// whose scales must be `deq`; a plain float constant (a hand-written
/// fake-quant model) is quantized with `deq` here.
FailureOr<Value> convertBias(OpBuilder &b, const QuantizableLayer &layer,
                             ArrayRef<float> deq, SmallVectorImpl<Operation *> &replaced) {
  Value bias = layer.biasOp->getOperand(layer.biasOperand);
  if (auto fq = bias.getDefiningOp<FakeQuantOp>()) {
    ArrayRef<float> scales = fq.getScale();
    bool sameScales = fq.getNumBits() == 32 &&
                      llvm::all_of(fq.getOffset(), [](int64_t o) { return o == 0; }) &&
                      (scales.size() == deq.size() || (deq.size() == 1 && !fq.getAxis()));
    for (size_t c = 0; sameScales && c < scales.size(); ++c)
      sameScales = scales[c] == deq[deq.size() == 1 ? 0 : c];
    if (!sameScales) {
      InFlightDiagnostic diag = layer.op->emitError()
                                << "layer '" << layer.name
                                << "': the bias must be fake-quantized to 32 bits with offset 0 "
                                   "and the accumulator scales scale_d * scale_w (";
      llvm::interleaveComma(deq, diag);
      diag << "), found " << fq.getNumBits() << " bits and scales (";
      llvm::interleaveComma(scales, diag);
      return diag << ")";
    }
    std::string error;
    std::optional<std::vector<int32_t>> q = quantizeConstantInput(fq, error);
    if (!q)
      return layer.op->emitError() << "layer '" << layer.name << "': " << error;
    return createInt32Bias(b, fq.getInput(), *q, replaced);
  }
  std::optional<std::vector<float>> values = getConstantFloats(bias);
  auto type = dyn_cast<RankedTensorType>(bias.getType());
  if (!values || !type || (values->size() != deq.size() && values->size() != 1 &&
                           deq.size() != 1)) {
    return layer.op->emitError() << "layer '" << layer.name << "': the bias must be a float32 "
                                 << "constant of one value per output channel ("
                                 << layer.outputChannels() << ") to become int32";
  }
  if (values->size() == 1 && deq.size() > 1)
    values->assign(deq.size(), values->front());
  std::string error;
  std::optional<std::vector<int32_t>> q =
      quant::quantizeBias(values->data(), values->size(), deq.data(), deq.size(), error);
  if (!q)
    return layer.op->emitError() << "layer '" << layer.name << "': " << error;
  return createInt32Bias(b, bias, *q, replaced);
}

/// AMCT's AscendDequant parameter `<layer>.dequant.param`: uint64 [N], the
/// fp32 bits of scale_d * scale_w[c] in bits 31:0, offset_w (always 0 here:
/// weights are symmetric) in bits 47:40.
Value createDequantParam(OpBuilder &b, StringRef layerName, ArrayRef<float> deq) {
  std::vector<uint64_t> bits(deq.size());
  for (size_t c = 0; c < deq.size(); ++c) {
    uint32_t f;
    memcpy(&f, &deq[c], 4);
    bits[c] = f;
  }
  std::string name = (layerName + ".dequant.param").str();
  return createConstant(
      b, NameLoc::get(b.getStringAttr(name)),
      RankedTensorType::get({(int64_t)bits.size()}, b.getIntegerType(64, false)),
      ArrayRef<char>(reinterpret_cast<const char *>(bits.data()), bits.size() * 8), name);
}

/// Names the AscendDequant `<layer>.dequant`; its result keeps the output
/// tensor name of `last` (the layer, or a MatMul's bias Add), so the
/// consumers and graph outputs keep theirs.
void nameDequant(OpBuilder &b, ascend::DequantOp dequant, StringRef layerName, Operation *last,
                 Location fallback) {
  SmallVector<std::string> outNames;
  for (StringRef n : getOutputNames(last))
    outNames.push_back(n.str());
  dequant->setLoc(makeNodeLoc(b.getContext(), (layerName + ".dequant").str(), outNames, fallback));
}

/// The constant bias a weight-only layer's result gets, as [N] values: a
/// Gemm's C, or the Add of a constant that is a MatMul's only user. Null
/// when there is none.
struct WeightOnlyBias {
  Operation *add = nullptr; // the MatMul's Add, folded into the deploy op
  Value value;
};

WeightOnlyBias findWeightOnlyBias(Operation *op, int64_t n) {
  auto isVector = [&](Value v) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    return type && type.hasStaticShape() && type.getNumElements() == n &&
           type.getShape().back() == n && getConstantFloats(v);
  };
  if (auto gemm = dyn_cast<GemmOp>(op)) {
    Value c = gemm.getC();
    if (c && !isa<NoneType>(c.getType()) && isVector(c))
      return {nullptr, c};
    return {};
  }
  if (!op->hasOneUse())
    return {};
  auto add = dyn_cast<AddOp>(*op->getUsers().begin());
  if (!add)
    return {};
  Value other = add.getA() == op->getResult(0) ? add.getB() : add.getA();
  auto resultType = dyn_cast<RankedTensorType>(add.getType());
  if (!isVector(other) || !resultType || resultType != op->getResult(0).getType())
    return {};
  return {add, other};
}

/// A Gemm's C that is not a foldable [N] float32 vector (a 16-bit one, a
/// matrix, a value computed in the graph): added after the deploy product.
Value unfoldedGemmC(Operation *op, const WeightOnlyBias &bias) {
  if (auto gemm = dyn_cast<GemmOp>(op); gemm && !bias.value && gemm.getC() &&
                                         !isa<NoneType>(gemm.getC().getType()))
    return gemm.getC();
  return Value();
}

/// `deploy` replaces the Linear layer `op` (and the bias Add it folded):
/// it takes the layer's node name and the output names of the last op it
/// replaces; `gemmC`, when given, is added after it (`<layer>.bias_add`).
void replaceLinearLayer(OpBuilder &b, Operation *op, const std::string &name,
                        const WeightOnlyBias &bias, Operation *deploy, Value gemmC) {
  Operation *last = bias.add ? bias.add : op;
  Value result = deploy->getResult(0);
  if (gemmC) {
    auto add = b.create<AddOp>(NameLoc::get(b.getStringAttr(name + ".bias_add")),
                               result.getType(), result, gemmC);
    result = add.getResult();
  }
  SmallVector<std::string> outNames;
  for (StringRef o : getOutputNames(last))
    outNames.push_back(o.str());
  Operation *producer = result.getDefiningOp();
  if (producer != deploy) {
    // The Add takes the layer's output names; the product is internal.
    deploy->setLoc(NameLoc::get(b.getStringAttr(name)));
    producer->setLoc(makeNodeLoc(b.getContext(), name + ".bias_add", outNames,
                                 b.getUnknownLoc()));
  } else {
    deploy->setLoc(makeNodeLoc(b.getContext(), name, outNames, b.getUnknownLoc()));
  }
  last->getResult(0).replaceAllUsesWith(result);
  SmallVector<Operation *> dead{last};
  if (last != op)
    dead.push_back(op);
  for (Operation *d : dead)
    d->erase();
  if (bias.value)
    if (Operation *def = bias.value.getDefiningOp(); def && def->use_empty())
      def->erase();
}

/// The bias of a deploy matmul: the [N] float32 constant `bias` found, or none.
Value deployBias(OpBuilder &b, Operation *op, const WeightOnlyBias &bias, int64_t n) {
  if (!bias.value)
    return b.create<NoneOp>(op->getLoc());
  return createFloatConstant(b, bias.value.getLoc(), RankedTensorType::get({n}, b.getF32Type()),
                             *getConstantFloats(bias.value),
                             getNodeName(bias.value.getDefiningOp()));
}

/// MatMul / Gemm layers whose weight is an amct.dequantize_weight (the
/// language-model weight-only flow) become Ascend's WeightQuantBatchMatmulV2
/// with the integer weight (int4 packed two per byte along K), the scale
/// as the NPU takes it ([1], [N] or [G, N]), antiquant_offset = -offset and
/// the bias folded in. Emits an error and returns failure for a layer
/// whose form has no deploy op.
LogicalResult convertWeightOnlyLayers(func::FuncOp func) {
  SmallVector<Operation *> layers;
  func.walk([&](Operation *op) {
    if (isa<MatMulOp, GemmOp>(op) && op->getNumOperands() >= 2 &&
        op->getOperand(1).getDefiningOp<DequantizeWeightOp>())
      layers.push_back(op);
  });
  bool failedAny = false;
  OpBuilder b(func.getContext());
  for (Operation *op : layers) {
    auto dq = op->getOperand(1).getDefiningOp<DequantizeWeightOp>();
    std::string name = getNodeName(op).str();
    if (auto gemm = dyn_cast<GemmOp>(op)) {
      bool plain = !gemm.getTransA() && !gemm.getTransB() &&
                   gemm.getAlpha().convertToFloat() == 1.0f &&
                   gemm.getBeta().convertToFloat() == 1.0f;
      if (!plain) {
        op->emitError() << "layer '" << name
                        << "': a weight-only Gemm deploys only with transA = transB = 0 and "
                           "alpha = beta = 1";
        failedAny = true;
        continue;
      }
    }
    std::optional<std::vector<int8_t>> q = getConstantInt8s(dq.getQ());
    std::optional<std::vector<float>> scale = getConstantFloats(dq.getScale());
    std::optional<std::vector<float>> offset;
    bool hasOffset = !isa<NoneType>(dq.getOffset().getType());
    if (hasOffset)
      offset = getConstantFloats(dq.getOffset());
    auto qType = dyn_cast<RankedTensorType>(dq.getQ().getType());
    auto sType = dyn_cast<RankedTensorType>(dq.getScale().getType());
    if (!q || !scale || (hasOffset && !offset) || !qType || !qType.hasStaticShape() ||
        !sType || !sType.hasStaticShape()) {
      op->emitError() << "layer '" << name
                      << "': the weight's integers, scales and offsets must be constants";
      failedAny = true;
      continue;
    }
    int64_t k = qType.getDimSize(0), n = qType.getDimSize(1);
    int64_t bits = dq.getNumBits(), groupSize = dq.getGroupSize();
    std::vector<int8_t> weight = std::move(*q);
    SmallVector<int64_t> wShape{k, n};
    if (bits == 4) {
      if (k % 2) {
        op->emitError() << "layer '" << name << "': an int4 weight packs two values per byte "
                                                "along K, which must be even, found " << k;
        failedAny = true;
        continue;
      }
      std::vector<int8_t> packed(k / 2 * n);
      for (int64_t r = 0; r < k / 2; ++r)
        for (int64_t c = 0; c < n; ++c)
          packed[r * n + c] = int8_t((uint8_t(weight[2 * r * n + c]) & 0x0f) |
                                     (uint8_t(weight[(2 * r + 1) * n + c]) << 4));
      weight = std::move(packed);
      wShape[0] = k / 2;
    }
    // The NPU's scale shapes: [1] per tensor, [N] per channel, [G, N] per group.
    SmallVector<int64_t> paramShape;
    if (groupSize > 0)
      paramShape = {sType.getDimSize(0), n};
    else
      paramShape = {sType.getDimSize(1)};
    b.setInsertionPoint(op);
    auto paramType = RankedTensorType::get(paramShape, b.getF32Type());
    // Constants are exported under their location's name.
    auto named = [&](StringRef suffix) { return NameLoc::get(b.getStringAttr(name + suffix)); };
    Value wValue = createConstant(
        b, named(".weight_quant"), RankedTensorType::get(wShape, b.getIntegerType(8)),
        ArrayRef<char>(reinterpret_cast<const char *>(weight.data()), weight.size()),
        name + ".weight_quant");
    Value scaleValue = createFloatConstant(b, named(".antiquant_scale"), paramType, *scale,
                                           name + ".antiquant_scale");
    Value offsetValue = b.create<NoneOp>(op->getLoc());
    if (hasOffset) {
      std::vector<float> negated(offset->size());
      for (size_t i = 0; i < negated.size(); ++i)
        negated[i] = -(*offset)[i];
      offsetValue = createFloatConstant(b, named(".antiquant_offset"), paramType, negated,
                                        name + ".antiquant_offset");
    }
    WeightOnlyBias bias = findWeightOnlyBias(op, n);
    Value biasValue = deployBias(b, op, bias, n);
    Value gemmC = unfoldedGemmC(op, bias);
    Operation *last = bias.add ? bias.add : op;
    auto deploy = b.create<ascend::WeightQuantBatchMatmulV2Op>(
        op->getLoc(), last->getResult(0).getType(), op->getOperand(0), wValue, scaleValue,
        offsetValue, biasValue, b.getI64IntegerAttr(groupSize),
        b.getStringAttr(bits == 4 ? "INT4" : "INT8"));
    replaceLinearLayer(b, op, name, bias, deploy, gemmC);
    SmallVector<Operation *> inputs;
    for (Value v : dq->getOperands())
      if (Operation *def = v.getDefiningOp())
        inputs.push_back(def);
    if (dq->use_empty())
      dq->erase();
    for (Operation *def : inputs)
      if (def->use_empty())
        def->erase();
  }
  return failure(failedAny);
}

/// MatMul / Gemm layers whose input is an amct.fake_quant_per_token and
/// whose weight an 8-bit fake_quant of a constant (the language-model W8A8
/// flow with per-token activations) become Ascend's DynamicQuant (V2 when
/// asymmetric; one per input value) and QuantBatchMatmulV3 with the int8
/// weight as [K, N], its scales, the per-token scales (and offsets) and the
/// float bias. Emits an error and returns failure for a layer whose form
/// has no deploy op.
LogicalResult convertPerTokenLayers(func::FuncOp func) {
  SmallVector<Operation *> layers;
  func.walk([&](Operation *op) {
    if (isa<MatMulOp, GemmOp>(op) && op->getNumOperands() >= 2 &&
        op->getOperand(0).getDefiningOp<FakeQuantPerTokenOp>())
      layers.push_back(op);
  });
  bool failedAny = false;
  OpBuilder b(func.getContext());
  llvm::DenseMap<Value, Operation *> quantized; // one DynamicQuant per input
  for (Operation *op : layers) {
    auto act = op->getOperand(0).getDefiningOp<FakeQuantPerTokenOp>();
    std::string name = getNodeName(op).str();
    auto fail = [&]() -> InFlightDiagnostic {
      failedAny = true;
      return op->emitError() << "layer '" << name << "': ";
    };
    auto gemm = dyn_cast<GemmOp>(op);
    if (gemm && (gemm.getTransA() || gemm.getAlpha().convertToFloat() != 1.0f ||
                 gemm.getBeta().convertToFloat() != 1.0f)) {
      fail() << "a per-token Gemm deploys only with transA = 0 and alpha = beta = 1";
      continue;
    }
    std::string why;
    FailureOr<Int8Weight> weight = int8WeightOf(op->getOperand(1), why);
    if (failed(weight) || weight->shape.size() != 2) {
      fail() << "the input is quantized per token but "
             << (failed(weight) ? why : std::string("the weight is not 2-D"));
      continue;
    }
    bool transposed = gemm && gemm.getTransB();
    int64_t k = weight->shape[transposed ? 1 : 0], n = weight->shape[transposed ? 0 : 1];
    if (weight->scale.size() > 1 && weight->axis != (transposed ? 0 : 1)) {
      fail() << "the weight's scales must run along its output channels";
      continue;
    }
    std::vector<int8_t> wInt(k * n);
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < n; ++c)
        wInt[r * n + c] = weight->values[transposed ? c * k + r : r * n + c];
    b.setInsertionPoint(op);
    Value input = act.getInput();
    Operation *&dyn = quantized[input];
    if (!dyn) {
      b.setInsertionPointAfterValue(input);
      auto inType = cast<RankedTensorType>(input.getType());
      SmallVector<int64_t> paramShape(inType.getShape().drop_back());
      auto yType = inType.clone(b.getIntegerType(8));
      auto pType = RankedTensorType::get(paramShape, b.getF32Type());
      std::vector<std::string> outs{name + ".quant.output0", name + ".quant.scale"};
      if (act.getAsymmetric())
        outs.push_back(name + ".quant.offset");
      Location loc = makeNodeLoc(b.getContext(), name + ".quant", outs, b.getUnknownLoc());
      if (act.getAsymmetric())
        dyn = b.create<ascend::DynamicQuantV2Op>(loc, yType, pType, pType, input);
      else
        dyn = b.create<ascend::DynamicQuantOp>(loc, yType, pType, input);
      b.setInsertionPoint(op);
    }
    auto named = [&](StringRef suffix) { return NameLoc::get(b.getStringAttr(name + suffix)); };
    Value wValue = createConstant(
        b, named(".weight_quant"), RankedTensorType::get({k, n}, b.getIntegerType(8)),
        ArrayRef<char>(reinterpret_cast<const char *>(wInt.data()), wInt.size()),
        name + ".weight_quant");
    const std::vector<float> &scaleW = weight->scale;
    Value scaleValue = createFloatConstant(
        b, named(".deq_scale"),
        RankedTensorType::get({int64_t(scaleW.size())}, b.getF32Type()),
        scaleW, name + ".deq_scale");
    WeightOnlyBias bias = findWeightOnlyBias(op, n);
    Value biasValue = deployBias(b, op, bias, n);
    Value gemmC = unfoldedGemmC(op, bias);
    Value offsetValue = dyn->getNumResults() > 2 ? dyn->getResult(2)
                                                 : Value(b.create<NoneOp>(op->getLoc()));
    Operation *last = bias.add ? bias.add : op;
    auto deploy = b.create<ascend::QuantBatchMatmulV3Op>(
        op->getLoc(), last->getResult(0).getType(), dyn->getResult(0), wValue, scaleValue,
        dyn->getResult(1), offsetValue, biasValue);
    replaceLinearLayer(b, op, name, bias, deploy, gemmC);
  }
  // The per-token fake-quants and the weights' fake-quants are unused now.
  SmallVector<Operation *> dead;
  func.walk([&](FakeQuantPerTokenOp fq) {
    if (fq->use_empty())
      dead.push_back(fq);
  });
  for (Operation *d : dead)
    d->erase();
  return failure(failedAny);
}

/// An 8-bit fake_quant that no layer consumes as its input (a KV-cache
/// projection's output) becomes AscendQuant -> AscendAntiQuant (per tensor)
/// or AscendQuantV2 -> AscendAntiQuantV2 (per channel along the last axis):
/// the int8 values between them are what the cache holds; the AntiQuant
/// gives back (q - offset) * scale (AMCT's offset is -offset_d).
LogicalResult convertStandaloneFakeQuants(func::FuncOp func) {
  bool failedAny = false;
  SmallVector<FakeQuantOp> todo;
  func.walk([&](FakeQuantOp fq) {
    if (!fq->use_empty() && fq.getNumBits() == 8 && !fq.getInput().getDefiningOp<ConstOp>())
      todo.push_back(fq);
  });
  OpBuilder b(func.getContext());
  for (FakeQuantOp fq : todo) {
    std::string base = getNodeName(fq).str();
    if (base.empty())
      base = "fake_quant";
    b.setInsertionPoint(fq);
    auto inType = cast<TensorType>(fq.getInput().getType());
    if (std::optional<int64_t> axis = fq.getAxis()) {
      // Per channel: AscendQuantV2 / AscendAntiQuantV2 with tensors of
      // 1 / scale, offset and scale, -offset along the axis; the AntiQuant
      // form takes the last axis only (the KV cache's channels).
      int64_t rank = cast<RankedTensorType>(inType).getRank();
      if (*axis != rank - 1 && *axis != -1) {
        fq.emitError() << "'" << base << "': a per-channel fake-quant of a value deploys along "
                       << "its last axis only (AscendAntiQuantV2), found axis " << *axis;
        failedAny = true;
        continue;
      }
      std::vector<float> inv, off, scales, negOff;
      for (auto [sc, o] : llvm::zip(fq.getScale(), fq.getOffset())) {
        inv.push_back(1.0f / sc);
        off.push_back(float(o));
        scales.push_back(sc);
        negOff.push_back(-float(o));
      }
      auto paramType = RankedTensorType::get({int64_t(inv.size())}, b.getF32Type());
      auto param = [&](StringRef suffix, ArrayRef<float> values) {
        std::string name = base + suffix.str();
        return createFloatConstant(b, NameLoc::get(b.getStringAttr(name)), paramType,
                                   std::vector<float>(values.begin(), values.end()), name);
      };
      Location qLoc = makeNodeLoc(b.getContext(), base + ".quant", {base + ".quant.output0"},
                                  b.getUnknownLoc());
      Value q = b.create<ascend::QuantV2Op>(qLoc, inType.clone(b.getIntegerType(8)),
                                            fq.getInput(), param(".quant.scale", inv),
                                            param(".quant.offset", off),
                                            b.getI64IntegerAttr(-1), b.getStringAttr("INT8"));
      SmallVector<std::string> outNames;
      for (StringRef n : getOutputNames(fq))
        outNames.push_back(n.str());
      Location aLoc =
          makeNodeLoc(b.getContext(), base + ".antiquant", outNames, b.getUnknownLoc());
      auto anti = b.create<ascend::AntiQuantV2Op>(aLoc, fq.getType(), q,
                                                  param(".antiquant.scale", scales),
                                                  param(".antiquant.offset", negOff));
      fq.getResult().replaceAllUsesWith(anti.getResult());
      fq->erase();
      continue;
    }
    float scale = fq.getScale()[0];
    int64_t offset = fq.getOffset()[0];
    Location qLoc = makeNodeLoc(b.getContext(), base + ".quant", {base + ".quant.output0"},
                                b.getUnknownLoc());
    Value q = b.create<ascend::QuantOp>(qLoc, inType.clone(b.getIntegerType(8)), fq.getInput(),
                                        b.getF32FloatAttr(1.0f / scale),
                                        b.getF32FloatAttr(float(offset)),
                                        b.getStringAttr("INT8"), b.getBoolAttr(false),
                                        b.getStringAttr("Round"));
    SmallVector<std::string> outNames;
    for (StringRef n : getOutputNames(fq))
      outNames.push_back(n.str());
    Location aLoc = makeNodeLoc(b.getContext(), base + ".antiquant", outNames, b.getUnknownLoc());
    auto anti = b.create<ascend::AntiQuantOp>(aLoc, fq.getType(), q, b.getF32FloatAttr(scale),
                                              b.getF32FloatAttr(-float(offset)),
                                              b.getStringAttr("INT8"), b.getI64IntegerAttr(0),
                                              b.getBoolAttr(false));
    fq.getResult().replaceAllUsesWith(anti.getResult());
    fq->erase();
  }
  return failure(failedAny);
}

void AmctConvertPass::runOnOperation() {
  func::FuncOp func = getOperation();
  quantCache.clear(); // values of another function are not this one's
  SmallVector<Operation *> replacedConstants;
  OpBuilder b(func.getContext());
  bool failedAny = false;
  std::vector<SkippedLayer> skipped;
  std::vector<QuantizableLayer> layers = findQuantizableLayers(func, &skipped);
  // A fake-quantized layer with no int8 form is an error, not a float layer.
  for (const SkippedLayer &layer : skipped)
    if (layer.op->getNumOperands() > 0 && layer.op->getOperand(0).getDefiningOp<FakeQuantOp>()) {
      layer.op->emitError() << "layer '" << layer.name
                            << "': the activation is fake-quantized but the layer has no int8 "
                               "form: "
                            << layer.reason;
      failedAny = true;
    }
  for (const QuantizableLayer &layer : layers) {
    Operation *op = layer.op;
    auto act = op->getOperand(layer.dataOperand).getDefiningOp<FakeQuantOp>();
    if (!act || act.getAxis() || act.getNumBits() != 8)
      continue; // not quantized (or not in a form the NPU runs): stays float
    b.setInsertionPoint(op);
    Location loc = op->getLoc();
    Value q = getQuantized(b, act, layer.name);
    float scaleD = act.getScale()[0];

    if (layer.weightOperand < 0) {
      // A layer without weight (AvgPool2d), as AMCT deploys it: the pool on
      // the int8 data (its zero point as offset_x), then AscendDequant with
      // scale_w = 1, i.e. deq_scale = scale_d.
      op->setOperand(layer.dataOperand, q);
      if (int64_t offset = act.getOffset()[0])
        cast<QuantizableLayerOpInterface>(op).setDataOffsetX(offset);
      Value deqScale = createDequantParam(b, layer.name, {scaleD});
      b.setInsertionPointAfter(op);
      auto dequant = b.create<ascend::DequantOp>(
          b.getUnknownLoc(), op->getResult(0).getType(), op->getResult(0), deqScale,
          b.getBoolAttr(false), b.getBoolAttr(false), b.getI64IntegerAttr(0));
      nameDequant(b, dequant, layer.name, op, loc);
      op->setLoc(NameLoc::get(b.getStringAttr(layer.name))); // its output is renamed
      op->getResult(0).replaceAllUsesExcept(dequant.getResult(), dequant);
      continue;
    }
    std::string why;
    FailureOr<Int8Weight> weight = int8WeightOf(op->getOperand(layer.weightOperand), why);
    if (failed(weight)) {
      op->emitError() << "layer '" << layer.name
                      << "': the activation is fake-quantized but " << why;
      failedAny = true;
      continue;
    }
    std::vector<int8_t> wInt = std::move(weight->values);
    SmallVector<int64_t> wShape = weight->shape;
    // AMCT deploys a Gemm with its weight as [K, N] and transB = 0
    // (gemm_transb_optimize_pass.py): transposed here, once, offline.
    auto gemm = dyn_cast<GemmOp>(op);
    bool transposeB = gemm && gemm.getTransB() && wShape.size() == 2;
    if (transposeB) {
      std::vector<int8_t> t(wInt.size());
      for (int64_t r = 0; r < wShape[0]; ++r)
        for (int64_t c = 0; c < wShape[1]; ++c)
          t[c * wShape[0] + r] = wInt[r * wShape[1] + c];
      wInt = std::move(t);
      std::swap(wShape[0], wShape[1]);
    }
    Value wNew = createConstant(
        b, weight->loc, RankedTensorType::get(wShape, b.getIntegerType(8)),
        ArrayRef<char>(reinterpret_cast<const char *>(wInt.data()), wInt.size()), weight->name);

    // Per output channel: deq = scale_d * scale_w[c]; bias -> int32.
    const std::vector<float> &scaleW = weight->scale;
    std::vector<float> deq = quant::accumulatorScales(scaleD, scaleW.data(), scaleW.size(),
                                                      layer.outputChannels());

    SmallVector<Value> operands(op->getOperands());
    operands[layer.dataOperand] = q;
    operands[layer.weightOperand] = wNew;
    Value biasInt;
    if (layer.biasOp) {
      FailureOr<Value> converted = convertBias(b, layer, deq, replacedConstants);
      if (failed(converted)) {
        failedAny = true;
        continue;
      }
      biasInt = *converted;
      if (layer.biasOp == op)
        operands[layer.biasOperand] = biasInt;
    }
    auto resultType = cast<TensorType>(op->getResult(0).getType());
    OperationState state(loc, op->getName());
    state.addOperands(operands);
    state.addAttributes(op->getAttrs());
    if (transposeB)
      state.attributes.set("transB", b.getI64IntegerAttr(0));
    // An asymmetric activation's zero point rides on the layer (Ascend's
    // offset_x), so padding and products see real zero.
    state.addTypes(resultType.clone(b.getIntegerType(32)));
    Operation *intOp = b.create(state);
    if (int64_t offset = act.getOffset()[0])
      cast<QuantizableLayerOpInterface>(intOp).setDataOffsetX(offset);

    Value deqScale = createDequantParam(b, layer.name, deq);
    intOp->setLoc(NameLoc::get(b.getStringAttr(layer.name)));
    // MatMul + Add(bias): the bias joins the accumulator in an int32 Add,
    // AscendDequant comes after it.
    Operation *last = op, *accumulator = intOp;
    if (layer.biasOp && layer.biasOp != op) {
      Operation *add = layer.biasOp;
      b.setInsertionPoint(add);
      SmallVector<Value> addOperands(add->getOperands());
      addOperands[layer.biasOperand] = biasInt;
      addOperands[1 - layer.biasOperand] = intOp->getResult(0);
      accumulator = b.create<AddOp>(
          NameLoc::get(b.getStringAttr(getNodeName(add))), resultType.clone(b.getIntegerType(32)),
          addOperands[0], addOperands[1]);
      last = add;
    }
    auto dequant = b.create<ascend::DequantOp>(
        b.getUnknownLoc(), resultType, accumulator->getResult(0), deqScale, b.getBoolAttr(false),
        b.getBoolAttr(false), b.getI64IntegerAttr(0));
    nameDequant(b, dequant, layer.name, last, loc);
    last->getResult(0).replaceAllUsesWith(dequant.getResult());
    if (last != op)
      last->erase();
    op->erase();
  }
  if (failed(convertPerTokenLayers(func)))
    failedAny = true;
  if (failed(convertStandaloneFakeQuants(func)))
    failedAny = true;
  // Fake-quant ops now unused (and their float weights and biases) go.
  SmallVector<Operation *> fakeQuants;
  func.walk([&](FakeQuantOp fq) { fakeQuants.push_back(fq); });
  llvm::SetVector<Operation *> constants(replacedConstants.begin(), replacedConstants.end());
  for (Operation *fq : fakeQuants)
    if (fq->use_empty()) {
      if (Operation *in = fq->getOperand(0).getDefiningOp(); isa_and_nonnull<ConstOp>(in))
        constants.insert(in);
      fq->erase();
    }
  for (Operation *c : constants)
    if (c->use_empty())
      c->erase();
  eraseDeadWeightDequantizations(func);
  if (failed(convertWeightOnlyLayers(func)))
    failedAny = true;
  if (failedAny)
    signalPassFailure();
}

} // namespace
