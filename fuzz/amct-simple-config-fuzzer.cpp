//===- amct-simple-config-fuzzer.cpp - libFuzzer target for .cfg files ---===//
//
// Parses arbitrary text as AMCT's simple config (protobuf text of
// AMCTConfig) against a small model with one layer of each quantizable
// type, as `amct create-config --simple-config` does. What parses must
// write a JSON config that the JSON reader accepts. The same text goes to
// the KV-cache config reader (AMCTKVCacheConfig), which must fail with a
// message or succeed.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/KvCacheConfig.h"
#include "amct/Support/QuantConfig.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const amct::LayerList layers = {{"conv1", "Conv2d"},
                                         {"conv3d", "Conv3d"},
                                         {"deconv", "ConvTranspose2d"},
                                         {"pool", "AvgPool2d"},
                                         {"fc", "Linear"}};
  std::string text(reinterpret_cast<const char *>(data), size);
  std::string error;
  if (!amct::parseKvCacheConfig(text, "fuzz-kv.cfg", error) && error.empty())
    __builtin_trap();
  error.clear();
  auto config = amct::parseSimpleConfig(text, "fuzz.cfg", layers, error);
  if (!config) {
    if (error.empty())
      __builtin_trap();
    return 0;
  }
  std::string json = amct::writeQuantConfigJson(*config);
  if (!amct::parseQuantConfigJson(json, "written.json", error))
    __builtin_trap();
  return 0;
}
