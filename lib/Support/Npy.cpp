//===- Npy.cpp - numpy .npy files -----------------------------------------===//
//
// The format (numpy/lib/format.py, NEP 1): the magic "\x93NUMPY", a major and
// a minor version byte, the header length (uint16 in 1.0, uint32 in 2.0 and
// 3.0, little-endian), then the header: a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a newline, and finally the raw C-order data.
//
// Rather than evaluate the header, a small parser accepts exactly the literal
// syntax numpy writes (and Python 2 era files: `3L` dims), and every number
// in it is checked against the file size before anything is allocated.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/Npy.h"

#include <cassert>
#include "amct/Support/FileAccess.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

// The data is copied byte for byte between files and tensors.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the .npy reader assumes a little-endian host");

using namespace amct;
using rt::DType;

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
/// Magic, version and the longest (uint32) header length field.
constexpr size_t kMaxPreambleLen = kMagicLen + 2 + 4;
/// numpy itself refuses headers over 10000 bytes by default; this is a
/// looser bound that still stops a lying length field from costing memory.
constexpr uint64_t kMaxHeaderLen = 1 << 20;
/// numpy pads header + preamble to this so the data can be memory-mapped.
constexpr size_t kArrayAlign = 64;
/// numpy leaves room after the dict so a growing first axis can be rewritten
/// in place; reproduced so our files are byte-identical to np.save's.
constexpr size_t kGrowthAxisMaxDigits = 21;

/// Returns nullopt after setting `error` to "name: msg"; converts to any
/// optional so that failures are one line.
std::nullopt_t fail(std::string &error, const std::string &name, const std::string &msg) {
  error = name + ": " + msg;
  return std::nullopt;
}

struct DescrCode {
  const char *code;
  DType dtype;
};
// The type part of numpy's dtype.str, without the byte-order character.
const DescrCode kDescrCodes[] = {{"f2", DType::F16}, {"f4", DType::F32}, {"f8", DType::F64},
                                 {"i1", DType::I8},  {"u1", DType::U8},  {"i2", DType::I16},
                                 {"u2", DType::U16}, {"i4", DType::I32}, {"u4", DType::U32},
                                 {"i8", DType::I64}, {"u8", DType::U64}, {"b1", DType::Bool}};

const char *descrCode(DType dtype) {
  for (const DescrCode &d : kDescrCodes)
    if (d.dtype == dtype)
      return d.code;
  assert(false && "a dtype .npy cannot describe (bfloat16 is widened before)");
  return "f4";
}

/// numpy's dtype.str: '|' for one-byte types, where byte order is moot.
std::string descrOf(DType dtype) {
  return (rt::dtypeSize(dtype) == 1 ? "|" : "<") + std::string(descrCode(dtype));
}

/// Maps a descr string ('<f4', '|b1', ...) to a DType or explains why not.
std::optional<DType> decodeDescr(const std::string &descr, const std::string &name,
                                 std::string &error) {
  char order = '=';
  std::string code = descr;
  if (!code.empty() && std::strchr("<>|=", code[0])) {
    order = code[0];
    code.erase(0, 1);
  }
  if (code == "?")
    code = "b1";
  for (const DescrCode &d : kDescrCodes) {
    if (code != d.code)
      continue;
    if (order == '>' && rt::dtypeSize(d.dtype) > 1)
      return fail(error, name,
                  "big-endian arrays are not supported (convert with arr.astype('<" + code + "'))");
    return d.dtype;
  }
  if (!code.empty() && code[0] == 'O')
    return fail(error, name, "object arrays are not supported (descr '" + descr + "')");
  return fail(error, name,
              "unsupported dtype '" + descr +
                  "' (supported: float16/32/64, int8/16/32/64, uint8/16/32/64, bool)");
}

/// The header for messages: printable, without its padding, not too long.
std::string quoteHeader(std::string_view header) {
  while (!header.empty() && std::strchr(" \t\r\n", header.back()))
    header.remove_suffix(1);
  constexpr size_t kMax = 200;
  std::string out;
  for (size_t i = 0; i < header.size() && i < kMax; ++i) {
    unsigned char c = header[i];
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (header.size() > kMax)
    out += "...";
  return out;
}

/// What the header dict says, before it is checked against the data.
struct Header {
  DType dtype = DType::F32;
  rt::Shape shape;
  uint64_t dataBytes = 0;
};

/// A recursive-descent parser for the header dict. Only the literal syntax a
/// header can contain is accepted: strings, True/False, integers and tuples
/// of them, plus bracketed values (structured descrs) that are only skipped
/// over so that they can be named in the error.
class HeaderParser {
public:
  HeaderParser(std::string_view text, const std::string &name, std::string &error)
      : s(text), name(name), error(error) {}

  std::optional<Header> parse() {
    std::optional<std::string> descr;
    std::optional<bool> fortranOrder;
    std::optional<rt::Shape> shape;
    std::string_view shapeText;

    skipSpace();
    if (!consume('{'))
      return syntaxError("expected '{'");
    while (true) {
      skipSpace();
      if (consume('}'))
        break;
      std::string key;
      if (!parseString(key))
        return syntaxError("expected a string key");
      skipSpace();
      if (!consume(':'))
        return syntaxError("expected ':' after '" + key + "'");
      skipSpace();
      if (key == "descr") {
        if (descr)
          return duplicate(key);
        size_t start = pos;
        std::string value;
        if (peek() == '[' || peek() == '(') {
          // A list of fields: a structured dtype (or a subarray one).
          if (!skipBracketed())
            return syntaxError("unterminated descr");
          return fail(error, name,
                      "structured arrays are not supported (descr " +
                          std::string(s.substr(start, pos - start)) + ")");
        }
        if (!parseString(value))
          return syntaxError("expected a string for 'descr'");
        descr = std::move(value);
      } else if (key == "fortran_order") {
        if (fortranOrder)
          return duplicate(key);
        std::string_view word = parseName();
        if (word != "True" && word != "False")
          return syntaxError("expected True or False for 'fortran_order'");
        fortranOrder = word == "True";
      } else if (key == "shape") {
        if (shape)
          return duplicate(key);
        size_t start = pos;
        shape = parseShape();
        if (!shape)
          return std::nullopt;
        shapeText = s.substr(start, pos - start);
      } else {
        return fail(
            error, name,
            "unexpected key '" + key +
                "' in header (expected 'descr', 'fortran_order' and 'shape'): " + quoteHeader(s));
      }
      skipSpace();
      if (consume(','))
        continue;
      if (consume('}'))
        break;
      return syntaxError("expected ',' or '}'");
    }
    skipSpace();
    if (pos != s.size())
      return syntaxError("unexpected text after the dict");

    if (!descr || !fortranOrder || !shape) {
      const char *missing = !descr ? "descr" : !fortranOrder ? "fortran_order" : "shape";
      return fail(error, name, std::string("header has no '") + missing + "': " + quoteHeader(s));
    }

    Header h;
    std::optional<DType> dtype = decodeDescr(*descr, name, error);
    if (!dtype)
      return std::nullopt;
    h.dtype = *dtype;
    std::optional<int64_t> n = rt::numElementsOf(*shape);
    if (!n ||
        __builtin_mul_overflow(static_cast<uint64_t>(*n), rt::dtypeSize(h.dtype), &h.dataBytes))
      return fail(error, name, "shape " + std::string(shapeText) + " is too large");
    // numpy writes True only for layouts C order cannot describe, so there
    // is no harmless case to accept; the data would come out transposed.
    if (*fortranOrder)
      return fail(error, name,
                  "fortran_order arrays are not supported (save "
                  "np.ascontiguousarray(arr) instead)");
    h.shape = std::move(*shape);
    return h;
  }

private:
  std::string_view s;
  size_t pos = 0;
  const std::string &name;
  std::string &error;

  char peek() const { return pos < s.size() ? s[pos] : '\0'; }
  bool consume(char c) {
    if (pos >= s.size() || s[pos] != c)
      return false;
    ++pos;
    return true;
  }
  void skipSpace() {
    while (pos < s.size() && std::strchr(" \t\r\n\f\v", s[pos]))
      ++pos;
  }

  std::nullopt_t syntaxError(const std::string &what) {
    return fail(error, name,
                "malformed header: " + what + " at offset " + std::to_string(pos) + " in " +
                    quoteHeader(s));
  }
  std::nullopt_t duplicate(const std::string &key) {
    return fail(error, name, "duplicate key '" + key + "' in header: " + quoteHeader(s));
  }

  /// A Python string literal: 'x' or "x", optionally u/b-prefixed. Escapes
  /// only protect the next character; descrs and keys never need more.
  bool parseString(std::string &out) {
    size_t save = pos;
    if (peek() == 'u' || peek() == 'b')
      ++pos;
    char quote = peek();
    if (quote != '\'' && quote != '"') {
      pos = save;
      return false;
    }
    ++pos;
    out.clear();
    while (pos < s.size() && s[pos] != quote) {
      if (s[pos] == '\\' && pos + 1 < s.size())
        ++pos;
      out += s[pos++];
    }
    if (pos >= s.size()) {
      pos = save;
      return false;
    }
    ++pos;
    return true;
  }

  std::string_view parseName() {
    size_t start = pos;
    while (pos < s.size() && (std::isalnum(static_cast<unsigned char>(s[pos])) || s[pos] == '_'))
      ++pos;
    return s.substr(start, pos - start);
  }

  /// Skips a bracketed value, honouring nesting and quoted strings.
  bool skipBracketed() {
    int depth = 0;
    while (pos < s.size()) {
      char c = s[pos];
      if (c == '\'' || c == '"') {
        std::string ignored;
        if (!parseString(ignored))
          return false;
        continue;
      }
      ++pos;
      if (c == '[' || c == '(' || c == '{')
        ++depth;
      else if ((c == ']' || c == ')' || c == '}') && --depth == 0)
        return true;
    }
    return false;
  }

  /// A tuple of non-negative integers: (), (3,), (2, 3) or (2, 3,).
  std::optional<rt::Shape> parseShape() {
    size_t start = pos;
    if (!consume('('))
      return syntaxError("expected a tuple for 'shape'");
    rt::Shape shape;
    bool sawComma = false;
    while (true) {
      skipSpace();
      if (consume(')'))
        break;
      size_t numStart = pos;
      bool negative = consume('-');
      if (!negative)
        consume('+');
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        return syntaxError("expected an integer in 'shape'");
      int64_t v = 0;
      bool overflow = false;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        overflow |=
            __builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[pos] - '0', &v);
        ++pos;
      }
      std::string number(s.substr(numStart, pos - numStart));
      // Python 2 wrote longs as `3L`; numpy still reads such files.
      if (peek() == 'L' || peek() == 'l')
        ++pos;
      if (overflow)
        return fail(error, name, "dimension " + number + " in 'shape' is too large");
      if (negative && v != 0)
        return fail(error, name, "negative dimension " + number + " in 'shape'");
      shape.push_back(v);
      skipSpace();
      if (consume(',')) {
        sawComma = true;
        continue;
      }
      if (consume(')'))
        break;
      return syntaxError("expected ',' or ')' in 'shape'");
    }
    // `(3)` is the integer 3 in Python, not a tuple; numpy rejects it too.
    if (shape.size() == 1 && !sawComma)
      return fail(error, name,
                  "'shape' is not a tuple: " + std::string(s.substr(start, pos - start)));
    return shape;
  }
};

/// Where the header text sits in a file.
struct Preamble {
  size_t headerStart;
  size_t headerLen;
};

/// Checks the magic, version and header length. `prefix` holds the first
/// min(fileSize, kMaxPreambleLen) bytes.
std::optional<Preamble> parsePreamble(const unsigned char *prefix, uint64_t fileSize,
                                      const std::string &name, std::string &error) {
  if (fileSize == 0)
    return fail(error, name, "empty file (not a .npy file)");
  // np.savez writes zip archives; a common mix-up worth naming.
  if (fileSize >= 4 && std::memcmp(prefix, "PK\x03\x04", 4) == 0)
    return fail(error, name,
                "not a .npy file but a zip archive (an .npz?); save each array with np.save");
  if (fileSize < kMagicLen || std::memcmp(prefix, kMagic, kMagicLen) != 0)
    return fail(error, name, "not a .npy file (bad magic; expected \"\\x93NUMPY\")");
  if (fileSize < kMagicLen + 2)
    return fail(error, name, "truncated header: the file ends inside the .npy preamble");
  unsigned major = prefix[kMagicLen], minor = prefix[kMagicLen + 1];
  if (major < 1 || major > 3 || minor != 0)
    return fail(error, name,
                "unsupported .npy format version " + std::to_string(major) + "." +
                    std::to_string(minor) + " (expected 1.0, 2.0 or 3.0)");
  size_t lenBytes = major == 1 ? 2 : 4;
  size_t headerStart = kMagicLen + 2 + lenBytes;
  if (fileSize < headerStart)
    return fail(error, name, "truncated header: the file ends inside the .npy preamble");
  uint64_t headerLen = 0;
  for (size_t i = 0; i < lenBytes; ++i)
    headerLen |= static_cast<uint64_t>(prefix[kMagicLen + 2 + i]) << (8 * i);
  if (headerLen > fileSize - headerStart)
    return fail(error, name,
                "truncated header: header length is " + std::to_string(headerLen) +
                    " bytes but only " + std::to_string(fileSize - headerStart) + " bytes follow");
  if (headerLen > kMaxHeaderLen)
    return fail(error, name,
                "header length " + std::to_string(headerLen) + " is implausibly large");
  return Preamble{headerStart, static_cast<size_t>(headerLen)};
}

/// Checks that exactly the data the header describes follows it.
bool checkDataSize(const Header &h, uint64_t available, const std::string &name,
                   std::string &error) {
  if (available == h.dataBytes)
    return true;
  std::string says = "header says " + rt::formatShape(h.shape) + " " + rt::dtypeName(h.dtype) +
                     " (" + std::to_string(h.dataBytes) + " bytes) but " +
                     std::to_string(available) + " bytes follow";
  fail(error, name, (available < h.dataBytes ? "truncated: " : "trailing data: ") + says);
  return false;
}

/// numpy writes only 0 and 1 for bools and kernels may rely on that, so any
/// other byte is read as true.
void normalizeBools(rt::Tensor &t) {
  if (t.dtype() != DType::Bool)
    return;
  auto *p = t.mutableData<uint8_t>();
  for (int64_t i = 0, e = t.numElements(); i < e; ++i)
    p[i] = p[i] != 0;
}

/// Allocates the tensor a validated header describes.
std::optional<rt::Tensor> allocate(DType dtype, const rt::Shape &shape, uint64_t bytes,
                                   const std::string &name, std::string &error) {
  std::optional<rt::Tensor> t = rt::Tensor::zeros(dtype, shape);
  if (!t)
    return fail(error, name, "out of memory allocating " + std::to_string(bytes) + " bytes");
  return t;
}


} // namespace

std::optional<rt::Tensor> amct::parseNpy(const char *data, size_t size, const std::string &name,
                                         std::string &error) {
  const auto *bytes = reinterpret_cast<const unsigned char *>(data);
  std::optional<Preamble> pre = parsePreamble(bytes, size, name, error);
  if (!pre)
    return std::nullopt;
  std::optional<Header> h =
      HeaderParser(std::string_view(data + pre->headerStart, pre->headerLen), name, error).parse();
  if (!h)
    return std::nullopt;
  size_t dataStart = pre->headerStart + pre->headerLen;
  if (!checkDataSize(*h, size - dataStart, name, error))
    return std::nullopt;
  std::optional<rt::Tensor> t = allocate(h->dtype, h->shape, h->dataBytes, name, error);
  if (!t)
    return std::nullopt;
  if (h->dataBytes)
    std::memcpy(t->mutableRaw(), data + dataStart, h->dataBytes);
  normalizeBools(*t);
  return t;
}

std::optional<rt::Tensor> amct::readNpy(const std::string &path, std::string &error) {
  ReadableFile file;
  if (!openRegularFile(path, file, error))
    return std::nullopt;
  uint64_t size = file.size();
  unsigned char prefix[kMaxPreambleLen] = {};
  if (!file.readAt(0, std::min<uint64_t>(size, kMaxPreambleLen), prefix, error))
    return std::nullopt;
  std::optional<Preamble> pre = parsePreamble(prefix, size, path, error);
  if (!pre)
    return std::nullopt;
  // Bounded by both the file size and kMaxHeaderLen (parsePreamble).
  std::string text(pre->headerLen, '\0');
  if (!file.readAt(pre->headerStart, text.size(), text.data(), error))
    return std::nullopt;
  std::optional<Header> h = HeaderParser(text, path, error).parse();
  if (!h)
    return std::nullopt;
  uint64_t dataStart = pre->headerStart + pre->headerLen;
  if (!checkDataSize(*h, size - dataStart, path, error))
    return std::nullopt;
  // Only now, with the size matching the file, is the header trusted.
  std::optional<rt::Tensor> t = allocate(h->dtype, h->shape, h->dataBytes, path, error);
  if (!t || !file.readAt(dataStart, h->dataBytes, t->mutableRaw(), error))
    return std::nullopt;
  normalizeBools(*t);
  return t;
}

std::string amct::serializeNpy(const rt::Tensor &in) {
  // .npy has no bfloat16: such a tensor is written as float32, which holds
  // every bfloat16 value exactly.
  std::optional<rt::Tensor> widened;
  if (in.dtype() == DType::BF16)
    widened = in.convertFloat(DType::F32);
  const rt::Tensor &t = widened ? *widened : in;
  // The dict exactly as numpy's _write_array_header spells it: sorted keys,
  // Python reprs, a trailing ", ".
  std::string dict = "{'descr': '" + descrOf(t.dtype()) + "', 'fortran_order': False, 'shape': (";
  for (int64_t i = 0; i < t.rank(); ++i)
    dict += (i ? ", " : "") + std::to_string(t.dim(i));
  dict += t.rank() == 1 ? ",), }" : "), }";
  if (t.rank() > 0) {
    size_t digits = std::to_string(t.dim(0)).size();
    if (digits < kGrowthAxisMaxDigits)
      dict.append(kGrowthAxisMaxDigits - digits, ' ');
  }

  // Spaces and a newline pad the preamble + header to kArrayAlign; the
  // version only changes when the length no longer fits 16 bits.
  unsigned major = 1;
  size_t lenBytes = 2;
  size_t hlen = dict.size() + 1;
  size_t padLen = kArrayAlign - (kMagicLen + 2 + lenBytes + hlen) % kArrayAlign;
  if (hlen + padLen > 0xffff) {
    major = 2;
    lenBytes = 4;
    padLen = kArrayAlign - (kMagicLen + 2 + lenBytes + hlen) % kArrayAlign;
  }
  uint64_t headerLen = hlen + padLen;

  std::string out(kMagic, kMagicLen);
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < lenBytes; ++i)
    out += static_cast<char>((headerLen >> (8 * i)) & 0xff);
  out += dict;
  out.append(padLen, ' ');
  out += '\n';

  size_t dataStart = out.size();
  out.resize(dataStart + t.byteSize(), '\0');
  if (t.raw() && t.byteSize())
    std::memcpy(&out[dataStart], t.raw(), t.byteSize());
  // Keep bools canonical so numpy sees only 0 and 1.
  if (t.dtype() == DType::Bool)
    for (size_t i = dataStart; i < out.size(); ++i)
      out[i] = out[i] != 0;
  return out;
}

std::optional<rt::Tensor> amct::readRawBinary(const std::string &path, DType dtype,
                                              const rt::Shape &shape, std::string &error) {
  std::optional<int64_t> n = rt::numElementsOf(shape);
  uint64_t bytes;
  if (!n || __builtin_mul_overflow(static_cast<uint64_t>(*n), rt::dtypeSize(dtype), &bytes))
    return fail(error, path, "invalid shape " + rt::formatShape(shape) + " for raw input");
  ReadableFile file;
  if (!openRegularFile(path, file, error))
    return std::nullopt;
  uint64_t size = file.size();
  if (size != bytes)
    return fail(error, path,
                "raw input of " + rt::formatShape(shape) + " " + rt::dtypeName(dtype) + " needs " +
                    std::to_string(bytes) + " bytes but the file has " + std::to_string(size) +
                    " bytes");
  std::optional<rt::Tensor> t = allocate(dtype, shape, bytes, path, error);
  if (!t || !file.readAt(0, bytes, t->mutableRaw(), error))
    return std::nullopt;
  normalizeBools(*t);
  return t;
}
