//===- Npy.h - numpy .npy files ---------------------------------*- C++ -*-===//
//
// Reading and writing the executor's tensors as numpy `.npy` files (inputs of
// `amct run`, calibration data, `--output-dir`), plus raw little-endian `.bin`
// files of a known shape. Free of MLIR and of exceptions: failures return
// nullopt and a message that starts with the file's name.
//
// Files are untrusted: every header field is checked against the file size
// before anything is allocated from it. Supported element types are the
// executor's (float16/32/64, (u)int8..64, bool), little-endian, C order.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_SUPPORT_NPY_H
#define AMCT_SUPPORT_NPY_H

#include "amct/Runtime/Tensor.h"

#include <cstddef>
#include <optional>
#include <string>

namespace amct {

/// Reads a .npy file (format versions 1.0, 2.0, 3.0). On failure returns
/// nullopt and sets `error` to a message naming the file and what is wrong.
std::optional<rt::Tensor> readNpy(const std::string &path, std::string &error);

/// Parses .npy bytes already in memory (`name` for messages). The data is
/// copied into a new aligned tensor.
std::optional<rt::Tensor> parseNpy(const char *data, size_t size, const std::string &name,
                                   std::string &error);

/// Serializes a tensor as .npy version 1.0 (2.0 if the header needs it) to
/// bytes, laid out exactly as numpy's `np.save` writes it. bfloat16, which
/// .npy cannot describe, is written as float32 (every value exactly).
std::string serializeNpy(const rt::Tensor &t);

/// Reads a raw little-endian binary file of `shape` and `dtype` (for `.bin`
/// inputs); the file size must match exactly.
std::optional<rt::Tensor> readRawBinary(const std::string &path, rt::DType dtype,
                                        const rt::Shape &shape, std::string &error);

} // namespace amct

#endif // AMCT_SUPPORT_NPY_H
