//===- LlmQuantize.cpp - language-model weight-only quantization ----------===//
//
// AMCT's quantize(model, cfg) + convert(model) for the Linear layers of a
// language model with a weight-only config (reference 000's first two
// rows): int8 or int4 weights per tensor, channel or group by minmax, AWQ
// or GPTQ. The calibration batches run side by side in stepped executor
// runs that stop before each layer: once every batch has reached a layer
// (or a group of layers reading the same input, such as q/k/v), its
// weights are quantized from the inputs seen there and handed back to the
// runs, so each later layer is calibrated on the outputs of the quantized
// ones before it (GPTQ's sequential mode) and only the live activations of
// the batches are held, never every layer's inputs. Numerics in
// lib/Quant/LinearWeights.cpp; the result is the fused model with each
// weight replaced by amct.dequantize_weight of its integers, and
// --amct-convert makes the deploy model's WeightQuantBatchMatmulV2.
//
//===----------------------------------------------------------------------===//

#include "QuantizeSupport.h"

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/ConstantUtils.h"
#include "amct/Pipelines/Calibration.h"
#include "amct/Quant/LinearWeights.h"
#include "amct/Runtime/Executor.h"
#include "amct/Runtime/Tensor.h"
#include "amct/Support/AlgorithmRegistry.h"
#include "amct/Support/Progress.h"
#include "amct/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <cstdio>

using namespace mlir;

namespace amct {
namespace {

/// A Linear layer the config quantizes, and what quantizing it gave.
struct LlmLayer {
  QuantizableLayer layer;
  int64_t k = 0, n = 0;
  /// A Gemm with transB: the weight constant is [N, K].
  bool transposed = false;
  /// The weight's element type (f32, f16, bf16): the model's float type
  /// there, which the dequantized weight keeps.
  Type elementType;
  /// The fp32 weight as [K, N], read while the layer is quantized.
  std::vector<float> weight;
  /// ||W - W_q|| / ||W||, AWQ's scaling undone.
  double weightError = 0;
  quant::LinearWeightParams params;
  std::vector<int8_t> q; // [K, N]
  /// AWQ and SmoothQuant (AMCT's tensor_balance_factor): the weight rows
  /// were multiplied by these and the input channels are divided by them;
  /// empty otherwise.
  std::vector<float> balance;
  /// Whether balance is shared with the other layers of its input group
  /// (folded once) or this layer's own (an explicit Mul before it).
  bool balanceShared = false;
  /// W8A8 per tensor: the input's int8 parameters (calibrated).
  std::optional<quant::QuantParams> act;
  /// SmoothQuant: the strength the search chose (none when given).
  std::optional<double> smoothStrength;
  bool done = false;
};

/// Layers reading the same input value (q/k/v, gate/up): their inputs are
/// gathered once, and AWQ gives them one scale.
struct InputGroup {
  Value input;
  std::vector<size_t> members;
};

quant::LinearWeightSpec specOf(const LlmWeightConfig &w) {
  quant::LinearWeightSpec spec;
  spec.bits = w.bits;
  spec.symmetric = w.symmetric;
  spec.granularity = w.strategy == LlmWeightConfig::Strategy::Tensor
                         ? quant::WeightGranularity::Tensor
                     : w.strategy == LlmWeightConfig::Strategy::Channel
                         ? quant::WeightGranularity::Channel
                         : quant::WeightGranularity::Group;
  spec.groupSize = w.strategy == LlmWeightConfig::Strategy::Group ? w.groupSize : 0;
  return spec;
}

/// "int4 group 128", "int8 channel asymmetric".
std::string describeWeights(const LlmQuantConfig &config) {
  const LlmWeightConfig &w = config.weights;
  std::string gran = w.strategy == LlmWeightConfig::Strategy::Tensor    ? "tensor"
                     : w.strategy == LlmWeightConfig::Strategy::Channel ? "channel"
                                                                        : "group " +
                                                                              std::to_string(
                                                                                  w.groupSize);
  return "int" + std::to_string(w.bits) + " " + gran + (w.symmetric ? "" : " asymmetric");
}

/// "gptq int4 group 128", "smoothquant int8 channel, int8 inputs per token".
std::string describe(const LlmQuantConfig &config) {
  std::string algo = config.userAlgorithm()                          ? config.userAlgorithm()->name
                     : config.uses(LlmAlgorithm::Kind::Gptq)        ? "gptq"
                     : config.uses(LlmAlgorithm::Kind::Awq)         ? "awq"
                     : config.uses(LlmAlgorithm::Kind::SmoothQuant) ? "smoothquant"
                                                                    : "minmax";
  std::string text = algo + " " + describeWeights(config);
  if (const std::optional<LlmInputConfig> &in = config.inputs)
    text += std::string(", int8 inputs per ") +
            (in->strategy == LlmInputConfig::Strategy::Token ? "token" : "tensor") +
            (in->symmetric ? "" : " asymmetric");
  if (const LlmAlgorithm *act = config.userActivationAlgorithm())
    text += " by " + act->name;
  return text;
}

/// The config's entry for an algorithm it uses.
const LlmAlgorithm &algorithmOf(const LlmQuantConfig &config, LlmAlgorithm::Kind kind) {
  return *llvm::find_if(config.algorithms, [&](const LlmAlgorithm &a) { return a.kind == kind; });
}

/// The layer's inputs in every run, as rows of K floats (views).
struct LayerInputs {
  std::vector<rt::Tensor> parts;
  int64_t rows = 0;
};

FailureOr<LayerInputs> gatherInputs(const LlmLayer &l,
                                    std::vector<std::unique_ptr<rt::SteppedRun>> &runs) {
  LayerInputs in;
  for (auto &run : runs) {
    rt::Tensor x = run->operand(l.layer.dataOperand);
    if (rt::isHalfFloat(x.dtype())) {
      // A 16-bit model: the statistics are taken in float32.
      std::optional<rt::Tensor> f = x.convertFloat(rt::DType::F32);
      if (!f)
        return l.layer.op->emitError() << "layer '" << l.layer.name
                                       << "': cannot allocate a float32 copy of its input";
      x = std::move(*f);
    }
    if (x.dtype() != rt::DType::F32 || x.rank() < 1 || x.dim(x.rank() - 1) != l.k)
      return l.layer.op->emitError()
             << "layer '" << l.layer.name << "': its input is "
             << rt::formatShape(x.shape()) << " " << rt::dtypeName(x.dtype())
             << ", expected float32 rows of " << l.k << " channels";
    in.rows += x.numElements() / l.k;
    in.parts.push_back(x);
  }
  return in;
}

/// H = 2 X^T X / T over the inputs, in double ([K, K]).
std::vector<double> hessian(const LayerInputs &in, int64_t k) {
  std::vector<double> h(k * k, 0.0);
  for (const rt::Tensor &part : in.parts)
    quant::accumulateGram(part.data<float>(), part.numElements() / k, k, h.data());
  double norm = in.rows > 0 ? 2.0 / double(in.rows) : 0.0;
  for (double &v : h)
    v *= norm;
  return h;
}

/// All input rows in one [T, K] buffer (AWQ scores on them).
std::vector<float> concatRows(const LayerInputs &in, int64_t k) {
  std::vector<float> x;
  x.reserve(in.rows * k);
  for (const rt::Tensor &part : in.parts)
    x.insert(x.end(), part.data<float>(), part.data<float>() + part.numElements());
  return x;
}

/// Columns [c0, c0 + n) of params over `total` columns.
quant::LinearWeightParams sliceColumns(const quant::LinearWeightParams &p, int64_t c0, int64_t n,
                                       int64_t total) {
  quant::LinearWeightParams out = p;
  out.n = n;
  if (p.scale.size() == 1)
    return out;
  out.scale.clear();
  out.offset.clear();
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t c = c0; c < c0 + n; ++c) {
      out.scale.push_back(p.scale[g * total + c]);
      out.offset.push_back(p.offset[g * total + c]);
    }
  return out;
}

/// ||W - W_q|| / ||W|| of the weight the layer computes with (AWQ's
/// scaling undone).
double relativeWeightError(const LlmLayer &l) {
  std::vector<float> w(l.k * l.n);
  quant::dequantizeLinear(l.q.data(), l.params, w.data());
  double num = 0, den = 0;
  for (int64_t r = 0; r < l.k; ++r)
    for (int64_t c = 0; c < l.n; ++c) {
      double v = w[r * l.n + c];
      if (!l.balance.empty())
        v /= l.balance[r];
      double d = v - l.weight[r * l.n + c];
      num += d * d;
      den += double(l.weight[r * l.n + c]) * l.weight[r * l.n + c];
    }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

/// The values of a float32 / float16 / bfloat16 constant as float32.
std::optional<std::vector<float>> readFloats(Value v) {
  Operation *def = v.getDefiningOp();
  FailureOr<rt::Tensor> t = failure();
  if (auto c = dyn_cast_or_null<ConstOp>(def))
    t = rt::materialize(def, c.getValue());
  else if (isa_and_nonnull<ConstantOp>(def))
    t = rt::constantNodeValue(def);
  if (failed(t))
    return std::nullopt;
  if (rt::isHalfFloat(t->dtype())) {
    std::optional<rt::Tensor> f = t->convertFloat(rt::DType::F32);
    if (!f)
      return std::nullopt;
    t = std::move(*f);
  }
  if (t->dtype() != rt::DType::F32)
    return std::nullopt;
  return std::vector<float>(t->data<float>(), t->data<float>() + t->numElements());
}

/// A constant of element type `elem` (f32, f16, bf16) holding `values`.
Value createFloatLikeConstant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elem,
                              ArrayRef<float> values, const std::string &name) {
  auto type = RankedTensorType::get(shape, elem);
  if (elem.isF32())
    return createFloatConstant(b, loc, type, values, name);
  std::vector<uint16_t> bits;
  for (float v : values)
    bits.push_back(elem.isF16() ? rt::floatToHalf(v) : rt::floatToBf16(v));
  return createConstant(
      b, loc, type,
      ArrayRef<char>(reinterpret_cast<const char *>(bits.data()), bits.size() * sizeof(uint16_t)),
      name);
}

/// The dtype the executor stores `elem` in.
rt::DType dtypeOf(Type elem) {
  return elem.isF16() ? rt::DType::F16 : elem.isBF16() ? rt::DType::BF16 : rt::DType::F32;
}

/// A float as %g writes it ("0", "-1.5", "inf").
std::string shortest(float v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", double(v));
  return text;
}

/// Reads the layer's float weight into l.weight as [K, N].
LogicalResult loadWeight(LlmLayer &l) {
  std::optional<std::vector<float>> w =
      readFloats(l.layer.op->getOperand(l.layer.weightOperand));
  if (!w || int64_t(w->size()) != l.k * l.n)
    return l.layer.op->emitError() << "layer '" << l.layer.name
                                   << "': cannot read the float weight";
  if (!l.transposed) {
    l.weight = std::move(*w);
    return success();
  }
  l.weight.resize(w->size());
  for (int64_t c = 0; c < l.n; ++c)
    for (int64_t r = 0; r < l.k; ++r)
      l.weight[r * l.n + c] = (*w)[c * l.k + r];
  return success();
}

/// Whether the config needs the layers' inputs (else the model is not run):
/// GPTQ, AWQ and SmoothQuant read them, static activations calibrate on
/// them; minmax weights and per-token activations need nothing.
bool needsInputs(const LlmQuantConfig &config) {
  if (config.inputs && config.inputs->strategy == LlmInputConfig::Strategy::Tensor)
    return true;
  // Each weight algorithm, built-in or not, says so in the registry.
  return llvm::any_of(config.algorithms, [](const LlmAlgorithm &a) {
    const WeightAlgorithm *algo = findWeightAlgorithm(a.name);
    return algo && algo->needsInputs;
  });
}

/// Per input channel, the smallest and largest finite input value.
struct ChannelRanges {
  std::vector<float> lo, hi;
};

ChannelRanges channelRanges(const LayerInputs &in, int64_t k) {
  ChannelRanges r{std::vector<float>(k, INFINITY), std::vector<float>(k, -INFINITY)};
  for (const rt::Tensor &part : in.parts) {
    const float *x = part.data<float>();
    int64_t rows = part.numElements() / k;
    for (int64_t t = 0; t < rows; ++t)
      for (int64_t c = 0; c < k; ++c) {
        float v = x[t * k + c];
        if (!std::isfinite(v))
          continue;
        r.lo[c] = std::min(r.lo[c], v);
        r.hi[c] = std::max(r.hi[c], v);
      }
  }
  return r;
}

/// SmoothQuant's factors over the input channels of the layers of `group`
/// (one f for all: they read one input), from the input's calibrated range
/// and the largest |weight| of each input channel over the group.
std::vector<float> smoothFactors(const ChannelRanges &x, const InputGroup &group,
                                 const std::vector<LlmLayer> &layers, double strength) {
  int64_t k = x.lo.size();
  std::vector<float> amax(k, 0.0f), wmax(k, 0.0f);
  for (int64_t c = 0; c < k; ++c)
    if (x.lo[c] <= x.hi[c])
      amax[c] = std::max(std::fabs(x.lo[c]), std::fabs(x.hi[c]));
  for (size_t i : group.members) {
    const LlmLayer &l = layers[i];
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < l.n; ++c)
        wmax[r] = std::max(wmax[r], std::fabs(l.weight[r * l.n + c]));
  }
  return quant::smoothQuantFactors(amax.data(), wmax.data(), k, strength);
}

/// SmoothQuant's factors with the strength searched for this group
/// (quant::smoothQuantSearch on the group's weights side by side).
FailureOr<std::vector<float>> searchSmoothFactors(const LayerInputs &inputs,
                                                  const ChannelRanges &ranges,
                                                  const InputGroup &group,
                                                  std::vector<LlmLayer> &layers,
                                                  const LlmQuantConfig &config, int threads) {
  LlmLayer &first = layers[group.members.front()];
  int64_t k = first.k, total = 0;
  for (size_t i : group.members)
    total += layers[i].n;
  std::vector<float> w(k * total);
  int64_t c0 = 0;
  for (size_t i : group.members) {
    const LlmLayer &l = layers[i];
    for (int64_t r = 0; r < k; ++r)
      std::copy_n(&l.weight[r * l.n], l.n, &w[r * total + c0]);
    c0 += l.n;
  }
  std::vector<float> x = concatRows(inputs, k);
  quant::ActivationSpec act;
  act.perToken = config.inputs->strategy == LlmInputConfig::Strategy::Token;
  act.symmetric = config.inputs->symmetric;
  quant::SmoothSearchOptions options;
  for (int i = 1; i <= 9; ++i)
    options.strengths.push_back(i / 10.0);
  options.threads = std::max(1, threads);
  // Per tensor, the weight parameters of one layer must not span the group.
  quant::LinearWeightSpec spec = specOf(config.weights);
  std::string error;
  std::optional<quant::SmoothSearchResult> r =
      quant::smoothQuantSearch(x.data(), inputs.rows, w.data(), k, total, ranges.lo.data(),
                               ranges.hi.data(), spec, act, options, error);
  if (!r)
    return first.layer.op->emitError() << "layer '" << first.layer.name << "': " << error;
  for (size_t i : group.members)
    layers[i].smoothStrength = r->strength;
  return std::move(r->factors);
}

/// A registered activation algorithm on the input of `first`'s group (the
/// calibration rows divided by SmoothQuant's factors `f`, if any); its
/// result checked.
FailureOr<quant::QuantParams> runActivationAlgorithm(const LlmAlgorithm &user,
                                                     const LlmLayer &first,
                                                     const LayerInputs &inputs,
                                                     const std::vector<float> &f, bool symmetric) {
  const ActivationAlgorithm *algo = findActivationAlgorithm(user.name);
  auto fail = [&]() -> InFlightDiagnostic {
    return first.layer.op->emitError() << "layer '" << first.layer.name << "': algorithm '"
                                       << user.name << "'"
                                       << (algo ? " (" + algo->origin + ")" : std::string())
                                       << ": ";
  };
  if (!algo || !algo->run)
    return fail() << "is not registered";
  std::vector<float> x = concatRows(inputs, first.k);
  if (!f.empty())
    for (int64_t r = 0; r < inputs.rows; ++r)
      for (int64_t c = 0; c < first.k; ++c)
        x[r * first.k + c] /= f[c];
  ActivationAlgorithmInput in;
  in.layer = first.layer.name;
  in.values = x.data();
  in.rows = inputs.rows;
  in.k = first.k;
  in.bits = 8;
  in.symmetric = symmetric;
  in.params = &user.params;
  ActivationAlgorithmOutput out;
  std::string error;
  if (!algo->run(in, out, error))
    return fail() << (error.empty() ? std::string("failed (no reason given)") : error);
  if (!(out.scale > 0) || !std::isfinite(out.scale))
    return fail() << "scale " << shortest(out.scale) << " is not a positive finite number";
  if (out.offset < -128 || out.offset > 127 || (symmetric && out.offset != 0))
    return fail() << "offset " << out.offset << " is outside "
                  << (symmetric ? "{0} (symmetric inputs)" : "[-128, 127]");
  return quant::QuantParams{out.scale, out.offset};
}

/// W8A8: the group's weights (times SmoothQuant's factors) to int8 per
/// tensor or channel by minmax, and with static activations the input's
/// int8 parameters from its calibrated range (divided by the factors).
LogicalResult quantizeGroupW8A8(const InputGroup &group, std::vector<LlmLayer> &layers,
                                const LlmQuantConfig &config,
                                std::vector<std::unique_ptr<rt::SteppedRun>> &runs, int threads) {
  LlmLayer &first = layers[group.members.front()];
  std::optional<ChannelRanges> ranges;
  FailureOr<LayerInputs> inputs = LayerInputs();
  if (needsInputs(config)) {
    inputs = gatherInputs(first, runs);
    if (failed(inputs))
      return failure();
    if (inputs->rows == 0)
      return first.layer.op->emitError() << "layer '" << first.layer.name
                                         << "': the calibration batches give it no input rows";
    ranges = channelRanges(*inputs, first.k);
  }
  std::vector<float> f;
  if (config.uses(LlmAlgorithm::Kind::SmoothQuant)) {
    const LlmAlgorithm &algo = algorithmOf(config, LlmAlgorithm::Kind::SmoothQuant);
    // Absent, the strength is searched for static per-tensor inputs, whose
    // single scale is what the strength trades against the weights' (on
    // the character LM: +0.118 % bits per character at 0.5, +0.037 %
    // searched); per-token inputs keep AMCT's 0.5 (searching measured no
    // better there: +0.049 % vs +0.018 %).
    bool search = !algo.smoothStrength &&
                  config.inputs->strategy == LlmInputConfig::Strategy::Tensor;
    if (!search) {
      f = smoothFactors(*ranges, group, layers, algo.smoothStrength.value_or(0.5));
    } else {
      FailureOr<std::vector<float>> searched =
          searchSmoothFactors(*inputs, *ranges, group, layers, config, threads);
      if (failed(searched))
        return failure();
      f = std::move(*searched);
    }
  }
  std::optional<quant::QuantParams> act;
  if (config.inputs->strategy == LlmInputConfig::Strategy::Tensor) {
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t c = 0; c < first.k; ++c) {
      if (ranges->lo[c] > ranges->hi[c])
        continue; // no finite value in this channel
      float div = f.empty() ? 1.0f : f[c];
      lo = std::min(lo, ranges->lo[c] / div);
      hi = std::max(hi, ranges->hi[c] / div);
    }
    if (!(lo <= hi))
      return first.layer.op->emitError() << "layer '" << first.layer.name
                                         << "': its calibration input has no finite value";
    act = quant::paramsFromRange(lo, hi, 8, !config.inputs->symmetric);
    if (const LlmAlgorithm *user = config.userActivationAlgorithm()) {
      FailureOr<quant::QuantParams> chosen =
          runActivationAlgorithm(*user, first, *inputs, f, config.inputs->symmetric);
      if (failed(chosen))
        return failure();
      act = *chosen;
    }
  }
  quant::LinearWeightSpec spec = specOf(config.weights);
  std::string error;
  for (size_t i : group.members) {
    LlmLayer &l = layers[i];
    std::vector<float> w = l.weight;
    if (!f.empty()) {
      l.balance = f;
      l.balanceShared = true;
      for (int64_t r = 0; r < l.k; ++r)
        for (int64_t c = 0; c < l.n; ++c)
          w[r * l.n + c] *= f[r];
    }
    std::optional<quant::LinearWeightParams> p = quant::minmaxParams(w.data(), l.k, l.n, spec, error);
    if (!p)
      return l.layer.op->emitError() << "layer '" << l.layer.name << "': " << error;
    l.params = std::move(*p);
    l.q.resize(l.k * l.n);
    quant::quantizeLinear(w.data(), l.params, spec.bits, l.q.data());
    l.act = act;
  }
  return success();
}

/// A registered (user) weight algorithm on each layer of `group`; its
/// output checked before the pipeline uses it.
LogicalResult quantizeGroupWithUserAlgorithm(const InputGroup &group,
                                             std::vector<LlmLayer> &layers,
                                             const LlmQuantConfig &config,
                                             std::vector<std::unique_ptr<rt::SteppedRun>> &runs) {
  const LlmAlgorithm &user = *config.userAlgorithm();
  const WeightAlgorithm *algo = findWeightAlgorithm(user.name);
  LlmLayer &first = layers[group.members.front()];
  if (!algo || !algo->run)
    return first.layer.op->emitError() << "algorithm '" << user.name << "' is not registered";
  std::vector<float> rows;
  int64_t rowCount = 0;
  if (algo->needsInputs) {
    FailureOr<LayerInputs> inputs = gatherInputs(first, runs);
    if (failed(inputs))
      return failure();
    rows = concatRows(*inputs, first.k);
    rowCount = inputs->rows;
  }
  const LlmWeightConfig &w = config.weights;
  for (size_t i : group.members) {
    LlmLayer &l = layers[i];
    auto fail = [&]() -> InFlightDiagnostic {
      return l.layer.op->emitError() << "layer '" << l.layer.name << "': algorithm '" << user.name
                                     << "' (" << algo->origin << "): ";
    };
    WeightAlgorithmInput in;
    in.layer = l.layer.name;
    in.weight = l.weight.data();
    in.k = l.k;
    in.n = l.n;
    in.bits = w.bits;
    in.symmetric = w.symmetric;
    in.groupSize = w.strategy == LlmWeightConfig::Strategy::Group     ? w.groupSize
                   : w.strategy == LlmWeightConfig::Strategy::Channel ? 0
                                                                      : -1;
    in.inputs = rows.empty() ? nullptr : rows.data();
    in.rows = rowCount;
    in.params = &user.params;
    WeightAlgorithmOutput out;
    std::string error;
    if (!algo->run(in, out, error))
      return fail() << (error.empty() ? std::string("failed (no reason given)") : error);
    int64_t groups = in.groupSize > 0 ? (l.k + in.groupSize - 1) / in.groupSize : 1;
    size_t want = in.groupSize < 0 ? 1 : size_t(groups * l.n);
    if (int64_t(out.q.size()) != l.k * l.n)
      return fail() << "returned " << out.q.size() << " integers, expected K * N = "
                    << l.k * l.n;
    if (out.scale.size() != want || (!out.offset.empty() && out.offset.size() != want))
      return fail() << "returned " << out.scale.size() << " scales and " << out.offset.size()
                    << " offsets, expected " << want;
    int32_t lo = -(1 << (w.bits - 1)), hi = (1 << (w.bits - 1)) - 1;
    for (auto [j, v] : llvm::enumerate(out.q))
      if (v < lo || v > hi)
        return fail() << "integer " << j << " is " << int(v) << ", outside [" << lo << ", "
                      << hi << "]";
    for (auto [j, v] : llvm::enumerate(out.scale))
      if (!(v > 0) || !std::isfinite(v))
        return fail() << "scale " << j << " is " << shortest(v)
                      << ", not a positive finite number";
    for (auto [j, v] : llvm::enumerate(out.offset))
      if (v < lo || v > hi || (w.symmetric && v != 0))
        return fail() << "offset " << j << " is " << v << (w.symmetric ? " (symmetric: 0)" : "");
    l.params = quant::LinearWeightParams();
    l.params.k = l.k;
    l.params.n = l.n;
    l.params.groups = groups;
    l.params.groupSize = in.groupSize > 0 ? in.groupSize : 0;
    l.params.scale = std::move(out.scale);
    l.params.offset = out.offset.empty() ? std::vector<int32_t>(want, 0) : std::move(out.offset);
    l.q = std::move(out.q);
  }
  return success();
}

/// Quantizes the layers of `group` from their inputs in `runs` (minmax
/// needs none). Fails with a diagnostic.
LogicalResult quantizeGroupWeights(const InputGroup &group, std::vector<LlmLayer> &layers,
                                   const LlmQuantConfig &config,
                                   std::vector<std::unique_ptr<rt::SteppedRun>> &runs,
                                   int threads) {
  quant::LinearWeightSpec spec = specOf(config.weights);
  LlmLayer &first = layers[group.members.front()];
  std::string error;
  auto fail = [&](const LlmLayer &l) {
    return l.layer.op->emitError() << "layer '" << l.layer.name << "': " << error;
  };
  if (config.inputs)
    return quantizeGroupW8A8(group, layers, config, runs, threads);
  if (config.userAlgorithm())
    return quantizeGroupWithUserAlgorithm(group, layers, config, runs);
  bool gptq = config.uses(LlmAlgorithm::Kind::Gptq), awq = config.uses(LlmAlgorithm::Kind::Awq);
  if (!gptq && !awq) {
    for (size_t i : group.members) {
      LlmLayer &l = layers[i];
      std::optional<quant::LinearWeightParams> p =
          quant::minmaxParams(l.weight.data(), l.k, l.n, spec, error);
      if (!p)
        return fail(l);
      l.params = std::move(*p);
      l.q.resize(l.k * l.n);
      quant::quantizeLinear(l.weight.data(), l.params, spec.bits, l.q.data());
    }
    return success();
  }
  FailureOr<LayerInputs> inputs = gatherInputs(first, runs);
  if (failed(inputs))
    return failure();
  if (inputs->rows == 0)
    return first.layer.op->emitError() << "layer '" << first.layer.name
                                       << "': the calibration batches give it no input rows";
  if (gptq) {
    std::vector<double> h = hessian(*inputs, first.k);
    quant::GptqOptions options;
    options.threads = std::max(1, threads);
    options.clip = algorithmOf(config, LlmAlgorithm::Kind::Gptq).clip;
    for (size_t i : group.members) {
      LlmLayer &l = layers[i];
      std::optional<quant::GptqResult> r =
          quant::gptqQuantize(l.weight.data(), l.k, l.n, h.data(), spec, options, error);
      if (!r)
        return fail(l);
      l.params = std::move(r->params);
      l.q = std::move(r->q);
    }
    return success();
  }
  // AWQ: one scale for the group (its weights side by side, each output
  // column with its own parameters), unless per-tensor parameters would
  // then span several layers: each layer searches alone.
  const LlmAlgorithm &algo = algorithmOf(config, LlmAlgorithm::Kind::Awq);
  quant::AwqOptions options;
  options.gridsNum = int(algo.gridsNum);
  options.clip = algo.clip;
  options.threads = std::max(1, threads);
  std::vector<float> x = concatRows(*inputs, first.k);
  bool joint = group.members.size() == 1 ||
               config.weights.strategy != LlmWeightConfig::Strategy::Tensor;
  if (joint) {
    int64_t total = 0;
    for (size_t i : group.members)
      total += layers[i].n;
    std::vector<float> w(first.k * total);
    int64_t c0 = 0;
    for (size_t i : group.members) {
      const LlmLayer &l = layers[i];
      for (int64_t r = 0; r < l.k; ++r)
        std::copy_n(&l.weight[r * l.n], l.n, &w[r * total + c0]);
      c0 += l.n;
    }
    std::optional<quant::AwqResult> r =
        quant::awqSearch(x.data(), inputs->rows, w.data(), first.k, total, spec, options, error);
    if (!r)
      return fail(first);
    c0 = 0;
    for (size_t i : group.members) {
      LlmLayer &l = layers[i];
      l.balance = r->scale;
      l.balanceShared = true;
      l.params = sliceColumns(r->params, c0, l.n, total);
      l.q.resize(l.k * l.n);
      for (int64_t row = 0; row < l.k; ++row)
        std::copy_n(&r->q[row * total + c0], l.n, &l.q[row * l.n]);
      c0 += l.n;
    }
    return success();
  }
  for (size_t i : group.members) {
    LlmLayer &l = layers[i];
    std::optional<quant::AwqResult> r =
        quant::awqSearch(x.data(), inputs->rows, l.weight.data(), l.k, l.n, spec, options, error);
    if (!r)
      return fail(l);
    l.balance = std::move(r->scale);
    l.params = std::move(r->params);
    l.q = std::move(r->q);
  }
  return success();
}

/// quantizeGroupWeights with the float weights read for it and dropped
/// after: only the group's float weights are held at a time.
LogicalResult quantizeGroup(const InputGroup &group, std::vector<LlmLayer> &layers,
                            const LlmQuantConfig &config,
                            std::vector<std::unique_ptr<rt::SteppedRun>> &runs, int threads) {
  for (size_t i : group.members)
    if (failed(loadWeight(layers[i])))
      return failure();
  LogicalResult done = quantizeGroupWeights(group, layers, config, runs, threads);
  for (size_t i : group.members) {
    LlmLayer &l = layers[i];
    if (succeeded(done))
      l.weightError = relativeWeightError(l);
    std::vector<float>().swap(l.weight);
  }
  return done;
}

/// The float weight the runs use from now on for layer `l`, in the
/// constant's layout: its quantized value, with AWQ's input division
/// folded into the rows (X / s . Q = X . (Q / s) up to rounding).
rt::Tensor simulatedWeight(const LlmLayer &l) {
  std::vector<float> w(l.k * l.n);
  quant::dequantizeLinear(l.q.data(), l.params, w.data());
  if (!l.balance.empty())
    for (int64_t r = 0; r < l.k; ++r)
      for (int64_t c = 0; c < l.n; ++c)
        w[r * l.n + c] /= l.balance[r];
  rt::Shape shape = l.transposed ? rt::Shape{l.n, l.k} : rt::Shape{l.k, l.n};
  rt::Tensor t = *rt::Tensor::uninitialized(rt::DType::F32, shape);
  float *out = t.mutableData<float>();
  if (!l.transposed)
    std::copy(w.begin(), w.end(), out);
  else
    for (int64_t r = 0; r < l.k; ++r)
      for (int64_t c = 0; c < l.n; ++c)
        out[c * l.k + r] = w[r * l.n + c];
  // A 16-bit model computes with the weight rounded to its type.
  if (rt::isHalfFloat(dtypeOf(l.elementType)))
    return *t.convertFloat(dtypeOf(l.elementType));
  return t;
}

/// The Linear layers a config quantizes, grouped by input, and the layers
/// it leaves out with the reason.
struct LlmLayers {
  std::vector<LlmLayer> layers;
  std::vector<InputGroup> groups;
  std::vector<size_t> groupOf;
  llvm::DenseMap<Operation *, size_t> layerIndex;
  std::vector<SkippedLayer> skipped;
};

/// Runs the batches side by side, stopping at every layer; quantizes each
/// input group when its first layer is reached.
LogicalResult calibrateSequentially(func::FuncOp main, LlmLayers &found,
                                    const std::vector<std::vector<rt::Tensor>> &batches,
                                    const LlmQuantConfig &config, int threads,
                                    bool showProgress) {
  std::vector<LlmLayer> &layers = found.layers;
  const std::vector<InputGroup> &groups = found.groups;
  // Round-to-nearest needs no inputs: the model is not run.
  if (!needsInputs(config)) {
    std::vector<std::unique_ptr<rt::SteppedRun>> none;
    ProgressBar bar("quantizing layers", showProgress ? groups.size() : 0);
    for (auto [i, group] : llvm::enumerate(groups)) {
      if (failed(quantizeGroup(group, layers, config, none, threads)))
        return failure();
      bar.update(i + 1);
    }
    return success();
  }
  rt::ExecutorOptions options;
  options.threads = threads;
  auto exec = rt::Executor::create(main, options);
  if (failed(exec))
    return failure();
  std::vector<Operation *> stops;
  for (const LlmLayer &l : layers)
    stops.push_back(l.layer.op);
  std::vector<std::unique_ptr<rt::SteppedRun>> runs;
  for (const std::vector<rt::Tensor> &batch : batches) {
    auto run = (*exec)->startStepped(batch, stops);
    if (failed(run))
      return failure();
    runs.push_back(std::move(*run));
  }
  ProgressBar bar("quantizing layers", showProgress ? layers.size() : 0);
  size_t finished = 0;
  while (true) {
    Operation *at = nullptr;
    for (auto [i, run] : llvm::enumerate(runs)) {
      FailureOr<Operation *> next = run->next();
      if (failed(next))
        return failure();
      // The runs execute the same program, so they stop at the same op.
      if (i > 0 && *next != at)
        return main.emitError("calibration batches stopped at different layers");
      at = *next;
    }
    if (!at)
      break;
    size_t index = found.layerIndex.lookup(at);
    LlmLayer &l = layers[index];
    if (!l.done) {
      const InputGroup &group = groups[found.groupOf[index]];
      if (failed(quantizeGroup(group, layers, config, runs, threads)))
        return failure();
      for (size_t i : group.members)
        layers[i].done = true;
    }
    rt::Tensor w = simulatedWeight(l);
    for (auto &run : runs)
      run->setOperand(l.layer.weightOperand, w);
    bar.update(++finished);
    // Nothing after the last layer matters here: the runs stop (the rest,
    // an LM head's logits for every batch at once, would be the largest
    // tensors of the job).
    if (finished == layers.size())
      break;
  }
  return success();
}

/// Divides the input of the layers of `members` by `scale` per channel:
/// folded into the constant of the Mul (an RMSNorm's weight) or the
/// LayerNormalization that produces it when the layers are its only users,
/// else an explicit Mul by 1 / scale before them.
void applyInputScale(OpBuilder &b, Value input, ArrayRef<Operation *> users,
                     ArrayRef<unsigned> dataOperands, ArrayRef<float> scale, StringRef name,
                     StringRef tag) {
  int64_t k = scale.size();
  bool onlyUsers = llvm::all_of(input.getUsers(), [&](Operation *u) {
    return llvm::is_contained(users, u);
  });
  auto isChannelVector = [&](Value v) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    return type && type.hasStaticShape() && type.getNumElements() == k &&
           type.getShape().back() == k && getConstantFloats(v);
  };
  auto divided = [&](Value c) {
    std::vector<float> values = *getConstantFloats(c);
    for (int64_t i = 0; i < k; ++i)
      values[i] /= scale[i];
    b.setInsertionPointAfterValue(c);
    std::string cName = (getNodeName(c.getDefiningOp()) + "_" + tag).str();
    return createFloatConstant(b, NameLoc::get(b.getStringAttr(cName)),
                               cast<RankedTensorType>(c.getType()), values, cName);
  };
  Operation *producer = input.getDefiningOp();
  if (onlyUsers && producer) {
    if (auto mul = dyn_cast<MulOp>(producer)) {
      for (unsigned i = 0; i < 2; ++i)
        if (isChannelVector(mul->getOperand(i)) &&
            mul->getOperand(i).getType() != mul.getType()) {
          Value old = mul->getOperand(i);
          mul->setOperand(i, divided(old));
          if (Operation *def = old.getDefiningOp(); def && def->use_empty())
            def->erase();
          return;
        }
    }
    if (auto ln = dyn_cast<LayerNormalizationOp>(producer)) {
      bool biasOk = isa<NoneType>(ln.getB().getType()) || isChannelVector(ln.getB());
      if (isChannelVector(ln.getScale()) && biasOk) {
        for (unsigned i : {1u, 2u}) {
          Value old = ln->getOperand(i);
          if (isa<NoneType>(old.getType()))
            continue;
          ln->setOperand(i, divided(old));
          if (Operation *def = old.getDefiningOp(); def && def->use_empty())
            def->erase();
        }
        return;
      }
    }
  }
  std::vector<float> inverse(k);
  for (int64_t i = 0; i < k; ++i)
    inverse[i] = 1.0f / scale[i];
  b.setInsertionPointAfterValue(input);
  // In the input's float type (ONNX's Mul takes one type).
  Type elem = cast<ShapedType>(input.getType()).getElementType();
  std::string base = (name + "_" + tag).str();
  Value c = createFloatLikeConstant(b, NameLoc::get(b.getStringAttr(base + "_scale")), {k},
                                    elem, inverse, base + "_scale");
  Location loc = makeNodeLoc(b.getContext(), base, {base + "_out"}, b.getUnknownLoc());
  Value scaled = b.create<MulOp>(loc, input.getType(), input, c);
  for (auto [user, operand] : llvm::zip(users, dataOperands))
    user->setOperand(operand, scaled);
}

/// The layer's weight becomes amct.dequantize_weight of its integers.
void replaceWeight(OpBuilder &b, const LlmLayer &l, const LlmWeightConfig &w) {
  Operation *op = l.layer.op;
  Value old = op->getOperand(l.layer.weightOperand);
  b.setInsertionPoint(op);
  Location loc = op->getLoc();
  const quant::LinearWeightParams &p = l.params;
  int64_t rows = p.scale.size() == 1 ? 1 : p.groups, cols = p.scale.size() == 1 ? 1 : l.n;
  auto paramType = RankedTensorType::get({rows, cols}, b.getF32Type());
  // Constants are exported under their location's name.
  auto named = [&](const std::string &suffix) {
    return std::make_pair(Location(NameLoc::get(b.getStringAttr(l.layer.name + suffix))),
                          l.layer.name + suffix);
  };
  auto [qLoc, qName] = named(".weight_int" + std::to_string(w.bits));
  Value q = createConstant(b, qLoc, RankedTensorType::get({l.k, l.n}, b.getIntegerType(8)),
                           ArrayRef<char>(reinterpret_cast<const char *>(l.q.data()), l.q.size()),
                           qName);
  auto [sLoc, sName] = named(".weight_scale");
  Value scale = createFloatConstant(b, sLoc, paramType, p.scale, sName);
  Value offset;
  if (llvm::any_of(p.offset, [](int32_t o) { return o != 0; }) || !w.symmetric) {
    std::vector<float> values(p.offset.begin(), p.offset.end());
    auto [oLoc, oName] = named(".weight_offset");
    offset = createFloatConstant(b, oLoc, paramType, values, oName);
  } else {
    offset = b.create<NoneOp>(loc);
  }
  Location dqLoc = makeNodeLoc(b.getContext(), l.layer.name + ".dequantize_weight",
                               {l.layer.name + ".weight"}, b.getUnknownLoc());
  auto dq = b.create<DequantizeWeightOp>(
      dqLoc, RankedTensorType::get({l.k, l.n}, l.elementType), q, scale, offset,
      b.getI64IntegerAttr(w.bits),
      b.getI64IntegerAttr(w.strategy == LlmWeightConfig::Strategy::Group ? w.groupSize : 0));
  op->setOperand(l.layer.weightOperand, dq);
  if (l.transposed)
    op->setAttr("transB", b.getI64IntegerAttr(0));
  if (Operation *def = old.getDefiningOp(); def && def->use_empty())
    def->erase();
}


FailureOr<LlmLayers> findLlmLayers(func::FuncOp main, const LlmQuantConfig &config,
                                   const std::string &configName) {
  LlmLayers out;
  std::vector<QuantizableLayer> found = findQuantizableLayers(main, &out.skipped,
                                                             /*weightOnly=*/true);
  for (const QuantizableLayer &q : found) {
    auto reject = [&](std::string reason) {
      out.skipped.push_back({q.op, q.name, std::move(reason), q.type});
    };
    if (q.kind != LayerKind::Linear) {
      reject("not a Linear layer (a language-model config quantizes Linear layers)");
      continue;
    }
    if (auto it = llvm::find_if(config.skipLayers,
                                [&](const std::string &s) {
                                  return StringRef(q.name).contains(s);
                                });
        it != config.skipLayers.end()) {
      reject("skip_layers has \"" + *it + "\"");
      continue;
    }
    LlmLayer l;
    l.layer = q;
    auto gemm = dyn_cast<GemmOp>(static_cast<Operation *>(q.op));
    if (gemm && gemm.getTransA()) {
      reject("a Gemm with transA has no weight-quant matmul form");
      continue;
    }
    l.transposed = gemm && gemm.getTransB();
    // The weight-only finder guarantees a float constant of static shape,
    // possibly behind an amct.fake_quant (a CNN fake-quant model), which
    // this flow does not take.
    Value wValue = q.op->getOperand(q.weightOperand);
    auto wType = cast<RankedTensorType>(wValue.getType());
    if (wType.getRank() != 2 || !isa_and_nonnull<ConstOp, ConstantOp>(wValue.getDefiningOp())) {
      reject("the weight is not a 2-D float32, float16 or bfloat16 constant");
      continue;
    }
    l.elementType = wType.getElementType();
    if (config.inputs && config.inputs->strategy == LlmInputConfig::Strategy::Tensor &&
        !l.elementType.isF32()) {
      reject("W8A8 with per-tensor inputs takes float32 layers so far; this one is " +
             std::string(l.elementType.isF16() ? "float16" : "bfloat16") +
             " (per-token inputs and weight-only configs take 16-bit layers)");
      continue;
    }
    l.k = wType.getDimSize(l.transposed ? 1 : 0);
    l.n = wType.getDimSize(l.transposed ? 0 : 1);
    if (std::string problem = config.layerProblem(l.k, l.n); !problem.empty()) {
      reject(problem);
      continue;
    }
    out.layers.push_back(std::move(l));
  }
  if (out.layers.empty())
    return main.emitError() << configName << ": no Linear layer is left to quantize ("
                            << found.size() << " quantizable layers, " << out.skipped.size()
                            << " skipped; `amct inspect` lists them)";

  // Input groups, in the order their first layer runs.
  out.groupOf.resize(out.layers.size());
  llvm::DenseMap<Value, size_t> groupByInput;
  for (auto [i, l] : llvm::enumerate(out.layers)) {
    Value input = l.layer.op->getOperand(l.layer.dataOperand);
    auto [it, inserted] = groupByInput.try_emplace(input, out.groups.size());
    if (inserted)
      out.groups.push_back({input, {}});
    out.groups[it->second].members.push_back(i);
    out.groupOf[i] = it->second;
    out.layerIndex[l.layer.op] = i;
  }
  // In graph order, whatever the reason.
  std::vector<Operation *> opOrder;
  main.walk([&](Operation *op) { opOrder.push_back(op); });
  llvm::DenseMap<Operation *, size_t> position;
  for (auto [i, op] : llvm::enumerate(opOrder))
    position[op] = i;
  llvm::stable_sort(out.skipped, [&](const SkippedLayer &x, const SkippedLayer &y) {
    return position.lookup(x.op) < position.lookup(y.op);
  });
  return out;
}

/// W8A8: each input group's (smoothed) input through one fake-quant (per
/// tensor with the calibrated parameters, or per token), each weight's
/// int8 integers (of the weight times its SmoothQuant factors) as
/// amct.dequantize_weight and, per tensor, the layer's bias as int32: the
/// form --amct-convert deploys as an int8 layer; the record and the
/// per-layer results filled.
LogicalResult fakeQuantizeW8A8(OpBuilder &b, LlmLayers &found, const LlmWeightConfig &weights,
                               const LlmInputConfig &inputs, const std::string &method,
                               QuantizeResult &result) {
  std::vector<LlmLayer> &layers = found.layers;
  for (const InputGroup &group : found.groups) {
    const LlmLayer &first = layers[group.members.front()];
    Value input = first.layer.op->getOperand(first.layer.dataOperand);
    b.setInsertionPointAfterValue(input);
    std::string name = first.layer.name + ".input_quant";
    Location loc = makeNodeLoc(b.getContext(), name, {name + "_out"}, b.getUnknownLoc());
    Value quantized;
    if (first.act)
      quantized = b.create<FakeQuantOp>(loc, input.getType(), input,
                                        b.getDenseF32ArrayAttr({first.act->scale}),
                                        b.getDenseI64ArrayAttr({first.act->offset}),
                                        b.getI64IntegerAttr(8), IntegerAttr());
    else
      quantized = b.create<FakeQuantPerTokenOp>(loc, input.getType(), input,
                                                b.getBoolAttr(!inputs.symmetric));
    for (size_t i : group.members)
      layers[i].layer.op->setOperand(layers[i].layer.dataOperand, quantized);
  }
  for (LlmLayer &l : layers) {
    bool balanced = llvm::any_of(l.balance, [](float v) { return v != 1.0f; });
    // The int8 weight (SmoothQuant's factors in it) as amct.dequantize_weight:
    // the model holds the integers, no float copy.
    replaceWeight(b, l, weights);
    std::vector<int8_t>().swap(l.q);
    LayerRecord &r = result.record.getOrAdd(l.layer.name);
    if (l.act) {
      r.scaleD = l.act->scale;
      r.offsetD = l.act->offset;
    }
    r.scaleW = l.params.scale;
    r.offsetW = l.params.offset;
    r.actType = "INT8";
    r.wtsType = "INT8";
    if (balanced)
      r.tensorBalanceFactor = l.balance;
    // Static inputs: the bias becomes the int32 of the accumulator (per
    // token it stays float, added after the per-token scaling).
    if (l.act && l.layer.biasOp &&
        failed(fakeQuantizeBias(b, l.layer, l.act->scale, l.params.scale)))
      return failure();
    std::string text = method;
    if (l.smoothStrength) {
      char strength[32];
      std::snprintf(strength, sizeof(strength), ", strength %.1f", *l.smoothStrength);
      text += strength;
    }
    result.layerMethod[l.layer.name] = text;
    result.weightError[l.layer.name] = l.weightError;
    result.quantized.push_back(l.layer);
  }
  return success();
}

/// The fake-quant model from the quantized layers: AWQ's scales on the
/// inputs, each weight replaced by its integers; the record and the
/// per-layer results filled.
LogicalResult writeQuantizedModel(ModuleOp module, LlmLayers &found, const LlmQuantConfig &config,
                                  const std::string &method, QuantizeResult &result) {
  std::vector<LlmLayer> &layers = found.layers;
  OpBuilder b(module->getContext());
  StringRef tag = config.uses(LlmAlgorithm::Kind::SmoothQuant) ? "smooth" : "awq";
  for (const InputGroup &group : found.groups) {
    std::vector<Operation *> users;
    std::vector<unsigned> operands;
    for (size_t i : group.members) {
      users.push_back(layers[i].layer.op);
      operands.push_back(layers[i].layer.dataOperand);
    }
    const LlmLayer &first = layers[group.members.front()];
    // AWQ's ratio 0 (plain round-to-nearest scored best): nothing to move.
    if (llvm::all_of(group.members, [&](size_t i) {
          return llvm::all_of(layers[i].balance, [](float v) { return v == 1.0f; });
        }))
      continue;
    if (first.balanceShared) {
      applyInputScale(b, group.input, users, operands, first.balance, first.layer.name, tag);
    } else {
      for (auto [user, operand, i] : llvm::zip(users, operands, group.members))
        if (!layers[i].balance.empty())
          applyInputScale(b, group.input, {user}, {operand}, layers[i].balance,
                          layers[i].layer.name, tag);
    }
  }
  if (config.inputs) {
    if (failed(fakeQuantizeW8A8(b, found, config.weights, *config.inputs, method, result)))
      return failure();
    result.skipped = found.skipped;
    return verify(module);
  }
  for (LlmLayer &l : layers) {
    replaceWeight(b, l, config.weights);
    // The model's constant holds the integers now.
    std::vector<int8_t>().swap(l.q);
    LayerRecord &r = result.record.getOrAdd(l.layer.name);
    r.scaleW = l.params.scale;
    r.offsetW = l.params.offset;
    r.wtsType = config.weights.bits == 4 ? "INT4" : "INT8";
    if (llvm::any_of(l.balance, [](float v) { return v != 1.0f; }))
      r.tensorBalanceFactor = l.balance;
    result.layerMethod[l.layer.name] = method;
    result.weightError[l.layer.name] = l.weightError;
    result.quantized.push_back(l.layer);
  }
  result.skipped = found.skipped;
  return verify(module);
}

/// What both flows start from: the model cloned into `module` with its
/// constants folded (a transposed weight becomes a constant), kept as
/// result.fused, and its Linear layers.
FailureOr<LlmLayers> prepare(ModuleOp model, const LlmQuantConfig &config,
                             const std::string &configName, OwningOpRef<ModuleOp> &module,
                             QuantizeResult &result) {
  module = model.clone();
  if (!getMainFunction(*module))
    return model.emitError("the model has no function to quantize");
  if (failed(runFuncPass(*module, createAmctFoldConstants())))
    return failure();
  result.fused = module->clone();
  return findLlmLayers(getMainFunction(*module), config, configName);
}

} // namespace

FailureOr<QuantizeResult> quantizeLlmModel(ModuleOp model, const LlmQuantConfig &config,
                                           const std::string &configName,
                                           const KvCacheConfig *kvCache,
                                           const QuantizeOptions &options) {
  QuantizeResult result;
  PhaseClock clock(result.phases);
  OwningOpRef<ModuleOp> module;
  FailureOr<LlmLayers> found = prepare(model, config, configName, module, result);
  if (failed(found))
    return failure();
  func::FuncOp main = getMainFunction(*module);
  // The K / V projections, found before their weights change.
  FailureOr<std::vector<QuantizableLayer>> kvLayers = std::vector<QuantizableLayer>();
  if (kvCache)
    kvLayers = findKvCacheLayers(main, *kvCache, options.kvCacheConfigPath);
  if (failed(kvLayers))
    return failure();
  clock.lap("fold constants, find Linear layers");

  int batchNum = options.batchNum > 0 ? options.batchNum : int(config.batchNum);
  FailureOr<std::vector<std::vector<rt::Tensor>>> batches =
      makeCalibrationBatches(main, options.calibData, batchNum, options.batchSize);
  if (failed(batches))
    return failure();
  if (failed(calibrateSequentially(main, *found, *batches, config, options.threads,
                                   options.showProgress)))
    return failure();
  clock.lap("calibration: batches and " + describe(config));

  if (failed(writeQuantizedModel(*module, *found, config, describe(config), result)))
    return failure();
  clock.lap("integer weights into the model");

  // The KV cache calibrated on the model with its layers quantized.
  if (kvCache) {
    if (failed(quantizeKvCache(*module, *kvLayers, *kvCache, *batches, options.threads,
                               options.showProgress, result)))
      return failure();
    clock.lap("KV-cache calibration");
  }

  if (failed(compareAndConvertQuantized(std::move(module), (*batches)[0], options, clock,
                                        result)))
    return failure();
  return result;
}

FailureOr<QuantizeResult> convertLlmModel(ModuleOp model, const LlmQuantConfig &config,
                                          const std::string &configName, const Record &record,
                                          const std::string &recordName) {
  QuantizeResult result;
  OwningOpRef<ModuleOp> module;
  FailureOr<LlmLayers> found = prepare(model, config, configName, module, result);
  if (failed(found))
    return failure();
  func::FuncOp main = getMainFunction(*module);
  for (const auto &[name, r] : record.layers) {
    if (r.scaleW.empty() || llvm::any_of(found->layers, [&](const LlmLayer &l) {
          return l.layer.name == name;
        }))
      continue;
    auto skipped = llvm::find_if(found->skipped,
                                 [&](const SkippedLayer &s) { return s.name == name; });
    if (skipped != found->skipped.end())
      return main.emitError() << recordName << ": layer '" << name
                              << "' has weight scales, but the config does not quantize it: "
                              << skipped->reason;
    return main.emitError() << recordName << ": layer '" << name
                            << "' is not a quantizable layer of the model";
  }
  quant::LinearWeightSpec spec = specOf(config.weights);
  std::string error;
  for (LlmLayer &l : found->layers) {
    auto fail = [&]() -> InFlightDiagnostic {
      return main.emitError() << recordName << ": layer '" << l.layer.name << "': ";
    };
    const LayerRecord *r = record.find(l.layer.name);
    if (!r || r->scaleW.empty())
      return fail() << "no scale_w (the config quantizes the layer)";
    int64_t groups = spec.granularity == quant::WeightGranularity::Group
                         ? (l.k + spec.groupSize - 1) / spec.groupSize
                         : 1;
    size_t want = spec.granularity == quant::WeightGranularity::Tensor ? 1 : size_t(groups * l.n);
    if (r->scaleW.size() != want)
      return fail() << r->scaleW.size() << " scale_w values, the config's "
                    << describeWeights(config) << " needs " << want;
    if (!r->offsetW.empty() && r->offsetW.size() != want)
      return fail() << r->offsetW.size() << " offset_w values, expected " << want;
    std::string wts = config.weights.bits == 4 ? "INT4" : "INT8";
    if (!r->wtsType.empty() && r->wtsType != wts)
      return fail() << "wts_type is " << r->wtsType << ", the config quantizes to " << wts;
    if (!r->tensorBalanceFactor.empty() && int64_t(r->tensorBalanceFactor.size()) != l.k)
      return fail() << r->tensorBalanceFactor.size()
                    << " tensor_balance_factor values, expected one per input channel (" << l.k
                    << ")";
    int64_t lo = -(int64_t(1) << (spec.bits - 1)), hi = (int64_t(1) << (spec.bits - 1)) - 1;
    for (auto [i, s] : llvm::enumerate(r->scaleW))
      if (!(s > 0) || !std::isfinite(s))
        return fail() << "scale_w[" << i << "] = " << shortest(s)
                      << " is not a positive finite number";
    for (auto [i, o] : llvm::enumerate(r->offsetW))
      if (o < lo || o > hi)
        return fail() << "offset_w[" << i << "] = " << o << " is outside [" << lo << ", " << hi
                      << "]";
    l.params.k = l.k;
    l.params.n = l.n;
    l.params.groups = groups;
    l.params.groupSize = spec.granularity == quant::WeightGranularity::Group ? spec.groupSize : 0;
    l.params.scale = r->scaleW;
    l.params.offset = r->offsetW.empty() ? std::vector<int32_t>(want, 0) : r->offsetW;
    if (failed(loadWeight(l)))
      return failure();
    // W8A8 with per-tensor inputs: the recorded input parameters.
    if (config.inputs && config.inputs->strategy == LlmInputConfig::Strategy::Tensor) {
      if (!r->scaleD || !r->offsetD)
        return fail() << "no scale_d / offset_d (the config's inputs are per tensor)";
      if (!(*r->scaleD > 0) || !std::isfinite(*r->scaleD))
        return fail() << "scale_d = " << shortest(*r->scaleD)
                      << " is not a positive finite number";
      if (*r->offsetD < -128 || *r->offsetD > 127 ||
          (config.inputs->symmetric && *r->offsetD != 0))
        return fail() << "offset_d = " << *r->offsetD << " is outside "
                      << (config.inputs->symmetric ? "{0} (symmetric inputs)" : "[-128, 127]");
      l.act = quant::QuantParams{*r->scaleD, *r->offsetD};
    }
    // AWQ's and SmoothQuant's factors multiply the weight rows, as quantize
    // did.
    l.balance = r->tensorBalanceFactor;
    std::vector<float> scaled = l.weight;
    if (!l.balance.empty())
      for (int64_t row = 0; row < l.k; ++row)
        for (int64_t c = 0; c < l.n; ++c)
          scaled[row * l.n + c] = l.weight[row * l.n + c] * l.balance[row];
    l.q.resize(l.k * l.n);
    quant::quantizeLinear(scaled.data(), l.params, spec.bits, l.q.data());
    l.weightError = relativeWeightError(l);
    std::vector<float>().swap(l.weight);
  }
  // Layers sharing an input fold one factor when the record gives them the
  // same; otherwise each gets its own Mul.
  for (const InputGroup &group : found->groups) {
    const std::vector<float> &s = found->layers[group.members.front()].balance;
    bool shared = llvm::all_of(group.members,
                               [&](size_t i) { return found->layers[i].balance == s; });
    for (size_t i : group.members)
      found->layers[i].balanceShared = shared;
  }
  if (failed(writeQuantizedModel(*module, *found, config, "record " + describe(config),
                                 result)))
    return failure();
  if (!record.kvCache.empty() && failed(applyKvCacheRecord(*module, record, recordName, result)))
    return failure();
  result.record = record;
  if (failed(convertToDeploy(std::move(module), result)))
    return failure();
  return result;
}

} // namespace amct
