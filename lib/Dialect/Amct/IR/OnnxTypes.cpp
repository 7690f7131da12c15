//===- OnnxTypes.cpp - ONNX data types <-> MLIR element types ------------===//

#include "amct/Dialect/Amct/IR/OnnxTypes.h"
#include "amct/Dialect/Amct/IR/Amct.h"

#include "mlir/IR/Builders.h"

using namespace mlir;

namespace amct {

// Numbers from onnx.proto's TensorProto.DataType; spelled out here so that
// the dialect does not depend on protobuf.
enum OnnxDataType : int32_t {
  kFloat = 1, kUint8 = 2, kInt8 = 3, kUint16 = 4, kInt16 = 5, kInt32 = 6,
  kInt64 = 7, kString = 8, kBool = 9, kFloat16 = 10, kDouble = 11,
  kUint32 = 12, kUint64 = 13, kComplex64 = 14, kComplex128 = 15,
  kBfloat16 = 16, kFloat8E4M3FN = 17, kFloat8E4M3FNUZ = 18, kFloat8E5M2 = 19,
  kFloat8E5M2FNUZ = 20, kUint4 = 21, kInt4 = 22,
};

Type getElementTypeForOnnxDataType(MLIRContext *ctx, int64_t dataType) {
  Builder b(ctx);
  switch (dataType) {
  case kFloat: return b.getF32Type();
  case kUint8: return b.getIntegerType(8, /*isSigned=*/false);
  case kInt8: return b.getIntegerType(8);
  case kUint16: return b.getIntegerType(16, false);
  case kInt16: return b.getIntegerType(16);
  case kInt32: return b.getIntegerType(32);
  case kInt64: return b.getIntegerType(64);
  case kString: return StringType::get(ctx);
  case kBool: return b.getI1Type();
  case kFloat16: return b.getF16Type();
  case kDouble: return b.getF64Type();
  case kUint32: return b.getIntegerType(32, false);
  case kUint64: return b.getIntegerType(64, false);
  case kComplex64: return ComplexType::get(b.getF32Type());
  case kComplex128: return ComplexType::get(b.getF64Type());
  case kBfloat16: return b.getBF16Type();
  case kFloat8E4M3FN: return b.getFloat8E4M3FNType();
  case kFloat8E4M3FNUZ: return b.getFloat8E4M3FNUZType();
  case kFloat8E5M2: return b.getFloat8E5M2Type();
  case kFloat8E5M2FNUZ: return b.getFloat8E5M2FNUZType();
  case kUint4: return b.getIntegerType(4, false);
  case kInt4: return b.getIntegerType(4);
  default: return {};
  }
}

std::optional<int32_t> getOnnxDataTypeForElementType(Type type) {
  if (type.isF32()) return kFloat;
  if (type.isF16()) return kFloat16;
  if (type.isF64()) return kDouble;
  if (type.isBF16()) return kBfloat16;
  if (type.isFloat8E4M3FN()) return kFloat8E4M3FN;
  if (type.isFloat8E4M3FNUZ()) return kFloat8E4M3FNUZ;
  if (type.isFloat8E5M2()) return kFloat8E5M2;
  if (type.isFloat8E5M2FNUZ()) return kFloat8E5M2FNUZ;
  if (isa<StringType>(type)) return kString;
  if (auto c = dyn_cast<ComplexType>(type)) {
    if (c.getElementType().isF32()) return kComplex64;
    if (c.getElementType().isF64()) return kComplex128;
    return std::nullopt;
  }
  auto i = dyn_cast<IntegerType>(type);
  if (!i) return std::nullopt;
  bool isUnsigned = i.isUnsigned();
  switch (i.getWidth()) {
  case 1: return kBool;
  case 4: return isUnsigned ? kUint4 : kInt4;
  case 8: return isUnsigned ? kUint8 : kInt8;
  case 16: return isUnsigned ? kUint16 : kInt16;
  case 32: return isUnsigned ? kUint32 : kInt32;
  case 64: return isUnsigned ? kUint64 : kInt64;
  default: return std::nullopt;
  }
}

int64_t getOnnxRawElementSize(int64_t dataType) {
  switch (dataType) {
  case kBool: case kUint8: case kInt8: case kFloat8E4M3FN:
  case kFloat8E4M3FNUZ: case kFloat8E5M2: case kFloat8E5M2FNUZ: return 1;
  case kUint16: case kInt16: case kFloat16: case kBfloat16: return 2;
  case kFloat: case kInt32: case kUint32: return 4;
  case kInt64: case kUint64: case kDouble: case kComplex64: return 8;
  case kComplex128: return 16;
  default: return 0;
  }
}

} // namespace amct
