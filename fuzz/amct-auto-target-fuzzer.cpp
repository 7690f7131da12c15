//===- amct-auto-target-fuzzer.cpp - auto-calibrate's small parsers -------===//
//
// The text `amct auto-calibrate` parses besides files: --target /
// --max-drop (the input's first line is the one, the second the other) and
// what a user's evaluator prints (the rest, searched for its last number).
// Checks what the parsers promise: exactly one kind of target, finite
// values, a drop >= 0, a finite number or none.
//
//===----------------------------------------------------------------------===//

#include "amct/Pipelines/AutoCalibrate.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  auto [first, rest] = text.split('\n');
  auto [second, output] = rest.split('\n');
  std::string error;
  for (auto [target, drop] : {std::pair{first, second}, std::pair{first, llvm::StringRef()},
                              std::pair{llvm::StringRef(), second}}) {
    std::optional<amct::AutoTarget> t = amct::parseAutoTarget(target, drop, error);
    if (!t) {
      if (error.empty())
        abort(); // a refusal always says why
      continue;
    }
    if (bool(t->target) == bool(t->maxDrop))
      abort();
    if (t->target && (!t->metric || !std::isfinite(*t->target)))
      abort();
    if (t->maxDrop && (!std::isfinite(*t->maxDrop) || *t->maxDrop < 0))
      abort();
  }
  if (std::optional<double> v = amct::lastNumberIn(output); v && !std::isfinite(*v))
    abort();
  return 0;
}
