//===- Hfmg.cpp - AMCT's HFMG activation calibration ----------------------===//
//
// HFMG keeps a fixed-size histogram over the running range of the data and,
// at the end, picks the sub-range of bins whose quantization to 2^b levels
// has the lowest L2 error. The error is the closed form of PyTorch's
// HistogramObserver (which AMCT's HfmgCalculateLoss also computes); the range
// search is AMCT's HfmgGetSearchRange or PyTorch's _non_linear_param_search.
//
//===----------------------------------------------------------------------===//

#include "amct/Quant/Observers.h"

#include <algorithm>
#include <cassert>
#include <cmath>

using namespace amct::quant;

namespace {

/// AMCT's STEP_DIVISOR: a search step takes ~1/100000 of the counts.
constexpr double kAmctStepDivisor = 100000;
/// AMCT's MIN_BIN_RATIO: ranges narrower than bins/4 are not searched.
constexpr int64_t kAmctMinBinRatio = 4;
/// PyTorch's quantile step.
constexpr double kTorchStep = 1e-5;

/// floor(num / den) for den > 0.
int64_t floorDiv(int64_t num, int64_t den) {
  int64_t q = num / den;
  if (num % den != 0 && num < 0)
    --q;
  return q;
}

/// density * integral of x^2 over [begin, end].
double l2Norm(double begin, double end, double density) {
  return density * (end * end * end - begin * begin * begin) / 3.0;
}

/// The bin of x in `numBins` bins over [lo, hi] (lo < hi), the maximum and
/// anything beyond it in the last bin.
int64_t binOf(double x, double lo, double hi, int64_t numBins) {
  double pos = (x - lo) * static_cast<double>(numBins) / (hi - lo);
  if (!(pos > 0.0))
    return 0;
  return std::min(static_cast<int64_t>(pos), numBins - 1);
}

BinRange amctSearch(const double *hist, int64_t numBins, double binWidth,
                    int64_t dstBins) {
  std::vector<BinRange> ranges = amctSearchRanges(hist, numBins);
  BinRange best{0, numBins - 1};
  double bestError = 0.0;
  for (size_t i = 0; i < ranges.size(); ++i) {
    double e = histogramL2Error(hist, numBins, binWidth, ranges[i].start,
                                ranges[i].end, dstBins);
    if (i == 0 || e < bestError) {
      bestError = e;
      best = ranges[i];
    }
  }
  return best;
}

BinRange torchSearch(const double *hist, int64_t numBins, double binWidth,
                     int64_t dstBins) {
  // torch keeps the histogram and its cumulative sum as float32 tensors and
  // compares them with Python floats, which torch rounds to float32 first.
  // That rounding decides whether a bound stops at a bin whose cumulative
  // count equals the quantile up to float precision (e.g. 200000 against
  // 0.99999 * 200002 = 199999.99998), so it is kept. cumsum accumulates in
  // double, as ATen's CPU kernel does.
  std::vector<float> cSum(numBins);
  double acc = 0.0;
  for (int64_t i = 0; i < numBins; ++i) {
    acc += static_cast<float>(hist[i]);
    cSum[i] = static_cast<float>(acc);
  }
  double total = static_cast<float>(acc);

  double alpha = 0.0, beta = 1.0;
  int64_t startBin = 0, endBin = numBins - 1;
  double normMin = HUGE_VAL;
  while (alpha < beta) {
    double nextAlpha = alpha + kTorchStep;
    double nextBeta = beta - kTorchStep;
    // The bins at the next quantile bounds.
    int64_t l = startBin, r = endBin;
    auto alphaCount = static_cast<float>(nextAlpha * total);
    auto betaCount = static_cast<float>(nextBeta * total);
    while (l < endBin && cSum[l] < alphaCount)
      ++l;
    while (r > startBin && cSum[r] > betaCount)
      --r;
    // Move the bound that skips more bins.
    int64_t nextStart = startBin, nextEnd = endBin;
    if (l - startBin > endBin - r) {
      nextStart = l;
      alpha = nextAlpha;
    } else {
      nextEnd = r;
      beta = nextBeta;
    }
    if (nextStart == startBin && nextEnd == endBin)
      continue;
    double norm =
        histogramL2Error(hist, numBins, binWidth, nextStart, nextEnd, dstBins);
    if (norm > normMin)
      break;
    normMin = norm;
    startBin = nextStart;
    endBin = nextEnd;
  }
  return {startBin, endBin};
}

} // namespace

std::string amct::quant::validateHfmgBins(int numBins) {
  if (numBins == 1024 || numBins == 2048 || numBins == 4096 || numBins == 8192)
    return "";
  return "num_of_bins " + std::to_string(numBins) +
         " must be one of 1024, 2048, 4096, 8192";
}

double amct::quant::histogramL2Error(const double *hist, int64_t numBins,
                                     double binWidth, int64_t startBin,
                                     int64_t endBin, int64_t dstBins) {
  assert(0 <= startBin && startBin <= endBin && endBin < numBins &&
         dstBins >= 1 && "bad bin range");
  int64_t len = endBin - startBin + 1;
  double dstWidth =
      binWidth * static_cast<double>(len) / static_cast<double>(dstBins);
  if (!(dstWidth > 0.0))
    return 0.0;
  double half = dstWidth / 2;
  double fullBinNorm = l2Norm(-half, half, 1.0);
  double error = 0.0;
  for (int64_t i = 0; i < numBins; ++i) {
    if (hist[i] == 0.0)
      continue;
    // Source bin i spans [(i - start) w, (i - start + 1) w] from the first
    // level's lower edge; in level units that is (i - start) * dst / len, so
    // its levels are exact integer floors, clamped to the outer levels.
    int64_t num = (i - startBin) * dstBins;
    int64_t beginLevel =
        std::clamp<int64_t>(floorDiv(num, len), 0, dstBins - 1);
    int64_t endLevel =
        std::clamp<int64_t>(floorDiv(num + dstBins, len), 0, dstBins - 1);
    double srcBegin = static_cast<double>(i - startBin) * binWidth;
    double srcEnd = srcBegin + binWidth;
    double density = hist[i] / binWidth;
    double beginCenter = (static_cast<double>(beginLevel) + 0.5) * dstWidth;
    if (beginLevel == endLevel) {
      error += l2Norm(srcBegin - beginCenter, srcEnd - beginCenter, density);
      continue;
    }
    double endCenter = (static_cast<double>(endLevel) + 0.5) * dstWidth;
    error += l2Norm(srcBegin - beginCenter, half, density);
    error +=
        static_cast<double>(endLevel - beginLevel - 1) * density * fullBinNorm;
    error += l2Norm(-half, srcEnd - endCenter, density);
  }
  return error;
}

std::vector<BinRange> amct::quant::amctSearchRanges(const double *hist,
                                                    int64_t numBins) {
  std::vector<BinRange> ranges;
  if (numBins <= 0)
    return ranges;
  double total = 0.0;
  for (int64_t i = 0; i < numBins; ++i)
    total += hist[i];
  // Counts are whole numbers of values; re-binning may leave the sum a hair
  // off one, which must not change the step.
  double step = std::max(std::ceil(std::round(total) / kAmctStepDivisor), 1.0);
  int64_t minBins = (numBins + kAmctMinBinRatio - 1) / kAmctMinBinRatio;
  int64_t left = 0, right = numBins - 1;
  while (right - left > minBins) {
    // Take `step` counts off each end (the right end only from what the left
    // end left), then cut the end that lost more bins.
    int64_t l = left, r = right;
    double leftSum = 0.0, rightSum = 0.0;
    while (l < r && leftSum < step)
      leftSum += hist[l++];
    while (l < r && rightSum < step)
      rightSum += hist[r--];
    if (right - r >= l - left)
      right = r;
    else
      left = l;
    ranges.push_back({left, right});
  }
  return ranges;
}

BinRange amct::quant::histogramSearch(const double *hist, int64_t numBins,
                                      double binWidth, int64_t dstBins,
                                      HfmgSearch method) {
  assert(numBins >= 1 && "empty histogram");
  if (method == HfmgSearch::PyTorch)
    return torchSearch(hist, numBins, binWidth, dstBins);
  return amctSearch(hist, numBins, binWidth, dstBins);
}

//===----------------------------------------------------------------------===//
// HfmgObserver
//===----------------------------------------------------------------------===//

std::optional<HfmgObserver> HfmgObserver::create(int numBins,
                                                 std::string &error) {
  std::string msg = validateHfmgBins(numBins);
  if (!msg.empty()) {
    error = msg;
    return std::nullopt;
  }
  return HfmgObserver(numBins);
}

void HfmgObserver::rebin(float newMin, float newMax) {
  auto numBins = static_cast<int64_t>(hist.size());
  std::vector<double> merged(hist.size(), 0.0);
  double lo = newMin, hi = newMax;
  if (maxVal == minVal) {
    // A point mass at minVal.
    double mass = 0.0;
    for (double c : hist)
      mass += c;
    merged[binOf(minVal, lo, hi, numBins)] = mass;
    hist.swap(merged);
    minVal = newMin;
    maxVal = newMax;
    return;
  }
  // Old bin i spans [base + i * ratio, base + (i + 1) * ratio] in units of
  // new bins; its count is split by overlap.
  double newWidth = (hi - lo) / static_cast<double>(numBins);
  double oldWidth =
      (static_cast<double>(maxVal) - minVal) / static_cast<double>(numBins);
  double base = (static_cast<double>(minVal) - lo) / newWidth;
  double ratio = oldWidth / newWidth;
  auto top = static_cast<double>(numBins);
  for (int64_t i = 0; i < numBins; ++i) {
    double c = hist[i];
    if (c == 0.0)
      continue;
    double a = std::clamp(base + static_cast<double>(i) * ratio, 0.0, top);
    double b = std::clamp(base + static_cast<double>(i + 1) * ratio, 0.0, top);
    if (!(b > a)) {
      merged[std::min(static_cast<int64_t>(a), numBins - 1)] += c;
      continue;
    }
    int64_t j0 = std::min(static_cast<int64_t>(std::floor(a)), numBins - 1);
    int64_t j1 = std::min(static_cast<int64_t>(std::ceil(b)) - 1, numBins - 1);
    for (int64_t j = j0; j <= j1; ++j) {
      double overlap = std::min(b, static_cast<double>(j + 1)) -
                       std::max(a, static_cast<double>(j));
      if (overlap > 0.0)
        merged[j] += c * (overlap / (b - a));
    }
  }
  hist.swap(merged);
  minVal = newMin;
  maxVal = newMax;
}

void HfmgObserver::observe(const float *data, int64_t count) {
  assert((data || count == 0) && "null data");
  FiniteRange range = finiteRange(data, count);
  numNonFinite += range.nonFinite;
  if (range.finite == 0)
    return;
  float batchMin = range.min, batchMax = range.max;
  if (numValues == 0) {
    minVal = batchMin;
    maxVal = batchMax;
  } else if (batchMin < minVal || batchMax > maxVal) {
    rebin(std::min(minVal, batchMin), std::max(maxVal, batchMax));
  }
  numValues += range.finite;

  auto numBins = static_cast<int64_t>(hist.size());
  if (maxVal == minVal) {
    // All values seen are equal: keep them as a point mass in bin 0.
    hist[0] += static_cast<double>(range.finite);
    return;
  }
  double lo = minVal, hi = maxVal;
  for (int64_t i = 0; i < count; ++i) {
    if (std::isfinite(data[i]))
      hist[binOf(data[i], lo, hi, numBins)] += 1.0;
  }
}

std::optional<HfmgResult> HfmgObserver::search(int numBits, bool asymmetric,
                                               HfmgSearch method,
                                               std::string &error) const {
  assert(numBits >= 2 && numBits <= 16 && "numBits must be in [2, 16]");
  if (numNonFinite) {
    error = std::to_string(numNonFinite) +
            " non-finite values in the calibration data";
    return std::nullopt;
  }
  if (numValues == 0) {
    error = "no calibration data observed";
    return std::nullopt;
  }
  auto numBins = static_cast<int64_t>(hist.size());
  HfmgResult r;
  if (maxVal == minVal) {
    r.bins = {0, numBins - 1};
    r.clip = {minVal, maxVal};
  } else {
    double width =
        (static_cast<double>(maxVal) - minVal) / static_cast<double>(numBins);
    r.bins = histogramSearch(hist.data(), numBins, width, int64_t(1) << numBits,
                             method);
    r.clip.lo =
        static_cast<float>(minVal + static_cast<double>(r.bins.start) * width);
    r.clip.hi = static_cast<float>(minVal +
                                   static_cast<double>(r.bins.end + 1) * width);
  }
  r.params = paramsFromRange(r.clip.lo, r.clip.hi, numBits, asymmetric);
  return r;
}

std::optional<QuantParams> HfmgObserver::finalize(int numBits, bool asymmetric,
                                                  std::string &error,
                                                  HfmgSearch method) const {
  std::optional<HfmgResult> r = search(numBits, asymmetric, method, error);
  if (!r)
    return std::nullopt;
  return r->params;
}
