//===- Quant.h - quantization arithmetic, ARQ and DMQ -----------*- C++ -*-===//
//
// The MLIR-free numerics every pass and the executor share: the affine
// quantizer of docs/Quantization.md, AMCT's ARQ weight quantizer and the DMQ
// balance factors. Plain std, pointer + count spans, no exceptions: data
// errors return nullopt and a message; precondition violations (a bit width
// outside [2, 16], a null pointer with a non-zero count) assert.
//
// Conventions (AMCT's):
//   q  = clamp(rint(x / scale) + offset, -2^(b-1), 2^(b-1) - 1)
//   x' = (q - offset) * scale
// rint rounds half to even. x / scale and (q - offset) * scale are float
// operations, as ONNX Runtime's QuantizeLinear / DequantizeLinear do them, so
// the fake-quant model and these functions agree bit for bit.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_QUANT_QUANT_H
#define AMCT_QUANT_QUANT_H

#include <algorithm>
#include <cassert>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace amct::quant {

/// Per-tensor quantization parameters: `x ~ (q - offset) * scale`.
struct QuantParams {
  float scale = 1.0f;
  int32_t offset = 0;
};

/// A clipping range [lo, hi] chosen by a calibration algorithm.
struct ClipRange {
  float lo = 0.0f;
  float hi = 0.0f;
};

/// Smallest and largest integer of a `numBits` signed type.
constexpr int32_t qmin(int numBits) { return -(int32_t(1) << (numBits - 1)); }
constexpr int32_t qmax(int numBits) {
  return (int32_t(1) << (numBits - 1)) - 1;
}

/// Scales below this are replaced by kFallbackScale. It is AMCT's threshold
/// (`process_scale`: scale < FLT_EPSILON becomes 1.0): it catches the all-zero
/// range (scale 0, which would divide by zero) and ranges so narrow that
/// 1/scale would leave float's comfortable range. Data that small quantizes
/// to the zero point, i.e. to 0, an absolute error below ~1e-5.
constexpr float kMinScale = FLT_EPSILON;
/// The scale used instead of one below kMinScale.
constexpr float kFallbackScale = 1.0f;

/// Parameters that represent [lo, hi] with `numBits` bits. The range is first
/// widened to contain 0 (lo = min(lo, 0), hi = max(hi, 0)) so that 0 is exact,
/// as AMCT does for activations.
///   symmetric:  scale = max(|lo|, |hi|) / (2^(b-1) - 1), offset = 0
///   asymmetric: scale = (hi - lo) / (2^b - 1),
///               offset = -rint(lo / scale) - 2^(b-1)
/// The scale is computed in double and rounded once to float; a scale below
/// kMinScale becomes kFallbackScale (the offset is then computed with it).
/// Requires finite lo and hi and numBits in [2, 16].
QuantParams paramsFromRange(float lo, float hi, int numBits, bool asymmetric);

/// The range of the finite values of `data`, and how many were finite and
/// not (NaN, inf); min = +inf, max = -inf when none is finite. The one scan
/// the observers share.
struct FiniteRange {
  float min, max;
  int64_t finite = 0, nonFinite = 0;
};
FiniteRange finiteRange(const float *data, int64_t count);

/// Cosine similarity of two sequences, accumulated in double: the one
/// definition behind the quantize summary and `amct evaluate`. Two all-zero
/// sequences are identical (1).
class Cosine {
public:
  void add(double a, double b) {
    dot += a * b;
    na += a * a;
    nb += b * b;
  }
  void add(const float *a, const float *b, int64_t count) {
    for (int64_t i = 0; i < count; ++i)
      add(a[i], b[i]);
  }
  double value() const;
  /// Signal-to-quantization-noise ratio in dB, the first sequence being the
  /// signal: 10 log10(sum a^2 / sum (a - b)^2); +inf when identical.
  double sqnrDb() const;

private:
  double dot = 0, na = 0, nb = 0;
};

/// `clamp(rint(x / scale) + offset, qmin, qmax)`. x / scale is a float
/// division; rint rounds half to even; +-inf saturate; NaN gives the offset
/// (it dequantizes to 0). Requires numBits in [2, 16] and scale > 0.
/// Inline: the weight searches call it in their inner loops. Rounding is
/// the float 1.5 * 2^23 trick (exact half-to-even for |v| <= 2^22; larger
/// values saturate anyway), not a libm call.
inline int32_t quantize(float x, QuantParams params, int numBits) {
  assert(numBits >= 2 && numBits <= 16 && "numBits must be in [2, 16]");
  assert(params.scale > 0.0f && "scale must be positive");
  float v = x / params.scale;
  if (std::isnan(v))
    return std::clamp(params.offset, qmin(numBits), qmax(numBits));
  v = std::clamp(v, -4194304.0f, 4194304.0f);
  constexpr float kMagic = 12582912.0f; // 1.5 * 2^23
  float r = (v + kMagic) - kMagic;
  return std::clamp(int32_t(r) + params.offset, qmin(numBits), qmax(numBits));
}

/// `(quantize(x) - offset) * scale`, the value the quantized model sees.
float fakeQuant(float x, QuantParams params, int numBits);

/// Mean squared error of fakeQuant over `values` (accumulated in double);
/// 0 for an empty span.
double fakeQuantMse(const float *values, int64_t count, QuantParams params,
                    int numBits);

/// The number of NaN and infinite values among `count` (a vectorised test of
/// the exponent bits).
int64_t countNonFinite(const float *values, int64_t count);

/// fakeQuantMse for each of `numParams` parameter sets, bit for bit the same
/// numbers, in one pass over `values` (vectorised across the parameter
/// sets; each sum still runs over the values in order). `threads` > 1
/// splits the parameter sets, so the result does not depend on it.
void fakeQuantMses(const float *values, int64_t count, const QuantParams *params,
                   int64_t numParams, int numBits, double *mse, int threads = 1);
/// fakeQuantMses before the division by `count`: the sums of squared errors.
void fakeQuantErrorSums(const float *values, int64_t count, const QuantParams *params,
                        int64_t numParams, int numBits, double *sums, int threads = 1);

//===----------------------------------------------------------------------===//
// ARQ: weights
//===----------------------------------------------------------------------===//

/// Weight quantization parameters: one entry per output channel, or a single
/// entry for per-tensor quantization. ARQ is symmetric, so offsets are 0.
struct WeightQuant {
  std::vector<float> scale;
  std::vector<int32_t> offset;
};

/// AMCT's ARQ: symmetric scales from max|w| of each output channel
/// (`channelWise`) or of the whole tensor. `weights` holds `numChannels`
/// contiguous rows of `elemsPerChannel` values (the weight reshaped to
/// [Cout, -1]; ConvTranspose weights must be transposed to put the output
/// channel first by the caller). An all-zero channel gets kFallbackScale,
/// never 0 or NaN. Fails on a NaN or infinite weight.
std::optional<WeightQuant> arqQuantize(const float *weights,
                                       int64_t numChannels,
                                       int64_t elemsPerChannel, int numBits,
                                       bool channelWise, std::string &error);

/// Quantizes weights laid out as for arqQuantize with `params` (one entry, or
/// `numChannels` entries) into `out` (numChannels * elemsPerChannel values;
/// int4 values are stored one per byte in [-8, 7]). Requires numBits in
/// [2, 8].
void quantizeWeights(const float *weights, int64_t numChannels,
                     int64_t elemsPerChannel, int numBits,
                     const WeightQuant &params, int8_t *out);

//===----------------------------------------------------------------------===//
// The int32 accumulator of an int8 layer and its bias
//===----------------------------------------------------------------------===//

/// The value of one unit of an int8 layer's int32 accumulator for each
/// output channel: the float product scaleD * scaleW[c % numScaleW], for
/// `channels` channels, or a single value when numScaleW is 1. This is the
/// deploy model's deq_scale and the scale of the int32 bias, in both the
/// fake-quant and the deploy model.
std::vector<float> accumulatorScales(float scaleD, const float *scaleW, int64_t numScaleW,
                                     int64_t channels);

/// The int32 bias of an int8 layer: rint(bias[c] / scale[c]) computed in
/// double (one scale for every channel when numScales is 1, else one per
/// bias value). Fails, naming the channel, when a value is not finite or
/// overflows int32.
std::optional<std::vector<int32_t>> quantizeBias(const float *bias, int64_t count,
                                                 const float *scales, int64_t numScales,
                                                 std::string &error);

/// What the int32 bias value `q` stands for in float: float(q) * scale, as
/// ONNX DequantizeLinear computes it for an int32 input.
inline float dequantizeBias(int32_t q, float scale) { return static_cast<float>(q) * scale; }

//===----------------------------------------------------------------------===//
// DMQ balancer
//===----------------------------------------------------------------------===//

/// Smallest and largest DMQ migration strength AMCT accepts.
constexpr float kMinMigrationStrength = 0.2f;
constexpr float kMaxMigrationStrength = 0.8f;

/// AMCT's DMQ balance factors (like SmoothQuant), one per input channel c:
///   f_c = max|X_c|^a / max|W_c|^(1-a)
/// activations are divided by f_c and weights multiplied by it. Channels
/// whose maximum is below FLT_EPSILON are handled as AMCT does:
///  - both maxima ~0: f = 1;
///  - activation ~0: f = (max over normal channels of max|W|*f) / max|W_c|,
///    so the channel's weights end at the largest balanced weight;
///  - weight ~0: f = max|X_c| / (max over normal channels of max|X|/f), so
///    the channel's activations end at the largest balanced activation;
///  - if all activation maxima or all weight maxima are ~0: every f = 1.
/// Where a rule needs a normal channel and there is none, f = 1.
/// Fails if `migrationStrength` is outside [0.2, 0.8], a maximum is negative
/// or not finite, or a factor falls outside (FLT_EPSILON, 1 / FLT_EPSILON)
/// (AMCT's check on `tensor_balance_factor`).
std::optional<std::vector<float>>
dmqBalanceFactors(const float *actAbsMaxPerChannel,
                  const float *weightAbsMaxPerChannel, int64_t channels,
                  float migrationStrength, std::string &error);

} // namespace amct::quant

#endif // AMCT_QUANT_QUANT_H
