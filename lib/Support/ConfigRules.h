//===- ConfigRules.h - what both config forms share -------------*- C++ -*-===//
//
// Private to lib/Support: the key vocabulary and value rules of AMCT's
// quant config, shared by the JSON reader (QuantConfigJson.cpp) and the
// simple config (SimpleConfig.cpp). Each check returns an empty string when
// the value is fine, else what is wrong; callers add the file and the key.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_LIB_SUPPORT_CONFIGRULES_H
#define AMCT_LIB_SUPPORT_CONFIGRULES_H

#include "amct/Support/QuantConfig.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace amct::detail {


inline const char *const kGlobalKeys[] = {"version", "batch_num", "activation_offset",
                                   "do_fusion", "skip_fusion_layers"};
inline const char *const kLayerKeys[] = {"quant_enable", "dmq_balancer_param",
                                  "activation_quant_params",
                                  "weight_quant_params"};
inline const char *const kActKeys[] = {
    "num_bits",    "max_percentile", "min_percentile", "search_range",
    "search_step", "act_algo",       "num_of_bins",    "asymmetric"};
inline const char *const kIfmrKeys[] = {"max_percentile", "min_percentile",
                                 "search_range", "search_step"};
inline const char *const kWtsKeys[] = {"num_bits",      "wts_algo",  "channel_wise",
                                "num_iteration", "reg_param", "beta_range",
                                "warm_start"};
inline const char *const kAdaKeys[] = {"num_iteration", "reg_param", "beta_range",
                                "warm_start"};

template <size_t N>
inline bool isOneOf(const std::string &s, const char *const (&set)[N]) {
  for (const char *item : set)
    if (s == item)
      return true;
  return false;
}

template <size_t N> std::string joinKeys(const char *const (&set)[N]) {
  std::string out;
  for (const char *item : set) {
    if (!out.empty())
      out += ", ";
    out += item;
  }
  return out;
}

inline std::string quote(const std::string &s) { return "'" + s + "'"; }

// The layer-type rules (isChannelWiseType, allowsChannelWise, isAdaType,
// isSymmetricOnlyType, isDmqType) are public: amct/Support/QuantConfig.h.


// Each rule returns an empty string when the value is fine, else what is
// wrong; callers add the file and the key or location.

inline std::string checkPercentile(double value) {
  if (value > 0.5 && value <= 1.0)
    return "";
  return "must be greater than 0.5 and at most 1.0, got " +
         formatDoubleRepr(value);
}

inline std::string checkSearchRange(double start, double end) {
  // A .cfg float overflows to inf (found by amct-simple-config-fuzzer);
  // JSON cannot even write it.
  if (!std::isfinite(start) || !std::isfinite(end))
    return "the start and end must be finite numbers, got " +
           formatDoubleRepr(start) + " and " + formatDoubleRepr(end);
  if (!(start > 0))
    return "the start must be greater than 0, got " + formatDoubleRepr(start);
  if (!(start < end))
    return "the start must be less than the end, got " +
           formatDoubleRepr(start) + " and " + formatDoubleRepr(end);
  return "";
}

inline std::string checkSearchStep(double step, double start, double end) {
  if (!(step > 0))
    return "must be greater than 0, got " + formatDoubleRepr(step);
  // AMCT compares decimal strings; a relative tolerance stands in for that
  // so that 0.6 is accepted for [0.7, 1.3] (1.3 - 0.7 = 0.6000000000000001)
  // and 0.2 for [0.1, 0.3] (0.19999999999999998).
  double length = end - start;
  if (step > length * (1 + 1e-12) + 1e-15)
    return "must be at most the search range's length " +
           formatDoubleRepr(end) + " - " + formatDoubleRepr(start) + ", got " +
           formatDoubleRepr(step);
  return "";
}

inline std::string checkNumOfBins(long long bins) {
  if (bins == 1024 || bins == 2048 || bins == 4096 || bins == 8192)
    return "";
  return "must be 1024, 2048, 4096 or 8192, got " + std::to_string(bins);
}

inline std::string checkMigrationStrength(double value) {
  if (value >= 0.2 && value <= 0.8)
    return "";
  return "must be in [0.2, 0.8], got " + formatDoubleRepr(value);
}

inline std::string checkOpenUnit(double value) {
  if (value > 0 && value < 1)
    return "";
  return "must be greater than 0 and less than 1, got " +
         formatDoubleRepr(value);
}

inline std::string checkBetaRange(double start, double end) {
  if (!(start > end))
    return "the start must be greater than the end, got " +
           formatDoubleRepr(start) + " and " + formatDoubleRepr(end);
  if (!(end > 0))
    return "the end must be greater than 0, got " + formatDoubleRepr(end);
  return "";
}

inline std::string checkNumBits(long long bits, const char *what) {
  if (bits == 8)
    return "";
  return std::string("must be 8 (amct-mlir quantizes ") + what +
         " to 8 bits only), got " + std::to_string(bits);
}

inline std::string prefixed(const std::string &fileName, const std::string &rest) {
  return fileName.empty() ? rest : fileName + ": " + rest;
}

/// Checks the caller's layer list and returns the map name -> type.
inline bool indexLayers(const LayerList &layers, const std::string &fileName,
                 std::map<std::string, std::string> &types,
                 std::string &error) {
  for (const auto &[name, type] : layers) {
    if (name.empty()) {
      error = prefixed(fileName, "a quantizable layer of the model has an "
                                 "empty name; layer names are config keys");
      return false;
    }
    if (std::find(quantizableLayerTypes().begin(),
                  quantizableLayerTypes().end(),
                  type) == quantizableLayerTypes().end()) {
      error = prefixed(fileName, "layer " + quote(name) + " has type " +
                                     quote(type) +
                                     ", which is not a quantizable layer type "
                                     "(Conv2d, Conv3d, ConvTranspose2d, "
                                     "Linear, AvgPool2d)");
      return false;
    }
    if (isOneOf(name, kGlobalKeys)) {
      error = prefixed(fileName, "layer " + quote(name) +
                                     " has the name of a global config key, "
                                     "so it cannot be configured");
      return false;
    }
    if (!types.emplace(name, type).second) {
      error =
          prefixed(fileName, "two quantizable layers of the model are "
                             "named " +
                                 quote(name) + "; layer names must be unique");
      return false;
    }
  }
  return true;
}

/// "(quantizable layers: a, b, c, ...)" for messages about unknown names.
inline std::string knownLayersHint(const LayerList &layers) {
  std::string out = " (quantizable layers: ";
  size_t shown = std::min<size_t>(layers.size(), 12);
  for (size_t i = 0; i < shown; ++i)
    out += (i ? ", " : "") + layers[i].first;
  if (shown < layers.size())
    out += ", ... " + std::to_string(layers.size() - shown) + " more";
  if (layers.empty())
    out += "none";
  return out + ")";
}


/// Whether the text is only whitespace (an empty config file).
inline bool isBlank(const std::string &text) {
  return text.find_first_not_of(" \t\r\n\f\v") == std::string::npos;
}

} // namespace amct::detail

#endif // AMCT_LIB_SUPPORT_CONFIGRULES_H
