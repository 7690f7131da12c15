//===- LinearWeights.cpp - weight-only quantization of Linear layers ------===//
//
// minmax parameters, quantize / dequantize, int4 packing and GPTQ. GPTQ
// follows the reference implementation (gptq.py of Frantar et al.) step by
// step, in the [K, N] layout: "column i" of their [N, K] weight is row i
// here. The Cholesky factorisations come from LAPACK (OpenBLAS exports
// it), the lazy block updates are sgemm.
//
//===----------------------------------------------------------------------===//

#include "amct/Quant/LinearWeights.h"
#include "Workers.h"

#include <algorithm>
#include <cassert>
#include <cblas.h>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <thread>

extern "C" {
// LAPACK (Fortran interface, column-major), from OpenBLAS.
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info);
}

using namespace amct::quant;

namespace {


/// The calibration rows a search scores its candidates on: all of them, or
/// as many as the budget allows (candidates x rows x K x N multiply-adds,
/// at least maxTokens rows), evenly spaced; and the float output X W on
/// them, the reference every candidate is compared with.
struct ScoredRows {
  int64_t rows = 0;
  std::vector<float> x, reference;
};

ScoredRows scoredRows(const float *x, int64_t t, const float *w, int64_t k, int64_t n,
                      int64_t candidates, int64_t maxTokens, int64_t maxMultiplyAdds) {
  ScoredRows out;
  int64_t perRow = std::max<int64_t>(1, candidates * k * n);
  int64_t affordable = std::max<int64_t>(maxTokens, maxMultiplyAdds / perRow);
  out.rows = std::min<int64_t>(t, std::max<int64_t>(1, affordable));
  out.x.resize(out.rows * k);
  for (int64_t r = 0; r < out.rows; ++r)
    std::copy_n(&x[(r * t / out.rows) * k], k, &out.x[r * k]);
  out.reference.resize(out.rows * n);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(out.rows), int(n), int(k), 1.0f,
              out.x.data(), int(k), w, int(n), 0.0f, out.reference.data(), int(n));
  return out;
}

} // namespace

std::optional<LinearWeightParams> amct::quant::minmaxParams(const float *w, int64_t k,
                                                            int64_t n,
                                                            const LinearWeightSpec &spec,
                                                            std::string &error) {
  if (spec.bits != 4 && spec.bits != 8) {
    error = "weights must be int4 or int8, not " + std::to_string(spec.bits) + " bits";
    return std::nullopt;
  }
  if (spec.granularity == WeightGranularity::Group && spec.groupSize < 1) {
    error = "group_size must be >= 1";
    return std::nullopt;
  }
  for (int64_t i = 0; i < k * n; ++i)
    if (!std::isfinite(w[i])) {
      error = "the weight holds a non-finite value at row " + std::to_string(i / n) +
              ", column " + std::to_string(i % n);
      return std::nullopt;
    }
  LinearWeightParams p;
  p.k = k;
  p.n = n;
  int64_t sets = 1, rowsPerGroup = k;
  if (spec.granularity == WeightGranularity::Group) {
    p.groupSize = spec.groupSize;
    p.groups = (k + spec.groupSize - 1) / spec.groupSize;
    rowsPerGroup = spec.groupSize;
    sets = p.groups * n;
  } else if (spec.granularity == WeightGranularity::Channel) {
    sets = n;
  }
  std::vector<float> lo(sets, 0.0f), hi(sets, 0.0f);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) {
      int64_t s = spec.granularity == WeightGranularity::Tensor ? 0
                  : (r / rowsPerGroup) * (spec.granularity == WeightGranularity::Group ? n : 0) + c;
      lo[s] = std::min(lo[s], w[r * n + c]);
      hi[s] = std::max(hi[s], w[r * n + c]);
    }
  for (int64_t s = 0; s < sets; ++s) {
    // A group's zero padding (K not a multiple of G) only adds zeros, which
    // the widening to include 0 already covers.
    QuantParams q = paramsFromRange(lo[s], hi[s], spec.bits, !spec.symmetric);
    p.scale.push_back(q.scale);
    p.offset.push_back(q.offset);
  }
  return p;
}

void amct::quant::quantizeLinear(const float *w, const LinearWeightParams &params, int bits,
                                 int8_t *q) {
  for (int64_t r = 0; r < params.k; ++r)
    for (int64_t c = 0; c < params.n; ++c)
      q[r * params.n + c] = int8_t(quantize(w[r * params.n + c], params.at(r, c), bits));
}

void amct::quant::dequantizeLinear(const int8_t *q, const LinearWeightParams &params,
                                   float *w) {
  for (int64_t r = 0; r < params.k; ++r)
    for (int64_t c = 0; c < params.n; ++c) {
      QuantParams p = params.at(r, c);
      w[r * params.n + c] = float(q[r * params.n + c] - p.offset) * p.scale;
    }
}

std::vector<uint8_t> amct::quant::packInt4(const int8_t *q, int64_t k, int64_t n) {
  std::vector<uint8_t> out(((k + 1) / 2) * n, 0);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) {
      uint8_t nibble = uint8_t(q[r * n + c]) & 0x0f;
      out[(r / 2) * n + c] |= r % 2 ? uint8_t(nibble << 4) : nibble;
    }
  return out;
}

std::vector<int8_t> amct::quant::unpackInt4(const uint8_t *packed, int64_t k, int64_t n) {
  std::vector<int8_t> q(k * n);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) {
      uint8_t byte = packed[(r / 2) * n + c];
      int v = r % 2 ? byte >> 4 : byte & 0x0f;
      q[r * n + c] = int8_t(v >= 8 ? v - 16 : v); // sign-extend the nibble
    }
  return q;
}

void amct::quant::accumulateGram(const float *x, int64_t rows, int64_t k, double *h) {
  // dsyrk on chunks of rows converted to double: the sum of many products
  // in float would lose the small channels.
  constexpr int64_t kChunk = 512;
  std::vector<double> chunk;
  std::vector<double> upper(k * k, 0.0);
  for (int64_t r0 = 0; r0 < rows; r0 += kChunk) {
    int64_t m = std::min(kChunk, rows - r0);
    chunk.assign(x + r0 * k, x + (r0 + m) * k);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, int(k), int(m), 1.0, chunk.data(),
                int(k), 1.0, upper.data(), int(k));
  }
  for (int64_t i = 0; i < k; ++i) {
    h[i * k + i] += upper[i * k + i];
    for (int64_t j = i + 1; j < k; ++j) {
      h[i * k + j] += upper[i * k + j];
      h[j * k + i] += upper[i * k + j];
    }
  }
}

std::optional<GptqResult> amct::quant::gptqQuantize(const float *w, int64_t k, int64_t n,
                                                    const double *h,
                                                    const LinearWeightSpec &spec,
                                                    const GptqOptions &options,
                                                    std::string &error) {
  // Dead input channels (never active in calibration): weight 0, H 1.
  // (H's diagonal is read from `h`, with the dead ones as 1: no K x K copy
  // besides the permuted one below.)
  std::vector<float> weight(w, w + k * n);
  std::vector<double> diag(k);
  for (int64_t i = 0; i < k; ++i) {
    diag[i] = h[i * k + i];
    if (diag[i] == 0) {
      diag[i] = 1;
      std::fill_n(&weight[i * n], n, 0.0f);
    }
  }
  // The grid: minmax's, or (options.clip, groups) the clipping search's
  // with the error measured by H's diagonal blocks.
  std::optional<LinearWeightParams> params =
      options.clip && spec.granularity == WeightGranularity::Group
          ? clipSearchWithHessian(h, weight.data(), k, n, spec, 10, 0.5, options.threads, error)
          : minmaxParams(weight.data(), k, n, spec, error);
  if (!params)
    return std::nullopt;

  // Act-order: the most active input channels first.
  std::vector<int64_t> perm(k);
  std::iota(perm.begin(), perm.end(), 0);
  if (options.actOrder)
    std::stable_sort(perm.begin(), perm.end(),
                     [&](int64_t a, int64_t b) { return diag[a] > diag[b]; });
  std::vector<float> wp(k * n);
  std::vector<double> hp(k * k);
  for (int64_t i = 0; i < k; ++i) {
    std::copy_n(&weight[perm[i] * n], n, &wp[i * n]);
    for (int64_t j = 0; j < k; ++j)
      hp[i * k + j] = i == j ? diag[perm[i]] : h[perm[i] * k + perm[j]];
  }
  std::vector<float>().swap(weight);
  double mean = 0;
  for (int64_t i = 0; i < k; ++i)
    mean += hp[i * k + i];
  mean /= k;
  for (int64_t i = 0; i < k; ++i)
    hp[i * k + i] += options.dampPercent * mean;

  // U: the upper Cholesky factor of H^-1 (H = L L^T, H^-1 from L, then
  // H^-1 = U^T U). H is symmetric, so its row-major array is also its
  // column-major one; cm(i, j) indexes column-major.
  int kk = int(k), info = 0;
  auto cm = [&](int64_t i, int64_t j) -> double & { return hp[i + j * k]; };
  dpotrf_("L", &kk, hp.data(), &kk, &info);
  if (info == 0)
    dpotri_("L", &kk, hp.data(), &kk, &info);
  if (info != 0) {
    error = "the Hessian of the layer's inputs is not positive definite after damping "
            "(LAPACK info " + std::to_string(info) + ")";
    return std::nullopt;
  }
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = j + 1; i < k; ++i)
      cm(j, i) = cm(i, j);
  dpotrf_("U", &kk, hp.data(), &kk, &info);
  if (info != 0) {
    error = "H^-1 is not positive definite (LAPACK info " + std::to_string(info) + ")";
    return std::nullopt;
  }
  std::vector<float> u(k * k, 0.0f); // row-major upper factor
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i; j < k; ++j)
      u[i * k + j] = float(cm(i, j));

  GptqResult result;
  result.q.assign(k * n, 0);
  int64_t block = std::max<int64_t>(1, options.blockSize);
  std::vector<float> err(block * n);
  for (int64_t i1 = 0; i1 < k; i1 += block) {
    int64_t i2 = std::min(i1 + block, k);
    for (int64_t i = i1; i < i2; ++i) {
      float d = u[i * k + i];
      float *row = &wp[i * n], *e = &err[(i - i1) * n];
      int64_t orig = perm[i];
      for (int64_t c = 0; c < n; ++c) {
        QuantParams p = params->at(orig, c);
        int32_t qv = quantize(row[c], p, spec.bits);
        result.q[orig * n + c] = int8_t(qv);
        e[c] = (row[c] - float(qv - p.offset) * p.scale) / d;
      }
      // Within the block: the rows after i take row i's error now.
      for (int64_t j = i + 1; j < i2; ++j) {
        float f = u[i * k + j];
        float *target = &wp[j * n];
#pragma GCC ivdep
        for (int64_t c = 0; c < n; ++c)
          target[c] -= f * e[c];
      }
    }
    // The rows after the block, lazily: W[i2:] -= U[i1:i2, i2:]^T Err.
    if (i2 < k)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(k - i2), int(n), int(i2 - i1),
                  -1.0f, &u[i1 * k + i2], int(k), err.data(), int(n), 1.0f, &wp[i2 * n],
                  int(n));
  }
  result.params = std::move(*params);
  return result;
}

/// clipSearch's work, its set errors from the rows of X [t, k] or, given
/// `h`, from the diagonal blocks of the layer's Hessian ([k, k], any scale).
static std::optional<LinearWeightParams>
clipSearchImpl(const float *x, int64_t t, const double *h, const float *w, int64_t k, int64_t n,
               const LinearWeightSpec &spec, int grid, double minRatio, int threads,
               std::string &error) {
  std::optional<LinearWeightParams> base = minmaxParams(w, k, n, spec, error);
  if (!base || (t < 1 && !h) || grid < 1)
    return base;
  int64_t sets = int64_t(base->scale.size());
  int64_t rowsPerSet = base->groupSize ? base->groupSize : k;
  // The candidates' ratios; error[c][set].
  std::vector<double> ratios;
  for (int g = 0; g <= grid; ++g)
    ratios.push_back(1.0 - (1.0 - minRatio) * g / grid);
  // Each set's range once; a candidate's parameters are minmax's of the
  // shrunk range (what minmaxParams gives for a * W).
  std::vector<float> lo(sets, 0.0f), hi(sets, 0.0f);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t col = 0; col < n; ++col) {
      int64_t set = sets == 1 ? 0 : (base->groupSize ? (r / rowsPerSet) * n + col : col);
      lo[set] = std::min(lo[set], w[r * n + col]);
      hi[set] = std::max(hi[set], w[r * n + col]);
    }
  // Gram matrices X_g^T X_g [G, G] of the groups (last one possibly short,
  // stored at stride G x G).
  bool useGram = h || rowsPerSet < t;
  std::vector<float> gram;
  if (useGram) {
    int64_t groups = (k + rowsPerSet - 1) / rowsPerSet;
    gram.assign(groups * rowsPerSet * rowsPerSet, 0.0f);
    for (int64_t g = 0; g < groups; ++g) {
      int64_t r0 = g * rowsPerSet, rows = std::min(rowsPerSet, k - r0);
      float *block = &gram[g * rowsPerSet * rowsPerSet];
      if (h) {
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < rows; ++j)
            block[i * rows + j] = float(h[(r0 + i) * k + r0 + j]);
        continue;
      }
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(rows), int(rows), int(t), 1.0f,
                  x + r0, int(k), x + r0, int(k), 0.0f, block, int(rows));
    }
  }
  std::vector<std::vector<double>> err(ratios.size(), std::vector<double>(sets, 0.0));
  std::vector<LinearWeightParams> params(ratios.size());
  std::vector<std::string> errors(ratios.size());
  auto score = [&](size_t c, std::vector<float> &delta, std::vector<float> &y) {
    std::optional<LinearWeightParams> p = *base;
    for (int64_t set = 0; set < sets; ++set) {
      QuantParams qp = paramsFromRange(float(ratios[c] * lo[set]), float(ratios[c] * hi[set]),
                                       spec.bits, !spec.symmetric);
      p->scale[set] = qp.scale;
      p->offset[set] = qp.offset;
    }
    for (int64_t r = 0; r < k; ++r)
      for (int64_t col = 0; col < n; ++col) {
        QuantParams qp = p->at(r, col);
        int32_t q = quantize(w[r * n + col], qp, spec.bits);
        delta[r * n + col] = w[r * n + col] - float(q - qp.offset) * qp.scale;
      }
    // Each set's error ||X_g d||^2 for its rows g of X and its column d of
    // the weight error: as d^T (X_g^T X_g) d from the groups' Gram matrices
    // when a group has fewer input channels than there are rows (the cost
    // no longer grows with the rows), else from X_g D directly.
    for (int64_t r0 = 0; r0 < k; r0 += rowsPerSet) {
      int64_t rows = std::min(rowsPerSet, k - r0), g = r0 / rowsPerSet;
      auto setOf = [&](int64_t col) {
        return sets == 1 ? 0 : (base->groupSize ? g * n + col : col);
      };
      if (useGram) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(n), int(rows),
                    1.0f, &gram[g * rowsPerSet * rowsPerSet], int(rows), &delta[r0 * n], int(n),
                    0.0f, y.data(), int(n));
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t col = 0; col < n; ++col)
            err[c][setOf(col)] += double(delta[(r0 + i) * n + col]) * y[i * n + col];
        continue;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(t), int(n), int(rows), 1.0f,
                  x + r0, int(k), &delta[r0 * n], int(n), 0.0f, y.data(), int(n));
      for (int64_t row = 0; row < t; ++row)
        for (int64_t col = 0; col < n; ++col) {
          double v = y[row * n + col];
          err[c][setOf(col)] += v * v;
        }
    }
    params[c] = std::move(*p);
  };
  int workers = std::max(1, std::min<int>(threads, int(ratios.size())));
  SingleThreadedBlas blasGuard(workers > 1);
  auto worker = [&](int id) {
    std::vector<float> delta(k * n), y((useGram ? rowsPerSet : t) * n);
    for (size_t c = id; c < ratios.size(); c += workers)
      score(c, delta, y);
  };
  if (std::optional<std::string> failed = runWorkers(workers, worker, errors)) {
    error = *failed;
    return std::nullopt;
  }
  LinearWeightParams out = params[0]; // a copy: params[0] may win some sets
  for (int64_t set = 0; set < sets; ++set) {
    size_t best = 0;
    for (size_t c = 1; c < ratios.size(); ++c)
      if (err[c][set] < err[best][set])
        best = c;
    out.scale[set] = params[best].scale[set];
    out.offset[set] = params[best].offset[set];
  }
  return out;
}

std::optional<LinearWeightParams>
amct::quant::clipSearch(const float *x, int64_t t, const float *w, int64_t k, int64_t n,
                        const LinearWeightSpec &spec, int grid, double minRatio, int threads,
                        std::string &error) {
  return clipSearchImpl(x, t, nullptr, w, k, n, spec, grid, minRatio, threads, error);
}

std::optional<LinearWeightParams>
amct::quant::clipSearchWithHessian(const double *h, const float *w, int64_t k, int64_t n,
                                   const LinearWeightSpec &spec, int grid, double minRatio,
                                   int threads, std::string &error) {
  return clipSearchImpl(nullptr, 0, h, w, k, n, spec, grid, minRatio, threads, error);
}

std::optional<AwqResult> amct::quant::awqSearch(const float *x, int64_t t, const float *w,
                                                int64_t k, int64_t n,
                                                const LinearWeightSpec &spec,
                                                const AwqOptions &options, std::string &error) {
  if (t < 1 || options.gridsNum < 1) {
    error = t < 1 ? "AWQ needs calibration inputs" : "grids_num must be at least 1";
    return std::nullopt;
  }
  std::vector<double> meanAbs(k, 0.0);
  for (int64_t r = 0; r < t; ++r)
    for (int64_t i = 0; i < k; ++i)
      meanAbs[i] += std::fabs(double(x[r * k + i]));
  for (double &m : meanAbs)
    m = std::max(m / double(t), 1e-4); // a dead channel keeps a finite scale
  ScoredRows sample = scoredRows(x, t, w, k, n, options.gridsNum, options.maxTokens,
                                 options.maxMultiplyAdds);
  int64_t rows = sample.rows;
  const std::vector<float> &xs = sample.x, &ref = sample.reference;

  // Scores candidate g into cands[g]; each worker has its own buffers.
  std::vector<AwqResult> cands(options.gridsNum);
  std::vector<std::string> errors(options.gridsNum);
  auto score = [&](int g, std::vector<float> &scaled, std::vector<float> &effective,
                   std::vector<float> &out) {
    double ratio = double(g) / options.gridsNum;
    std::vector<double> s(k);
    double lo = INFINITY, hi = 0;
    for (int64_t i = 0; i < k; ++i) {
      s[i] = std::pow(meanAbs[i], ratio);
      lo = std::min(lo, s[i]);
      hi = std::max(hi, s[i]);
    }
    double norm = std::sqrt(hi * lo);
    AwqResult &cand = cands[g];
    cand.ratio = ratio;
    cand.scale.resize(k);
    for (int64_t i = 0; i < k; ++i) {
      cand.scale[i] = float(s[i] / norm);
      for (int64_t c = 0; c < n; ++c)
        scaled[i * n + c] = w[i * n + c] * cand.scale[i];
    }
    std::optional<LinearWeightParams> p = minmaxParams(scaled.data(), k, n, spec, errors[g]);
    if (!p)
      return;
    // (X / s) Q(diag(s) W) = X (diag(1/s) Q(diag(s) W)), in one pass; the
    // integers are kept for the winner only (below).
    bool single = p->scale.size() == 1;
    for (int64_t i = 0; i < k; ++i) {
      int64_t base = single ? 0 : (p->groupSize ? i / p->groupSize : 0) * n;
      for (int64_t c = 0; c < n; ++c) {
        QuantParams qp{p->scale[single ? 0 : base + c], p->offset[single ? 0 : base + c]};
        int32_t q = quantize(scaled[i * n + c], qp, spec.bits);
        effective[i * n + c] = float(q - qp.offset) * qp.scale / cand.scale[i];
      }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(n), int(k), 1.0f,
                xs.data(), int(k), effective.data(), int(n), 0.0f, out.data(), int(n));
    double e = 0;
    for (int64_t i = 0; i < rows * n; ++i) {
      double d = double(out[i]) - ref[i];
      e += d * d;
    }
    cand.error = e;
    cand.params = std::move(*p);
  };
  int workers = std::max(1, std::min(options.threads, options.gridsNum));
  SingleThreadedBlas blasGuard(workers > 1);
  auto worker = [&](int id) {
    std::vector<float> scaled(k * n), effective(k * n), out(rows * n);
    for (int g = id; g < options.gridsNum; g += workers)
      score(g, scaled, effective, out);
  };
  if (std::optional<std::string> failed = runWorkers(workers, worker, errors)) {
    error = *failed;
    return std::nullopt;
  }
  // The lowest error; the smallest ratio among equals.
  int bestIndex = 0;
  for (int g = 1; g < options.gridsNum; ++g)
    if (cands[g].error < cands[bestIndex].error)
      bestIndex = g;
  std::optional<AwqResult> best = std::move(cands[bestIndex]);
  best->minmaxError = bestIndex == 0 ? best->error : cands[0].error;
  {
    std::vector<float> scaled(k * n);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t c = 0; c < n; ++c)
        scaled[i * n + c] = w[i * n + c] * best->scale[i];
    best->q.resize(k * n);
    quantizeLinear(scaled.data(), best->params, spec.bits, best->q.data());
  }
  if (!options.clip)
    return best;
  // The clipping search on the scaled problem: (X / s) and diag(s) W.
  std::vector<float> xs2(rows * k), scaled(k * n);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < k; ++i)
      xs2[r * k + i] = xs[r * k + i] / best->scale[i];
  for (int64_t i = 0; i < k; ++i)
    for (int64_t c = 0; c < n; ++c)
      scaled[i * n + c] = w[i * n + c] * best->scale[i];
  std::optional<LinearWeightParams> clipped =
      clipSearch(xs2.data(), rows, scaled.data(), k, n, spec, 10, 0.5, options.threads, error);
  if (!clipped)
    return std::nullopt;
  best->params = std::move(*clipped);
  quantizeLinear(scaled.data(), best->params, spec.bits, best->q.data());
  return best;
}

std::vector<float> amct::quant::smoothQuantFactors(const float *actAbsMax,
                                                   const float *weightAbsMax, int64_t k,
                                                   double strength) {
  std::vector<float> f(k, 1.0f);
  for (int64_t c = 0; c < k; ++c) {
    double a = actAbsMax[c], w = weightAbsMax[c];
    if (!(a > 0) || !(w > 0))
      continue;
    double v = std::pow(a, strength) / std::pow(w, 1.0 - strength);
    if (std::isfinite(v) && v >= 1e-5)
      f[c] = float(v);
  }
  return f;
}

void amct::quant::fakeQuantizeRowPerToken(const float *row, int64_t k, bool symmetric,
                                          float *out) {
  float scale, offset = 0.0f;
  if (symmetric) {
    float amax = 0.0f;
    for (int64_t i = 0; i < k; ++i)
      amax = std::max(amax, std::fabs(row[i]));
    scale = std::max(amax / 127.0f, FLT_MIN);
  } else {
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < k; ++i) {
      lo = std::min(lo, row[i]);
      hi = std::max(hi, row[i]);
    }
    scale = std::max((hi - lo) / 255.0f, FLT_MIN);
    offset = std::clamp(-128.0f - std::nearbyint(lo / scale), -128.0f, 127.0f);
  }
  for (int64_t i = 0; i < k; ++i)
    out[i] = (std::clamp(std::nearbyint(row[i] / scale) + offset, -128.0f, 127.0f) - offset) *
             scale;
}

std::optional<SmoothSearchResult>
amct::quant::smoothQuantSearch(const float *x, int64_t t, const float *w, int64_t k, int64_t n,
                               const float *actLo, const float *actHi,
                               const LinearWeightSpec &spec, const ActivationSpec &act,
                               const SmoothSearchOptions &options, std::string &error) {
  int candidates = int(options.strengths.size());
  if (t < 1 || candidates < 1) {
    error = t < 1 ? "SmoothQuant's strength search needs calibration inputs"
                  : "no smooth_strength candidate";
    return std::nullopt;
  }
  std::vector<float> actAbsMax(k, 0.0f), weightAbsMax(k, 0.0f);
  for (int64_t i = 0; i < k; ++i) {
    if (actLo[i] <= actHi[i])
      actAbsMax[i] = std::max(std::fabs(actLo[i]), std::fabs(actHi[i]));
    for (int64_t c = 0; c < n; ++c)
      weightAbsMax[i] = std::max(weightAbsMax[i], std::fabs(w[i * n + c]));
  }
  ScoredRows sample = scoredRows(x, t, w, k, n, candidates, options.maxTokens,
                                 options.maxMultiplyAdds);
  int64_t rows = sample.rows;
  const std::vector<float> &xs = sample.x, &ref = sample.reference;

  std::vector<double> errs(candidates, INFINITY);
  std::vector<std::string> errors(candidates);
  auto score = [&](int g, std::vector<float> &scaled, std::vector<float> &xq,
                   std::vector<float> &out) {
    std::vector<float> f =
        smoothQuantFactors(actAbsMax.data(), weightAbsMax.data(), k, options.strengths[g]);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t c = 0; c < n; ++c)
        scaled[i * n + c] = w[i * n + c] * f[i];
    std::optional<LinearWeightParams> p = minmaxParams(scaled.data(), k, n, spec, errors[g]);
    if (!p)
      return;
    std::vector<int8_t> q(k * n);
    quantizeLinear(scaled.data(), *p, spec.bits, q.data());
    dequantizeLinear(q.data(), *p, scaled.data());
    QuantParams tensorParams{1.0f, 0};
    if (!act.perToken) {
      float lo = INFINITY, hi = -INFINITY;
      for (int64_t i = 0; i < k; ++i)
        if (actLo[i] <= actHi[i]) {
          lo = std::min(lo, actLo[i] / f[i]);
          hi = std::max(hi, actHi[i] / f[i]);
        }
      if (!(lo <= hi)) {
        errors[g] = "the calibration input has no finite value";
        return;
      }
      tensorParams = paramsFromRange(lo, hi, 8, !act.symmetric);
    }
    for (int64_t r = 0; r < rows; ++r) {
      float *row = &xq[r * k];
      for (int64_t i = 0; i < k; ++i)
        row[i] = xs[r * k + i] / f[i];
      if (act.perToken) {
        fakeQuantizeRowPerToken(row, k, act.symmetric, row);
      } else {
        for (int64_t i = 0; i < k; ++i)
          row[i] = fakeQuant(row[i], tensorParams, 8);
      }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(n), int(k), 1.0f,
                xq.data(), int(k), scaled.data(), int(n), 0.0f, out.data(), int(n));
    double e = 0;
    for (int64_t i = 0; i < rows * n; ++i) {
      double d = double(out[i]) - ref[i];
      e += d * d;
    }
    errs[g] = e;
  };
  int workers = std::max(1, std::min(options.threads, candidates));
  // BLAS on one thread whatever the count, so the sums (and the choice)
  // do not depend on it; the candidates run side by side instead.
  SingleThreadedBlas blasGuard(true);
  auto worker = [&](int id) {
    std::vector<float> scaled(k * n), xq(rows * k), out(rows * n);
    for (int g = id; g < candidates; g += workers)
      score(g, scaled, xq, out);
  };
  if (std::optional<std::string> failed = runWorkers(workers, worker, errors)) {
    error = *failed;
    return std::nullopt;
  }
  int best = 0;
  for (int g = 1; g < candidates; ++g)
    if (errs[g] < errs[best])
      best = g;
  SmoothSearchResult result;
  result.strength = options.strengths[best];
  result.factors = smoothQuantFactors(actAbsMax.data(), weightAbsMax.data(), k, result.strength);
  result.error = errs[best];
  result.errors = errs;
  return result;
}
