//===- PyFormat.cpp - Python-style number formatting ----------------------===//
//
// repr() of floats and doubles as Python prints them, so the JSON config and
// the record read back and compare byte for byte with AMCT's files.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/QuantConfig.h"
#include "ConfigRules.h"


#include <google/protobuf/io/strtod.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace amct;
namespace pb = google::protobuf;

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
