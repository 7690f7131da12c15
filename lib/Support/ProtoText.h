//===- ProtoText.h - shared helpers for protobuf text files -----*- C++ -*-===//
//
// Private to lib/Support: the quant config (.cfg) and record file parsers
// read their files and report protobuf's first error the same way.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_LIB_SUPPORT_PROTOTEXT_H
#define AMCT_LIB_SUPPORT_PROTOTEXT_H

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>

#include <limits>

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

/// Parses protobuf text into `message`, recording where each field was in
/// `tree`. On failure `error` is "<where>[:line:col]: <protobuf's first
/// error>" (`what` when protobuf gave none, or for text over protobuf's
/// 2 GiB limit: "<where>: <what> is larger than 2 GiB").
inline bool parseProtoText(const std::string &text, const std::string &where,
                           const std::string &what, google::protobuf::Message &message,
                           google::protobuf::TextFormat::ParseInfoTree &tree,
                           std::string &error) {
  if (text.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    error = where + ": " + what + " is larger than 2 GiB, protobuf's limit";
    return false;
  }
  FirstErrorCollector collector;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.WriteLocationsTo(&tree);
  google::protobuf::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
  if (parser.Parse(&input, &message))
    return true;
  error = where;
  if (collector.hasError && collector.line >= 0)
    error += ":" + std::to_string(collector.line + 1) + ":" + std::to_string(collector.column + 1);
  error += ": " + (collector.hasError ? withoutPackage(collector.message) : "invalid " + what);
  return false;
}

} // namespace amct::detail

#endif // AMCT_LIB_SUPPORT_PROTOTEXT_H
