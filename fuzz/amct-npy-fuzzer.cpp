//===- amct-npy-fuzzer.cpp - libFuzzer target for the .npy reader --------===//
//
// Parses arbitrary bytes as a .npy file. What parses must serialize and
// parse back to the same shape, dtype and bytes.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/Npy.h"

#include <cstdint>
#include <cstring>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  auto tensor = amct::parseNpy(reinterpret_cast<const char *>(data), size,
                               "fuzz.npy", error);
  if (!tensor) {
    if (error.empty())
      __builtin_trap();
    return 0;
  }
  std::string bytes = amct::serializeNpy(*tensor);
  auto reread = amct::parseNpy(bytes.data(), bytes.size(), "reserialized.npy", error);
  if (!reread || reread->dtype() != tensor->dtype() ||
      reread->shape() != tensor->shape() ||
      reread->byteSize() != tensor->byteSize() ||
      (tensor->byteSize() != 0 &&
       std::memcmp(reread->raw(), tensor->raw(), tensor->byteSize()) != 0))
    __builtin_trap();
  return 0;
}
