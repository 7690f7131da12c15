//===- ProtoText.h - shared helpers for protobuf text files -----*- C++ -*-===//
//
// Private to lib/Support: the quant config (.cfg) and record file parsers
// read their files and report protobuf's first error the same way.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_LIB_SUPPORT_PROTOTEXT_H
#define AMCT_LIB_SUPPORT_PROTOTEXT_H

#include <google/protobuf/io/tokenizer.h>

#include <string>

namespace amct::detail {

/// Keeps protobuf's first error with its (1-based) line and column.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string &message) override {
    if (!hasError) {
      hasError = true;
      this->line = line;
      this->column = column;
      this->message = message;
    }
  }
  bool hasError = false;
  int line = -1;
  int column = -1;
  std::string message;
};

/// Protobuf names our messages "amct.proto.X"; the package is noise in a
/// message about a file that never mentions it.
inline std::string withoutPackage(std::string message) {
  const std::string package = "amct.proto.";
  for (size_t at; (at = message.find(package)) != std::string::npos;)
    message.erase(at, package.size());
  return message;
}

} // namespace amct::detail

#endif // AMCT_LIB_SUPPORT_PROTOTEXT_H
