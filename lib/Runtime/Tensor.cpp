//===- Tensor.cpp - the executor's tensor ---------------------------------===//

#include "amct/Runtime/Tensor.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace amct::rt {

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F64: case DType::I64: case DType::U64: return 8;
  case DType::F32: case DType::I32: case DType::U32: return 4;
  case DType::F16: case DType::BF16: case DType::I16: case DType::U16: return 2;
  case DType::I8: case DType::U8: case DType::Bool: return 1;
  }
  return 1;
}

static const char *const kNames[] = {"float32", "float16", "float64", "int8",  "uint8",
                                     "int16",   "uint16",  "int32",   "uint32", "int64",
                                     "uint64",  "bool",    "bfloat16"};

const char *dtypeName(DType dtype) { return kNames[static_cast<int>(dtype)]; }

std::optional<DType> dtypeFromName(const std::string &name) {
  for (int i = 0; i < int(std::size(kNames)); ++i)
    if (name == kNames[i])
      return static_cast<DType>(i);
  return std::nullopt;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000 | (mant << 13); // inf / NaN
  } else if (exp) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant) {
    // Subnormal: normalise.
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while (!(mant & 0x400));
    bits = sign | uint32_t(112 - e) << 23 | ((mant & 0x3ff) << 13);
  } else {
    bits = sign;
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToHalf(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffff;
  if (absx > 0x7f800000)
    return sign | 0x7e00 | ((absx >> 13) & 0x3ff); // NaN, quiet
  if (absx >= 0x477ff000)                          // rounds to >= 65520: inf
    return sign | 0x7c00;
  if (absx < 0x38800000) {
    // Subnormal half (or zero): shift the implicit-1 mantissa into place
    // and round to nearest even.
    if (absx < 0x33000000)
      return sign;
    uint32_t e = absx >> 23, m = (absx & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e; // 14..24
    uint32_t half = m >> shift, rem = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1)))
      ++half;
    return sign | half;
  }
  uint32_t rounded = absx + 0xfff + ((absx >> 13) & 1);
  return sign | uint16_t((rounded - 0x38000000) >> 13);
}

float bf16ToFloat(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToBf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000)
    return uint16_t((x >> 16) | 0x40); // NaN, quiet
  return uint16_t((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

std::optional<int64_t> numElementsOf(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n))
      return std::nullopt;
  return n;
}

std::string formatShape(const Shape &shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

/// Asks for transparent huge pages on the whole 2 MiB pages inside a large
/// buffer: first touch of fresh memory costs a page fault per page, and
/// faults are expensive (notably in VMs), so 512x fewer of them matter for
/// activations of tens of MB. Only a hint; already mapped pages stay as
/// they are.
static void adviseHugePages(void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  if (bytes < 2 * kHuge)
    return;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end > begin)
    madvise(reinterpret_cast<void *>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

std::optional<Tensor> Tensor::zeros(DType dtype, Shape shape) {
  std::optional<Tensor> t = uninitialized(dtype, std::move(shape));
  if (t && t->byteSize())
    std::memset(t->mutableRaw(), 0, t->byteSize());
  return t;
}

std::optional<Tensor> Tensor::uninitialized(DType dtype, Shape shape) {
  std::optional<int64_t> n = numElementsOf(shape);
  size_t bytes;
  if (!n || __builtin_mul_overflow((size_t)*n, dtypeSize(dtype), &bytes))
    return std::nullopt;
  // 64-byte alignment suits AVX-512 loads. Aligned by hand, not with
  // aligned_alloc: glibc's memalign asks for the size plus the alignment, so
  // it never fits the exact-size hole a freed activation of the same shape
  // left, and every op's output would be fresh memory (a page fault per 4 KiB).
  void *p = nullptr;
  if (bytes) {
    if (bytes > SIZE_MAX - 64 || !(p = std::malloc(bytes + 64)))
      return std::nullopt;
    adviseHugePages(p, bytes + 64);
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numElements_ = *n;
  t.owner_ = std::shared_ptr<const void>(p, [](const void *q) { std::free(const_cast<void *>(q)); });
  t.data_ = p ? reinterpret_cast<void *>((reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t(63))
              : nullptr;
  return t;
}

Tensor Tensor::view(DType dtype, Shape shape, std::shared_ptr<const void> owner,
                    const void *data) {
  Tensor t;
  t.dtype_ = dtype;
  t.numElements_ = numElementsOf(shape).value_or(0);
  t.shape_ = std::move(shape);
  t.owner_ = std::move(owner);
  t.data_ = data;
  return t;
}

std::optional<Tensor> Tensor::clone() const {
  std::optional<Tensor> t = uninitialized(dtype_, shape_);
  if (t && byteSize())
    std::memcpy(t->mutableRaw(), data_, byteSize());
  return t;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  assert(rank() >= 1 && 0 <= begin && begin <= end && end <= dim(0) && "rows out of range");
  Shape shape = shape_;
  int64_t row = numElements_ / std::max<int64_t>(1, shape[0]);
  shape[0] = end - begin;
  auto owner = std::make_shared<Tensor>(*this);
  return view(dtype_, shape, std::shared_ptr<const void>(owner, owner->raw()),
              static_cast<const char *>(data_) + begin * row * dtypeSize(dtype_));
}

std::optional<Tensor> Tensor::concatRows(const std::vector<Tensor> &pieces) {
  assert(!pieces.empty() && "rows of at least one tensor");
  if (pieces.size() == 1)
    return pieces[0];
  assert(pieces[0].rank() >= 1 && "rows of tensors with a dim 0");
  Shape shape = pieces[0].shape();
  shape[0] = 0;
  for (const Tensor &p : pieces)
    shape[0] += p.dim(0);
  std::optional<Tensor> all = uninitialized(pieces[0].dtype(), shape);
  if (!all)
    return std::nullopt;
  char *dst = all->mutableData<char>();
  for (const Tensor &p : pieces) {
    memcpy(dst, p.raw(), p.byteSize());
    dst += p.byteSize();
  }
  return all;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

std::optional<Tensor> Tensor::convertFloat(DType to) const {
  std::optional<Tensor> t = uninitialized(to, shape_);
  if (!t)
    return std::nullopt;
  int64_t n = numElements_;
  if (isHalfFloat(dtype_) && to == DType::F32) {
    const uint16_t *src = data<uint16_t>();
    float *dst = t->mutableData<float>();
    for (int64_t i = 0; i < n; ++i)
      dst[i] = dtype_ == DType::F16 ? halfToFloat(src[i]) : bf16ToFloat(src[i]);
  } else if (dtype_ == DType::F32 && isHalfFloat(to)) {
    const float *src = data<float>();
    uint16_t *dst = t->mutableData<uint16_t>();
    for (int64_t i = 0; i < n; ++i)
      dst[i] = to == DType::F16 ? floatToHalf(src[i]) : floatToBf16(src[i]);
  } else {
    assert(false && "convertFloat converts between float32 and a 16-bit float");
    return std::nullopt;
  }
  return t;
}

} // namespace amct::rt
