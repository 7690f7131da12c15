//===- ConstantUtils.h - reading and making amct constants ------*- C++ -*-===//
//
// Passes read weights and write new ones; these helpers hide whether a
// constant is a dense attribute or a dense_resource blob.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_DIALECT_AMCT_IR_CONSTANTUTILS_H
#define AMCT_DIALECT_AMCT_IR_CONSTANTUTILS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"

#include <optional>
#include <vector>

namespace amct {

/// The float32 values of `v` if it is produced by an amct.const (or ONNX
/// Constant node) of element type f32; nullopt otherwise.
std::optional<std::vector<float>> getConstantFloats(mlir::Value v);

/// A new amct.const of type `type` holding `values` (a dense_resource blob
/// named `name`, or a dense attribute when small), at `loc`.
mlir::Value createFloatConstant(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::RankedTensorType type,
                                llvm::ArrayRef<float> values, llvm::StringRef name);

/// Same for raw little-endian element data of any element type.
mlir::Value createConstant(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::RankedTensorType type, llvm::ArrayRef<char> bytes,
                           llvm::StringRef name);

} // namespace amct

#endif // AMCT_DIALECT_AMCT_IR_CONSTANTUTILS_H
