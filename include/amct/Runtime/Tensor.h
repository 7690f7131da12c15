//===- Tensor.h - the executor's tensor -------------------------*- C++ -*-===//
//
// A dense, row-major tensor with a reference-counted, 64-byte aligned buffer.
// Free of MLIR so that numerics, file I/O and kernels can use it alone.
// Constant tensors may view memory owned elsewhere (a model's weight blob);
// kernels only ever write their outputs.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_RUNTIME_TENSOR_H
#define AMCT_RUNTIME_TENSOR_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace amct::rt {

enum class DType : uint8_t { F32, F16, F64, I8, U8, I16, U16, I32, U32, I64, U64, Bool, BF16 };

/// IEEE binary16 and bfloat16 from and to float32; to-half conversions
/// round to nearest even (as ONNX Runtime stores them), NaN stays NaN.
float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);
float bf16ToFloat(uint16_t b);
uint16_t floatToBf16(float f);
/// Whether `dtype` is a 16-bit float (float16 or bfloat16): stored in its
/// own type, computed in float32.
inline bool isHalfFloat(DType dtype) { return dtype == DType::F16 || dtype == DType::BF16; }

/// Bytes per element.
size_t dtypeSize(DType dtype);
/// Lower-case name as numpy spells it ("float32", "int64", "bool", ...).
const char *dtypeName(DType dtype);
/// Parses a numpy-style name ("float32", "uint8", ...).
std::optional<DType> dtypeFromName(const std::string &name);

using Shape = std::vector<int64_t>;

/// Number of elements of a shape, or nullopt if a dim is negative or the
/// product overflows int64.
std::optional<int64_t> numElementsOf(const Shape &shape);
/// "1x3x224x224" ("scalar" for rank 0).
std::string formatShape(const Shape &shape);

class Tensor {
public:
  Tensor() = default;

  /// A new zero-filled tensor. Returns nullopt if the size overflows.
  static std::optional<Tensor> zeros(DType dtype, Shape shape);
  /// A new tensor whose contents are unspecified (for outputs a kernel
  /// writes completely: zero-filling large buffers costs a page fault each).
  static std::optional<Tensor> uninitialized(DType dtype, Shape shape);
  /// A tensor over `data` kept alive by `owner` (no copy).
  static Tensor view(DType dtype, Shape shape, std::shared_ptr<const void> owner,
                     const void *data);

  DType dtype() const { return dtype_; }
  const Shape &shape() const { return shape_; }
  int64_t rank() const { return shape_.size(); }
  int64_t dim(int64_t i) const { return shape_[i]; }
  int64_t numElements() const { return numElements_; }
  size_t byteSize() const { return numElements_ * dtypeSize(dtype_); }
  bool valid() const { return data_ != nullptr || numElements_ == 0; }

  const void *raw() const { return data_; }
  void *mutableRaw() { return const_cast<void *>(data_); }
  template <typename T> const T *data() const { return static_cast<const T *>(data_); }
  template <typename T> T *mutableData() { return static_cast<T *>(mutableRaw()); }

  /// Same buffer, another shape with the same element count.
  Tensor reshaped(Shape shape) const;
  /// Rows [begin, end) of dim 0 (rank >= 1, 0 <= begin <= end <= dim(0)) as
  /// a view that shares this tensor's buffer and keeps it alive: batches of
  /// a calibration set or of `amct run` input without a copy.
  Tensor rows(int64_t begin, int64_t end) const;
  /// The inverse: `pieces` (same dtype and trailing dims) stacked along
  /// dim 0 into one new tensor; the piece itself when there is one;
  /// nullopt when it cannot be allocated.
  static std::optional<Tensor> concatRows(const std::vector<Tensor> &pieces);
  /// Whether the buffer's lifetime is tied to this tensor (false for views
  /// of memory owned elsewhere, such as a model's weights).
  bool ownsData() const { return owner_ != nullptr || numElements_ == 0; }
  /// Whether this tensor holds the only reference to a buffer it owns (a
  /// kernel may then write its output over it).
  bool hasUniqueBuffer() const { return owner_ && owner_.use_count() == 1; }
  /// A copy in a buffer of its own.
  std::optional<Tensor> clone() const;
  /// float16 / bfloat16 <-> float32 (to the nearest, ties to even); nullopt
  /// if the allocation fails. Other pairs are not converted here.
  std::optional<Tensor> convertFloat(DType to) const;

private:
  DType dtype_ = DType::F32;
  Shape shape_;
  int64_t numElements_ = 0;
  std::shared_ptr<const void> owner_;
  const void *data_ = nullptr;
};

} // namespace amct::rt

#endif // AMCT_RUNTIME_TENSOR_H
