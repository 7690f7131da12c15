//===- Refit.cpp - least-squares refit of a layer after pruning -----------===//
//
// Per group, everything that touches k x k matrices is one dgemm over all
// rows (the right-hand sides W0 X^T, the error terms W QQ, W0 QF^T,
// W0 FF); rows that share a mask (all rows of a channel-pruned layer)
// share one Cholesky factorisation and one multi-column solve.
//
//===----------------------------------------------------------------------===//

#include "amct/Quant/Refit.h"

#include <cblas.h>
#include <cmath>
#include <map>

extern "C" {
// LAPACK (Fortran interface, column-major; the matrices here are symmetric).
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda,
             double *b, const int *ldb, int *info);
}

using namespace amct::quant;

namespace {

/// C = alpha A B^T for row-major A (m x k) and B (n x k).
std::vector<double> timesTransposed(const std::vector<double> &a, const double *b, int64_t m,
                                    int64_t n, int64_t k, double alpha) {
  std::vector<double> c(size_t(m) * n);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, alpha, a.data(), k, b, k, 0.0,
              c.data(), n);
  return c;
}

double dot(const double *a, const double *b, int64_t k) {
  double s = 0;
  for (int64_t i = 0; i < k; ++i)
    s += a[i] * b[i];
  return s;
}

} // namespace

std::optional<RefitResult> amct::quant::refitPrunedWeights(const RefitProblem &p,
                                                          std::string &error) {
  int64_t k = p.k, rows = p.rows;
  if (p.groups < 1 || rows < 1 || k < 1 || !p.weight || !p.keep || !p.gram || !p.crossGram ||
      !p.floatGram || !p.sumQ || !p.sumF || p.keep->size() != size_t(p.groups * rows * k)) {
    error = "refit: incomplete problem";
    return std::nullopt;
  }
  if (!(p.positions > 0)) {
    error = "refit: no calibration positions";
    return std::nullopt;
  }
  RefitResult out;
  out.weight.assign(p.weight, p.weight + p.groups * rows * k);
  out.biasDelta.assign(p.groups * rows, 0.0);
  double inv = 1.0 / p.positions;
  for (int64_t g = 0; g < p.groups; ++g) {
    // The group's Gram matrices are read in place (they are the largest
    // data here: k x k each); per-position scaling goes into the products.
    size_t kk = size_t(k) * k;
    const double *qq = p.gram + g * kk, *qf = p.crossGram + g * kk, *ff = p.floatGram + g * kk;
    std::vector<double> muQ(k), muF(k);
    for (int64_t j = 0; j < k; ++j) {
      muQ[j] = p.sumQ[g * k + j] * inv;
      muF[j] = p.sumF[g * k + j] * inv;
    }
    for (size_t i = 0; i < kk; i += k + 1)
      if (!std::isfinite(qq[i])) {
        error = "refit: the layer's input has non-finite values";
        return std::nullopt;
      }
    const float *w0f = p.weight + g * rows * k;
    std::vector<double> w0(w0f, w0f + rows * k), masked = w0;
    const std::vector<bool> &keep = *p.keep;
    for (int64_t i = 0; i < rows * k; ++i)
      if (!keep[g * rows * k + i])
        masked[i] = 0.0;
    // The right-hand sides rhs[r][i] = sum_j x[i][j] w0[r][j] with
    // x = cov(c, c_f) when the bias is refitted too (centred: QF / P minus
    // muQ muF^T), else QF / P; and the error terms.
    std::vector<double> rhsAll = timesTransposed(w0, qf, rows, k, k, inv);
    if (p.withBias)
      for (int64_t r = 0; r < rows; ++r) {
        double w0muF = dot(&w0[r * k], muF.data(), k);
        for (int64_t i = 0; i < k; ++i)
          rhsAll[r * k + i] -= muQ[i] * w0muF;
      }
    std::vector<double> w0ff = timesTransposed(w0, ff, rows, k, k, inv);
    std::vector<double> w0qf = timesTransposed(w0, qf, rows, k, k, inv); // (QF w0)_i / P
    auto errorOf = [&](const std::vector<double> &w, const std::vector<double> &d) {
      std::vector<double> wqq = timesTransposed(w, qq, rows, k, k, inv);
      double total = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const double *wr = &w[r * k], *w0r = &w0[r * k];
        double e = dot(wr, &wqq[r * k], k) - 2 * dot(wr, &w0qf[r * k], k) +
                   dot(w0r, &w0ff[r * k], k) +
                   2 * d[r] * (dot(wr, muQ.data(), k) - dot(w0r, muF.data(), k)) + d[r] * d[r];
        total += std::max(0.0, e);
      }
      return total;
    };
    std::vector<double> zero(rows, 0.0);
    out.errorBefore += errorOf(masked, zero);

    // Rows by mask.
    std::map<std::vector<bool>, std::vector<int64_t>> byMask;
    for (int64_t r = 0; r < rows; ++r) {
      auto begin = keep.begin() + (g * rows + r) * k;
      byMask[std::vector<bool>(begin, begin + k)].push_back(r);
    }
    std::vector<double> fitted(rows * k, 0.0);
    for (const auto &[mask, members] : byMask) {
      std::vector<int64_t> kept;
      for (int64_t j = 0; j < k; ++j)
        if (mask[j])
          kept.push_back(j);
      int n = int(kept.size()), m = int(members.size());
      if (n == 0)
        continue;
      // A ridge towards the original weights: where the calibration data
      // do not determine a direction (fewer positions than inputs, dead
      // inputs), the weight stays where it was. Raised tenfold until the
      // factorisation succeeds.
      // The system's matrix: cov(c, c) (QQ / P minus muQ muQ^T) with the
      // bias, QQ / P without, on the kept entries.
      std::vector<double> base(size_t(n) * n);
      double trace = 0;
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j)
          base[size_t(i) * n + j] = qq[kept[i] * k + kept[j]] * inv -
                                    (p.withBias ? muQ[kept[i]] * muQ[kept[j]] : 0.0);
        trace += std::max(0.0, base[size_t(i) * n + i]);
      }
      double ridge = trace > 0 ? 1e-4 * trace / n : 1e-8;
      std::vector<double> l;
      for (int attempt = 0;; ++attempt) {
        l = base;
        for (int i = 0; i < n; ++i)
          l[size_t(i) * n + i] += ridge;
        int info = 0;
        dpotrf_("L", &n, l.data(), &n, &info);
        if (info == 0)
          break;
        if (attempt == 12) {
          error = "refit: the input statistics are not positive definite (LAPACK dpotrf " +
                  std::to_string(info) + ")";
          return std::nullopt;
        }
        ridge *= 10;
      }
      std::vector<double> rhs(size_t(n) * m);
      for (int c = 0; c < m; ++c)
        for (int i = 0; i < n; ++i)
          rhs[size_t(c) * n + i] =
              rhsAll[members[c] * k + kept[i]] + ridge * w0[members[c] * k + kept[i]];
      int info = 0;
      dpotrs_("L", &n, &m, l.data(), &n, rhs.data(), &n, &info);
      for (int c = 0; c < m; ++c)
        for (int i = 0; i < n; ++i)
          fitted[members[c] * k + kept[i]] = rhs[size_t(c) * n + i];
    }
    std::vector<double> delta(rows, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      // The weights as float32, as the model will hold them.
      for (int64_t j = 0; j < k; ++j) {
        float v = float(fitted[r * k + j]);
        out.weight[(g * rows + r) * k + j] = v;
        fitted[r * k + j] = v;
      }
      if (p.withBias)
        delta[r] = dot(&w0[r * k], muF.data(), k) - dot(&fitted[r * k], muQ.data(), k);
      out.biasDelta[g * rows + r] = delta[r];
    }
    out.errorAfter += errorOf(fitted, delta);
  }
  return out;
}
