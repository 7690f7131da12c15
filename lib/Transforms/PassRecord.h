//===- PassRecord.h - the record file of a pass's record= option -*- C++ -*-===//
//
// --amct-fold-observers and --amct-dmq-balance both read a record file given
// as record=<path>; this is their one way to load it and to report it missing.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_LIB_TRANSFORMS_PASSRECORD_H
#define AMCT_LIB_TRANSFORMS_PASSRECORD_H

#include "amct/Support/RecordFile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <optional>
#include <string>

namespace amct {

/// The record at `recordPath`, or nullopt after an error on `func`: the
/// option is empty (naming `passFlag`), or the file cannot be read or parsed.
inline std::optional<Record> readPassRecord(mlir::func::FuncOp func,
                                            const std::string &recordPath,
                                            llvm::StringRef passFlag) {
  if (recordPath.empty()) {
    func.emitError() << passFlag << " needs record=<record file>";
    return std::nullopt;
  }
  std::string error;
  std::optional<Record> record = readRecordFile(recordPath, error);
  if (!record)
    func.emitError() << passFlag << ": record " << error;
  return record;
}

} // namespace amct

#endif // AMCT_LIB_TRANSFORMS_PASSRECORD_H
