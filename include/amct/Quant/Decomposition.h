//===- Decomposition.h - low-rank factors of layer weights ------*- C++ -*-===//
//
// AMCT's tensor decomposition, on the numbers: a Linear or 1x1 Conv weight
// W [N, K] becomes two thin factors by truncated SVD (W ~ B A, A [R, K],
// B [N, R], each side taking sqrt of the singular values); a KxK Conv
// weight W [M, C, kh, kw] becomes a Tucker-2 chain on its channel modes
// (HOSVD): a 1x1 Conv C -> R_in (U_in^T), a KxK core R_in -> R_out and a
// 1x1 Conv R_out -> M (U_out). At full rank both are exact. MLIR-free;
// LAPACK's SVD (OpenBLAS).
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_QUANT_DECOMPOSITION_H
#define AMCT_QUANT_DECOMPOSITION_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace amct::quant {

/// The singular values of W [rows, cols] (row-major), largest first.
std::optional<std::vector<double>> singularValues(const float *w, int64_t rows, int64_t cols,
                                                  std::string &error);

/// The smallest rank whose singular values keep `energy` (in (0, 1]) of
/// the squared sum; at least 1.
int64_t rankForEnergy(const std::vector<double> &singular, double energy);

struct SvdFactors {
  /// A [rank, K] (the first layer's weight as [out, in]) and B [N, rank].
  std::vector<float> first, second;
};

/// W [N, K] ~ B A at `rank`.
std::optional<SvdFactors> truncatedSvd(const float *w, int64_t n, int64_t k, int64_t rank,
                                       std::string &error);

struct Tucker2Factors {
  /// [rIn, C], the core [rOut, rIn, kh, kw], [M, rOut].
  std::vector<float> first, core, last;
};

/// W [M, C, kh, kw] ~ core x_0 U_out x_1 U_in with U_in the top rIn left
/// singular vectors of the input-channel unfolding, U_out the top rOut of
/// the output-channel unfolding.
std::optional<Tucker2Factors> tucker2(const float *w, int64_t m, int64_t c, int64_t kh,
                                      int64_t kw, int64_t rIn, int64_t rOut, std::string &error);

/// The channel-mode unfoldings' singular values of W [M, C, kh, kw]:
/// output channels (M x C*kh*kw) and input channels (C x M*kh*kw).
std::optional<std::pair<std::vector<double>, std::vector<double>>>
tucker2Spectra(const float *w, int64_t m, int64_t c, int64_t kh, int64_t kw, std::string &error);

} // namespace amct::quant

#endif // AMCT_QUANT_DECOMPOSITION_H
