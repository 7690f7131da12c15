//===- Quant.cpp - quantization arithmetic, ARQ and DMQ -------------------===//
//
// The affine quantizer, AMCT's ARQ weight quantizer and the DMQ balance
// factors. See amct/Quant/Quant.h for the conventions.
//
//===----------------------------------------------------------------------===//

#include "amct/Quant/Quant.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <climits>
#include <cstring>
#include <sstream>
#include <thread>

using namespace amct::quant;

namespace {

[[maybe_unused]] bool validBits(int numBits) {
  return numBits >= 2 && numBits <= 16;
}

/// The scale actually used for a computed one (see kMinScale).
float safeScale(double scale) {
  float s = static_cast<float>(scale);
  // `!(s >= ...)` also catches NaN.
  if (!(s >= kMinScale))
    return kFallbackScale;
  return s;
}

} // namespace

QuantParams amct::quant::paramsFromRange(float lo, float hi, int numBits,
                                         bool asymmetric) {
  assert(validBits(numBits) && "numBits must be in [2, 16]");
  assert(std::isfinite(lo) && std::isfinite(hi) && "range must be finite");
  // Widen to contain 0: 0 (padding, ReLU zeros) must be exactly representable.
  double l = std::min(static_cast<double>(lo), 0.0);
  double h = std::max(static_cast<double>(hi), 0.0);
  QuantParams p;
  if (!asymmetric) {
    p.scale = safeScale(std::max(-l, h) / qmax(numBits));
    p.offset = 0;
    return p;
  }
  double levels = std::ldexp(1.0, numBits) - 1.0;
  p.scale = safeScale((h - l) / levels);
  // -rint(l / scale) is in [0, 2^b - 1] up to float rounding of the scale;
  // the clamp keeps the offset representable whatever that rounding did.
  double off = -std::nearbyint(l / p.scale) + qmin(numBits);
  off = std::clamp(off, static_cast<double>(qmin(numBits)),
                   static_cast<double>(qmax(numBits)));
  p.offset = static_cast<int32_t>(off);
  return p;
}

float amct::quant::fakeQuant(float x, QuantParams params, int numBits) {
  int32_t q = quantize(x, params, numBits);
  return static_cast<float>(q - params.offset) * params.scale;
}

double amct::quant::fakeQuantMse(const float *values, int64_t count,
                                 QuantParams params, int numBits) {
  if (count <= 0)
    return 0.0;
  double sum = 0.0;
  for (int64_t i = 0; i < count; ++i) {
    double d = static_cast<double>(fakeQuant(values[i], params, numBits)) -
               static_cast<double>(values[i]);
    sum += d * d;
  }
  return sum / static_cast<double>(count);
}

namespace {

/// Adding and subtracting 1.5 * 2^23 rounds a float of magnitude below 2^22
/// to an integer, half to even (the default rounding mode), as rint does but
/// in a form that vectorises. Larger magnitudes give a value at least as far
/// out, which the clamp to [qmin, qmax] (|q| < 2^16) treats alike.
constexpr float kRoundMagic = 12582912.0f;

/// Candidates per kernel call: a fixed count lets the candidate loop unroll
/// into whole vectors with the sums kept in registers.
constexpr int64_t kBlock = 32;

/// Sums of squared fake-quant errors of kBlock candidates over `values`.
/// The candidate loop is innermost, so each candidate's sum still adds the
/// values in order; every step is exact or one IEEE rounding, the same as
/// fakeQuant's (and compiled without FMA contraction, see CMakeLists.txt), so
/// every ISA gives the bits of the scalar code. Zeros are skipped: 0 fake-
/// quantizes to 0 (the offset lies in [qmin, qmax]) and adding +0 to a sum
/// changes no bit, and activations after ReLU are about half zeros.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#endif
void squaredErrorSums(const float *values, int64_t count, const float *scaleIn,
                      const float *offsetIn, float qmin, float qmax,
                      double *sums) {
  double acc[kBlock] = {};
  float scale[kBlock], offset[kBlock];
  std::copy(scaleIn, scaleIn + kBlock, scale);
  std::copy(offsetIn, offsetIn + kBlock, offset);
  constexpr int64_t kChunk = 2048;
  float chunk[kChunk];
  for (int64_t begin = 0; begin < count; begin += kChunk) {
    int64_t length = std::min(kChunk, count - begin), nonZero = 0;
    for (int64_t i = 0; i < length; ++i) {
      float x = values[begin + i];
      chunk[nonZero] = x;
      nonZero += x != 0.0f;
    }
    for (int64_t i = 0; i < nonZero; ++i) {
      float x = chunk[i];
      double xd = x;
      for (int64_t c = 0; c < kBlock; ++c) {
        float v = x / scale[c];
        float q = ((v + kRoundMagic) - kRoundMagic) + offset[c];
        q = q < qmin ? qmin : q;
        q = q > qmax ? qmax : q;
        double d = static_cast<double>((q - offset[c]) * scale[c]) - xd;
        acc[c] += d * d;
      }
    }
  }
  std::copy(acc, acc + kBlock, sums);
}

} // namespace

int64_t amct::quant::countNonFinite(const float *values, int64_t count) {
  int64_t n = 0;
  for (int64_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, values + i, sizeof(bits));
    n += (bits & 0x7f800000u) == 0x7f800000u;
  }
  return n;
}

void amct::quant::fakeQuantMses(const float *values, int64_t count,
                                const QuantParams *params, int64_t numParams,
                                int numBits, double *mse, int threads) {
  fakeQuantErrorSums(values, count, params, numParams, numBits, mse, threads);
  if (count > 0)
    for (int64_t c = 0; c < numParams; ++c)
      mse[c] /= static_cast<double>(count);
}

void amct::quant::fakeQuantErrorSums(const float *values, int64_t count,
                                     const QuantParams *params, int64_t numParams,
                                     int numBits, double *sumsOut, int threads) {
  assert(validBits(numBits) && "numBits must be in [2, 16]");
  std::fill(sumsOut, sumsOut + numParams, 0.0);
  if (count <= 0 || numParams <= 0)
    return;
  // Whole blocks; the padding candidates (scale 1) are computed and dropped.
  int64_t blocks = (numParams + kBlock - 1) / kBlock;
  std::vector<float> scale(blocks * kBlock, 1.0f), offset(blocks * kBlock, 0.0f);
  std::vector<double> sums(blocks * kBlock, 0.0);
  for (int64_t c = 0; c < numParams; ++c) {
    assert(params[c].scale > 0.0f && "scale must be positive");
    scale[c] = params[c].scale;
    offset[c] = static_cast<float>(params[c].offset);
  }
  auto qmin = static_cast<float>(amct::quant::qmin(numBits));
  auto qmax = static_cast<float>(amct::quant::qmax(numBits));
  // Each thread takes whole blocks, each over all values.
  int64_t parts = std::clamp<int64_t>(threads, 1, blocks);
  auto run = [&](int64_t part) {
    for (int64_t b = blocks * part / parts; b < blocks * (part + 1) / parts; ++b)
      squaredErrorSums(values, count, scale.data() + b * kBlock, offset.data() + b * kBlock,
                       qmin, qmax, sums.data() + b * kBlock);
  };
  std::vector<std::thread> workers;
  for (int64_t part = 1; part < parts; ++part)
    workers.emplace_back(run, part);
  run(0);
  for (std::thread &t : workers)
    t.join();
  std::copy(sums.begin(), sums.begin() + numParams, sumsOut);
}

//===----------------------------------------------------------------------===//
// ARQ
//===----------------------------------------------------------------------===//

std::optional<WeightQuant>
amct::quant::arqQuantize(const float *weights, int64_t numChannels,
                         int64_t elemsPerChannel, int numBits, bool channelWise,
                         std::string &error) {
  assert(validBits(numBits) && "numBits must be in [2, 16]");
  assert(numChannels >= 1 && elemsPerChannel >= 0 && "bad weight shape");
  assert((weights || numChannels * elemsPerChannel == 0) && "null weights");
  std::vector<float> absMax(numChannels, 0.0f);
  for (int64_t c = 0; c < numChannels; ++c) {
    const float *row = weights + c * elemsPerChannel;
    float m = 0.0f;
    for (int64_t i = 0; i < elemsPerChannel; ++i) {
      if (!std::isfinite(row[i])) {
        error = "weight has a non-finite value at channel " +
                std::to_string(c) + ", element " + std::to_string(i);
        return std::nullopt;
      }
      m = std::max(m, std::fabs(row[i]));
    }
    absMax[c] = m;
  }
  WeightQuant wq;
  if (!channelWise) {
    float m = *std::max_element(absMax.begin(), absMax.end());
    absMax.assign(1, m);
  }
  for (float m : absMax) {
    wq.scale.push_back(paramsFromRange(-m, m, numBits, false).scale);
    wq.offset.push_back(0);
  }
  return wq;
}

void amct::quant::quantizeWeights(const float *weights, int64_t numChannels,
                                  int64_t elemsPerChannel, int numBits,
                                  const WeightQuant &params, int8_t *out) {
  assert(numBits >= 2 && numBits <= 8 && "int8 storage holds up to 8 bits");
  assert(params.scale.size() == params.offset.size() &&
         (params.scale.size() == 1 ||
          params.scale.size() == static_cast<size_t>(numChannels)) &&
         "one parameter per tensor or per channel");
  bool perChannel = params.scale.size() != 1;
  for (int64_t c = 0; c < numChannels; ++c) {
    size_t k = perChannel ? static_cast<size_t>(c) : 0;
    QuantParams p{params.scale[k], params.offset[k]};
    const float *row = weights + c * elemsPerChannel;
    int8_t *dst = out + c * elemsPerChannel;
    for (int64_t i = 0; i < elemsPerChannel; ++i)
      dst[i] = static_cast<int8_t>(quantize(row[i], p, numBits));
  }
}

//===----------------------------------------------------------------------===//
// DMQ
//===----------------------------------------------------------------------===//

std::optional<std::vector<float>> amct::quant::dmqBalanceFactors(
    const float *actAbsMaxPerChannel, const float *weightAbsMaxPerChannel,
    int64_t channels, float migrationStrength, std::string &error) {
  assert(channels >= 0 && "negative channel count");
  if (!(migrationStrength >= kMinMigrationStrength &&
        migrationStrength <= kMaxMigrationStrength)) {
    error = "migration strength " + std::to_string(migrationStrength) +
            " is not in [0.2, 0.8]";
    return std::nullopt;
  }
  const double eps = FLT_EPSILON;
  double actGlobal = 0.0, wtsGlobal = 0.0;
  for (int64_t c = 0; c < channels; ++c) {
    float a = actAbsMaxPerChannel[c], w = weightAbsMaxPerChannel[c];
    if (!std::isfinite(a) || !std::isfinite(w) || a < 0.0f || w < 0.0f) {
      error = "channel " + std::to_string(c) +
              " has a negative or non-finite maximum";
      return std::nullopt;
    }
    actGlobal = std::max(actGlobal, static_cast<double>(a));
    wtsGlobal = std::max(wtsGlobal, static_cast<double>(w));
  }
  std::vector<float> factors(channels, 1.0f);
  // Nothing to balance if one side is entirely ~0.
  if (actGlobal < eps || wtsGlobal < eps)
    return factors;

  double alpha = migrationStrength;
  std::vector<double> f(channels, 0.0);
  // The largest balanced activation and weight over the normal channels.
  double actOutlier = 0.0, wtsOutlier = 0.0;
  bool anyNormal = false;
  for (int64_t c = 0; c < channels; ++c) {
    double a = actAbsMaxPerChannel[c], w = weightAbsMaxPerChannel[c];
    if (a < eps || w < eps)
      continue;
    f[c] = std::pow(a, alpha) / std::pow(w, 1.0 - alpha);
    // AMCT leaves a factor below eps out of the outliers (it then fails the
    // range check below).
    if (f[c] < eps)
      continue;
    anyNormal = true;
    actOutlier = std::max(actOutlier, a / f[c]);
    wtsOutlier = std::max(wtsOutlier, w * f[c]);
  }
  for (int64_t c = 0; c < channels; ++c) {
    double a = actAbsMaxPerChannel[c], w = weightAbsMaxPerChannel[c];
    bool actZero = a < eps, wtsZero = w < eps;
    double fc = f[c];
    if (actZero && wtsZero)
      fc = 1.0;
    else if (actZero)
      fc = anyNormal ? wtsOutlier / w : 1.0;
    else if (wtsZero)
      fc = anyNormal ? a / actOutlier : 1.0;
    if (!(fc > eps && fc < 1.0 / eps)) {
      error = "balance factor " + std::to_string(fc) + " of channel " +
              std::to_string(c) + " is outside (FLT_EPSILON, 1/FLT_EPSILON)";
      return std::nullopt;
    }
    factors[c] = static_cast<float>(fc);
  }
  return factors;
}

//===----------------------------------------------------------------------===//
// The int32 accumulator and the bias
//===----------------------------------------------------------------------===//

std::vector<float> amct::quant::accumulatorScales(float scaleD, const float *scaleW,
                                                  int64_t numScaleW, int64_t channels) {
  assert(scaleW && numScaleW > 0 && channels > 0);
  std::vector<float> scales(numScaleW == 1 ? 1 : channels);
  for (size_t c = 0; c < scales.size(); ++c)
    scales[c] = scaleD * scaleW[c % numScaleW];
  return scales;
}

std::optional<std::vector<int32_t>> amct::quant::quantizeBias(const float *bias, int64_t count,
                                                              const float *scales,
                                                              int64_t numScales,
                                                              std::string &error) {
  assert((bias || count == 0) && scales && (numScales == 1 || numScales == count));
  std::vector<int32_t> q(count);
  for (int64_t c = 0; c < count; ++c) {
    float scale = scales[numScales == 1 ? 0 : c];
    double v = std::nearbyint(static_cast<double>(bias[c]) / scale);
    if (!(v >= INT32_MIN && v <= INT32_MAX)) {
      std::ostringstream os;
      os << "bias[" << c << "] = " << bias[c];
      if (std::isfinite(bias[c]))
        os << " overflows int32 at scale " << scale;
      else
        os << " is not finite";
      error = os.str();
      return std::nullopt;
    }
    q[c] = static_cast<int32_t>(v);
  }
  return q;
}

FiniteRange amct::quant::finiteRange(const float *data, int64_t count) {
  FiniteRange r{HUGE_VALF, -HUGE_VALF};
  for (int64_t i = 0; i < count; ++i) {
    float x = data[i];
    if (!std::isfinite(x)) {
      ++r.nonFinite;
      continue;
    }
    r.min = std::min(r.min, x);
    r.max = std::max(r.max, x);
    ++r.finite;
  }
  return r;
}

double amct::quant::Cosine::sqnrDb() const {
  double noise = std::max(0.0, na + nb - 2 * dot);
  if (noise <= 0)
    return INFINITY;
  return 10 * std::log10(std::max(na, 1e-300) / noise);
}

double amct::quant::Cosine::value() const {
  if (na == 0 && nb == 0)
    return 1.0;
  return dot / std::sqrt(na * nb + 1e-300);
}
