//===- Refit.cpp - least-squares refit of a layer after pruning -----------===//

#include "amct/Quant/Refit.h"

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

/// The centred (or plain) statistics of one group, per position.
struct GroupStats {
  std::vector<double> qq, qf, ff, muQ, muF;
};

GroupStats groupStats(const RefitProblem &p, int64_t g) {
  int64_t k = p.k, kk = k * k;
  GroupStats s;
  double inv = 1.0 / p.positions;
  s.qq.assign(p.gram + g * kk, p.gram + (g + 1) * kk);
  s.qf.assign(p.crossGram + g * kk, p.crossGram + (g + 1) * kk);
  s.ff.assign(p.floatGram + g * kk, p.floatGram + (g + 1) * kk);
  for (auto *m : {&s.qq, &s.qf, &s.ff})
    for (double &v : *m)
      v *= inv;
  s.muQ.assign(k, 0.0);
  s.muF.assign(k, 0.0);
  for (int64_t j = 0; j < k; ++j) {
    s.muQ[j] = p.sumQ[g * k + j] * inv;
    s.muF[j] = p.sumF[g * k + j] * inv;
  }
  return s;
}

/// Mean squared output error of row weights w (bias shifted by d) against
/// the original row w0 under the plain statistics.
double rowError(const GroupStats &s, int64_t k, const float *w, const float *w0, double d) {
  double ww = 0, wf = 0, ff = 0, wm = 0, fm = 0;
  for (int64_t i = 0; i < k; ++i) {
    double qi = 0, fi = 0, gi = 0;
    for (int64_t j = 0; j < k; ++j) {
      qi += s.qq[i * k + j] * w[j];
      fi += s.qf[i * k + j] * w0[j];
      gi += s.ff[i * k + j] * w0[j];
    }
    ww += w[i] * qi;
    wf += w[i] * fi;
    ff += w0[i] * gi;
    wm += w[i] * s.muQ[i];
    fm += w0[i] * s.muF[i];
  }
  return std::max(0.0, ww - 2 * wf + ff + 2 * d * (wm - fm) + d * d);
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
  for (int64_t g = 0; g < p.groups; ++g) {
    GroupStats s = groupStats(p, g);
    // The system's matrix and right-hand side use centred statistics when
    // the bias is refitted too: cov(c, c) and cov(c, c_f).
    std::vector<double> a = s.qq, x = s.qf;
    if (p.withBias)
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j) {
          a[i * k + j] -= s.muQ[i] * s.muQ[j];
          x[i * k + j] -= s.muQ[i] * s.muF[j];
        }
    // Factorisations by mask: rows of one channel-pruned layer share one.
    struct Factor {
      std::vector<double> l;
      double ridge;
    };
    std::map<std::vector<bool>, Factor> factors;
    for (int64_t r = 0; r < rows; ++r) {
      int64_t base = (g * rows + r) * k;
      std::vector<bool> mask(p.keep->begin() + base, p.keep->begin() + base + k);
      const float *w0 = p.weight + base;
      std::vector<float> masked(w0, w0 + k);
      for (int64_t j = 0; j < k; ++j)
        if (!mask[j])
          masked[j] = 0.0f;
      out.errorBefore += rowError(s, k, masked.data(), w0, 0.0);
      std::vector<int64_t> kept;
      for (int64_t j = 0; j < k; ++j)
        if (mask[j])
          kept.push_back(j);
      int n = int(kept.size());
      float *w = out.weight.data() + base;
      if (n == 0) {
        std::fill(w, w + k, 0.0f);
      } else {
        auto it = factors.find(mask);
        if (it == factors.end()) {
          // A ridge towards the original weights: where the calibration
          // data do not determine a direction (fewer positions than
          // inputs, dead inputs), the weight stays where it was. Raised
          // tenfold until the factorisation succeeds.
          std::vector<double> base(size_t(n) * n);
          double trace = 0;
          for (int i = 0; i < n; ++i) {
            for (int j = 0; j < n; ++j)
              base[size_t(i) * n + j] = a[kept[i] * k + kept[j]];
            trace += base[size_t(i) * n + i];
          }
          double ridge = 1e-4 * std::max(trace / n, 1e-30);
          for (int attempt = 0;; ++attempt) {
            std::vector<double> sub = base;
            for (int i = 0; i < n; ++i)
              sub[size_t(i) * n + i] += ridge;
            int info = 0;
            dpotrf_("L", &n, sub.data(), &n, &info);
            if (info == 0) {
              it = factors.emplace(mask, Factor{std::move(sub), ridge}).first;
              break;
            }
            if (attempt == 6) {
              error = "refit: the input statistics are not positive definite (LAPACK dpotrf " +
                      std::to_string(info) + ")";
              return std::nullopt;
            }
            ridge *= 10;
          }
        }
        std::vector<double> rhs(n);
        for (int i = 0; i < n; ++i) {
          double v = it->second.ridge * w0[kept[i]];
          for (int64_t j = 0; j < k; ++j)
            v += x[kept[i] * k + j] * w0[j];
          rhs[i] = v;
        }
        int one = 1, info = 0;
        dpotrs_("L", &n, &one, it->second.l.data(), &n, rhs.data(), &n, &info);
        std::fill(w, w + k, 0.0f);
        for (int i = 0; i < n; ++i)
          w[kept[i]] = float(rhs[i]);
      }
      double d = 0;
      if (p.withBias) {
        for (int64_t j = 0; j < k; ++j)
          d += double(w0[j]) * s.muF[j] - double(w[j]) * s.muQ[j];
        out.biasDelta[g * rows + r] = d;
      }
      out.errorAfter += rowError(s, k, w, w0, d);
    }
  }
  return out;
}
