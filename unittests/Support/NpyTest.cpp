//===- NpyTest.cpp - numpy .npy files -------------------------------------===//
//
// Round trips of every dtype, files written by real numpy (Inputs/, made by
// gen_npy_fixtures.py) read back value by value and re-serialized byte for
// byte, and malformed or lying files, each through both the in-memory and
// the file reader, checked for the words of their error.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/Npy.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <unistd.h>

using namespace amct;
using rt::DType;
using rt::Shape;
using rt::Tensor;

namespace {

const DType kAllDTypes[] = {DType::F32, DType::F16, DType::F64, DType::I8,
                            DType::U8,  DType::I16, DType::U16, DType::I32,
                            DType::U32, DType::I64, DType::U64, DType::Bool};

std::string fixture(const std::string &name) {
  std::string dir = __FILE__;
  dir.resize(dir.find_last_of('/') + 1);
  return dir + "Inputs/" + name;
}

std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A file in the test's temp dir, removed at scope exit.
class TempFile {
public:
  explicit TempFile(const std::string &bytes) {
    static int counter = 0;
    path = testing::TempDir() + "npytest_" + std::to_string(::getpid()) + "_" +
           std::to_string(counter++) + ".npy";
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), bytes.size());
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
};

std::string bytesOf(const Tensor &t) {
  return std::string(static_cast<const char *>(t.raw()), t.byteSize());
}

/// A version 1.0 file with `dict` as its header text (unpadded) and `data`.
std::string makeNpy(const std::string &dict, const std::string &data = "", unsigned major = 1) {
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  size_t len = dict.size();
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i)
    out += static_cast<char>((len >> (8 * i)) & 0xff);
  return out + dict + data;
}

std::string dictFor(const std::string &descr, const std::string &shape,
                    const std::string &fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }\n";
}

void expectError(const std::string &error, const std::string &name,
                 const std::vector<std::string> &words) {
  EXPECT_EQ(error.rfind(name + ": ", 0), 0u) << "message does not start with the name: " << error;
  for (const std::string &w : words)
    EXPECT_NE(error.find(w), std::string::npos) << "'" << w << "' not in: " << error;
}

/// Both readers must reject `bytes` with the same message, naming the source.
void expectRejected(const std::string &bytes, const std::vector<std::string> &words) {
  std::string error;
  EXPECT_FALSE(parseNpy(bytes.data(), bytes.size(), "mem.npy", error));
  expectError(error, "mem.npy", words);

  TempFile file(bytes);
  std::string fileError;
  EXPECT_FALSE(readNpy(file.path, fileError));
  expectError(fileError, file.path, words);
  EXPECT_EQ(fileError.substr(file.path.size()), error.substr(std::strlen("mem.npy")));
}

/// Reads `bytes` through both readers, which must agree.
std::optional<Tensor> parseBoth(const std::string &bytes) {
  std::string error;
  std::optional<Tensor> t = parseNpy(bytes.data(), bytes.size(), "mem.npy", error);
  EXPECT_TRUE(t) << error;
  TempFile file(bytes);
  std::optional<Tensor> u = readNpy(file.path, error);
  EXPECT_TRUE(u) << error;
  if (!t || !u)
    return std::nullopt;
  EXPECT_EQ(t->dtype(), u->dtype());
  EXPECT_EQ(t->shape(), u->shape());
  EXPECT_EQ(bytesOf(*t), bytesOf(*u));
  return t;
}

float halfToFloat(uint16_t h) {
  int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v = exp == 0    ? std::ldexp(static_cast<float>(mant), -24)
            : exp == 31 ? (mant ? NAN : INFINITY)
                        : std::ldexp(static_cast<float>(mant + 1024), exp - 25);
  return (h & 0x8000) ? -v : v;
}

template <typename T> void expectValues(const Tensor &t, const std::function<double(int)> &f) {
  for (int i = 0; i < t.numElements(); ++i)
    EXPECT_EQ(t.data<T>()[i], static_cast<T>(f(i))) << "element " << i;
}

//===----------------------------------------------------------------------===//
// Round trips
//===----------------------------------------------------------------------===//

TEST(NpyTest, RoundTripEveryDTypeAndShape) {
  const Shape shapes[] = {{}, {0}, {3}, {2, 3, 4}};
  for (DType dtype : kAllDTypes) {
    for (const Shape &shape : shapes) {
      SCOPED_TRACE(std::string(rt::dtypeName(dtype)) + " " + rt::formatShape(shape));
      std::optional<Tensor> t = Tensor::zeros(dtype, shape);
      ASSERT_TRUE(t);
      auto *p = static_cast<uint8_t *>(t->mutableRaw());
      for (size_t i = 0; i < t->byteSize(); ++i)
        p[i] = dtype == DType::Bool ? i % 3 == 0 : static_cast<uint8_t>(i * 37 + 11);

      std::string bytes = serializeNpy(*t);
      // numpy aligns the data to 64 bytes.
      EXPECT_EQ((bytes.size() - t->byteSize()) % 64, 0u);
      EXPECT_EQ(bytes[6], 1) << "version 1.0 suffices";
      std::optional<Tensor> back = parseBoth(bytes);
      ASSERT_TRUE(back);
      EXPECT_EQ(back->dtype(), dtype);
      EXPECT_EQ(back->shape(), shape);
      EXPECT_EQ(bytesOf(*back), bytesOf(*t));
      EXPECT_EQ(reinterpret_cast<uintptr_t>(back->raw()) % 64, 0u);
    }
  }
}

TEST(NpyTest, SerializeNormalizesBools) {
  std::optional<Tensor> t = Tensor::zeros(DType::Bool, {4});
  ASSERT_TRUE(t);
  std::memcpy(t->mutableRaw(), "\x00\x01\x02\xff", 4);
  std::string bytes = serializeNpy(*t);
  EXPECT_EQ(bytes.substr(bytes.size() - 4), std::string("\x00\x01\x01\x01", 4));
}

TEST(NpyTest, Bfloat16IsWrittenAsFloat32) {
  // .npy has no bfloat16: the values are widened, exactly.
  std::optional<Tensor> t = Tensor::zeros(DType::BF16, {3});
  ASSERT_TRUE(t);
  const uint16_t bits[] = {0x3f80, 0xc040, 0x7f80}; // 1, -3, inf
  std::memcpy(t->mutableRaw(), bits, sizeof(bits));
  std::optional<Tensor> back = parseBoth(serializeNpy(*t));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->dtype(), DType::F32);
  EXPECT_EQ(back->shape(), Shape{3});
  EXPECT_EQ(back->data<float>()[0], 1.0f);
  EXPECT_EQ(back->data<float>()[1], -3.0f);
  EXPECT_TRUE(std::isinf(back->data<float>()[2]));
}

TEST(NpyTest, LongHeaderUsesVersion2) {
  // 30000 dims of 1 make a header longer than 65535 bytes.
  std::optional<Tensor> t = Tensor::zeros(DType::U8, Shape(30000, 1));
  ASSERT_TRUE(t);
  std::string bytes = serializeNpy(*t);
  EXPECT_EQ(bytes[6], 2);
  EXPECT_EQ(bytes.size() % 64, 1u); // header aligned, then one data byte
  std::optional<Tensor> back = parseBoth(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->shape(), Shape(30000, 1));
}

//===----------------------------------------------------------------------===//
// Files written by numpy
//===----------------------------------------------------------------------===//

struct Fixture {
  const char *file;
  DType dtype;
  std::function<double(int)> value;
};

TEST(NpyTest, ReadsNumpyFilesOfEveryDType) {
  const Fixture fixtures[] = {
      {"float16_2x3x4.npy", DType::F16, [](int i) { return (i - 12) * 0.25; }},
      {"float32_2x3x4.npy", DType::F32, [](int i) { return (i - 12) * 0.25; }},
      {"float64_2x3x4.npy", DType::F64, [](int i) { return (i - 12) * 0.25; }},
      {"int8_2x3x4.npy", DType::I8, [](int i) { return (i - 12) * 10; }},
      {"int16_2x3x4.npy", DType::I16, [](int i) { return (i - 12) * 1000; }},
      {"int32_2x3x4.npy", DType::I32, [](int i) { return (i - 12) * 100000000.0; }},
      {"int64_2x3x4.npy", DType::I64, nullptr},
      {"uint8_2x3x4.npy", DType::U8, [](int i) { return i * 11; }},
      {"uint16_2x3x4.npy", DType::U16, [](int i) { return i * 2849; }},
      {"uint32_2x3x4.npy", DType::U32, [](int i) { return i * 186737708.0; }},
      {"uint64_2x3x4.npy", DType::U64, nullptr},
  };
  for (const Fixture &f : fixtures) {
    SCOPED_TRACE(f.file);
    std::string path = fixture(f.file), error;
    std::optional<Tensor> t = readNpy(path, error);
    ASSERT_TRUE(t) << error;
    EXPECT_EQ(t->dtype(), f.dtype);
    EXPECT_EQ(t->shape(), Shape({2, 3, 4}));
    switch (f.dtype) {
    case DType::F16:
      for (int i = 0; i < 24; ++i)
        EXPECT_EQ(halfToFloat(t->data<uint16_t>()[i]), (i - 12) * 0.25f);
      break;
    case DType::F32: expectValues<float>(*t, f.value); break;
    case DType::F64: expectValues<double>(*t, f.value); break;
    case DType::I8: expectValues<int8_t>(*t, f.value); break;
    case DType::I16: expectValues<int16_t>(*t, f.value); break;
    case DType::I32: expectValues<int32_t>(*t, f.value); break;
    case DType::U8: expectValues<uint8_t>(*t, f.value); break;
    case DType::U16: expectValues<uint16_t>(*t, f.value); break;
    case DType::U32: expectValues<uint32_t>(*t, f.value); break;
    // 64-bit values are beyond double's exact range: compute them as integers.
    case DType::I64:
      for (int i = 0; i < 24; ++i)
        EXPECT_EQ(t->data<int64_t>()[i], (i - 12) * int64_t(100000000000000000));
      break;
    case DType::U64:
      for (int i = 0; i < 24; ++i)
        EXPECT_EQ(t->data<uint64_t>()[i], i * uint64_t(802032351030850070));
      break;
    default: FAIL();
    }
    // What we write is byte-identical to np.save.
    EXPECT_EQ(serializeNpy(*t), readBytes(path));
  }
}

TEST(NpyTest, ReadsNumpyFloat16Specials) {
  std::string error;
  std::optional<Tensor> t = readNpy(fixture("float16_specials.npy"), error);
  ASSERT_TRUE(t) << error;
  ASSERT_EQ(t->shape(), Shape({9}));
  // 0, -0, 1, -2, 65504, inf, -inf, nan, 2^-24 as IEEE half bits.
  const uint16_t expected[] = {0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff,
                               0x7c00, 0xfc00, 0x7e00, 0x0001};
  for (int i = 0; i < 9; ++i)
    EXPECT_EQ(t->data<uint16_t>()[i], expected[i]) << "element " << i;
}

TEST(NpyTest, ReadsNumpyBool) {
  std::string path = fixture("bool_2x3.npy"), error;
  std::optional<Tensor> t = readNpy(path, error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->dtype(), DType::Bool);
  EXPECT_EQ(t->shape(), Shape({2, 3}));
  EXPECT_EQ(bytesOf(*t), std::string("\1\0\1\1\0\0", 6));
  EXPECT_EQ(serializeNpy(*t), readBytes(path));
}

TEST(NpyTest, ReadsNumpyScalarAndEmpty) {
  std::string error;
  std::optional<Tensor> s = readNpy(fixture("float32_scalar.npy"), error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->shape(), Shape());
  EXPECT_EQ(s->numElements(), 1);
  EXPECT_EQ(s->data<float>()[0], 3.5f);
  EXPECT_EQ(serializeNpy(*s), readBytes(fixture("float32_scalar.npy")));

  std::optional<Tensor> e = readNpy(fixture("float32_empty.npy"), error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ(e->shape(), Shape({0}));
  EXPECT_EQ(e->numElements(), 0);
  EXPECT_EQ(serializeNpy(*e), readBytes(fixture("float32_empty.npy")));

  std::optional<Tensor> z = readNpy(fixture("int64_2x0x3.npy"), error);
  ASSERT_TRUE(z) << error;
  EXPECT_EQ(z->dtype(), DType::I64);
  EXPECT_EQ(z->shape(), Shape({2, 0, 3}));
  EXPECT_EQ(serializeNpy(*z), readBytes(fixture("int64_2x0x3.npy")));
}

TEST(NpyTest, ReadsNumpyVersions2And3) {
  for (const char *file : {"float32_2x3_v2.npy", "float32_2x3_v3.npy"}) {
    SCOPED_TRACE(file);
    std::string bytes = readBytes(fixture(file));
    ASSERT_GT(bytes.size(), 8u);
    EXPECT_EQ(bytes[6], file[13] - '0') << "fixture has the intended version";
    std::optional<Tensor> t = parseBoth(bytes);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->dtype(), DType::F32);
    EXPECT_EQ(t->shape(), Shape({2, 3}));
    expectValues<float>(*t, [](int i) { return i; });
  }
}

TEST(NpyTest, RejectsUnsupportedNumpyFiles) {
  struct Case {
    const char *file;
    std::vector<std::string> words;
  };
  const Case cases[] = {
      {"fortran_2x3.npy", {"fortran_order arrays are not supported", "ascontiguousarray"}},
      {"bigendian_f4.npy",
       {"big-endian arrays are not supported (convert with arr.astype('<f4'))"}},
      {"object.npy", {"object arrays are not supported", "'|O'"}},
      {"structured.npy", {"structured arrays are not supported", "[('a', '<f4'), ('b', '<i4')]"}},
      {"unicode.npy", {"unsupported dtype '<U2'"}},
      {"complex64.npy", {"unsupported dtype '<c8'", "float16/32/64"}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.file);
    std::string path = fixture(c.file), error;
    EXPECT_FALSE(readNpy(path, error));
    expectError(error, path, c.words);
  }
}

//===----------------------------------------------------------------------===//
// Header syntax numpy (or Python) accepts
//===----------------------------------------------------------------------===//

TEST(NpyTest, AcceptsHeaderVariants) {
  struct Case {
    std::string dict;
    DType dtype;
    Shape shape;
  };
  const Case cases[] = {
      {"{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}", DType::F32, {2, 3}},
      {"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,)}", DType::F32, {6}},
      {"  {  'descr' :'<i8' ,'fortran_order':False,'shape':( 2 , 3 , ) , }  \n\n",
       DType::I64,
       {2, 3}},
      {"{'descr': '<f8',\t'fortran_order': False, 'shape': ()}" + std::string(40, ' ') + "\n",
       DType::F64,
       {}},
      // Python 2 era files spell dims as longs.
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", DType::F32, {2, 3}},
      {"{u'descr': u'<u2', u'fortran_order': False, u'shape': (4,), }", DType::U16, {4}},
      // Byte-order spellings numpy may produce or accept.
      {dictFor("<i1", "(2,)"), DType::I8, {2}},
      {dictFor("<u1", "(2,)"), DType::U8, {2}},
      {dictFor(">u1", "(2,)"), DType::U8, {2}},
      {dictFor("<b1", "(2,)"), DType::Bool, {2}},
      {dictFor("|?", "(2,)"), DType::Bool, {2}},
      {dictFor("=f4", "(2,)"), DType::F32, {2}},
      {dictFor("f2", "(2,)"), DType::F16, {2}},
      {dictFor("|u8", "(2,)"), DType::U64, {2}},
      {dictFor("<f4", "(-0, 5)"), DType::F32, {0, 5}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.dict);
    std::optional<int64_t> n = rt::numElementsOf(c.shape);
    std::string data(*n * rt::dtypeSize(c.dtype), '\0');
    std::optional<Tensor> t = parseBoth(makeNpy(c.dict, data));
    ASSERT_TRUE(t);
    EXPECT_EQ(t->dtype(), c.dtype);
    EXPECT_EQ(t->shape(), c.shape);
  }
}

TEST(NpyTest, NormalizesBoolBytes) {
  std::optional<Tensor> t =
      parseBoth(makeNpy(dictFor("|b1", "(4,)"), std::string("\0\1\2\xff", 4)));
  ASSERT_TRUE(t);
  EXPECT_EQ(bytesOf(*t), std::string("\0\1\1\1", 4));
}

//===----------------------------------------------------------------------===//
// Malformed and lying files
//===----------------------------------------------------------------------===//

TEST(NpyTest, RejectsBadPreambles) {
  std::string good = readBytes(fixture("float32_2x3x4.npy"));
  expectRejected("", {"empty file"});
  expectRejected("\x93NUMPZ\x01\x00\x10\x00{}", {"not a .npy file", "bad magic"});
  expectRejected("hello", {"not a .npy file", "bad magic"});
  expectRejected(std::string("PK\x03\x04", 4) + std::string(60, '\0'), {"zip archive", ".npz"});
  expectRejected(good.substr(0, 7), {"truncated header", "preamble"});
  expectRejected(good.substr(0, 9), {"truncated header", "preamble"});
  expectRejected(good.substr(0, 40),
                 {"truncated header", "header length is 118 bytes", "only 30 bytes follow"});

  std::string v4 = good;
  v4[6] = 4;
  expectRejected(v4, {"unsupported .npy format version 4.0"});
  std::string v11 = good;
  v11[7] = 1;
  expectRejected(v11, {"unsupported .npy format version 1.1"});

  // Header lengths far beyond the file, in both length field widths.
  expectRejected(std::string("\x93NUMPY\x01\x00\xff\xff{}", 12), {"truncated header", "65535"});
  expectRejected(std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14),
                 {"truncated header", "4294967295"});
  // A header that fits the file but is absurdly long.
  std::string big = makeNpy(std::string(2 << 20, ' '), "", 2);
  expectRejected(big, {"header length 2097152 is implausibly large"});
}

TEST(NpyTest, RejectsWrongDataSize) {
  std::string good = readBytes(fixture("float32_2x3x4.npy"));
  expectRejected(good.substr(0, good.size() - 10),
                 {"truncated: header says 2x3x4 float32 (96 bytes) but 86 bytes follow"});
  expectRejected(good + "extra", {"trailing data: header says 2x3x4 float32 (96 bytes) but 101 "
                                  "bytes follow"});

  std::string error;
  std::string image = makeNpy(dictFor("<f4", "(1, 3, 224, 224)"), std::string(1000, '\0'));
  EXPECT_FALSE(parseNpy(image.data(), image.size(), "file.npy", error));
  EXPECT_EQ(error, "file.npy: truncated: header says 1x3x224x224 float32 (602112 bytes) but "
                   "1000 bytes follow");
}

TEST(NpyTest, RejectsLyingShapes) {
  // Sizes that would exhaust memory if trusted: rejected from the header alone.
  expectRejected(makeNpy(dictFor("<f4", "(1099511627776, 1099511627776)"), "tiny"),
                 {"shape (1099511627776, 1099511627776) is too large"});
  expectRejected(makeNpy(dictFor("<f8", "(2147483648, 2147483648)")),
                 {"shape (2147483648, 2147483648) is too large"});
  expectRejected(makeNpy(dictFor("<f8", "(1073741824, 1073741824)"), "tiny"),
                 {"truncated: header says 1073741824x1073741824 float64 "
                  "(9223372036854775808 bytes) but 4 bytes follow"});
  expectRejected(makeNpy(dictFor("<f4", "(99999999999999999999,)")),
                 {"dimension 99999999999999999999 in 'shape' is too large"});
  expectRejected(makeNpy(dictFor("<f4", "(2, -3)")), {"negative dimension -3 in 'shape'"});
  expectRejected(makeNpy(dictFor("<f4", "(2, x)")),
                 {"malformed header", "expected an integer in 'shape'"});
  expectRejected(makeNpy(dictFor("<f4", "(2.5,)")),
                 {"malformed header", "expected ',' or ')' in 'shape'"});
  expectRejected(makeNpy(dictFor("<f4", "'abc'")), {"malformed header", "expected a tuple"});
  expectRejected(makeNpy(dictFor("<f4", "[2, 3]")), {"malformed header", "expected a tuple"});
  expectRejected(makeNpy(dictFor("<f4", "(3)"), std::string(12, '\0')),
                 {"'shape' is not a tuple: (3)"});
  expectRejected(makeNpy(dictFor("<f4", "(2,")), {"malformed header"});
}

TEST(NpyTest, RejectsMalformedDicts) {
  expectRejected(makeNpy("[1, 2]"), {"malformed header", "expected '{'", "[1, 2]"});
  expectRejected(makeNpy("{'descr': '<f4"), {"malformed header", "expected a string for 'descr'"});
  expectRejected(makeNpy("{'descr' '<f4'}"), {"malformed header", "expected ':' after 'descr'"});
  expectRejected(makeNpy("{descr: '<f4'}"), {"malformed header", "expected a string key"});
  expectRejected(makeNpy("{'descr': '<f4' 'fortran_order': False}"),
                 {"malformed header", "expected ',' or '}'"});
  expectRejected(makeNpy(dictFor("<f4", "(2,)") + "junk"),
                 {"malformed header", "unexpected text after the dict"});
  expectRejected(makeNpy("{'fortran_order': False, 'shape': (2,), }"), {"header has no 'descr'"});
  expectRejected(makeNpy("{'descr': '<f4', 'shape': (2,), }"), {"header has no 'fortran_order'"});
  expectRejected(makeNpy("{'descr': '<f4', 'fortran_order': False}"), {"header has no 'shape'"});
  expectRejected(makeNpy("{'descr': '<f4', 'descr': '<f4'}"), {"duplicate key 'descr'"});
  expectRejected(makeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"),
                 {"unexpected key 'x'"});
  expectRejected(makeNpy(dictFor("<f4", "(2,)", "0")),
                 {"malformed header", "expected True or False for 'fortran_order'"});
  expectRejected(makeNpy(dictFor("<f4", "(2, 3)", "True"), std::string(24, '\0')),
                 {"fortran_order arrays are not supported"});
  expectRejected(makeNpy(dictFor(">i8", "(2,)"), std::string(16, '\0')),
                 {"big-endian arrays are not supported (convert with arr.astype('<i8'))"});
  expectRejected(makeNpy(dictFor("|O", "(2,)"), std::string(16, '\0')),
                 {"object arrays are not supported (descr '|O')"});
  expectRejected(makeNpy(dictFor("", "(2,)")), {"unsupported dtype ''"});
  expectRejected(makeNpy("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, "
                         "'shape': (3,), }"),
                 {"structured arrays are not supported (descr [('a', '<f4'), ('b', '<i4')])"});
  // Non-printable header bytes are escaped in messages.
  expectRejected(makeNpy(std::string("{\x01}", 3)), {"\\x01"});
}

TEST(NpyTest, RejectsMissingFiles) {
  std::string error;
  std::string path = testing::TempDir() + "does_not_exist.npy";
  EXPECT_FALSE(readNpy(path, error));
  expectError(error, path, {"cannot open", "No such file"});

  std::string dir = testing::TempDir();
  EXPECT_FALSE(readNpy(dir, error));
  expectError(error, dir, {"is a directory"});
}

//===----------------------------------------------------------------------===//
// Raw binary
//===----------------------------------------------------------------------===//

TEST(NpyTest, ReadsRawBinary) {
  std::vector<float> values(24);
  for (int i = 0; i < 24; ++i)
    values[i] = i * 1.5f;
  TempFile file(std::string(reinterpret_cast<const char *>(values.data()), 96));
  std::string error;
  std::optional<Tensor> t = readRawBinary(file.path, DType::F32, {2, 3, 4}, error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->shape(), Shape({2, 3, 4}));
  expectValues<float>(*t, [](int i) { return i * 1.5; });

  EXPECT_FALSE(readRawBinary(file.path, DType::F32, {2, 3, 5}, error));
  expectError(error, file.path,
              {"raw input of 2x3x5 float32 needs 120 bytes but the file has 96 bytes"});
  EXPECT_FALSE(readRawBinary(file.path, DType::F32, {-1, 24}, error));
  expectError(error, file.path, {"invalid shape"});
  EXPECT_FALSE(readRawBinary(file.path, DType::F64, {1LL << 62}, error));
  expectError(error, file.path, {"invalid shape"});

  std::string missing = testing::TempDir() + "does_not_exist.bin";
  EXPECT_FALSE(readRawBinary(missing, DType::F32, {24}, error));
  expectError(error, missing, {"cannot open"});

  TempFile bools(std::string("\0\1\7", 3));
  std::optional<Tensor> b = readRawBinary(bools.path, DType::Bool, {3}, error);
  ASSERT_TRUE(b) << error;
  EXPECT_EQ(bytesOf(*b), std::string("\0\1\1", 3));

  TempFile empty("");
  std::optional<Tensor> e = readRawBinary(empty.path, DType::I32, {0, 4}, error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ(e->numElements(), 0);
}

} // namespace
