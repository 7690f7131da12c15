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
#include <functional>

using namespace amct::quant;

namespace {

/// More candidates than this would make the O(n * candidates) search run for
/// hours on real activations; AMCT has no limit, but no sane config gets near.
constexpr double kMaxCandidates = 100000;

bool inPercentileRange(double p) { return p > 0.5 && p <= 1.0; }

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

std::optional<IfmrResult> amct::quant::ifmrSearch(float *values, int64_t count,
                                                  const IfmrConfig &config,
                                                  int numBits, bool asymmetric,
                                                  std::string &error) {
  assert(validateIfmrConfig(config).empty() && "invalid IFMR config");
  if (count <= 0) {
    error = "no calibration data observed";
    return std::nullopt;
  }
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) {
      error = "calibration data has a non-finite value";
      return std::nullopt;
    }
  }

  IfmrResult r;
  // k-th largest and k-th smallest by selection, not sorting.
  int64_t kHi = ifmrStartRank(count, config.maxPercentile);
  std::nth_element(values, values + (kHi - 1), values + count,
                   std::greater<float>());
  float hi = values[kHi - 1];
  int64_t kLo = ifmrStartRank(count, config.minPercentile);
  std::nth_element(values, values + (kLo - 1), values + count);
  float lo = values[kLo - 1];
  r.start = {std::min(lo, 0.0f), std::max(hi, 0.0f)};

  r.multipliers = ifmrMultipliers(config);
  r.mse.reserve(r.multipliers.size());
  double absMax = std::max(-static_cast<double>(r.start.lo),
                           static_cast<double>(r.start.hi));
  for (size_t i = 0; i < r.multipliers.size(); ++i) {
    double m = r.multipliers[i];
    ClipRange clip;
    if (asymmetric) {
      clip = {r.start.lo, static_cast<float>(r.start.hi * m)};
    } else {
      auto c = static_cast<float>(absMax * m);
      clip = {-c, c};
    }
    QuantParams p = paramsFromRange(clip.lo, clip.hi, numBits, asymmetric);
    r.mse.push_back(fakeQuantMse(values, count, p, numBits));
    if (i == 0 || r.mse[i] < r.mse[r.best]) {
      r.best = i;
      r.clip = clip;
      r.params = p;
    }
  }
  return r;
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
  // Grow geometrically: reserving exactly size + count per batch would copy
  // everything kept on every batch.
  size_t needed =
      values.size() + static_cast<size_t>(std::max<int64_t>(count, 0));
  if (needed > values.capacity())
    values.reserve(std::max(needed, 2 * values.capacity()));
  for (int64_t i = 0; i < count; ++i) {
    if (std::isfinite(data[i]))
      values.push_back(data[i]);
    else
      ++numNonFinite;
  }
}

std::optional<IfmrResult> IfmrObserver::search(int numBits, bool asymmetric,
                                               std::string &error) {
  if (numNonFinite) {
    error = std::to_string(numNonFinite) +
            " non-finite values in the calibration data";
    return std::nullopt;
  }
  return ifmrSearch(values.data(), count(), cfg, numBits, asymmetric, error);
}

std::optional<QuantParams> IfmrObserver::finalize(int numBits, bool asymmetric,
                                                  std::string &error) {
  std::optional<IfmrResult> r = search(numBits, asymmetric, error);
  if (!r)
    return std::nullopt;
  return r->params;
}
