//===- ToolSupport.cpp - shared plumbing of the command-line tools --------===//

#include "amct/Support/ToolSupport.h"
#include "amct/Support/FileAccess.h"
#include "amct/Support/Progress.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace amct;

ToolDiagnostics::ToolDiagnostics(MLIRContext &context, StringRef toolName, llvm::raw_ostream &os)
    : context(context), toolName(toolName.str()), os(os) {
  // The op dump MLIR attaches to diagnostics is noise for users of a model.
  context.printOpOnDiagnostic(false);
  sourceHandler = std::make_unique<SourceMgrDiagnosticHandler>(sourceMgr, &context, os);
  // Registered after the source manager handler, so it sees diagnostics
  // first: locations without a line (whole-file errors, ONNX node names)
  // print as a plain message; the rest go to the source manager handler.
  id = context.getDiagEngine().registerHandler([this](Diagnostic &diag) {
    // A progress bar on the line would run into the message.
    ProgressBar::clearCurrent();
    Location loc = diag.getLocation();
    if (auto fused = dyn_cast<FusedLoc>(loc))
      loc = fused.getLocations().front();
    if (auto file = dyn_cast<FileLineColLoc>(loc); file && file.getLine() > 0)
      return failure();
    const char *severity = diag.getSeverity() == DiagnosticSeverity::Error     ? "error"
                           : diag.getSeverity() == DiagnosticSeverity::Warning ? "warning"
                                                                                : "note";
    this->os << this->toolName << ": " << severity << ": ";
    if (auto name = dyn_cast<NameLoc>(loc))
      this->os << "node '" << name.getName().getValue() << "': ";
    this->os << diag.str() << "\n";
    for (const Diagnostic &note : diag.getNotes())
      this->os << this->toolName << ": note: " << note.str() << "\n";
    return success();
  });
}

ToolDiagnostics::~ToolDiagnostics() { context.getDiagEngine().eraseHandler(id); }

LogicalResult amct::writeFileAtomically(
    StringRef path, llvm::function_ref<LogicalResult(llvm::raw_ostream &)> write,
    std::string *errorMessage) {
  if (path != "-")
    return writeFilesAtomically({{path.str(), write}}, errorMessage);
  // stdout: nothing to replace atomically.
  if (failed(write(llvm::outs())))
    return failure();
  llvm::outs().flush();
  if (llvm::outs().has_error()) {
    if (errorMessage)
      *errorMessage = "<stdout>: cannot write: " + llvm::outs().error().message();
    llvm::outs().clear_error();
    return failure();
  }
  return success();
}

std::unique_ptr<llvm::MemoryBuffer> amct::openSourceFile(StringRef path,
                                                         std::string *errorMessage) {
  if (path == "-") {
    auto buffer = llvm::MemoryBuffer::getSTDIN();
    if (!buffer) {
      if (errorMessage)
        *errorMessage = "<stdin>: cannot read: " + buffer.getError().message();
      return nullptr;
    }
    return std::move(*buffer);
  }
  std::string contents, error;
  if (!readRegularFile(path.str(), contents, error)) {
    if (errorMessage)
      *errorMessage = error;
    return nullptr;
  }
  return llvm::MemoryBuffer::getMemBufferCopy(contents, path);
}

LogicalResult amct::writeFilesAtomically(const std::vector<OutputFile> &files,
                                         std::string *errorMessage) {
  std::vector<std::string> temps;
  auto cleanup = [&] {
    for (const std::string &t : temps)
      llvm::sys::fs::remove(t);
  };
  for (const OutputFile &file : files) {
    SmallString<256> model(file.path);
    model += ".tmp-%%%%%%";
    SmallString<256> temp;
    int fd;
    if (std::error_code ec = llvm::sys::fs::createUniqueFile(model, fd, temp)) {
      if (errorMessage)
        *errorMessage = file.path + ": cannot write: " + ec.message();
      cleanup();
      return failure();
    }
    temps.push_back(std::string(temp));
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    if (failed(file.write(os))) {
      cleanup();
      return failure();
    }
    os.close();
    if (os.has_error()) {
      if (errorMessage)
        *errorMessage = file.path + ": cannot write: " + os.error().message();
      os.clear_error();
      cleanup();
      return failure();
    }
  }
  for (size_t i = 0; i < files.size(); ++i)
    if (std::error_code ec = llvm::sys::fs::rename(temps[i], files[i].path)) {
      if (errorMessage)
        *errorMessage = files[i].path + ": cannot write: " + ec.message();
      cleanup();
      return failure();
    }
  return success();
}
