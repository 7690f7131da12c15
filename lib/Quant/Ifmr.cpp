//===- Ifmr.cpp - AMCT's IFMR activation calibration ----------------------===//
//
// IFMR starts from percentile clip values and scores a grid of scaled clip
// values by the fake-quantization MSE over all the calibration data. The
// details follow AMCT's implementation (ifmr.cpp of its common library and
// ifmr_impl.py of amct_pytorch); see amct/Quant/Observers.h.
//
//===----------------------------------------------------------------------===//

#include "amct/Quant/Observers.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <functional>

using namespace amct::quant;

namespace {

/// More candidates than this would make the O(n * candidates) search run for
/// hours on real activations; AMCT has no limit, but no sane config gets near.
constexpr double kMaxCandidates = 100000;

bool inPercentileRange(double p) { return p > 0.5 && p <= 1.0; }

/// An order-preserving map of finite floats to unsigned keys (-0 as +0, the
/// two compare equal).
uint32_t orderKey(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  if (bits == 0x80000000u)
    bits = 0;
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

float fromOrderKey(uint32_t key) {
  uint32_t bits = (key & 0x80000000u) ? (key & 0x7fffffffu) : ~key;
  float x;
  std::memcpy(&x, &bits, sizeof(x));
  return x;
}

/// The values of 0-based ascending ranks `rankA` and `rankB` among `count`
/// finite values and `zeros` more zeros, without reordering or copying them:
/// a radix selection on the keys' high 16 bits, then on the low 16 bits
/// inside the chosen buckets. Two passes over the data, exact, O(count).
std::pair<float, float> selectRanks(const float *values, int64_t count,
                                    int64_t zeros, int64_t rankA, int64_t rankB) {
  constexpr int64_t kBuckets = 1 << 16;
  const uint32_t zeroKey = orderKey(0.0f);
  std::vector<int64_t> high(kBuckets, 0);
  high[zeroKey >> 16] += zeros;
  for (int64_t i = 0; i < count; ++i)
    ++high[orderKey(values[i]) >> 16];
  // The bucket holding `rank` and the rank left inside it.
  auto locate = [](const std::vector<int64_t> &hist, int64_t rank) {
    int64_t bucket = 0;
    while (rank >= hist[bucket])
      rank -= hist[bucket++];
    return std::pair<uint32_t, int64_t>(bucket, rank);
  };
  auto [bucketA, restA] = locate(high, rankA);
  auto [bucketB, restB] = locate(high, rankB);
  std::vector<int64_t> lowA(kBuckets, 0), lowB(kBuckets, 0);
  if ((zeroKey >> 16) == bucketA)
    lowA[zeroKey & 0xffffu] += zeros;
  if ((zeroKey >> 16) == bucketB)
    lowB[zeroKey & 0xffffu] += zeros;
  for (int64_t i = 0; i < count; ++i) {
    uint32_t key = orderKey(values[i]);
    if ((key >> 16) == bucketA)
      ++lowA[key & 0xffffu];
    if ((key >> 16) == bucketB)
      ++lowB[key & 0xffffu];
  }
  uint32_t keyA = (bucketA << 16) | locate(lowA, restA).first;
  uint32_t keyB = (bucketB << 16) | locate(lowB, restB).first;
  return {fromOrderKey(keyA), fromOrderKey(keyB)};
}

/// The k-th largest and the k-th smallest of `count` finite values and
/// `zeros` more zeros for small k (the default percentile's case: k = count / 10^6): two heaps of
/// the k most extreme values seen. A block of values none of which beats
/// either heap's boundary, by far the common case once the heaps are full,
/// costs one vectorised min/max.
std::pair<float, float> selectExtremes(const float *values, int64_t count,
                                       int64_t zeros, int64_t kHi, int64_t kLo) {
  // Min-heap of the largest, max-heap of the smallest; the elided zeros go
  // in first (as many as can matter), all equal, so both are valid heaps.
  std::vector<float> top(std::min(zeros, kHi), 0.0f), bottom(std::min(zeros, kLo), 0.0f);
  top.reserve(kHi + 1);
  bottom.reserve(kLo + 1);
  constexpr int64_t kBlock = 256;
  for (int64_t begin = 0; begin < count; begin += kBlock) {
    int64_t end = std::min(count, begin + kBlock);
    if (static_cast<int64_t>(top.size()) == kHi &&
        static_cast<int64_t>(bottom.size()) == kLo) {
      float hi = values[begin], lo = values[begin];
      for (int64_t i = begin; i < end; ++i) {
        hi = values[i] > hi ? values[i] : hi;
        lo = values[i] < lo ? values[i] : lo;
      }
      if (!(hi > top.front()) && !(lo < bottom.front()))
        continue;
    }
    for (int64_t i = begin; i < end; ++i) {
      float x = values[i];
      if (static_cast<int64_t>(top.size()) < kHi) {
        top.push_back(x);
        std::push_heap(top.begin(), top.end(), std::greater<float>());
      } else if (x > top.front()) {
        std::pop_heap(top.begin(), top.end(), std::greater<float>());
        top.back() = x;
        std::push_heap(top.begin(), top.end(), std::greater<float>());
      }
      if (static_cast<int64_t>(bottom.size()) < kLo) {
        bottom.push_back(x);
        std::push_heap(bottom.begin(), bottom.end());
      } else if (x < bottom.front()) {
        std::pop_heap(bottom.begin(), bottom.end());
        bottom.back() = x;
        std::push_heap(bottom.begin(), bottom.end());
      }
    }
  }
  return {top.front(), bottom.front()};
}

/// Above this k the heaps cost more than the radix selection's two passes.
constexpr int64_t kMaxHeapRank = 4096;

} // namespace

std::string amct::quant::validateIfmrConfig(const IfmrConfig &config) {
  if (!inPercentileRange(config.maxPercentile))
    return "max_percentile " + std::to_string(config.maxPercentile) +
           " must be greater than 0.5 and at most 1.0";
  if (!inPercentileRange(config.minPercentile))
    return "min_percentile " + std::to_string(config.minPercentile) +
           " must be greater than 0.5 and at most 1.0";
  double start = config.searchStart, end = config.searchEnd;
  if (!std::isfinite(start) || !std::isfinite(end))
    return "search_range must be finite";
  if (!(start > 0.0))
    return "search_range[0] " + std::to_string(start) +
           " must be greater than 0";
  if (!(start < end))
    return "search_range[0] " + std::to_string(start) +
           " must be less than search_range[1] " + std::to_string(end);
  double step = config.searchStep;
  if (!std::isfinite(step) || !(step > 0.0))
    return "search_step " + std::to_string(step) + " must be greater than 0";
  // AMCT compares decimal strings; a few ulps of slack make e.g. step 0.2
  // over [0.1, 0.3] (0.3 - 0.1 = 0.19999999999999998) pass as it does there.
  double len = end - start;
  if (step - len > 4 * DBL_EPSILON * std::max(std::fabs(start), std::fabs(end)))
    return "search_step " + std::to_string(step) +
           " must be at most search_range[1] - search_range[0]";
  if (std::ceil(len / step) > kMaxCandidates)
    return "search_step " + std::to_string(step) +
           " gives more than 100000 candidates";
  return "";
}

std::vector<double> amct::quant::ifmrMultipliers(const IfmrConfig &config) {
  assert(validateIfmrConfig(config).empty() && "invalid IFMR config");
  double start = config.searchStart;
  // numpy.arange: length ceil((stop - start) / step); buffer[1] = start +
  // step; buffer[i] = start + i * (buffer[1] - buffer[0]) for i >= 2.
  auto length = static_cast<int64_t>(
      std::ceil((config.searchEnd - start) / config.searchStep));
  length = std::max<int64_t>(length, 1);
  std::vector<double> m(length);
  m[0] = start;
  if (length > 1) {
    m[1] = start + config.searchStep;
    double delta = m[1] - m[0];
    for (int64_t i = 2; i < length; ++i)
      m[i] = start + static_cast<double>(i) * delta;
  }
  return m;
}

int64_t amct::quant::ifmrStartRank(int64_t n, double percentile) {
  if (n <= 1 || 1.0 - percentile < FLT_EPSILON)
    return 1;
  auto below = static_cast<int64_t>(percentile * static_cast<double>(n));
  return std::clamp<int64_t>(n - below, 1, n);
}

namespace {
/// ifmrSearch over `values` and `zeros` more zeros, which need not be
/// stored: 0 adds nothing to any candidate's squared error (see
/// fakeQuantMses), it only counts.
std::optional<IfmrResult> searchWithZeros(const float *values, int64_t stored,
                                          int64_t zeros, const IfmrConfig &config,
                                          int numBits, bool asymmetric,
                                          std::string &error, int threads) {
  assert(validateIfmrConfig(config).empty() && "invalid IFMR config");
  int64_t count = stored + zeros;
  if (count <= 0) {
    error = "no calibration data observed";
    return std::nullopt;
  }
  if (countNonFinite(values, stored)) {
    error = "calibration data has a non-finite value";
    return std::nullopt;
  }

  IfmrResult r;
  // The k-th largest and k-th smallest by selection, not sorting.
  int64_t kHi = ifmrStartRank(count, config.maxPercentile);
  int64_t kLo = ifmrStartRank(count, config.minPercentile);
  auto [hi, lo] = std::max(kHi, kLo) <= kMaxHeapRank
                     ? selectExtremes(values, stored, zeros, kHi, kLo)
                     : selectRanks(values, stored, zeros, count - kHi, kLo - 1);
  r.start = {std::min(lo, 0.0f), std::max(hi, 0.0f)};

  r.multipliers = ifmrMultipliers(config);
  std::vector<QuantParams> candidates;
  std::vector<ClipRange> clips;
  double absMax = std::max(-static_cast<double>(r.start.lo),
                           static_cast<double>(r.start.hi));
  for (double m : r.multipliers) {
    ClipRange clip;
    if (asymmetric) {
      clip = {r.start.lo, static_cast<float>(r.start.hi * m)};
    } else {
      auto c = static_cast<float>(absMax * m);
      clip = {-c, c};
    }
    clips.push_back(clip);
    candidates.push_back(paramsFromRange(clip.lo, clip.hi, numBits, asymmetric));
  }
  // All candidates in one pass over the values: the search is bound by
  // arithmetic, not by reading the values once per candidate.
  r.mse.resize(candidates.size());
  fakeQuantErrorSums(values, stored, candidates.data(), candidates.size(), numBits,
                     r.mse.data(), threads);
  for (double &mse : r.mse)
    mse /= static_cast<double>(count);
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (i == 0 || r.mse[i] < r.mse[r.best])
      r.best = i;
  }
  r.clip = clips[r.best];
  r.params = candidates[r.best];
  return r;
}
} // namespace

std::optional<IfmrResult> amct::quant::ifmrSearch(const float *values, int64_t count,
                                                  const IfmrConfig &config,
                                                  int numBits, bool asymmetric,
                                                  std::string &error, int threads) {
  return searchWithZeros(values, count, 0, config, numBits, asymmetric, error, threads);
}

std::optional<IfmrObserver> IfmrObserver::create(const IfmrConfig &config,
                                                 std::string &error) {
  std::string msg = validateIfmrConfig(config);
  if (!msg.empty()) {
    error = msg;
    return std::nullopt;
  }
  return IfmrObserver(config);
}

void IfmrObserver::observe(const float *data, int64_t count) {
  assert((data || count == 0) && "null data");
  // Zeros are counted, not kept (about half of a ReLU output); the rest is
  // sized first so that no more than it is ever allocated.
  int64_t nonZero = 0;
  for (int64_t i = 0; i < count; ++i)
    nonZero += data[i] != 0.0f;
  int64_t nonFinite = countNonFinite(data, count);
  numNonFinite += nonFinite;
  zeros += count - nonZero;
  size_t kept = values.size();
  size_t needed = kept + static_cast<size_t>(nonZero - nonFinite);
  if (needed == kept)
    return;
  // Grow geometrically: reserving exactly size + count per batch would copy
  // everything kept on every batch.
  if (needed + 1 > values.capacity())
    values.reserve(std::max(needed + 1, 2 * values.capacity()));
  values.resize(needed + 1); // room for the branch-free copy's last write
  float *out = values.data() + kept;
  for (int64_t i = 0; i < count; ++i) {
    float x = data[i];
    uint32_t bits;
    std::memcpy(&bits, &x, sizeof(bits));
    *out = x;
    out += x != 0.0f && (bits & 0x7f800000u) != 0x7f800000u;
  }
  values.resize(needed);
}

std::optional<IfmrResult> IfmrObserver::search(int numBits, bool asymmetric,
                                               std::string &error, int threads) {
  if (numNonFinite) {
    error = std::to_string(numNonFinite) +
            " non-finite values in the calibration data";
    return std::nullopt;
  }
  return searchWithZeros(values.data(), values.size(), zeros, cfg, numBits, asymmetric,
                         error, threads);
}

std::optional<QuantParams> IfmrObserver::finalize(int numBits, bool asymmetric,
                                                  std::string &error, int threads) {
  std::optional<IfmrResult> r = search(numBits, asymmetric, error, threads);
  if (!r)
    return std::nullopt;
  return r->params;
}

std::optional<QuantParams>
IfmrObserver::finalizeWithLast(const float *data, int64_t count, int numBits,
                               bool asymmetric, std::string &error, int threads) {
  std::optional<IfmrResult> r;
  if (values.empty() && !numNonFinite) {
    // Nothing kept (one batch in all, or only zeros before): search the
    // caller's buffer, no copy.
    int64_t nonFinite = countNonFinite(data, count);
    if (nonFinite) {
      error = std::to_string(nonFinite) + " non-finite values in the calibration data";
      return std::nullopt;
    }
    r = searchWithZeros(data, count, zeros, cfg, numBits, asymmetric, error, threads);
  } else {
    observe(data, count);
    r = search(numBits, asymmetric, error, threads);
  }
  release();
  if (!r)
    return std::nullopt;
  return r->params;
}

void IfmrObserver::release() {
  values.clear();
  values.shrink_to_fit();
  zeros = 0;
}
