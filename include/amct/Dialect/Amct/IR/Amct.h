//===- Amct.h - amct dialect, types and ops ---------------------*- C++ -*-===//
//
// Everything a user of the amct dialect includes: the dialect, its types,
// interfaces and ops.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_DIALECT_AMCT_IR_AMCT_H
#define AMCT_DIALECT_AMCT_IR_AMCT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "amct/Dialect/Amct/IR/AmctDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "amct/Dialect/Amct/IR/AmctTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "amct/Dialect/Amct/IR/AmctAttrs.h.inc"

namespace amct {
namespace OpTrait {
/// Marks a typed op standing for the default-domain ONNX op of its name.
template <typename ConcreteType>
class OnnxOp : public mlir::OpTrait::TraitBase<ConcreteType, OnnxOp> {};
/// Channel flow traits (AmctInterfaces.td): element-wise unary, per-channel
/// (pooling), element-wise under broadcasting.
template <typename ConcreteType>
class ElementwiseUnary : public mlir::OpTrait::TraitBase<ConcreteType, ElementwiseUnary> {};
template <typename ConcreteType>
class Channelwise : public mlir::OpTrait::TraitBase<ConcreteType, Channelwise> {};
template <typename ConcreteType>
class BroadcastElementwise
    : public mlir::OpTrait::TraitBase<ConcreteType, BroadcastElementwise> {};
} // namespace OpTrait

namespace detail {
/// The ShapeInferenceOpInterface verifier: declared result types must be
/// compatible with the inferred ones.
mlir::LogicalResult verifyInferredResultTypes(mlir::Operation *op);
} // namespace detail
} // namespace amct

#include "amct/Dialect/Amct/IR/LayerTypes.h"
#include "amct/Dialect/Amct/IR/AmctInterfaces.h.inc"

#define GET_OP_CLASSES
#include "amct/Dialect/Amct/IR/AmctOps.h.inc"

namespace amct {
/// The ONNX node name of an op: the NameLoc it was imported with ("" if none).
llvm::StringRef getNodeName(mlir::Operation *op);
/// Location for an imported node: its name, plus the names of its output
/// tensors as metadata so that export can give them back.
mlir::Location makeNodeLoc(mlir::MLIRContext *ctx, llvm::StringRef nodeName,
                           llvm::ArrayRef<std::string> outputNames,
                           mlir::Location fallback);
/// The function a model runs: `main` (the importer's name), else the first
/// function; null when the module has none.
mlir::func::FuncOp getMainFunction(mlir::ModuleOp module);
/// The ONNX name of graph input `index` of `func` (its `amct.name`), or
/// "input<index>" for an unnamed one: the names `--input` / `--calib-data`
/// bind to, the same in the executor and in calibration.
std::string getGraphInputName(mlir::func::FuncOp func, unsigned index);
/// The sizes ONNX Split cuts a dimension of `dim` elements into for `n`
/// outputs: the `split` values, else equal parts (`ceilParts`, opset 18's
/// num_outputs: ceil-sized parts, the last one smaller). Nothing, with the
/// reason in `why`, when they do not fit. Shared by shape inference and
/// the executor.
std::optional<llvm::SmallVector<int64_t>>
computeSplitSizes(int64_t dim, int64_t n, std::optional<llvm::SmallVector<int64_t>> split,
                  bool ceilParts, std::string &why);
/// The integer values of a constant operand (amct.const or an ONNX
/// Constant node), or nothing.
std::optional<llvm::SmallVector<int64_t>> getConstantIntegers(mlir::Value v);
/// The output tensor names recorded by makeNodeLoc (empty if none).
llvm::SmallVector<llvm::StringRef> getOutputNames(mlir::Operation *op);
} // namespace amct

#endif // AMCT_DIALECT_AMCT_IR_AMCT_H
