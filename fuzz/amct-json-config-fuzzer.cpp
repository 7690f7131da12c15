//===- amct-json-config-fuzzer.cpp - libFuzzer target for JSON configs ---===//
//
// Parses arbitrary text as AMCT's per-layer JSON quantization config. What
// parses must write back to JSON that parses again to the same text: the
// writer and the reader agree on every value the reader accepts. The same
// text also goes through the language-model quantize() config reader, which
// must accept or refuse it with a reason.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/KvCacheConfig.h"
#include "amct/Support/LlmConfig.h"
#include "amct/Support/QuantConfig.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  std::string error;
  if (!amct::parseLlmConfig(text, "fuzz.json", error) && error.empty())
    __builtin_trap();
  error.clear();
  if (!amct::parseKvCacheConfig(text, "fuzz-kv.json", error) && error.empty())
    __builtin_trap();
  error.clear();
  auto config = amct::parseQuantConfigJson(text, "fuzz.json", error);
  if (!config) {
    if (error.empty())
      __builtin_trap(); // a refusal must say why
    return 0;
  }
  std::string written = amct::writeQuantConfigJson(*config);
  auto reread = amct::parseQuantConfigJson(written, "rewritten.json", error);
  if (!reread || amct::writeQuantConfigJson(*reread) != written)
    __builtin_trap();
  return 0;
}
