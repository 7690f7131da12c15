//===- QuantConfig.cpp - AMCT quantization configs ------------------------===//
//
// The rules follow AMCT's own config code (hicann/amct,
// amct_pytorch/common/config/field.py, config_base.py, proto_config.py): the
// same keys, defaults, ranges and precedence, so a config AMCT accepts means
// the same here, and one it rejects is rejected here too. Where amct-mlir
// supports less (8-bit only, no fakequant_precision_mode) the message says so.
//
// JSON is read with nlohmann-json through its SAX interface, never with
// exceptions: the SAX handler captures syntax errors with their position and
// catches duplicate keys (which the DOM parser would silently overwrite and
// AMCT rejects). Values are only read through get_ptr, which cannot throw.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/QuantConfig.h"
#include "ProtoText.h"
#include "amct/Support/FileAccess.h"

#include "amct_config.pb.h"

#include <google/protobuf/io/strtod.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

using namespace amct;
namespace pb = google::protobuf;
using OJson = nlohmann::ordered_json;

//===----------------------------------------------------------------------===//
// Number formatting
//===----------------------------------------------------------------------===//

namespace {

/// Splits a std::to_chars/printf scientific string ("-1.2345e-05") into its
/// significant digits without trailing zeros ("12345") and exponent (-5).
void splitScientific(const char *s, bool &negative, std::string &digits,
                     int &exponent) {
  negative = *s == '-';
  if (negative)
    ++s;
  digits.clear();
  for (; *s && *s != 'e' && *s != 'E'; ++s)
    if (*s != '.')
      digits += *s;
  exponent = *s ? std::atoi(s + 1) : 0;
  while (digits.size() > 1 && digits.back() == '0')
    digits.pop_back();
}

/// Python's float repr layout of digits d1d2... x 10^exponent (d1.d2...).
std::string pythonLayout(bool negative, const std::string &digits,
                         int exponent) {
  std::string out = negative ? "-" : "";
  if (digits == "0")
    return out + "0.0";
  if (exponent < -4 || exponent >= 16) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    out += exponent < 0 ? "e-" : "e+";
    int magnitude = std::abs(exponent);
    if (magnitude < 10)
      out += '0';
    out += std::to_string(magnitude);
  } else if (exponent < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exponent - 1), '0');
    out += digits;
  } else {
    size_t intDigits = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= intDigits) {
      out += digits;
      out.append(intDigits - digits.size(), '0');
      out += ".0";
    } else {
      out.append(digits, 0, intDigits);
      out += '.';
      out.append(digits, intDigits, std::string::npos);
    }
  }
  return out;
}

const char *nonFinite(double value) {
  if (std::isnan(value))
    return "nan";
  if (std::isinf(value))
    return value < 0 ? "-inf" : "inf";
  return nullptr;
}

/// How protobuf's text parser turns the decimal `s` into a float field:
/// strtod, then a double -> float conversion that maps anything above
/// FLT_MAX to infinity (so "3.4028235e+38", FLT_MAX's shortest float digits,
/// would read back as inf).
float parseLikeProtobuf(const char *s) {
  return pb::io::SafeDoubleToFloat(std::strtod(s, nullptr));
}

bool sameFloat(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

/// The shortest scientific decimal of `value` that protobuf reads back to
/// the same float bits.
std::string shortestFloatScientific(float value) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf - 1, value,
                           std::chars_format::scientific);
  *res.ptr = '\0';
  if (sameFloat(parseLikeProtobuf(buf), value))
    return buf;
  // to_chars' digits are shortest for a direct decimal -> float read; the
  // protobuf path differs near FLT_MAX. Search by precision; 17 digits give
  // the exact double of the float, which always reads back.
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1,
                  static_cast<double>(value));
    if (sameFloat(parseLikeProtobuf(buf), value))
      break;
  }
  return buf;
}

} // namespace

std::string amct::formatDoubleRepr(double value) {
  if (const char *special = nonFinite(value))
    return special;
  char buf[64];
  // std::to_chars gives the shortest digits that read back to the same
  // double: the digits of Python's repr.
  auto res = std::to_chars(buf, buf + sizeof buf - 1, value,
                           std::chars_format::scientific);
  *res.ptr = '\0';
  bool negative;
  std::string digits;
  int exponent;
  splitScientific(buf, negative, digits, exponent);
  return pythonLayout(negative, digits, exponent);
}

std::string amct::formatFloatRepr(float value) {
  if (const char *special = nonFinite(value))
    return special;
  bool negative;
  std::string digits;
  int exponent;
  splitScientific(shortestFloatScientific(value).c_str(), negative, digits,
                  exponent);
  return pythonLayout(negative, digits, exponent);
}

double amct::floatToShortestDouble(float value) {
  if (nonFinite(value))
    return static_cast<double>(value);
  return std::strtod(shortestFloatScientific(value).c_str(), nullptr);
}

//===----------------------------------------------------------------------===//
// Shared vocabulary and value rules
//===----------------------------------------------------------------------===//

namespace {

const char *const kGlobalKeys[] = {"version", "batch_num", "activation_offset",
                                   "do_fusion", "skip_fusion_layers"};
const char *const kLayerKeys[] = {"quant_enable", "dmq_balancer_param",
                                  "activation_quant_params",
                                  "weight_quant_params"};
const char *const kActKeys[] = {
    "num_bits",    "max_percentile", "min_percentile", "search_range",
    "search_step", "act_algo",       "num_of_bins",    "asymmetric"};
const char *const kIfmrKeys[] = {"max_percentile", "min_percentile",
                                 "search_range", "search_step"};
const char *const kWtsKeys[] = {"num_bits",      "wts_algo",  "channel_wise",
                                "num_iteration", "reg_param", "beta_range",
                                "warm_start"};
const char *const kAdaKeys[] = {"num_iteration", "reg_param", "beta_range",
                                "warm_start"};

template <size_t N>
bool isOneOf(const std::string &s, const char *const (&set)[N]) {
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

std::string quote(const std::string &s) { return "'" + s + "'"; }

bool isChannelWiseType(const std::string &type) {
  return type == "Conv2d" || type == "Conv3d" || type == "ConvTranspose2d";
}
bool isAdaType(const std::string &type) {
  return type == "Conv2d" || type == "ConvTranspose2d" || type == "Linear";
}
/// Ascend quantizes Conv3d activations symmetrically only (AMCT's
/// SYMMETRIC_LIMIT_TYPES).
bool isSymmetricOnlyType(const std::string &type) { return type == "Conv3d"; }
/// DMQ scales weights: layers without weights cannot use it.
bool isDmqType(const std::string &type) { return type != "AvgPool2d"; }

// Each rule returns an empty string when the value is fine, else what is
// wrong; callers add the file and the key or location.

std::string checkPercentile(double value) {
  if (value > 0.5 && value <= 1.0)
    return "";
  return "must be greater than 0.5 and at most 1.0, got " +
         formatDoubleRepr(value);
}

std::string checkSearchRange(double start, double end) {
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

std::string checkSearchStep(double step, double start, double end) {
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

std::string checkNumOfBins(long long bins) {
  if (bins == 1024 || bins == 2048 || bins == 4096 || bins == 8192)
    return "";
  return "must be 1024, 2048, 4096 or 8192, got " + std::to_string(bins);
}

std::string checkMigrationStrength(double value) {
  if (value >= 0.2 && value <= 0.8)
    return "";
  return "must be in [0.2, 0.8], got " + formatDoubleRepr(value);
}

std::string checkOpenUnit(double value) {
  if (value > 0 && value < 1)
    return "";
  return "must be greater than 0 and less than 1, got " +
         formatDoubleRepr(value);
}

std::string checkBetaRange(double start, double end) {
  if (!(start > end))
    return "the start must be greater than the end, got " +
           formatDoubleRepr(start) + " and " + formatDoubleRepr(end);
  if (!(end > 0))
    return "the end must be greater than 0, got " + formatDoubleRepr(end);
  return "";
}

std::string checkNumBits(long long bits, const char *what) {
  if (bits == 8)
    return "";
  return std::string("must be 8 (amct-mlir quantizes ") + what +
         " to 8 bits only), got " + std::to_string(bits);
}

std::string prefixed(const std::string &fileName, const std::string &rest) {
  return fileName.empty() ? rest : fileName + ": " + rest;
}

/// Checks the caller's layer list and returns the map name -> type.
bool indexLayers(const LayerList &layers, const std::string &fileName,
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
std::string knownLayersHint(const LayerList &layers) {
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

} // namespace

const std::vector<std::string> &amct::quantizableLayerTypes() {
  static const std::vector<std::string> types = {
      "Conv2d", "Conv3d", "ConvTranspose2d", "Linear", "AvgPool2d"};
  return types;
}

const LayerQuantConfig *QuantConfig::find(const std::string &layerName) const {
  auto it = layers.find(layerName);
  return it == layers.end() ? nullptr : &it->second;
}

bool QuantConfig::isQuantized(const std::string &layerName) const {
  const LayerQuantConfig *layer = find(layerName);
  return layer && layer->quantEnable;
}

//===----------------------------------------------------------------------===//
// JSON reading
//===----------------------------------------------------------------------===//

namespace {

/// A SAX handler that builds the DOM like nlohmann's own, but records the
/// position of a syntax error and stops at a repeated key.
class StrictSax {
public:
  using Dom = nlohmann::detail::json_sax_dom_parser<OJson>;

  explicit StrictSax(OJson &root) : dom(root, /*allow_exceptions=*/false) {}

  bool null() { return element() && dom.null(); }
  bool boolean(bool v) { return element() && dom.boolean(v); }
  bool number_integer(OJson::number_integer_t v) {
    return element() && dom.number_integer(v);
  }
  bool number_unsigned(OJson::number_unsigned_t v) {
    return element() && dom.number_unsigned(v);
  }
  bool number_float(OJson::number_float_t v, const OJson::string_t &s) {
    return element() && dom.number_float(v, s);
  }
  bool string(OJson::string_t &v) { return element() && dom.string(v); }
  bool binary(OJson::binary_t &v) { return element() && dom.binary(v); }
  bool start_object(std::size_t n) {
    if (!element())
      return false;
    frames.push_back({true, {}, "", 0});
    return dom.start_object(n);
  }
  bool key(OJson::string_t &k) {
    Frame &frame = frames.back();
    if (!frame.keys.insert(k).second) {
      duplicateKey = path();
      duplicateKey += duplicateKey.empty() ? k : "." + k;
      return false;
    }
    frame.current = k;
    return dom.key(k);
  }
  bool end_object() {
    frames.pop_back();
    return dom.end_object();
  }
  bool start_array(std::size_t n) {
    if (!element())
      return false;
    frames.push_back({false, {}, "", 0});
    return dom.start_array(n);
  }
  bool end_array() {
    frames.pop_back();
    return dom.end_array();
  }
  template <class Exception>
  bool parse_error(std::size_t position, const std::string &lastToken,
                   const Exception &ex) {
    syntaxError = true;
    errorPosition = position;
    errorMessage = ex.what();
    return dom.parse_error(position, lastToken, ex);
  }

  bool syntaxError = false;
  std::size_t errorPosition = 0;
  std::string errorMessage;
  std::string duplicateKey;

private:
  struct Frame {
    bool isObject;
    std::set<std::string> keys;
    std::string current;
    size_t nextIndex;
  };

  /// Called at the start of every value, to count array elements.
  bool element() {
    if (!frames.empty() && !frames.back().isObject)
      frames.back().current =
          "[" + std::to_string(frames.back().nextIndex++) + "]";
    return true;
  }

  std::string path() const {
    std::string out;
    for (size_t i = 0; i + 1 < frames.size(); ++i) {
      const std::string &part = frames[i].current;
      if (!out.empty() && part[0] != '[')
        out += '.';
      out += part;
    }
    return out;
  }

  Dom dom;
  std::vector<Frame> frames;
};

/// 1-based line and column of byte `offset` of `text`.
void lineColumn(const std::string &text, size_t offset, size_t &line,
                size_t &column) {
  offset = std::min(offset, text.size());
  line = 1;
  size_t lineStart = 0;
  for (size_t i = 0; i < offset; ++i)
    if (text[i] == '\n') {
      ++line;
      lineStart = i + 1;
    }
  column = offset - lineStart + 1;
}

bool isBlank(const std::string &text) {
  return text.find_first_not_of(" \t\r\n\f\v") == std::string::npos;
}

/// Parses JSON text into `root` or sets `error` (with line:col).
bool parseJsonStrict(const std::string &text, const std::string &fileName,
                     OJson &root, std::string &error) {
  if (isBlank(text)) {
    error = prefixed(fileName, "the config file is empty");
    return false;
  }
  StrictSax sax(root);
  bool ok = OJson::sax_parse(text, &sax, nlohmann::detail::input_format_t::json,
                             /*strict=*/true, /*ignore_comments=*/false);
  if (ok)
    return true;
  if (!sax.duplicateKey.empty()) {
    error = prefixed(fileName, "duplicate key " + quote(sax.duplicateKey) +
                                   " (every key may appear once)");
    return false;
  }
  // nlohmann's message reads "[json.exception.parse_error.101] parse error
  // at line 3, column 5: syntax error while parsing ..."; keep the part
  // after the location, and give the location in file:line:col form.
  std::string message = sax.errorMessage;
  size_t columnAt = message.find(", column ");
  size_t colon = columnAt == std::string::npos ? message.find("] ")
                                               : message.find(": ", columnAt);
  if (colon != std::string::npos)
    message = message.substr(colon + 2);
  // The position counts the characters read, the offending one included.
  size_t line, column;
  lineColumn(text, sax.errorPosition ? sax.errorPosition - 1 : 0, line, column);
  error = (fileName.empty() ? std::string("<config>") : fileName) + ":" +
          std::to_string(line) + ":" + std::to_string(column) +
          ": invalid JSON: " + message;
  return false;
}

/// A short description of a JSON value for messages.
std::string describe(const OJson &value) {
  if (value.is_object())
    return "an object";
  if (value.is_array())
    return "an array";
  std::string dump =
      value.dump(-1, ' ', false, nlohmann::detail::error_handler_t::replace);
  if (dump.size() > 40)
    dump = dump.substr(0, 37) + "...";
  return dump;
}

/// Reads typed values out of the JSON DOM, failing with the key path.
class JsonReader {
public:
  JsonReader(const std::string &fileName, std::string &error)
      : fileName(fileName), error(error) {}

  bool fail(const std::string &path, const std::string &message) {
    error = prefixed(fileName, path + ": " + message);
    return false;
  }

  bool readBool(const OJson &value, const std::string &path, bool &out) {
    if (const auto *b = value.get_ptr<const OJson::boolean_t *>()) {
      out = *b;
      return true;
    }
    return fail(path, "expected true or false, got " + describe(value));
  }

  /// An integer within the range of int. (get_ptr to number_integer_t also
  /// answers for unsigned values, reinterpreting them, so unsigned first.)
  bool readInt(const OJson &value, const std::string &path, long long &out) {
    if (const auto *u = value.get_ptr<const OJson::number_unsigned_t *>()) {
      if (*u > static_cast<OJson::number_unsigned_t>(
                   std::numeric_limits<int>::max()))
        return fail(path,
                    "the integer " + std::to_string(*u) + " is out of range");
      out = static_cast<long long>(*u);
      return true;
    }
    if (const auto *i = value.get_ptr<const OJson::number_integer_t *>()) {
      if (*i < std::numeric_limits<int>::min() ||
          *i > std::numeric_limits<int>::max())
        return fail(path,
                    "the integer " + std::to_string(*i) + " is out of range");
      out = *i;
      return true;
    }
    return fail(path, "expected an integer, got " + describe(value));
  }

  bool readNumber(const OJson &value, const std::string &path, double &out) {
    if (const auto *f = value.get_ptr<const OJson::number_float_t *>()) {
      out = *f;
      return true;
    }
    if (const auto *u = value.get_ptr<const OJson::number_unsigned_t *>()) {
      out = static_cast<double>(*u);
      return true;
    }
    if (const auto *i = value.get_ptr<const OJson::number_integer_t *>()) {
      out = static_cast<double>(*i);
      return true;
    }
    return fail(path, "expected a number, got " + describe(value));
  }

  bool readString(const OJson &value, const std::string &path,
                  std::string &out) {
    if (const auto *s = value.get_ptr<const OJson::string_t *>()) {
      out = *s;
      return true;
    }
    return fail(path, "expected a string, got " + describe(value));
  }

  /// A list of two numbers, as search_range and beta_range are.
  bool readPair(const OJson &value, const std::string &path, double &first,
                double &second) {
    const auto *array = value.get_ptr<const OJson::array_t *>();
    if (!array || array->size() != 2)
      return fail(path,
                  "expected a list of two numbers, got " +
                      (array ? "a list of " + std::to_string(array->size()) +
                                   " elements"
                             : describe(value)));
    return readNumber((*array)[0], path + "[0]", first) &&
           readNumber((*array)[1], path + "[1]", second);
  }

  /// An object, whose keys must all be in `allowed`.
  template <size_t N>
  const OJson::object_t *readObject(const OJson &value, const std::string &path,
                                    const char *const (&allowed)[N]) {
    const auto *object = value.get_ptr<const OJson::object_t *>();
    if (!object) {
      fail(path, "expected an object, got " + describe(value));
      return nullptr;
    }
    for (const auto &member : *object)
      if (!isOneOf(member.first, allowed)) {
        fail(path, "unknown key " + quote(member.first) +
                       " (allowed: " + joinKeys(allowed) + ")");
        return nullptr;
      }
    return object;
  }

  /// Applies a value rule: fails with its message when it has one.
  bool check(const std::string &path, const std::string &problem) {
    return problem.empty() || fail(path, problem);
  }

private:
  const std::string &fileName;
  std::string &error;
};

const OJson *member(const OJson::object_t &object, const char *key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &it->second;
}

bool readActivationParams(JsonReader &reader, const OJson &value,
                          const std::string &path, ActivationQuantParams &act) {
  const OJson::object_t *object = reader.readObject(value, path, kActKeys);
  if (!object)
    return false;
  auto key = [&](const std::string &name) { return path + "." + name; };

  // The algorithm: act_algo, or HFMG when num_of_bins is given (AMCT's
  // ActQuantParamsField._check_params); IFMR keys cannot go with HFMG.
  std::string algo;
  if (const OJson *v = member(*object, "act_algo")) {
    if (!reader.readString(*v, key("act_algo"), algo))
      return false;
    if (algo != "ifmr" && algo != "hfmg")
      return reader.fail(key("act_algo"),
                         "must be \"ifmr\" or \"hfmg\", got " + describe(*v));
  }
  std::string firstIfmrKey, firstHfmgKey;
  for (const auto &m : *object) {
    if (firstIfmrKey.empty() && isOneOf(m.first, kIfmrKeys))
      firstIfmrKey = m.first;
    if (firstHfmgKey.empty() && m.first == "num_of_bins")
      firstHfmgKey = m.first;
  }
  if (algo.empty())
    algo = firstHfmgKey.empty() ? "ifmr" : "hfmg";
  if (!firstIfmrKey.empty() && !firstHfmgKey.empty())
    return reader.fail(path, "IFMR key " + quote(firstIfmrKey) +
                                 " and HFMG key 'num_of_bins' cannot appear "
                                 "together");
  if (algo == "ifmr" && !firstHfmgKey.empty())
    return reader.fail(key(firstHfmgKey),
                       "is an HFMG key, not allowed with act_algo \"ifmr\"");
  if (algo == "hfmg" && !firstIfmrKey.empty())
    return reader.fail(key(firstIfmrKey),
                       "is an IFMR key, not allowed with act_algo \"hfmg\"");
  act.algo = algo;

  long long integer;
  if (const OJson *v = member(*object, "num_bits")) {
    if (!reader.readInt(*v, key("num_bits"), integer) ||
        !reader.check(key("num_bits"), checkNumBits(integer, "activations")))
      return false;
    act.numBits = static_cast<int>(integer);
  }
  for (auto [name, out] :
       {std::make_pair("max_percentile", &act.maxPercentile),
        std::make_pair("min_percentile", &act.minPercentile)})
    if (const OJson *v = member(*object, name))
      if (!reader.readNumber(*v, key(name), *out) ||
          !reader.check(key(name), checkPercentile(*out)))
        return false;
  if (const OJson *v = member(*object, "search_range"))
    if (!reader.readPair(*v, key("search_range"), act.searchRangeStart,
                         act.searchRangeEnd) ||
        !reader.check(
            key("search_range"),
            checkSearchRange(act.searchRangeStart, act.searchRangeEnd)))
      return false;
  if (const OJson *v = member(*object, "search_step"))
    if (!reader.readNumber(*v, key("search_step"), act.searchStep) ||
        !reader.check(key("search_step"),
                      checkSearchStep(act.searchStep, act.searchRangeStart,
                                      act.searchRangeEnd)))
      return false;
  if (const OJson *v = member(*object, "num_of_bins")) {
    if (!reader.readInt(*v, key("num_of_bins"), integer) ||
        !reader.check(key("num_of_bins"), checkNumOfBins(integer)))
      return false;
    act.numOfBins = static_cast<int>(integer);
  }
  if (const OJson *v = member(*object, "asymmetric")) {
    if (!reader.readBool(*v, key("asymmetric"), act.asymmetric))
      return false;
    act.asymmetricSet = true;
  }
  return true;
}

bool readWeightParams(JsonReader &reader, const OJson &value,
                      const std::string &path, WeightQuantParams &wts) {
  const OJson::object_t *object = reader.readObject(value, path, kWtsKeys);
  if (!object)
    return false;
  auto key = [&](const std::string &name) { return path + "." + name; };

  if (const OJson *v = member(*object, "wts_algo")) {
    if (!reader.readString(*v, key("wts_algo"), wts.algo))
      return false;
    if (wts.algo != "arq_quantize" && wts.algo != "ada_quantize")
      return reader.fail(key("wts_algo"),
                         "must be \"arq_quantize\" or \"ada_quantize\", got " +
                             describe(*v));
  }
  if (wts.algo == "arq_quantize")
    for (const auto &m : *object)
      if (isOneOf(m.first, kAdaKeys))
        return reader.fail(key(m.first),
                           "is an ada_quantize key, not allowed with "
                           "wts_algo \"arq_quantize\"");

  long long integer;
  if (const OJson *v = member(*object, "num_bits")) {
    if (!reader.readInt(*v, key("num_bits"), integer) ||
        !reader.check(key("num_bits"), checkNumBits(integer, "weights")))
      return false;
    wts.numBits = static_cast<int>(integer);
  }
  if (const OJson *v = member(*object, "channel_wise")) {
    if (!reader.readBool(*v, key("channel_wise"), wts.channelWise))
      return false;
    wts.channelWiseSet = true;
  }
  if (const OJson *v = member(*object, "num_iteration")) {
    if (!reader.readInt(*v, key("num_iteration"), integer))
      return false;
    if (integer < 0)
      return reader.fail(key("num_iteration"),
                         "must be at least 0, got " + std::to_string(integer));
    wts.numIteration = static_cast<int>(integer);
  }
  if (const OJson *v = member(*object, "reg_param"))
    if (!reader.readNumber(*v, key("reg_param"), wts.regParam) ||
        !reader.check(key("reg_param"), checkOpenUnit(wts.regParam)))
      return false;
  if (const OJson *v = member(*object, "warm_start"))
    if (!reader.readNumber(*v, key("warm_start"), wts.warmStart) ||
        !reader.check(key("warm_start"), checkOpenUnit(wts.warmStart)))
      return false;
  if (const OJson *v = member(*object, "beta_range"))
    if (!reader.readPair(*v, key("beta_range"), wts.betaRangeStart,
                         wts.betaRangeEnd) ||
        !reader.check(key("beta_range"),
                      checkBetaRange(wts.betaRangeStart, wts.betaRangeEnd)))
      return false;
  return true;
}

bool readLayer(JsonReader &reader, const std::string &name, const OJson &value,
               LayerQuantConfig &layer) {
  const OJson::object_t *object = reader.readObject(value, name, kLayerKeys);
  if (!object)
    return false;
  // AMCT quantizes only the layers whose entry says "quant_enable": true.
  layer.quantEnable = false;
  if (const OJson *v = member(*object, "quant_enable"))
    if (!reader.readBool(*v, name + ".quant_enable", layer.quantEnable))
      return false;
  if (const OJson *v = member(*object, "dmq_balancer_param")) {
    std::string path = name + ".dmq_balancer_param";
    if (!reader.readNumber(*v, path, layer.dmq.migrationStrength) ||
        !reader.check(path,
                      checkMigrationStrength(layer.dmq.migrationStrength)))
      return false;
    layer.dmq.enabled = true;
  }
  if (const OJson *v = member(*object, "activation_quant_params"))
    if (!readActivationParams(reader, *v, name + ".activation_quant_params",
                              layer.act))
      return false;
  if (const OJson *v = member(*object, "weight_quant_params"))
    if (!readWeightParams(reader, *v, name + ".weight_quant_params", layer.wts))
      return false;
  return true;
}

} // namespace

std::optional<QuantConfig>
amct::parseQuantConfigJson(const std::string &text, const std::string &fileName,
                           std::string &error) {
  OJson root;
  if (!parseJsonStrict(text, fileName, root, error))
    return std::nullopt;
  JsonReader reader(fileName, error);
  const auto *object = root.get_ptr<const OJson::object_t *>();
  if (!object) {
    error = prefixed(fileName,
                     "the config must be a JSON object, got " + describe(root));
    return std::nullopt;
  }

  QuantConfig config;
  long long integer;
  for (const auto &[key, value] : *object) {
    if (key == "version") {
      if (!reader.readInt(value, key, integer))
        return std::nullopt;
      if (integer != 1) {
        reader.fail(key, "must be 1, got " + std::to_string(integer));
        return std::nullopt;
      }
      config.version = 1;
    } else if (key == "batch_num") {
      if (!reader.readInt(value, key, integer))
        return std::nullopt;
      if (integer < 1) {
        reader.fail(key,
                    "must be greater than 0, got " + std::to_string(integer));
        return std::nullopt;
      }
      config.batchNum = static_cast<int>(integer);
    } else if (key == "activation_offset") {
      if (!reader.readBool(value, key, config.activationOffset))
        return std::nullopt;
    } else if (key == "do_fusion") {
      if (!reader.readBool(value, key, config.doFusion))
        return std::nullopt;
    } else if (key == "skip_fusion_layers") {
      const auto *array = value.get_ptr<const OJson::array_t *>();
      if (!array) {
        reader.fail(key,
                    "expected a list of layer names, got " + describe(value));
        return std::nullopt;
      }
      for (size_t i = 0; i < array->size(); ++i) {
        std::string name;
        if (!reader.readString((*array)[i], key + "[" + std::to_string(i) + "]",
                               name))
          return std::nullopt;
        if (std::find(config.skipFusionLayers.begin(),
                      config.skipFusionLayers.end(),
                      name) != config.skipFusionLayers.end()) {
          reader.fail(key, "layer " + quote(name) + " is listed twice");
          return std::nullopt;
        }
        config.skipFusionLayers.push_back(name);
      }
    } else if (value.is_object()) {
      if (key.empty()) {
        reader.fail("\"\"", "a layer name cannot be empty");
        return std::nullopt;
      }
      if (!readLayer(reader, key, value, config.layers[key]))
        return std::nullopt;
    } else {
      error = prefixed(fileName, "unknown top-level key " + quote(key) +
                                     " holding " + describe(value) +
                                     " (allowed: " + joinKeys(kGlobalKeys) +
                                     ", or a layer name holding an object)");
      return std::nullopt;
    }
  }
  // A layer without its own `asymmetric` follows activation_offset
  // (AMCT's add_global_to_layer).
  for (auto &entry : config.layers)
    if (!entry.second.act.asymmetricSet)
      entry.second.act.asymmetric = config.activationOffset;
  return config;
}

bool amct::bindQuantConfigToLayers(QuantConfig &config, const LayerList &layers,
                                   const std::string &fileName,
                                   std::string &error) {
  std::map<std::string, std::string> types;
  if (!indexLayers(layers, fileName, types, error))
    return false;
  auto fail = [&](const std::string &path, const std::string &message) {
    error = prefixed(fileName, path + ": " + message);
    return false;
  };
  for (const std::string &name : config.skipFusionLayers)
    if (!types.count(name))
      return fail("skip_fusion_layers", quote(name) +
                                            " is not a layer of the model" +
                                            knownLayersHint(layers));
  for (auto &[name, layer] : config.layers) {
    auto it = types.find(name);
    if (it == types.end())
      return fail(name, "not a quantizable layer of the model" +
                            knownLayersHint(layers));
    const std::string &type = it->second;
    if (!layer.wts.channelWiseSet)
      layer.wts.channelWise = isChannelWiseType(type);
    else if (layer.wts.channelWise && !isChannelWiseType(type))
      return fail(name + ".weight_quant_params.channel_wise",
                  "must be false for a " + type +
                      " layer (per-channel weights are for Conv2d, Conv3d "
                      "and ConvTranspose2d)");
    if (isSymmetricOnlyType(type)) {
      if (layer.act.asymmetricSet && layer.act.asymmetric)
        return fail(name + ".activation_quant_params.asymmetric",
                    "must be false for a " + type +
                        " layer (its activations are quantized "
                        "symmetrically only)");
      layer.act.asymmetric = false;
    }
    if (layer.dmq.enabled && !isDmqType(type))
      return fail(name + ".dmq_balancer_param",
                  "not supported for a " + type + " layer (it has no weights)");
    if (layer.wts.algo == "ada_quantize" && !isAdaType(type))
      return fail(name + ".weight_quant_params.wts_algo",
                  "ada_quantize is not supported for a " + type +
                      " layer (only Conv2d, ConvTranspose2d and Linear)");
  }
  return true;
}

//===----------------------------------------------------------------------===//
// JSON writing
//===----------------------------------------------------------------------===//

namespace {

/// Emits JSON as Python's json.dump(obj, indent=4, separators=(',', ':'))
/// with ensure_ascii does.
class PyJsonWriter {
public:
  std::string out;

  void beginObject() { open('{'); }
  void endObject() { close('}'); }
  void beginList() { open('['); }
  void endList() { close(']'); }

  /// The key of the next member of the current object.
  void key(const std::string &name) {
    item();
    string(name);
    out += ':';
    pendingValue = true;
  }

  void boolean(bool value) { scalar(value ? "true" : "false"); }
  void integer(long long value) { scalar(std::to_string(value)); }
  void number(double value) { scalar(formatDoubleRepr(value)); }
  void text(const std::string &value) {
    startValue();
    string(value);
  }

private:
  struct Level {
    size_t items = 0;
  };
  std::vector<Level> levels;
  bool pendingValue = false;

  void newline(size_t depth) {
    out += '\n';
    out.append(depth * 4, ' ');
  }
  /// Separator and indentation before a member or element.
  void item() {
    if (levels.back().items++)
      out += ',';
    newline(levels.size());
  }
  void startValue() {
    if (pendingValue)
      pendingValue = false;
    else if (!levels.empty())
      item();
  }
  void scalar(const std::string &value) {
    startValue();
    out += value;
  }
  void open(char bracket) {
    startValue();
    out += bracket;
    levels.push_back({});
  }
  void close(char bracket) {
    size_t items = levels.back().items;
    levels.pop_back();
    if (items)
      newline(levels.size());
    out += bracket;
  }

  void hex4(unsigned value) {
    static const char digits[] = "0123456789abcdef";
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4)
      out += digits[(value >> shift) & 0xF];
  }

  /// A JSON string with ensure_ascii escaping (\uXXXX, surrogate pairs);
  /// bytes that are not UTF-8 become U+FFFD.
  void string(const std::string &s) {
    out += '"';
    for (size_t i = 0; i < s.size();) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
      default:
        break;
      }
      if (c < 0x20) {
        hex4(c);
        ++i;
        continue;
      }
      if (c < 0x80) {
        out += static_cast<char>(c);
        ++i;
        continue;
      }
      unsigned length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
      unsigned codePoint = length == 4   ? c & 0x07
                           : length == 3 ? c & 0x0F
                                         : c & 0x1F;
      bool valid = length != 0 && i + length <= s.size();
      for (unsigned k = 1; valid && k < length; ++k) {
        unsigned char next = static_cast<unsigned char>(s[i + k]);
        valid = (next & 0xC0) == 0x80;
        codePoint = (codePoint << 6) | (next & 0x3F);
      }
      if (!valid || codePoint > 0x10FFFF) {
        hex4(0xFFFD);
        ++i;
        continue;
      }
      if (codePoint >= 0x10000) {
        codePoint -= 0x10000;
        hex4(0xD800 + (codePoint >> 10));
        hex4(0xDC00 + (codePoint & 0x3FF));
      } else {
        hex4(codePoint);
      }
      i += length;
    }
    out += '"';
  }
};

} // namespace

std::string amct::writeQuantConfigJson(const QuantConfig &config) {
  PyJsonWriter w;
  w.beginObject();
  w.key("version");
  w.integer(config.version);
  w.key("batch_num");
  w.integer(config.batchNum);
  w.key("activation_offset");
  w.boolean(config.activationOffset);
  w.key("do_fusion");
  w.boolean(config.doFusion);
  w.key("skip_fusion_layers");
  w.beginList();
  for (const std::string &name : config.skipFusionLayers)
    w.text(name);
  w.endList();

  // Key order of AMCT's samples (reference 004).
  for (const auto &[name, layer] : config.layers) {
    w.key(name);
    w.beginObject();
    w.key("quant_enable");
    w.boolean(layer.quantEnable);
    if (layer.dmq.enabled) {
      w.key("dmq_balancer_param");
      w.number(layer.dmq.migrationStrength);
    }

    const ActivationQuantParams &act = layer.act;
    w.key("activation_quant_params");
    w.beginObject();
    w.key("num_bits");
    w.integer(act.numBits);
    if (act.algo == "hfmg") {
      w.key("act_algo");
      w.text(act.algo);
      w.key("num_of_bins");
      w.integer(act.numOfBins);
    } else {
      w.key("max_percentile");
      w.number(act.maxPercentile);
      w.key("min_percentile");
      w.number(act.minPercentile);
      w.key("search_range");
      w.beginList();
      w.number(act.searchRangeStart);
      w.number(act.searchRangeEnd);
      w.endList();
      w.key("search_step");
      w.number(act.searchStep);
      w.key("act_algo");
      w.text(act.algo);
    }
    w.key("asymmetric");
    w.boolean(act.asymmetric);
    w.endObject();

    const WeightQuantParams &wts = layer.wts;
    w.key("weight_quant_params");
    w.beginObject();
    w.key("num_bits");
    w.integer(wts.numBits);
    w.key("wts_algo");
    w.text(wts.algo);
    if (wts.algo == "ada_quantize") {
      w.key("num_iteration");
      w.integer(wts.numIteration);
      w.key("reg_param");
      w.number(wts.regParam);
      w.key("beta_range");
      w.beginList();
      w.number(wts.betaRangeStart);
      w.number(wts.betaRangeEnd);
      w.endList();
      w.key("warm_start");
      w.number(wts.warmStart);
    }
    w.key("channel_wise");
    w.boolean(wts.channelWise);
    w.endObject();

    w.endObject();
  }
  w.endObject();
  return w.out;
}

//===----------------------------------------------------------------------===//
// Simple config
//===----------------------------------------------------------------------===//

namespace {


using InfoTree = pb::TextFormat::ParseInfoTree;

/// Reports semantic errors of a parsed simple config at the location of the
/// field concerned (when the config came from text).
class CfgReporter {
public:
  CfgReporter(const std::string &fileName, std::string &error)
      : fileName(fileName), error(error) {}

  /// Fails at field `name` (element `index`, -1 if singular) of `message`,
  /// whose parse locations are in `tree` (may be null).
  bool fail(const InfoTree *tree, const pb::Message &message, const char *name,
            int index, const std::string &text) {
    const pb::FieldDescriptor *field =
        message.GetDescriptor()->FindFieldByName(name);
    pb::TextFormat::ParseLocation loc;
    // A list (`skip_layers: ["a", "b"]`) records one location, at index 0:
    // fall back to the nearest earlier one.
    for (int i = index;
         tree && field && loc.line < 0 && i >= std::min(index, 0); --i)
      loc = tree->GetLocation(field, i);
    if (loc.line >= 0)
      error = (fileName.empty() ? std::string("<config>") : fileName) + ":" +
              std::to_string(loc.line + 1) + ":" +
              std::to_string(loc.column + 1) + ": " + text;
    else
      error = prefixed(fileName, text);
    return false;
  }

  /// The locations of the sub-message in field `name` of `message`.
  static const InfoTree *nested(const InfoTree *tree,
                                const pb::Message &message, const char *name,
                                int index = -1) {
    const pb::FieldDescriptor *field =
        message.GetDescriptor()->FindFieldByName(name);
    return tree && field ? tree->GetTreeForNested(field, index) : nullptr;
  }

private:
  const std::string &fileName;
  std::string &error;
};

/// Checks the values of one CalibrationConfig; `path` names it in messages
/// ("common_config", "override_layer_types[Linear].calibration_config").
bool checkCalibration(CfgReporter &r, const InfoTree *tree,
                      const proto::CalibrationConfig &c,
                      const std::string &path) {
  auto sub = [&](const char *field) { return path + "." + field; };

  if (c.has_ifmr_quantize()) {
    const proto::FMRQuantize &q = c.ifmr_quantize();
    const InfoTree *t = CfgReporter::nested(tree, c, "ifmr_quantize");
    auto fail = [&](const char *field, const std::string &problem) {
      return problem.empty() ||
             r.fail(t, q, field, -1,
                    sub("ifmr_quantize") + "." + field + ": " + problem);
    };
    double start = floatToShortestDouble(q.search_range_start());
    double end = floatToShortestDouble(q.search_range_end());
    if (!fail("max_percentile",
              checkPercentile(floatToShortestDouble(q.max_percentile()))) ||
        !fail("min_percentile",
              checkPercentile(floatToShortestDouble(q.min_percentile()))) ||
        !fail(q.has_search_range_start() ? "search_range_start"
                                         : "search_range_end",
              checkSearchRange(start, end)) ||
        !fail("search_step",
              checkSearchStep(floatToShortestDouble(q.search_step()), start,
                              end)))
      return false;
    if (q.dst_type() != proto::FMRQuantize::INT8)
      return fail("dst_type", "only INT8 is supported by amct-mlir");
  } else if (c.has_hfmg_quantize()) {
    const proto::HFMGQuantize &q = c.hfmg_quantize();
    const InfoTree *t = CfgReporter::nested(tree, c, "hfmg_quantize");
    auto fail = [&](const char *field, const std::string &problem) {
      return problem.empty() ||
             r.fail(t, q, field, -1,
                    sub("hfmg_quantize") + "." + field + ": " + problem);
    };
    if (!fail("num_of_bins", checkNumOfBins(q.num_of_bins())))
      return false;
    if (q.dst_type() != proto::HFMGQuantize::INT8)
      return fail("dst_type", "only INT8 is supported by amct-mlir");
  }

  if (c.has_arq_quantize()) {
    const proto::ARQuantize &q = c.arq_quantize();
    const InfoTree *t = CfgReporter::nested(tree, c, "arq_quantize");
    if (q.has_quant_bits() && q.quant_bits() != 8)
      return r.fail(t, q, "quant_bits", -1,
                    sub("arq_quantize") + ".quant_bits: " +
                        checkNumBits(q.quant_bits(), "weights"));
  } else if (c.has_ada_quantize()) {
    const proto::ADAquantize &q = c.ada_quantize();
    const InfoTree *t = CfgReporter::nested(tree, c, "ada_quantize");
    auto fail = [&](const char *field, const std::string &problem) {
      return problem.empty() ||
             r.fail(t, q, field, -1,
                    sub("ada_quantize") + "." + field + ": " + problem);
    };
    if (!fail("reg_param",
              checkOpenUnit(floatToShortestDouble(q.reg_param()))) ||
        !fail("warm_start",
              checkOpenUnit(floatToShortestDouble(q.warm_start()))) ||
        !fail(q.has_beta_range_start() ? "beta_range_start" : "beta_range_end",
              checkBetaRange(floatToShortestDouble(q.beta_range_start()),
                             floatToShortestDouble(q.beta_range_end()))))
      return false;
  }

  if (c.has_dmq_balancer()) {
    const proto::DMQBalancer &q = c.dmq_balancer();
    const InfoTree *t = CfgReporter::nested(tree, c, "dmq_balancer");
    std::string problem =
        checkMigrationStrength(floatToShortestDouble(q.migration_strength()));
    if (!problem.empty())
      return r.fail(t, q, "migration_strength", -1,
                    sub("dmq_balancer") + ".migration_strength: " + problem);
  }
  return true;
}

/// Checks an override's CalibrationConfig against the layer type it applies
/// to (`what` is "a Linear layer" or "layer 'fc' (Linear)").
bool checkCalibrationForType(CfgReporter &r, const InfoTree *tree,
                             const proto::CalibrationConfig &c,
                             const std::string &path, const std::string &type,
                             const std::string &what) {
  if (isSymmetricOnlyType(type)) {
    const pb::Message *q = nullptr;
    const char *algo = nullptr;
    if (c.has_ifmr_quantize() && c.ifmr_quantize().asymmetric()) {
      q = &c.ifmr_quantize();
      algo = "ifmr_quantize";
    } else if (c.has_hfmg_quantize() && c.hfmg_quantize().asymmetric()) {
      q = &c.hfmg_quantize();
      algo = "hfmg_quantize";
    }
    if (q)
      return r.fail(CfgReporter::nested(tree, c, algo), *q, "asymmetric", -1,
                    path + "." + algo + ".asymmetric: must be false for " +
                        what +
                        " (its activations are quantized "
                        "symmetrically only)");
  }
  if (!isChannelWiseType(type)) {
    const pb::Message *q = nullptr;
    const char *algo = nullptr;
    if (c.has_arq_quantize() && c.arq_quantize().channel_wise()) {
      q = &c.arq_quantize();
      algo = "arq_quantize";
    } else if (c.has_ada_quantize() && c.ada_quantize().channel_wise()) {
      q = &c.ada_quantize();
      algo = "ada_quantize";
    }
    if (q)
      return r.fail(CfgReporter::nested(tree, c, algo), *q, "channel_wise", -1,
                    path + "." + algo + ".channel_wise: must be false for " +
                        what +
                        " (per-channel weights are for Conv2d, Conv3d and "
                        "ConvTranspose2d)");
  }
  if (c.has_dmq_balancer() && !isDmqType(type))
    return r.fail(tree, c, "dmq_balancer", -1,
                  path + ".dmq_balancer: not supported for " + what +
                      " (it has no weights)");
  if (c.has_ada_quantize() && !isAdaType(type))
    return r.fail(tree, c, "ada_quantize", -1,
                  path + ".ada_quantize: not supported for " + what +
                      " (only Conv2d, ConvTranspose2d and Linear)");
  return true;
}

/// A layer's config from the CalibrationConfig it takes (unset algorithms
/// keep their defaults, as AMCT's fill_default gives them).
LayerQuantConfig fromCalibration(const proto::CalibrationConfig &c) {
  LayerQuantConfig layer;
  ActivationQuantParams &act = layer.act;
  if (c.has_ifmr_quantize()) {
    const proto::FMRQuantize &q = c.ifmr_quantize();
    act.algo = "ifmr";
    act.maxPercentile = floatToShortestDouble(q.max_percentile());
    act.minPercentile = floatToShortestDouble(q.min_percentile());
    act.searchRangeStart = floatToShortestDouble(q.search_range_start());
    act.searchRangeEnd = floatToShortestDouble(q.search_range_end());
    act.searchStep = floatToShortestDouble(q.search_step());
    act.asymmetricSet = q.has_asymmetric();
    act.asymmetric = q.asymmetric();
  } else if (c.has_hfmg_quantize()) {
    const proto::HFMGQuantize &q = c.hfmg_quantize();
    act.algo = "hfmg";
    act.numOfBins = static_cast<int>(q.num_of_bins());
    act.asymmetricSet = q.has_asymmetric();
    act.asymmetric = q.asymmetric();
  }
  WeightQuantParams &wts = layer.wts;
  if (c.has_arq_quantize()) {
    wts.channelWiseSet = c.arq_quantize().has_channel_wise();
    wts.channelWise = c.arq_quantize().channel_wise();
  } else if (c.has_ada_quantize()) {
    const proto::ADAquantize &q = c.ada_quantize();
    wts.algo = "ada_quantize";
    wts.numIteration = static_cast<int>(
        std::min<uint32_t>(q.num_iteration(), std::numeric_limits<int>::max()));
    wts.regParam = floatToShortestDouble(q.reg_param());
    wts.betaRangeStart = floatToShortestDouble(q.beta_range_start());
    wts.betaRangeEnd = floatToShortestDouble(q.beta_range_end());
    wts.warmStart = floatToShortestDouble(q.warm_start());
    wts.channelWiseSet = q.has_channel_wise();
    wts.channelWise = q.channel_wise();
  }
  if (c.has_dmq_balancer()) {
    layer.dmq.enabled = true;
    layer.dmq.migrationStrength =
        floatToShortestDouble(c.dmq_balancer().migration_strength());
  }
  return layer;
}

/// create_quant_config's expansion of an AMCTConfig over the model's layers
/// (AMCT's ConfigBase.create_config_from_proto). `tree` holds the text
/// locations when the config was parsed from a file.
std::optional<QuantConfig> expandConfig(const proto::AMCTConfig &cfg,
                                        const InfoTree *tree,
                                        const std::string &fileName,
                                        const LayerList &layers,
                                        std::string &error) {
  CfgReporter r(fileName, error);
  std::map<std::string, std::string> types;
  if (!indexLayers(layers, fileName, types, error))
    return std::nullopt;
  if (layers.empty()) {
    error = prefixed(fileName, "the model has no quantizable layer (Conv2d, "
                               "Conv3d, ConvTranspose2d, Linear, AvgPool2d)");
    return std::nullopt;
  }
  const std::vector<std::string> &allTypes = quantizableLayerTypes();
  auto isKnownType = [&](const std::string &type) {
    return std::find(allTypes.begin(), allTypes.end(), type) != allTypes.end();
  };

  if (cfg.has_fakequant_precision_mode()) {
    r.fail(tree, cfg, "fakequant_precision_mode", -1,
           "fakequant_precision_mode is not supported by amct-mlir");
    return std::nullopt;
  }
  if (cfg.batch_num() < 1) {
    r.fail(tree, cfg, "batch_num", -1, "batch_num: must be greater than 0");
    return std::nullopt;
  }

  std::set<std::string> skipLayers, skipTypes;
  for (int i = 0; i < cfg.skip_layers_size(); ++i) {
    const std::string &name = cfg.skip_layers(i);
    if (!skipLayers.insert(name).second) {
      r.fail(tree, cfg, "skip_layers", i,
             "skip_layers: " + quote(name) + " is listed twice");
      return std::nullopt;
    }
    if (!types.count(name)) {
      r.fail(tree, cfg, "skip_layers", i,
             "skip_layers: " + quote(name) +
                 " is not a quantizable layer of the model" +
                 knownLayersHint(layers));
      return std::nullopt;
    }
  }
  for (int i = 0; i < cfg.skip_layer_types_size(); ++i) {
    const std::string &type = cfg.skip_layer_types(i);
    if (!skipTypes.insert(type).second) {
      r.fail(tree, cfg, "skip_layer_types", i,
             "skip_layer_types: " + quote(type) + " is listed twice");
      return std::nullopt;
    }
    if (!isKnownType(type)) {
      r.fail(tree, cfg, "skip_layer_types", i,
             "skip_layer_types: " + quote(type) +
                 " is not a quantizable layer type (Conv2d, Conv3d, "
                 "ConvTranspose2d, Linear, AvgPool2d)");
      return std::nullopt;
    }
  }
  if (skipTypes.size() == allTypes.size()) {
    r.fail(tree, cfg, "skip_layer_types", 0,
           "skip_layer_types: every quantizable layer type is skipped");
    return std::nullopt;
  }

  if (cfg.has_common_config() &&
      !checkCalibration(r, CfgReporter::nested(tree, cfg, "common_config"),
                        cfg.common_config(), "common_config"))
    return std::nullopt;

  std::map<std::string, const proto::CalibrationConfig *> byType, byLayer;
  for (int i = 0; i < cfg.override_layer_types_size(); ++i) {
    const proto::OverrideLayerType &o = cfg.override_layer_types(i);
    const InfoTree *t =
        CfgReporter::nested(tree, cfg, "override_layer_types", i);
    std::string path = "override_layer_types[" + o.layer_type() + "]";
    if (!isKnownType(o.layer_type())) {
      r.fail(t, o, "layer_type", -1,
             path + ".layer_type: " + quote(o.layer_type()) +
                 " is not a quantizable layer type (Conv2d, Conv3d, "
                 "ConvTranspose2d, Linear, AvgPool2d)");
      return std::nullopt;
    }
    if (!byType.emplace(o.layer_type(), &o.calibration_config()).second) {
      r.fail(t, o, "layer_type", -1,
             path + ": layer type " + quote(o.layer_type()) +
                 " is overridden twice");
      return std::nullopt;
    }
    const InfoTree *ct = CfgReporter::nested(t, o, "calibration_config");
    path += ".calibration_config";
    if (!checkCalibration(r, ct, o.calibration_config(), path) ||
        !checkCalibrationForType(r, ct, o.calibration_config(), path,
                                 o.layer_type(),
                                 "a " + o.layer_type() + " layer"))
      return std::nullopt;
  }
  for (int i = 0; i < cfg.override_layer_configs_size(); ++i) {
    const proto::OverrideLayer &o = cfg.override_layer_configs(i);
    const InfoTree *t =
        CfgReporter::nested(tree, cfg, "override_layer_configs", i);
    std::string path = "override_layer_configs[" + o.layer_name() + "]";
    auto it = types.find(o.layer_name());
    if (it == types.end()) {
      r.fail(t, o, "layer_name", -1,
             path + ".layer_name: " + quote(o.layer_name()) +
                 " is not a quantizable layer of the model" +
                 knownLayersHint(layers));
      return std::nullopt;
    }
    if (!byLayer.emplace(o.layer_name(), &o.calibration_config()).second) {
      r.fail(t, o, "layer_name", -1,
             path + ": layer " + quote(o.layer_name()) +
                 " is overridden twice");
      return std::nullopt;
    }
    const InfoTree *ct = CfgReporter::nested(t, o, "calibration_config");
    path += ".calibration_config";
    if (!checkCalibration(r, ct, o.calibration_config(), path) ||
        !checkCalibrationForType(
            r, ct, o.calibration_config(), path, it->second,
            "layer " + quote(o.layer_name()) + " (" + it->second + ")"))
      return std::nullopt;
  }

  QuantConfig config;
  config.batchNum = static_cast<int>(
      std::min<uint32_t>(cfg.batch_num(), std::numeric_limits<int>::max()));
  config.activationOffset = cfg.activation_offset();
  config.doFusion = cfg.do_fusion();
  std::set<std::string> fusionSeen;
  for (int i = 0; i < cfg.skip_fusion_layers_size(); ++i) {
    const std::string &name = cfg.skip_fusion_layers(i);
    if (!fusionSeen.insert(name).second) {
      r.fail(tree, cfg, "skip_fusion_layers", i,
             "skip_fusion_layers: " + quote(name) + " is listed twice");
      return std::nullopt;
    }
    if (!types.count(name)) {
      r.fail(tree, cfg, "skip_fusion_layers", i,
             "skip_fusion_layers: " + quote(name) +
                 " is not a layer of the model" + knownLayersHint(layers));
      return std::nullopt;
    }
    config.skipFusionLayers.push_back(name);
  }

  // common_config's activation algorithm and asymmetric, which layers
  // using the same algorithm inherit (AMCT's set_global_asymmetric).
  std::string commonAlgo;
  std::optional<bool> commonAsymmetric;
  if (cfg.common_config().has_ifmr_quantize()) {
    commonAlgo = "ifmr";
    if (cfg.common_config().ifmr_quantize().has_asymmetric())
      commonAsymmetric = cfg.common_config().ifmr_quantize().asymmetric();
  } else if (cfg.common_config().has_hfmg_quantize()) {
    commonAlgo = "hfmg";
    if (cfg.common_config().hfmg_quantize().has_asymmetric())
      commonAsymmetric = cfg.common_config().hfmg_quantize().asymmetric();
  }

  size_t quantized = 0;
  for (const auto &[name, type] : layers) {
    // Precedence: the layer's override, its type's, common_config; the
    // chosen CalibrationConfig applies whole.
    const proto::CalibrationConfig *source = &cfg.common_config();
    if (auto it = byLayer.find(name); it != byLayer.end())
      source = it->second;
    else if (auto it = byType.find(type); it != byType.end())
      source = it->second;
    LayerQuantConfig layer = fromCalibration(*source);
    layer.quantEnable = !skipLayers.count(name) && !skipTypes.count(type);
    quantized += layer.quantEnable;

    // What common_config cannot give this type (overrides were checked).
    if (!isDmqType(type))
      layer.dmq = DmqParams();
    if (layer.wts.algo == "ada_quantize" && !isAdaType(type))
      layer.wts = WeightQuantParams();
    if (!layer.wts.channelWiseSet) {
      layer.wts.channelWise = isChannelWiseType(type);
    } else if (layer.wts.channelWise && !isChannelWiseType(type)) {
      // AMCT rejects this for AvgPool2d too, but an AvgPool2d has no
      // weights: its weight parameters are moot.
      if (layer.quantEnable && type != "AvgPool2d") {
        const proto::CalibrationConfig &common = cfg.common_config();
        const InfoTree *ct = CfgReporter::nested(tree, cfg, "common_config");
        const char *algo =
            common.has_arq_quantize() ? "arq_quantize" : "ada_quantize";
        const pb::Message &q =
            common.has_arq_quantize()
                ? static_cast<const pb::Message &>(common.arq_quantize())
                : common.ada_quantize();
        r.fail(CfgReporter::nested(ct, common, algo), q, "channel_wise", -1,
               std::string("common_config.") + algo +
                   ".channel_wise: true cannot apply to layer " + quote(name) +
                   " (" + type +
                   "); per-channel weights are for Conv2d, Conv3d and "
                   "ConvTranspose2d: set channel_wise false for " +
                   type + " in override_layer_types");
        return std::nullopt;
      }
      // Not quantized, or no weights: keep the entry consistent.
      layer.wts.channelWise = false;
    }
    layer.wts.channelWiseSet = true;

    if (!layer.act.asymmetricSet) {
      layer.act.asymmetric = commonAsymmetric && commonAlgo == layer.act.algo
                                 ? *commonAsymmetric
                                 : config.activationOffset;
    }
    if (isSymmetricOnlyType(type))
      layer.act.asymmetric = false;
    layer.act.asymmetricSet = true;
    config.layers[name] = layer;
  }
  if (!quantized) {
    error = prefixed(fileName, "no layer left to quantize: every quantizable "
                               "layer is in skip_layers or skip_layer_types");
    return std::nullopt;
  }
  return config;
}

} // namespace

std::optional<QuantConfig> amct::parseSimpleConfig(const std::string &text,
                                                   const std::string &fileName,
                                                   const LayerList &layers,
                                                   std::string &error) {
  if (isBlank(text)) {
    error = prefixed(fileName, "the config file is empty");
    return std::nullopt;
  }
  proto::AMCTConfig cfg;
  InfoTree tree;
  if (!detail::parseProtoText(text, fileName.empty() ? std::string("<config>") : fileName,
                      "simple config", cfg, tree, error))
    return std::nullopt;
  return expandConfig(cfg, &tree, fileName, layers, error);
}

std::optional<QuantConfig> amct::createQuantConfig(
    const LayerList &layers, const std::vector<std::string> &skipLayers,
    int batchNum, bool activationOffset, std::string &error) {
  if (batchNum < 1) {
    error =
        "batch_num: must be greater than 0, got " + std::to_string(batchNum);
    return std::nullopt;
  }
  proto::AMCTConfig cfg;
  cfg.set_batch_num(static_cast<uint32_t>(batchNum));
  cfg.set_activation_offset(activationOffset);
  for (const std::string &name : skipLayers)
    cfg.add_skip_layers(name);
  return expandConfig(cfg, nullptr, "", layers, error);
}

//===----------------------------------------------------------------------===//
// Either form
//===----------------------------------------------------------------------===//

ConfigKind amct::detectConfigKind(const std::string &text) {
  size_t i = 0;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0)
    i = 3;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
        c == '\v') {
      ++i;
    } else if (c == '#') {
      size_t end = text.find('\n', i);
      i = end == std::string::npos ? text.size() : end + 1;
    } else {
      break;
    }
  }
  if (i == text.size())
    return ConfigKind::Unknown;
  char c = text[i];
  if (c == '{') {
    OJson root = OJson::parse(text, nullptr, /*allow_exceptions=*/false);
    if (root.is_object() && root.contains("quant_cfg"))
      return ConfigKind::LlmJson;
    return ConfigKind::LayerJson;
  }
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
    return ConfigKind::SimpleCfg;
  return ConfigKind::Unknown;
}

std::optional<QuantConfig> amct::loadQuantConfig(const std::string &text,
                                                 const std::string &fileName,
                                                 const LayerList &layers,
                                                 std::string &error) {
  switch (detectConfigKind(text)) {
  case ConfigKind::LayerJson: {
    std::optional<QuantConfig> config =
        parseQuantConfigJson(text, fileName, error);
    if (!config || !bindQuantConfigToLayers(*config, layers, fileName, error))
      return std::nullopt;
    return config;
  }
  case ConfigKind::SimpleCfg:
    return parseSimpleConfig(text, fileName, layers, error);
  case ConfigKind::LlmJson:
    error = prefixed(fileName,
                     "this is an LLM quantize() config (it has \"quant_cfg\"); "
                     "expected a layer config (JSON, as create_quant_config "
                     "writes) or a simple config (.cfg)");
    return std::nullopt;
  case ConfigKind::Unknown:
    break;
  }
  if (isBlank(text))
    error = prefixed(fileName, "the config file is empty");
  else
    error = prefixed(fileName, "neither a JSON config (a '{' object) nor a "
                               "simple config (protobuf text)");
  return std::nullopt;
}

std::optional<QuantConfig> amct::loadQuantConfigFile(const std::string &path,
                                                     const LayerList &layers,
                                                     std::string &error) {
  if (path.empty())
    return createQuantConfig(layers, /*skipLayers=*/{}, /*batchNum=*/1,
                             /*activationOffset=*/true, error);
  std::string contents;
  if (!readRegularFile(path, contents, error)) {
    error = "quant config " + error;
    return std::nullopt;
  }
  return loadQuantConfig(contents, path, layers, error);
}
