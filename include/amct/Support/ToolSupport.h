//===- ToolSupport.h - shared plumbing of the command-line tools -*- C++ -*-===//
//
// Exit codes, diagnostics printing and atomic output used by amct-opt,
// amct-translate and amct, so every tool reports errors and writes files the
// same way.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_SUPPORT_TOOLSUPPORT_H
#define AMCT_SUPPORT_TOOLSUPPORT_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace amct {

/// Exit status of a user error (bad file, key, shape, ...).
constexpr int kExitUserError = 1;
/// Exit status of a command-line usage error.
constexpr int kExitUsageError = 2;

/// Prints diagnostics to stderr (or `os`) as `<tool>: error: <message>`
/// (with `file:line:col` when the location has a real line) for as long as
/// it lives. The Python module gives a string stream and raises its text.
class ToolDiagnostics {
public:
  ToolDiagnostics(mlir::MLIRContext &context, llvm::StringRef toolName,
                  llvm::raw_ostream &os = llvm::errs());
  ~ToolDiagnostics();

private:
  mlir::MLIRContext &context;
  llvm::SourceMgr sourceMgr;
  std::unique_ptr<mlir::SourceMgrDiagnosticHandler> sourceHandler;
  mlir::DiagnosticEngine::HandlerID id;
  std::string toolName;
  llvm::raw_ostream &os;
};

/// Reads a source file for the parser (an .mlir file the user names): "-"
/// is stdin; any other path must be a regular file (FileAccess.h), so a FIFO
/// or device cannot make a tool wait. Null with `errorMessage` set on
/// failure.
std::unique_ptr<llvm::MemoryBuffer> openSourceFile(llvm::StringRef path,
                                                   std::string *errorMessage);

/// Writes a file atomically: `write` fills a temporary file in the target's
/// folder, which replaces `path` only if `write` succeeds. "-" is stdout.
mlir::LogicalResult
writeFileAtomically(llvm::StringRef path,
                    llvm::function_ref<mlir::LogicalResult(llvm::raw_ostream &)> write,
                    std::string *errorMessage);

/// Writes several files as one: each is written to a temporary file beside
/// its destination, and only when every write succeeded are they renamed
/// into place. On failure no destination is created or changed.
struct OutputFile {
  std::string path;
  std::function<mlir::LogicalResult(llvm::raw_ostream &)> write;
};
mlir::LogicalResult writeFilesAtomically(const std::vector<OutputFile> &files,
                                         std::string *errorMessage);

} // namespace amct

#endif // AMCT_SUPPORT_TOOLSUPPORT_H
