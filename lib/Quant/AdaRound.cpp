//===- AdaRound.cpp - adaptive rounding of a layer's weights --------------===//

#include "amct/Quant/AdaRound.h"
#include "amct/Quant/Quant.h"
#include "Workers.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cmath>

using namespace amct;
using namespace amct::quant;

namespace {

// AdaRound's stretch of the sigmoid so h reaches 0 and 1 exactly.
constexpr double kZeta = 1.1, kGamma = -0.1;

/// The rectified sigmoid h(V); `sigmoid` receives sigmoid(V), from which
/// the caller derives h's derivative.
inline float rectifiedSigmoid(float v, float &sigmoid) {
  sigmoid = 1.0f / (1.0f + std::exp(-v));
  return std::clamp(float(sigmoid * (kZeta - kGamma) + kGamma), 0.0f, 1.0f);
}

/// The output-error objective in terms of E = W~ - W:
///   ||W~ C - T||^2 / P = sum E . (E G) + 2 sum E . D + c0
/// with G = C C^T / P, D = W G - W G_cf (0 when the target is W C: the
/// symmetric case), c0 = the error of W itself (0 when symmetric). Written
/// in E so the symmetric error has no cancellation.
struct Objective {
  int64_t groups, rows, k;
  std::vector<float> gram; // G, per group
  std::vector<float> d;    // D, like the weight; empty when symmetric
  double c0 = 0;

  explicit Objective(const AdaRoundProblem &p) : groups(p.groups), rows(p.rows), k(p.k) {
    int64_t gramSize = p.groups * p.k * p.k, n = p.groups * p.rows * p.k;
    gram.resize(gramSize);
    for (int64_t i = 0; i < gramSize; ++i)
      gram[i] = float(p.gram[i] / p.positions);
    if (!p.crossGram)
      return;
    // T = W (C C_f^T / P)^T, per group; D = W G - T; c0 = ||W C - W C_f||^2 / P.
    std::vector<float> cross(gramSize), wg(n), t(n);
    for (int64_t i = 0; i < gramSize; ++i)
      cross[i] = float(p.crossGram[i] / p.positions);
    int64_t block = p.rows * p.k, kk = p.k * p.k;
    for (int64_t g = 0; g < p.groups; ++g) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p.rows, p.k, p.k, 1.0f,
                  p.weight + g * block, p.k, gram.data() + g * kk, p.k, 0.0f,
                  wg.data() + g * block, p.k);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p.rows, p.k, p.k, 1.0f,
                  p.weight + g * block, p.k, cross.data() + g * kk, p.k, 0.0f,
                  t.data() + g * block, p.k);
    }
    d.resize(n);
    double wgw = 0, wt = 0;
    for (int64_t i = 0; i < n; ++i) {
      d[i] = wg[i] - t[i];
      wgw += double(p.weight[i]) * wg[i];
      wt += double(p.weight[i]) * t[i];
    }
    // tr(W C_f C_f^T W^T) / P, in double: the float model's output energy.
    double ff = 0;
    for (int64_t g = 0; g < p.groups; ++g)
      for (int64_t r = 0; r < p.rows; ++r) {
        const float *w = p.weight + g * block + r * p.k;
        const double *f = p.floatGram + g * kk;
        for (int64_t i = 0; i < p.k; ++i) {
          double acc = 0;
          for (int64_t j = 0; j < p.k; ++j)
            acc += f[i * p.k + j] * w[j];
          ff += w[i] * acc;
        }
      }
    c0 = std::max(0.0, wgw - 2 * wt + ff / p.positions);
  }

  /// eg = E G for `count` rows of group g (E, eg: count x k, row-major).
  void multiplyRows(int64_t g, int64_t count, const float *e, float *eg) const {
    const float *gram_g = gram.data() + g * k * k;
    if (count * k * k < 4096) {
      // Small (depthwise rows): a loop beats a BLAS call.
      for (int64_t r = 0; r < count; ++r)
        for (int64_t j = 0; j < k; ++j) {
          float acc = 0;
          for (int64_t i = 0; i < k; ++i)
            acc += e[r * k + i] * gram_g[i * k + j];
          eg[r * k + j] = acc;
        }
      return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, count, k, k, 1.0f, e, k, gram_g, k,
                0.0f, eg, k);
  }

  double value(const std::vector<float> &e) const {
    std::vector<float> eg(e.size());
    for (int64_t g = 0; g < groups; ++g)
      multiplyRows(g, rows, e.data() + g * rows * k, eg.data() + g * rows * k);
    double sum = c0;
    for (size_t i = 0; i < e.size(); ++i)
      sum += double(e[i]) * (double(eg[i]) + (d.empty() ? 0.0 : 2.0 * d[i]));
    return sum;
  }
};

/// AdaRound's iterations on `count` rows of group `group` (their `len`
/// values): Adam on V, whose gradient is 2 (E G + D) s h'(V) plus the
/// regulariser's, the regulariser off for the warm start and its beta
/// annealed (cosine) after.
void optimiseRows(const Objective &objective, const AdaRoundOptions &o, int64_t group,
                  int64_t count, const float *base, const float *scale, const float *weight,
                  const float *d, float *v, float lo, float hi, int64_t len) {
  constexpr float kBeta1 = 0.9f, kBeta2 = 0.999f, kEps = 1e-8f;
  std::vector<float> m(len, 0.0f), u(len, 0.0f), e(len), eg(len), sig(len), h(len);
  double b1t = 1, b2t = 1;
  int64_t warm = int64_t(o.warmStart * double(o.iterations));
  const float stretch = float(kZeta - kGamma);
  for (int64_t t = 0; t < o.iterations; ++t) {
    bool regularise = t >= warm;
    float beta = 0;
    if (regularise) {
      double rel = double(t - warm) / double(std::max<int64_t>(1, o.iterations - warm));
      beta = float(o.betaEnd + 0.5 * (o.betaStart - o.betaEnd) * (1 + std::cos(rel * M_PI)));
    }
    for (int64_t i = 0; i < len; ++i) {
      h[i] = rectifiedSigmoid(v[i], sig[i]);
      e[i] = std::clamp(base[i] + h[i], lo, hi) * scale[i] - weight[i];
    }
    objective.multiplyRows(group, count, e.data(), eg.data());
    b1t *= kBeta1;
    b2t *= kBeta2;
    float lr = float(o.learningRate * std::sqrt(1 - b2t) / (1 - b1t));
    float regScale = float(o.regParam) * beta * 2.0f;
    for (int64_t i = 0; i < len; ++i) {
      float inner = base[i] + h[i];
      // Zero where the integer is clamped to the bits' range.
      float gh = (inner > lo && inner < hi) ? 2.0f * (eg[i] + (d ? d[i] : 0.0f)) * scale[i] : 0.0f;
      if (regularise) {
        float dd = 2.0f * h[i] - 1.0f, a = std::fabs(dd);
        if (a > 0)
          gh -= regScale * std::exp((beta - 1) * std::log(a)) * (dd > 0 ? 1.0f : -1.0f);
      }
      float raw = sig[i] * stretch + float(kGamma);
      float gv = (raw > 0.0f && raw < 1.0f) ? gh * sig[i] * (1 - sig[i]) * stretch : 0.0f;
      m[i] = kBeta1 * m[i] + (1 - kBeta1) * gv;
      u[i] = kBeta2 * u[i] + (1 - kBeta2) * gv * gv;
      v[i] -= lr * m[i] / (std::sqrt(u[i]) + kEps);
    }
  }
}

double errorOf(const AdaRoundProblem &p, const Objective &objective, const int32_t *q) {
  int64_t n = p.groups * p.rows * p.k;
  std::vector<float> e(n);
  for (int64_t i = 0; i < n; ++i)
    e[i] = float(q[i]) * p.rowScale[i / p.k] - p.weight[i];
  return objective.value(e);
}

} // namespace

double amct::quant::roundingOutputError(const AdaRoundProblem &p, const int32_t *q) {
  return errorOf(p, Objective(p), q);
}

std::optional<AdaRoundResult> amct::quant::adaRound(const AdaRoundProblem &p,
                                                    const AdaRoundOptions &o,
                                                    std::string &error) {
  if (p.groups < 1 || p.rows < 1 || p.k < 1 || !(p.positions > 0)) {
    error = "ADA: empty layer or no calibration positions";
    return std::nullopt;
  }
  if (o.iterations < 1 || !(o.warmStart >= 0 && o.warmStart < 1)) {
    error = "ADA: num_iteration must be >= 1 and warm_start in [0, 1)";
    return std::nullopt;
  }
  if (bool(p.crossGram) != bool(p.floatGram)) {
    error = "ADA: the float model's Gram matrices come together";
    return std::nullopt;
  }
  int64_t n = p.groups * p.rows * p.k, gramSize = p.groups * p.k * p.k;
  for (int64_t r = 0; r < p.groups * p.rows; ++r)
    if (!(p.rowScale[r] > 0) || !std::isfinite(p.rowScale[r])) {
      error = "ADA: a weight scale is not finite and positive";
      return std::nullopt;
    }
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p.weight[i])) {
      error = "ADA: the weight has a NaN or infinite value";
      return std::nullopt;
    }
  for (const double *g : {p.gram, p.crossGram, p.floatGram})
    for (int64_t i = 0; g && i < gramSize; ++i)
      if (!std::isfinite(g[i])) {
        error = "ADA: the layer's inputs have NaN or infinite values";
        return std::nullopt;
      }
  Objective objective(p);

  const float lo = float(qmin(o.numBits)), hi = float(qmax(o.numBits));
  // floor(W / s) and V with h(V) = W / s - floor(W / s).
  std::vector<float> base(n), v(n), scale(n);
  AdaRoundResult result;
  result.q.resize(n);
  std::vector<int32_t> nearest(n);
  for (int64_t i = 0; i < n; ++i) {
    float s = p.rowScale[i / p.k], x = p.weight[i] / s;
    scale[i] = s;
    base[i] = std::floor(x);
    float rest = std::clamp(x - base[i], 1e-4f, 1.0f - 1e-4f);
    v[i] = float(-std::log((kZeta - kGamma) / (rest - kGamma) - 1.0));
    nearest[i] = int32_t(std::clamp(float(std::nearbyint(x)), lo, hi));
  }
  result.nearestError = errorOf(p, objective, nearest.data());

  // Rows are independent (each row's output error involves its own
  // weights only): blocks of rows, each optimised on its own for all
  // iterations, on parallel workers. Blocks depend on the shapes only, so
  // the result does not depend on the thread count.
  constexpr int64_t kBlockRows = 16;
  struct Block {
    int64_t group, begin, count; // rows [begin, begin + count) of all rows
  };
  std::vector<Block> blocks;
  for (int64_t g = 0; g < p.groups; ++g)
    for (int64_t r = 0; r < p.rows; r += kBlockRows)
      blocks.push_back({g, g * p.rows + r, std::min(kBlockRows, p.rows - r)});
  int workers = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  workers = int(std::min<int64_t>(workers, int64_t(blocks.size())));
  SingleThreadedBlas blas(workers > 1);
  std::atomic<size_t> nextBlock{0};
  std::vector<std::string> errors(workers);
  runWorkers(workers, [&](int) {
    for (size_t bi = nextBlock++; bi < blocks.size(); bi = nextBlock++) {
      const Block &blk = blocks[bi];
      int64_t off = blk.begin * p.k, len = blk.count * p.k;
      optimiseRows(objective, o, blk.group, blk.count, base.data() + off, scale.data() + off,
                   p.weight + off, objective.d.empty() ? nullptr : objective.d.data() + off,
                   v.data() + off, lo, hi, len);
    }
  }, errors);
  for (int64_t i = 0; i < n; ++i) {
    result.q[i] = int32_t(std::clamp(base[i] + (v[i] >= 0 ? 1.0f : 0.0f), lo, hi));
    result.flipped += result.q[i] != nearest[i];
  }
  result.adaError = errorOf(p, objective, result.q.data());
  return result;
}
