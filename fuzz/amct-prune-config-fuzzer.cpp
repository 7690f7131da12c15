//===- amct-prune-config-fuzzer.cpp - libFuzzer target for prune files ----===//
//
// Parses arbitrary text as an AMCT pruning config (.cfg or JSON, by
// content) and as one prune_record of a record file. A channel config that
// parses must write back (writePruneConfig, what the automatic search
// writes) to text that parses to the same settings; a failure must say why.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/PruneConfig.h"
#include "amct/Support/RecordFile.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  std::string error;
  auto settings = amct::parsePruneConfig(text, "fuzz_prune.cfg", error);
  if (!settings && error.empty())
    __builtin_trap();
  if (settings && settings->method == amct::PruneSettings::Method::Channel) {
    std::string written = amct::writePruneConfig(*settings);
    auto reread = amct::parsePruneConfig(written, "rewritten.cfg", error);
    if (!reread || amct::writePruneConfig(*reread) != written)
      __builtin_trap();
  }
  error.clear();
  auto record = amct::parsePruneRecord(text, "fuzz_record.txt", error);
  if (!record && error.empty())
    __builtin_trap();
  if (record) {
    std::string written = amct::printPruneRecord(*record);
    auto reread = amct::parsePruneRecord(written, "rewritten.txt", error);
    if (!reread || amct::printPruneRecord(*reread) != written)
      __builtin_trap();
  }
  return 0;
}
