//===- OnnxTypes.h - ONNX data types <-> MLIR element types ----*- C++ -*-===//
//
// The mapping of ONNX TensorProto.DataType numbers to MLIR element types.
// It lives with the dialect (not the importer) because ops such as Cast carry
// ONNX data type numbers in their attributes.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_DIALECT_AMCT_IR_ONNXTYPES_H
#define AMCT_DIALECT_AMCT_IR_ONNXTYPES_H

#include "mlir/IR/Types.h"
#include <cstdint>
#include <optional>

namespace amct {
/// MLIR element type for an ONNX TensorProto.DataType, or null if unknown.
mlir::Type getElementTypeForOnnxDataType(mlir::MLIRContext *ctx,
                                         int64_t dataType);
/// ONNX TensorProto.DataType for an element type, if it has one.
std::optional<int32_t> getOnnxDataTypeForElementType(mlir::Type type);
/// Size in bytes of one element of an ONNX data type stored as raw_data, or
/// 0 for types without a fixed raw size (string, sub-byte types).
int64_t getOnnxRawElementSize(int64_t dataType);
} // namespace amct

#endif // AMCT_DIALECT_AMCT_IR_ONNXTYPES_H
