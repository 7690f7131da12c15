//===- MinMax.cpp - the MinMax activation observer ------------------------===//
//
// The simplest calibration: the range of everything observed.
//
//===----------------------------------------------------------------------===//

#include "amct/Quant/Observers.h"

#include <cassert>
#include <cmath>

using namespace amct::quant;

void MinMaxObserver::observe(const float *data, int64_t count) {
  assert((data || count == 0) && "null data");
  FiniteRange range = finiteRange(data, count);
  numNonFinite += range.nonFinite;
  numValues += range.finite;
  if (range.finite) {
    minVal = std::fmin(minVal, range.min);
    maxVal = std::fmax(maxVal, range.max);
  }
}

std::optional<QuantParams> MinMaxObserver::finalize(int numBits,
                                                    bool asymmetric,
                                                    std::string &error) const {
  if (numNonFinite) {
    error = std::to_string(numNonFinite) +
            " non-finite values in the calibration data";
    return std::nullopt;
  }
  if (numValues == 0) {
    error = "no calibration data observed";
    return std::nullopt;
  }
  return paramsFromRange(minVal, maxVal, numBits, asymmetric);
}
