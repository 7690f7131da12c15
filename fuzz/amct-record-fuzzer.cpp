//===- amct-record-fuzzer.cpp - libFuzzer target for record files --------===//
//
// Parses arbitrary text as an AMCT record file (protobuf text of
// ScaleOffsetRecord). What parses must write back to text that parses to
// the same written form.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/RecordFile.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  std::string error;
  auto record = amct::parseRecordFile(text, "fuzz_record.txt", error);
  if (!record) {
    if (error.empty())
      __builtin_trap();
    return 0;
  }
  std::string written = amct::writeRecordFile(*record);
  auto reread = amct::parseRecordFile(written, "rewritten.txt", error);
  if (!reread || amct::writeRecordFile(*reread) != written)
    __builtin_trap();
  return 0;
}
