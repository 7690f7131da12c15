//===- Tensor.cpp - the executor's tensor ---------------------------------===//

#include "amct/Runtime/Tensor.h"

#include <cstdlib>
#include <cstring>

namespace amct::rt {

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F64: case DType::I64: case DType::U64: return 8;
  case DType::F32: case DType::I32: case DType::U32: return 4;
  case DType::F16: case DType::I16: case DType::U16: return 2;
  case DType::I8: case DType::U8: case DType::Bool: return 1;
  }
  return 1;
}

static const char *const kNames[] = {"float32", "float16", "float64", "int8",
                                     "uint8",   "int16",   "uint16",  "int32",
                                     "uint32",  "int64",   "uint64",  "bool"};

const char *dtypeName(DType dtype) { return kNames[static_cast<int>(dtype)]; }

std::optional<DType> dtypeFromName(const std::string &name) {
  for (int i = 0; i < 12; ++i)
    if (name == kNames[i])
      return static_cast<DType>(i);
  return std::nullopt;
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
  // 64-byte alignment suits AVX-512 loads; round the size up as aligned_alloc wants.
  size_t allocBytes = ((bytes + 63) / 64) * 64;
  void *p = allocBytes ? std::aligned_alloc(64, allocBytes) : nullptr;
  if (allocBytes && !p)
    return std::nullopt;
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numElements_ = *n;
  t.owner_ = std::shared_ptr<const void>(p, [](const void *q) { std::free(const_cast<void *>(q)); });
  t.data_ = p;
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

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

} // namespace amct::rt
