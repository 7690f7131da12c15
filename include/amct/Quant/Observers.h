//===- Observers.h - activation calibration algorithms ----------*- C++ -*-===//
//
// The statistics an `amct.observer` accumulates over the calibration batches
// and the activation parameters computed from them at the end: MinMax, AMCT's
// IFMR (search over clip values scaled from percentiles) and AMCT's HFMG
// (histogram, then a search over shrunken ranges). Each observer takes
// batches with observe() and yields parameters with finalize().
//
// Non-finite values are not accumulated; they are counted and finalize()
// fails if any was seen (AMCT rejects calibration data with inf or NaN).
// finalize() also fails when no value was observed.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_QUANT_OBSERVERS_H
#define AMCT_QUANT_OBSERVERS_H

#include "amct/Quant/Quant.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace amct::quant {

//===----------------------------------------------------------------------===//
// MinMax
//===----------------------------------------------------------------------===//

/// Running minimum and maximum; parameters from paramsFromRange(min, max).
class MinMaxObserver {
public:
  /// Accumulates one batch.
  void observe(const float *data, int64_t count);

  /// Parameters of [min, max] widened to contain 0.
  std::optional<QuantParams> finalize(int numBits, bool asymmetric,
                                      std::string &error) const;

  /// Finite values seen so far.
  int64_t count() const { return numValues; }
  float min() const { return minVal; }
  float max() const { return maxVal; }

private:
  float minVal = std::numeric_limits<float>::infinity();
  float maxVal = -std::numeric_limits<float>::infinity();
  int64_t numValues = 0;
  int64_t numNonFinite = 0;
};

//===----------------------------------------------------------------------===//
// IFMR
//===----------------------------------------------------------------------===//

/// IFMR's config keys (AMCT defaults).
struct IfmrConfig {
  /// `max_percentile`, in (0.5, 1].
  double maxPercentile = 0.999999;
  /// `min_percentile`, in (0.5, 1].
  double minPercentile = 0.999999;
  /// `search_range[0]`, > 0.
  double searchStart = 0.7;
  /// `search_range[1]`, > searchStart.
  double searchEnd = 1.3;
  /// `search_step`, > 0 and <= searchEnd - searchStart.
  double searchStep = 0.01;
};

/// Checks `config` as AMCT's config parser does; returns "" if it is valid,
/// else a message naming the key.
std::string validateIfmrConfig(const IfmrConfig &config);

/// The candidate multipliers, numpy.arange(searchStart, searchEnd,
/// searchStep) computed the way numpy computes it: length
/// ceil((end - start) / step), element i = start + i * ((start + step) -
/// start). With the defaults that is 61 values, 0.70 ... 1.30: (1.3 - 0.7) /
/// 0.01 is 60.00000000000001 in double, so the end is included, as it is in
/// numpy, in torch.arange (AMCT's PyTorch code) and in AMCT's C++ kernel.
/// Requires a valid config.
std::vector<double> ifmrMultipliers(const IfmrConfig &config);

/// The 1-based rank k of a percentile start among n values:
/// k = n - int(percentile * n), or 1 when 1 - percentile < FLT_EPSILON (as
/// AMCT), clamped to [1, n]. With the default 0.999999 and n < 10^6 it is 1,
/// the extreme value.
int64_t ifmrStartRank(int64_t n, double percentile);

/// Everything the IFMR search computed, for diagnostics and tests.
struct IfmrResult {
  /// The start clip values: lo = min(0, k-th smallest), hi = max(0, k-th
  /// largest).
  ClipRange start;
  /// Candidate multipliers (ifmrMultipliers) and the MSE of each.
  std::vector<double> multipliers;
  std::vector<double> mse;
  /// Index of the chosen candidate: the lowest MSE, the first on ties.
  size_t best = 0;
  /// The chosen clip range and its parameters.
  ClipRange clip;
  QuantParams params;
};

/// IFMR on `values` (not modified). For each multiplier m the candidate clip
/// range is
///   symmetric:  c = max(|start.lo|, |start.hi|) * m, range [-c, c];
///   asymmetric: [start.lo, start.hi * m] -- only the upper bound is searched,
///               as in AMCT's IFMR (both its C++ kernel and its PyTorch code);
/// its parameters come from paramsFromRange and its score is the MSE of
/// fakeQuant over all values. The k-th values are found by an exact radix
/// selection (two passes, no copy); the MSEs of all candidates come from one
/// pass (fakeQuantMses, its candidates split over `threads` threads, the
/// result independent of that number). Fails on an empty span or a
/// non-finite value. Requires a valid config.
std::optional<IfmrResult> ifmrSearch(const float *values, int64_t count,
                                     const IfmrConfig &config, int numBits,
                                     bool asymmetric, std::string &error,
                                     int threads = 1);

/// Keeps every finite non-zero observed value until the search (4 bytes
/// each: a [32, 64, 112, 112] activation over 4 batches holds up to ~411 MB)
/// because the percentiles and the MSE need them all, as in AMCT; zeros (half
/// of a ReLU output) are only counted, as they add nothing to an error sum.
/// finalizeWithLast() takes the last batch without copying it, so a layer
/// calibrated in one batch keeps nothing, and frees the kept values.
class IfmrObserver {
public:
  /// Fails with validateIfmrConfig's message.
  static std::optional<IfmrObserver> create(const IfmrConfig &config,
                                            std::string &error);

  /// Appends one batch.
  void observe(const float *data, int64_t count);

  /// Runs ifmrSearch on the kept values.
  std::optional<IfmrResult> search(int numBits, bool asymmetric,
                                   std::string &error, int threads = 1);
  /// search()'s parameters.
  std::optional<QuantParams> finalize(int numBits, bool asymmetric,
                                      std::string &error, int threads = 1);
  /// observe(data) then finalize() and release(), without copying `data`
  /// when nothing was kept before.
  std::optional<QuantParams> finalizeWithLast(const float *data, int64_t count,
                                              int numBits, bool asymmetric,
                                              std::string &error,
                                              int threads = 1);
  /// Frees the kept values.
  void release();

  /// Finite values observed so far (zeros included).
  int64_t count() const { return static_cast<int64_t>(values.size()) + zeros; }
  /// Bytes held for the search.
  size_t bytesKept() const { return values.capacity() * sizeof(float); }
  const IfmrConfig &config() const { return cfg; }

private:
  explicit IfmrObserver(const IfmrConfig &config) : cfg(config) {}

  IfmrConfig cfg;
  /// The finite non-zero values, in order, and the count of zeros.
  std::vector<float> values;
  int64_t zeros = 0;
  int64_t numNonFinite = 0;
};

//===----------------------------------------------------------------------===//
// HFMG
//===----------------------------------------------------------------------===//

/// AMCT's default `num_of_bins`.
constexpr int kDefaultHfmgBins = 4096;

/// Returns "" if `numBins` is one of AMCT's 1024, 2048, 4096, 8192.
std::string validateHfmgBins(int numBins);

/// Which range search HFMG runs on the final histogram.
enum class HfmgSearch {
  /// AMCT's (HfmgGetSearchRange + HfmgCalculateLoss): starting from the full
  /// histogram, repeatedly take about ceil(total / 100000) counts off each
  /// end and cut the end that loses more bins (the sparser tail; the right
  /// end on ties), recording every range while it is wider than
  /// ceil(bins / 4) bins; the recorded range with the lowest L2 error wins.
  /// Quirks kept: the full range itself is never scored; and with at most
  /// 100000 values the step is one count, so the left cut always costs one
  /// bin (the minimum's) and the lower bound never moves.
  Amct,
  /// PyTorch's HistogramObserver._non_linear_param_search: quantile bounds
  /// advance by 1e-5 of the total from the side that skips more bins, and
  /// the search stops at the first range whose error exceeds the previous.
  /// Cumulative counts and quantile thresholds are compared in float32, as
  /// torch compares its float32 tensors with Python floats: that decides
  /// where a bound stops when a cumulative count equals a quantile up to
  /// float precision, and so which range wins.
  PyTorch,
};

/// An inclusive range of histogram bins.
struct BinRange {
  int64_t start = 0;
  int64_t end = 0;
};

/// L2 error of quantizing the histogram's values, assumed uniform within each
/// bin, to `dstBins` levels spread over bins [startBin, endBin] with values
/// outside clamped to the end levels: PyTorch's
/// HistogramObserver._compute_quantization_error (= AMCT's
/// HfmgCalculateLoss). Which level a bin edge falls in is computed with exact
/// integer arithmetic, the rest in double. 0 when binWidth is 0.
double histogramL2Error(const double *hist, int64_t numBins, double binWidth,
                        int64_t startBin, int64_t endBin, int64_t dstBins);

/// The ranges AMCT's search scores, in the order it records them.
std::vector<BinRange> amctSearchRanges(const double *hist, int64_t numBins);

/// Runs a range search on a histogram of `numBins` bins of `binWidth`.
BinRange histogramSearch(const double *hist, int64_t numBins, double binWidth,
                         int64_t dstBins, HfmgSearch method);

/// HFMG's result: the chosen bins, the clip range they span and its
/// parameters.
struct HfmgResult {
  BinRange bins;
  ClipRange clip;
  QuantParams params;
};

/// A histogram of `numBins` bins over the running [min, max] of the data.
/// The first batch sets the range; a batch that widens it re-bins the old
/// histogram into the new range, each old bin's count split among the new
/// bins it overlaps in proportion to the overlap (counts are assumed uniform
/// within a bin, as AMCT and PyTorch do; counts therefore become fractional,
/// where AMCT floors them), and is then added over the new range. A value's
/// bin is floor((x - min) * bins / (max - min)) in double, the maximum going
/// to the last bin. While min == max the whole mass is a point at min.
/// Memory: numBins doubles.
class HfmgObserver {
public:
  /// Fails with validateHfmgBins's message.
  static std::optional<HfmgObserver> create(int numBins, std::string &error);

  /// Accumulates one batch.
  void observe(const float *data, int64_t count);

  /// Searches the histogram with `dstBins` = 2^numBits; the clip range is
  /// [min + start * w, min + (end + 1) * w] with w = (max - min) / bins.
  std::optional<HfmgResult> search(int numBits, bool asymmetric,
                                   HfmgSearch method, std::string &error) const;
  /// search()'s parameters.
  std::optional<QuantParams>
  finalize(int numBits, bool asymmetric, std::string &error,
           HfmgSearch method = HfmgSearch::Amct) const;

  const std::vector<double> &histogram() const { return hist; }
  float min() const { return minVal; }
  float max() const { return maxVal; }
  /// Finite values seen so far.
  int64_t count() const { return numValues; }

private:
  explicit HfmgObserver(int numBins) : hist(numBins, 0.0) {}

  /// Re-bins the histogram from [minVal, maxVal] to [newMin, newMax].
  void rebin(float newMin, float newMax);

  std::vector<double> hist;
  float minVal = 0.0f;
  float maxVal = 0.0f;
  int64_t numValues = 0;
  int64_t numNonFinite = 0;
};

} // namespace amct::quant

#endif // AMCT_QUANT_OBSERVERS_H
