//===- StrictJson.h - JSON reading shared by the config readers -*- C++ -*-===//
//
// Private to lib/Support. JSON is read with nlohmann-json through its SAX
// interface, never with exceptions (the library builds with
// -fno-exceptions): the SAX handler captures syntax errors with their
// position and catches duplicate keys (which the DOM parser would silently
// overwrite and AMCT rejects). Values are only read through get_ptr, which
// cannot throw; JsonReader's methods fail with the key path and what was
// expected.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_LIB_SUPPORT_STRICTJSON_H
#define AMCT_LIB_SUPPORT_STRICTJSON_H

#include "ConfigRules.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <set>
#include <string>
#include <vector>

namespace amct::detail {

using OJson = nlohmann::ordered_json;


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
inline void lineColumn(const std::string &text, size_t offset, size_t &line,
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

/// Parses JSON text into `root` or sets `error` (with line:col).
inline bool parseJsonStrict(const std::string &text, const std::string &fileName,
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
inline std::string describe(const OJson &value) {
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

inline const OJson *member(const OJson::object_t &object, const char *key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &it->second;
}

} // namespace amct::detail

#endif // AMCT_LIB_SUPPORT_STRICTJSON_H
