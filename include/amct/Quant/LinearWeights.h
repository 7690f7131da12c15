//===- LinearWeights.h - weight-only quantization of Linear layers -*- C++ -*-===//
//
// The numerics of AMCT's language-model weight quantization, free of MLIR:
// a Linear weight W is [K, N] (K input channels as rows, N outputs; the
// MatMul layout), quantized to int8 or int4 per tensor, per output channel
// or per group of G consecutive input channels, by round-to-nearest
// (minmax) or GPTQ. int4 values are stored one per int8 until packed.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_QUANT_LINEARWEIGHTS_H
#define AMCT_QUANT_LINEARWEIGHTS_H

#include "amct/Quant/Quant.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace amct::quant {

enum class WeightGranularity { Tensor, Channel, Group };

struct LinearWeightSpec {
  int bits = 8; // 4 or 8
  bool symmetric = true;
  WeightGranularity granularity = WeightGranularity::Channel;
  /// Input channels per group (WeightGranularity::Group only).
  int64_t groupSize = 0;
};

/// Scales and offsets of a [K, N] weight: one set per (group, output
/// channel), stored group-major: entry g * N + n (per tensor: one entry;
/// per channel: N entries, one group). Group g covers input channels
/// [g * G, (g + 1) * G); K is padded with zeros to a multiple of G (as AMCT
/// does), so there are ceil(K / G) groups.
struct LinearWeightParams {
  int64_t k = 0, n = 0, groups = 1, groupSize = 0;
  std::vector<float> scale;
  std::vector<int32_t> offset;

  /// The parameters of input channel `row`, output channel `col`.
  QuantParams at(int64_t row, int64_t col) const {
    int64_t g = groupSize ? row / groupSize : 0;
    size_t i = scale.size() == 1 ? 0 : size_t(g * n + col);
    return {scale[i], offset[i]};
  }
};

/// Round-to-nearest parameters from each set's min and max (widened to
/// include 0): symmetric scale = absmax / (2^(b-1) - 1), offset 0;
/// asymmetric scale = (max - min) / (2^b - 1) with an integer offset.
/// Fails (with a message) on a non-finite weight or a spec that does not fit
/// (group size < 1 for Group, bits other than 4 or 8).
std::optional<LinearWeightParams> minmaxParams(const float *w, int64_t k, int64_t n,
                                               const LinearWeightSpec &spec, std::string &error);

/// q[r * n + c] = quantize(w[r * n + c], params.at(r, c)) in [qmin, qmax].
void quantizeLinear(const float *w, const LinearWeightParams &params, int bits, int8_t *q);

/// The float weight the quantized one stands for: (q - offset) * scale.
void dequantizeLinear(const int8_t *q, const LinearWeightParams &params, float *w);

/// int4 values of a [K, N] weight packed two per byte along K, low nibble
/// first: byte (r, c) of the [ceil(K / 2), N] result holds q(2r, c) in bits
/// 0-3 and q(2r + 1, c) in bits 4-7 (two's complement nibbles; an odd K
/// pads with 0).
std::vector<uint8_t> packInt4(const int8_t *q, int64_t k, int64_t n);
/// The inverse of packInt4.
std::vector<int8_t> unpackInt4(const uint8_t *packed, int64_t k, int64_t n);

/// h += X^T X for the rows of X [rows, K], in double (h is [K, K] and
/// stays symmetric: both triangles are updated). GPTQ's H is 2 / T times
/// the sum over the T calibration rows.
void accumulateGram(const float *x, int64_t rows, int64_t k, double *h);

struct GptqOptions {
  /// Added to H's diagonal: this fraction of its mean.
  double dampPercent = 0.01;
  /// Columns (input channels) quantized between two lazy updates.
  int64_t blockSize = 128;
  /// Input channels in order of decreasing H diagonal (AMCT always does).
  bool actOrder = true;
  /// Threads for the BLAS updates (results do not depend on it).
  int threads = 1;
  /// Group parameters from clipSearchWithHessian instead of minmax (per
  /// group only: per channel the search would cost K^2 N per candidate).
  bool clip = false;
};

struct GptqResult {
  LinearWeightParams params;
  std::vector<int8_t> q; // [K, N]
};

/// GPTQ (Frantar et al.) on a [K, N] weight with H = 2 X^T X ([K, K],
/// accumulated by the caller over the layer's calibration inputs X [T, K]):
/// dead input channels (zero diagonal) get weight 0; damping; act-order;
/// blocks of blockSize input channels with the later rows updated lazily
/// by BLAS; the error propagated through the upper Cholesky factor of H^-1.
/// The quantization parameters are minmax's on the original weights (group
/// scales from the original groups, whatever the processing order). Fails
/// if H is not positive definite after damping, or as minmaxParams does.
std::optional<GptqResult> gptqQuantize(const float *w, int64_t k, int64_t n, const double *h,
                                       const LinearWeightSpec &spec, const GptqOptions &options,
                                       std::string &error);

/// Per parameter set (the tensor, an output channel, or a group of one
/// output channel), the range shrink factor a in {1, 1 - (1 - minRatio) /
/// grid, ..., minRatio} whose round-to-nearest error on the layer's output,
/// sum over rows of (sum over the set's input channels of x (w - Q_a(w)))^2,
/// is smallest on the rows of X [t, k]; Q_a takes minmax's parameters of
/// a * W (weights beyond the shrunk range saturate). a = 1 is a candidate,
/// so the result is never worse than minmax on those rows. Fails as
/// minmaxParams does.
std::optional<LinearWeightParams> clipSearch(const float *x, int64_t t, const float *w,
                                             int64_t k, int64_t n, const LinearWeightSpec &spec,
                                             int grid, double minRatio, int threads,
                                             std::string &error);

/// clipSearch with each set's error d^T H_g d from the diagonal blocks of
/// the layer's Hessian H ~ X^T X ([k, k]) instead of the rows of X: what
/// GPTQ has at hand.
std::optional<LinearWeightParams> clipSearchWithHessian(const double *h, const float *w,
                                                        int64_t k, int64_t n,
                                                        const LinearWeightSpec &spec, int grid,
                                                        double minRatio, int threads,
                                                        std::string &error);

struct AwqOptions {
  /// Candidate exponents r = g / gridsNum, g = 0 .. gridsNum - 1.
  int gridsNum = 20;
  /// Calibration rows scored per candidate (evenly spaced when there are
  /// more): the search costs gridsNum x rows x K x N multiply-adds. At
  /// least maxTokens, more while the search stays within
  /// `maxMultiplyAdds` (a small layer is scored on all its rows: a few
  /// hundred rows pick scales that fit those rows and not the rest).
  int64_t maxTokens = 256;
  int64_t maxMultiplyAdds = int64_t(1) << 33;
  /// After the scale search, clipSearch on the scaled weight (llm-awq's
  /// auto_clip, ModelOpt's awq_clip): shrink factors 1, 0.95, ..., 0.5.
  bool clip = false;
  /// Candidates scored at once; each is computed alone, so the result does
  /// not depend on it.
  int threads = 1;
};

struct AwqResult {
  /// Per input channel: the weight rows are multiplied by scale[k] and the
  /// layer's input channel k divided by it.
  std::vector<float> scale;
  double ratio = 0;
  /// Squared error of the layer's output on the scored rows, for the chosen
  /// scales and for plain round-to-nearest (ratio 0).
  double error = 0, minmaxError = 0;
  /// The quantized scaled weight diag(scale) W.
  LinearWeightParams params;
  std::vector<int8_t> q;
};

/// AWQ (Lin et al.): per input channel s = mean|x|^r, normalised by
/// sqrt(max(s) min(s)); for each r the weight diag(s) W is quantized
/// (minmax, `spec`) and scored by the squared error of the layer's output,
/// || X W - (X / s) Q(diag(s) W) ||^2, on up to maxTokens rows of X [t, k].
/// Squared error, not AMCT's fourth power: the output MSE is what the
/// following layers see, and the fourth power lets a few outlier tokens
/// decide. r = 0 (s = 1) is a candidate, so the result is never worse than
/// round-to-nearest on the scored rows.
std::optional<AwqResult> awqSearch(const float *x, int64_t t, const float *w, int64_t k,
                                   int64_t n, const LinearWeightSpec &spec,
                                   const AwqOptions &options, std::string &error);

/// SmoothQuant's per-input-channel factors (Xiao et al. 2023, AMCT's
/// smooth_strength a): f_c = actAbsMax_c^a / weightAbsMax_c^(1 - a), the
/// weight rows multiplied and the input channels divided by f. A channel
/// whose input or weight is all zero, or whose factor is not finite or
/// below 1e-5, keeps 1 (nothing to move, or nothing sound to move).
std::vector<float> smoothQuantFactors(const float *actAbsMax, const float *weightAbsMax,
                                      int64_t k, double strength);

/// How W8A8 quantizes a Linear layer's input (int8).
struct ActivationSpec {
  bool perToken = false;  // else per tensor with a calibrated range
  bool symmetric = true;
};

/// The int8-quantized values of one row of `k` inputs with its own
/// parameters (per token), in float32 exactly as amct.fake_quant_per_token
/// defines them; `out` may be `row`.
void fakeQuantizeRowPerToken(const float *row, int64_t k, bool symmetric, float *out);

struct SmoothSearchOptions {
  /// Candidate strengths, scored in this order (ties keep the first).
  std::vector<double> strengths;
  /// Rows scored per candidate, as AwqOptions: at least maxTokens, more
  /// while candidates x rows x K x N stays within maxMultiplyAdds. Smaller
  /// than AWQ's budget: one strength per group is a coarse choice, and
  /// SmoothQuant should cost little next to the W8A8 run (bench/).
  int64_t maxTokens = 128;
  int64_t maxMultiplyAdds = int64_t(1) << 31;
  int threads = 1;
};

struct SmoothSearchResult {
  double strength = 0.5;
  std::vector<float> factors;
  /// Sum of squared output errors of the winner and of each candidate.
  double error = 0;
  std::vector<double> errors;
};

/// SmoothQuant's strength chosen per layer (or per group of layers reading
/// one input, their weights side by side in `w` [K, N]): for each candidate
/// a, the factors f(a) (smoothQuantFactors from the input's per-channel
/// |max| `actAbsMax` and the weight rows' |max|), the weight f W quantized
/// as `spec` says and the input X / f as `act` says (per tensor: the range
/// [min_c lo_c / f_c, max_c hi_c / f_c] of the calibrated channel ranges
/// `actLo`, `actHi`), scored by the squared error of Q(X / f) Q(f W)
/// against X W on the calibration rows `x` [T, K]. Fails (with `error`)
/// on no rows or no candidate.
std::optional<SmoothSearchResult> smoothQuantSearch(const float *x, int64_t t, const float *w,
                                                    int64_t k, int64_t n, const float *actLo,
                                                    const float *actHi,
                                                    const LinearWeightSpec &spec,
                                                    const ActivationSpec &act,
                                                    const SmoothSearchOptions &options,
                                                    std::string &error);

} // namespace amct::quant

#endif // AMCT_QUANT_LINEARWEIGHTS_H
