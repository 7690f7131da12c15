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

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace amct {

/// The float32 values of `v` if it is produced by an amct.const (or ONNX
/// Constant node) of element type f32; nullopt otherwise.
std::optional<std::vector<float>> getConstantFloats(mlir::Value v);

/// The int8 values of `v` if it is produced by an amct.const of element
/// type i8; nullopt otherwise.
std::optional<std::vector<int8_t>> getConstantInt8s(mlir::Value v);

/// The raw little-endian element data of `v` (any element type whose
/// elements are whole bytes) if it is produced by an amct.const or an ONNX
/// Constant node; nullopt otherwise. Splats are expanded.
std::optional<std::vector<char>> getConstantBytes(mlir::Value v);

/// A new amct.const of type `type` holding `values` (a dense_resource blob
/// named `name`, or a dense attribute when small), at `loc`.
mlir::Value createFloatConstant(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::RankedTensorType type,
                                llvm::ArrayRef<float> values, llvm::StringRef name);

/// Same for raw little-endian element data of any element type.
mlir::Value createConstant(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::RankedTensorType type, llvm::ArrayRef<char> bytes,
                           llvm::StringRef name);

class FakeQuantOp;

/// The integers `fq` makes of its constant input, per channel along its
/// axis: quant::quantize (x / s a float division, rint, + offset, clamped
/// to num_bits) for 2..16 bits; for 32 bits (an int32 bias, offset 0)
/// quant::quantizeBias (rint in double, an overflow is an error). The one
/// definition of these values for the fake-quant export and the deploy
/// model. nullopt and `error` when the input is not a float32 constant or
/// the values have no int32 form.
std::optional<std::vector<int32_t>> quantizeConstantInput(FakeQuantOp fq, std::string &error);

} // namespace amct

#endif // AMCT_DIALECT_AMCT_IR_CONSTANTUTILS_H
