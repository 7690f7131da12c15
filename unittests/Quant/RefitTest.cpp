//===- RefitTest.cpp - least-squares refit after pruning ------------------===//
//
// Worked examples: a removed input that is the sum of two kept ones is
// absorbed exactly by their weights; a removed constant input becomes a
// bias; a random problem matches the normal equations solved here by
// Gaussian elimination on the explicit columns; the reported errors match
// the explicit outputs; bad problems are refused.
//
//===----------------------------------------------------------------------===//

#include "amct/Quant/Refit.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace amct::quant;

namespace {

/// Explicit columns (k x positions) and their statistics.
struct Columns {
  std::vector<std::vector<double>> q, f;
  std::vector<double> qq, qf, ff, sumQ, sumF;
  double positions = 0;

  void finish() {
    size_t k = q.size(), p = q[0].size();
    positions = double(p);
    qq.assign(k * k, 0);
    qf.assign(k * k, 0);
    ff.assign(k * k, 0);
    sumQ.assign(k, 0);
    sumF.assign(k, 0);
    for (size_t i = 0; i < k; ++i) {
      for (size_t t = 0; t < p; ++t) {
        sumQ[i] += q[i][t];
        sumF[i] += f[i][t];
      }
      for (size_t j = 0; j < k; ++j)
        for (size_t t = 0; t < p; ++t) {
          qq[i * k + j] += q[i][t] * q[j][t];
          qf[i * k + j] += q[i][t] * f[j][t];
          ff[i * k + j] += f[i][t] * f[j][t];
        }
    }
  }

  RefitProblem problem(const std::vector<float> &w, const std::vector<bool> &keep, int64_t rows,
                       bool bias) const {
    RefitProblem p;
    p.rows = rows;
    p.k = int64_t(q.size());
    p.weight = w.data();
    p.keep = &keep;
    p.gram = qq.data();
    p.crossGram = qf.data();
    p.floatGram = ff.data();
    p.sumQ = sumQ.data();
    p.sumF = sumF.data();
    p.positions = positions;
    p.withBias = bias;
    return p;
  }
};

/// Mean squared error of row weights w + bias shift d against w0 on the
/// explicit columns.
double explicitError(const Columns &c, const float *w, const float *w0, double d) {
  double e = 0;
  size_t k = c.q.size(), p = c.q[0].size();
  for (size_t t = 0; t < p; ++t) {
    double y = d, target = 0;
    for (size_t j = 0; j < k; ++j) {
      y += w[j] * c.q[j][t];
      target += w0[j] * c.f[j][t];
    }
    e += (y - target) * (y - target);
  }
  return e / double(p);
}

TEST(RefitTest, RemovedSumOfKeptInputsIsAbsorbed) {
  // c2 = c0 + c1: removing c2 moves its weight onto c0 and c1 exactly.
  Columns c;
  c.q = {{1, 0, 2, -1, 0.5}, {0, 1, 1, 3, -2}, {1, 1, 3, 2, -1.5}};
  c.f = c.q;
  c.finish();
  std::vector<float> w0 = {0.5f, -1.0f, 2.0f};
  std::vector<bool> keep = {true, true, false};
  std::string error;
  auto fit = refitPrunedWeights(c.problem(w0, keep, 1, false), error);
  ASSERT_TRUE(fit) << error;
  EXPECT_NEAR(fit->weight[0], 2.5, 1e-3);
  EXPECT_NEAR(fit->weight[1], 1.0, 1e-3);
  EXPECT_EQ(fit->weight[2], 0.0f);
  EXPECT_NEAR(fit->errorAfter, 0.0, 1e-5);
  std::vector<float> masked = {0.5f, -1.0f, 0.0f};
  EXPECT_NEAR(fit->errorBefore, explicitError(c, masked.data(), w0.data(), 0), 1e-9);
}

TEST(RefitTest, RemovedConstantInputBecomesBias) {
  // c1 is the constant 5 (a channel after BN's shift and a Relu): its
  // contribution 3 * 5 = 15 moves into the bias; c0's weight stays.
  Columns c;
  c.q = {{1, -2, 0.5, 3}, {5, 5, 5, 5}};
  c.f = c.q;
  c.finish();
  std::vector<float> w0 = {2.0f, 3.0f};
  std::vector<bool> keep = {true, false};
  std::string error;
  auto fit = refitPrunedWeights(c.problem(w0, keep, 1, true), error);
  ASSERT_TRUE(fit) << error;
  EXPECT_NEAR(fit->weight[0], 2.0, 1e-4);
  EXPECT_NEAR(fit->biasDelta[0], 15.0, 1e-3);
  EXPECT_NEAR(fit->errorBefore, 225.0, 1e-9);
  EXPECT_NEAR(fit->errorAfter, 0.0, 1e-4);
}

TEST(RefitTest, MatchesNormalEquationsOnRandomProblem) {
  // Two rows with different masks (2:4-like), the pruned input differing
  // from the original's (earlier layers pruned): the solution is the
  // least-squares fit of the original outputs on the kept pruned inputs.
  std::mt19937 rng(3);
  std::normal_distribution<double> normal;
  const size_t k = 6, positions = 400;
  Columns c;
  c.q.assign(k, std::vector<double>(positions));
  c.f.assign(k, std::vector<double>(positions));
  for (size_t j = 0; j < k; ++j)
    for (size_t t = 0; t < positions; ++t) {
      c.f[j][t] = normal(rng) + (j == 2 ? c.f[0][t] : 0.0);
      c.q[j][t] = c.f[j][t] + 0.2 * normal(rng);
    }
  c.finish();
  std::vector<float> w0(2 * k);
  for (float &w : w0)
    w = float(normal(rng));
  std::vector<bool> keep = {true, false, true, false, true, true,
                            false, true, true, true, false, false};
  std::string error;
  auto fit = refitPrunedWeights(c.problem(w0, keep, 2, false), error);
  ASSERT_TRUE(fit) << error;
  for (size_t r = 0; r < 2; ++r) {
    // Normal equations on the explicit kept columns, by elimination.
    std::vector<size_t> kept;
    for (size_t j = 0; j < k; ++j)
      if (keep[r * k + j])
        kept.push_back(j);
    size_t n = kept.size();
    std::vector<std::vector<double>> m(n, std::vector<double>(n + 1, 0));
    for (size_t t = 0; t < positions; ++t) {
      double target = 0;
      for (size_t j = 0; j < k; ++j)
        target += w0[r * k + j] * c.f[j][t];
      for (size_t a = 0; a < n; ++a) {
        for (size_t b = 0; b < n; ++b)
          m[a][b] += c.q[kept[a]][t] * c.q[kept[b]][t];
        m[a][n] += c.q[kept[a]][t] * target;
      }
    }
    for (size_t a = 0; a < n; ++a)
      for (size_t b = a + 1; b < n; ++b) {
        double factor = m[b][a] / m[a][a];
        for (size_t x = a; x <= n; ++x)
          m[b][x] -= factor * m[a][x];
      }
    std::vector<double> solution(n);
    for (size_t a = n; a-- > 0;) {
      double v = m[a][n];
      for (size_t b = a + 1; b < n; ++b)
        v -= m[a][b] * solution[b];
      solution[a] = v / m[a][a];
    }
    for (size_t a = 0; a < n; ++a)
      EXPECT_NEAR(fit->weight[r * k + kept[a]], solution[a], 2e-3) << "row " << r;
    for (size_t j = 0; j < k; ++j)
      if (!keep[r * k + j])
        EXPECT_EQ(fit->weight[r * k + j], 0.0f);
  }
  double explicitAfter = explicitError(c, fit->weight.data(), w0.data(), 0) +
                         explicitError(c, fit->weight.data() + k, w0.data() + k, 0);
  EXPECT_NEAR(fit->errorAfter, explicitAfter, 1e-6 * std::max(1.0, explicitAfter));
  EXPECT_LT(fit->errorAfter, fit->errorBefore);
}

TEST(RefitTest, RefusesBadProblems) {
  Columns c;
  c.q = {{1, 2}, {3, 4}};
  c.f = c.q;
  c.finish();
  std::vector<float> w0 = {1, 2};
  std::vector<bool> wrongSize = {true};
  std::string error;
  EXPECT_FALSE(refitPrunedWeights(c.problem(w0, wrongSize, 1, false), error));
  EXPECT_EQ(error, "refit: incomplete problem");
  std::vector<bool> keep = {true, false};
  RefitProblem p = c.problem(w0, keep, 1, false);
  p.positions = 0;
  EXPECT_FALSE(refitPrunedWeights(p, error));
  EXPECT_EQ(error, "refit: no calibration positions");
}

} // namespace
