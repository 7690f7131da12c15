//===- Ascend.h - Ascend deploy dialect -------------------------*- C++ -*-===//

#ifndef AMCT_DIALECT_ASCEND_IR_ASCEND_H
#define AMCT_DIALECT_ASCEND_IR_ASCEND_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "amct/Dialect/Ascend/IR/AscendDialect.h.inc"

#define GET_OP_CLASSES
#include "amct/Dialect/Ascend/IR/AscendOps.h.inc"

#endif // AMCT_DIALECT_ASCEND_IR_ASCEND_H
