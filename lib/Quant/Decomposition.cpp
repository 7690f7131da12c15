//===- Decomposition.cpp - low-rank factors of layer weights --------------===//

#include "amct/Quant/Decomposition.h"

#include <algorithm>
#include <cmath>

extern "C" {
// LAPACK's SVD (column-major), from OpenBLAS.
void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
             const int *lda, double *s, double *u, const int *ldu, double *vt, const int *ldvt,
             double *work, const int *lwork, int *info);
}

using namespace amct::quant;

namespace {

/// The SVD of a row-major rows x cols matrix: U [rows, r] and V [cols, r]
/// (r = min(rows, cols)) row-major, singular values largest first.
struct Svd {
  std::vector<double> u, v, s;
  int64_t r = 0;
};

std::optional<Svd> svd(const std::vector<double> &a, int64_t rows, int64_t cols,
                       std::string &error) {
  if (rows < 1 || cols < 1 || rows > 1 << 20 || cols > 1 << 20) {
    error = "decomposition: bad matrix size";
    return std::nullopt;
  }
  // Row-major A (rows x cols) is column-major A^T (cols x rows): its SVD
  // A^T = U' S V'^T gives A = V' S U'^T.
  int m = int(cols), n = int(rows), r = int(std::min(rows, cols));
  std::vector<double> at(a), s(r), up(size_t(m) * r), vtp(size_t(r) * n);
  int lwork = -1, info = 0;
  double query = 0;
  dgesvd_("S", "S", &m, &n, at.data(), &m, s.data(), up.data(), &m, vtp.data(), &r, &query, &lwork,
          &info);
  lwork = std::max(1, int(query));
  std::vector<double> work(lwork);
  dgesvd_("S", "S", &m, &n, at.data(), &m, s.data(), up.data(), &m, vtp.data(), &r, work.data(),
          &lwork, &info);
  if (info != 0) {
    error = "decomposition: LAPACK dgesvd failed (" + std::to_string(info) + ")";
    return std::nullopt;
  }
  Svd out;
  out.r = r;
  out.s = s;
  // A = V' S U'^T: A's left vectors are V' (rows of vtp as columns), its
  // right vectors U'. up is column-major m x r: up[i + j*m] = U'[i][j].
  out.u.assign(size_t(rows) * r, 0.0);
  out.v.assign(size_t(cols) * r, 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < r; ++j)
      out.u[i * r + j] = vtp[j + i * size_t(r)];
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < r; ++j)
      out.v[i * r + j] = up[i + j * size_t(m)];
  return out;
}

std::vector<double> toDouble(const float *w, size_t n) { return std::vector<double>(w, w + n); }

/// Mode unfoldings of W [M, C, kh, kw]: output (M x C*t) and input (C x M*t).
std::vector<double> inputUnfolding(const float *w, int64_t m, int64_t c, int64_t t) {
  std::vector<double> out(size_t(c) * m * t);
  for (int64_t o = 0; o < m; ++o)
    for (int64_t i = 0; i < c; ++i)
      for (int64_t p = 0; p < t; ++p)
        out[(i * m + o) * t + p] = w[(o * c + i) * t + p];
  return out;
}

} // namespace

std::optional<std::vector<double>> amct::quant::singularValues(const float *w, int64_t rows,
                                                               int64_t cols, std::string &error) {
  std::optional<Svd> d = svd(toDouble(w, size_t(rows) * cols), rows, cols, error);
  if (!d)
    return std::nullopt;
  return d->s;
}

int64_t amct::quant::rankForEnergy(const std::vector<double> &singular, double energy) {
  double total = 0;
  for (double s : singular)
    total += s * s;
  double kept = 0;
  for (size_t r = 0; r < singular.size(); ++r) {
    kept += singular[r] * singular[r];
    if (kept >= energy * total * (1 - 1e-12))
      return int64_t(r + 1);
  }
  return std::max<int64_t>(1, singular.size());
}

std::optional<SvdFactors> amct::quant::truncatedSvd(const float *w, int64_t n, int64_t k,
                                                    int64_t rank, std::string &error) {
  std::optional<Svd> d = svd(toDouble(w, size_t(n) * k), n, k, error);
  if (!d)
    return std::nullopt;
  if (rank < 1 || rank > d->r) {
    error = "decomposition: rank " + std::to_string(rank) + " outside [1, " +
            std::to_string(d->r) + "]";
    return std::nullopt;
  }
  SvdFactors f;
  f.first.resize(size_t(rank) * k);
  f.second.resize(size_t(n) * rank);
  for (int64_t j = 0; j < rank; ++j) {
    double root = std::sqrt(d->s[j]);
    for (int64_t i = 0; i < k; ++i)
      f.first[j * k + i] = float(root * d->v[i * d->r + j]);
    for (int64_t i = 0; i < n; ++i)
      f.second[i * rank + j] = float(root * d->u[i * d->r + j]);
  }
  return f;
}

namespace {

/// The SVDs of W [M, C, kh, kw]'s output- and input-channel unfoldings.
std::optional<std::pair<Svd, Svd>> modeSvds(const float *w, int64_t m, int64_t c, int64_t t,
                                            std::string &error) {
  std::optional<Svd> out = svd(toDouble(w, size_t(m) * c * t), m, c * t, error);
  if (!out)
    return std::nullopt;
  std::optional<Svd> in = svd(inputUnfolding(w, m, c, t), c, m * t, error);
  if (!in)
    return std::nullopt;
  return std::make_pair(std::move(*out), std::move(*in));
}

} // namespace

std::optional<std::pair<std::vector<double>, std::vector<double>>>
amct::quant::tucker2Spectra(const float *w, int64_t m, int64_t c, int64_t kh, int64_t kw,
                            std::string &error) {
  auto svds = modeSvds(w, m, c, kh * kw, error);
  if (!svds)
    return std::nullopt;
  return std::make_pair(svds->first.s, svds->second.s);
}

std::optional<Tucker2Factors> amct::quant::tucker2(const float *w, int64_t m, int64_t c,
                                                   int64_t kh, int64_t kw, int64_t rIn,
                                                   int64_t rOut, std::string &error) {
  int64_t t = kh * kw;
  auto svds = modeSvds(w, m, c, t, error);
  if (!svds)
    return std::nullopt;
  const Svd *out = &svds->first, *in = &svds->second;
  if (rOut < 1 || rOut > out->r || rIn < 1 || rIn > in->r) {
    error = "decomposition: ranks (" + std::to_string(rIn) + ", " + std::to_string(rOut) +
            ") outside [1, " + std::to_string(in->r) + "] x [1, " + std::to_string(out->r) + "]";
    return std::nullopt;
  }
  Tucker2Factors f;
  f.first.resize(size_t(rIn) * c);
  for (int64_t r = 0; r < rIn; ++r)
    for (int64_t i = 0; i < c; ++i)
      f.first[r * c + i] = float(in->u[i * in->r + r]);
  f.last.resize(size_t(m) * rOut);
  for (int64_t o = 0; o < m; ++o)
    for (int64_t r = 0; r < rOut; ++r)
      f.last[o * rOut + r] = float(out->u[o * out->r + r]);
  // core[a][b][p] = sum_{o,i} U_out[o][a] W[o][i][p] U_in[i][b].
  std::vector<double> tmp(size_t(rOut) * c * t, 0.0); // U_out^T W
  for (int64_t a = 0; a < rOut; ++a)
    for (int64_t o = 0; o < m; ++o) {
      double u = out->u[o * out->r + a];
      for (int64_t i = 0; i < c * t; ++i)
        tmp[a * c * t + i] += u * w[o * c * t + i];
    }
  f.core.assign(size_t(rOut) * rIn * t, 0.0f);
  for (int64_t a = 0; a < rOut; ++a)
    for (int64_t b = 0; b < rIn; ++b)
      for (int64_t p = 0; p < t; ++p) {
        double v = 0;
        for (int64_t i = 0; i < c; ++i)
          v += tmp[(a * c + i) * t + p] * in->u[i * in->r + b];
        f.core[(a * rIn + b) * t + p] = float(v);
      }
  return f;
}
