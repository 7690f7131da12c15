//===- AdaRoundTest.cpp - adaptive rounding against worked examples -------===//
//
// The objective computed by hand (two correlated inputs, where rounding one
// weight up halves nothing but cancels the other's error), ADA finding the
// best rounding an exhaustive search finds on small seeded problems, equal
// to nearest rounding when the inputs are uncorrelated, the asymmetric
// target (the float model's columns) making up for an input error, and
// bad problems refused.
//
//===----------------------------------------------------------------------===//

#include "amct/Quant/AdaRound.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace amct::quant;

namespace {

/// Explicit columns C (k x positions) -> Gram C C^T.
std::vector<double> gramOf(const std::vector<std::vector<double>> &c) {
  size_t k = c.size(), p = c[0].size();
  std::vector<double> g(k * k, 0.0);
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < k; ++j)
      for (size_t t = 0; t < p; ++t)
        g[i * k + j] += c[i][t] * c[j][t];
  return g;
}

std::vector<double> crossOf(const std::vector<std::vector<double>> &a,
                            const std::vector<std::vector<double>> &b) {
  size_t k = a.size(), p = a[0].size();
  std::vector<double> g(k * k, 0.0);
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < k; ++j)
      for (size_t t = 0; t < p; ++t)
        g[i * k + j] += a[i][t] * b[j][t];
  return g;
}

/// ||sq C - W Cf||^2 / positions, straight from the columns.
double directError(const std::vector<float> &w, float s, const std::vector<int32_t> &q,
                   const std::vector<std::vector<double>> &c,
                   const std::vector<std::vector<double>> &cf, int64_t rows) {
  size_t k = c.size(), p = c[0].size();
  double sum = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (size_t t = 0; t < p; ++t) {
      double out = 0, target = 0;
      for (size_t j = 0; j < k; ++j) {
        out += double(q[r * k + j]) * s * c[j][t];
        target += double(w[r * k + j]) * cf[j][t];
      }
      sum += (out - target) * (out - target);
    }
  return sum / double(p);
}

AdaRoundProblem problemOf(int64_t rows, int64_t k, const std::vector<float> &w,
                          const std::vector<float> &s, const std::vector<double> &g,
                          double positions = 1) {
  AdaRoundProblem p;
  p.rows = rows;
  p.k = k;
  p.weight = w.data();
  p.rowScale = s.data();
  p.gram = g.data();
  p.positions = positions;
  return p;
}

AdaRoundOptions quick() {
  AdaRoundOptions o;
  o.iterations = 2000;
  return o;
}

TEST(AdaRound, CorrelatedInputsRoundOneWeightUp) {
  // Weights 0.45 and 0.3 (scale 1) that always see the same input x = 1:
  // the output is 0.75. Nearest rounds both down (error 0.75^2 = 0.5625);
  // rounding one up gives 1 (error 0.25^2 = 0.0625), the best there is.
  // The regulariser pulls 0.3 down harder (further from 0.5), so it is
  // 0.45 that goes up.
  std::vector<float> w{0.45f, 0.3f}, s{1.0f};
  std::vector<double> g{1, 1, 1, 1};
  AdaRoundProblem p = problemOf(1, 2, w, s, g);
  std::string error;
  auto r = adaRound(p, quick(), error);
  ASSERT_TRUE(r) << error;
  EXPECT_NEAR(r->nearestError, 0.5625, 1e-6);
  EXPECT_NEAR(r->adaError, 0.0625, 1e-6);
  EXPECT_EQ(r->flipped, 1);
  EXPECT_EQ(r->q[0], 1);
  EXPECT_EQ(r->q[1], 0);
}

TEST(AdaRound, UncorrelatedInputsKeepNearest) {
  // G = I: each weight's error counts alone, so nearest is optimal.
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  int64_t rows = 4, k = 8;
  std::vector<float> w(rows * k), s(rows, 0.05f);
  for (float &v : w) {
    v = u(gen);
    // Keep clear of the .5 ties, where either choice is optimal.
    float frac = v / 0.05f - std::floor(v / 0.05f);
    if (std::fabs(frac - 0.5f) < 0.05f)
      v += 0.01f;
  }
  std::vector<double> g(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    g[i * k + i] = 1.0;
  AdaRoundProblem p = problemOf(rows, k, w, s, g);
  std::string error;
  auto r = adaRound(p, quick(), error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->flipped, 0);
  EXPECT_NEAR(r->adaError, r->nearestError, 1e-9);
}

TEST(AdaRound, FindsTheExhaustiveOptimumOnSmallProblems) {
  // Rows are independent, so each row's 2^k floor/ceil choices can be
  // searched exhaustively. Correlated seeded columns, two groups.
  std::mt19937 gen(11);
  std::normal_distribution<double> nd(0.0, 1.0);
  int64_t groups = 2, rows = 3, k = 6, positions = 40;
  std::vector<float> w(groups * rows * k), s(groups * rows);
  std::uniform_real_distribution<float> u(-0.3f, 0.3f);
  for (float &v : w)
    v = u(gen);
  for (float &v : s)
    v = 0.02f + 0.01f * float(&v - s.data());
  std::vector<double> g;
  std::vector<std::vector<std::vector<double>>> cols(groups);
  for (int64_t gi = 0; gi < groups; ++gi) {
    std::vector<double> common(positions);
    for (double &v : common)
      v = nd(gen);
    cols[gi].assign(k, std::vector<double>(positions));
    for (int64_t j = 0; j < k; ++j)
      for (int64_t t = 0; t < positions; ++t)
        cols[gi][j][t] = common[t] + 0.3 * nd(gen);
    std::vector<double> gg = gramOf(cols[gi]);
    g.insert(g.end(), gg.begin(), gg.end());
  }
  AdaRoundProblem p;
  p.groups = groups;
  p.rows = rows;
  p.k = k;
  p.weight = w.data();
  p.rowScale = s.data();
  p.gram = g.data();
  p.positions = double(positions);
  std::string error;
  AdaRoundOptions o;
  o.iterations = 5000;
  auto r = adaRound(p, o, error);
  ASSERT_TRUE(r) << error;

  // Exhaustive best per row, summed.
  double best = 0;
  for (int64_t gi = 0; gi < groups; ++gi)
    for (int64_t row = 0; row < rows; ++row) {
      const float *wr = w.data() + (gi * rows + row) * k;
      float sc = s[gi * rows + row];
      double rowBest = INFINITY;
      for (int mask = 0; mask < (1 << k); ++mask) {
        std::vector<float> wv(wr, wr + k);
        std::vector<int32_t> q(k);
        for (int64_t j = 0; j < k; ++j)
          q[j] = int32_t(std::floor(wr[j] / sc)) + ((mask >> j) & 1);
        rowBest = std::min(rowBest, directError(wv, sc, q, cols[gi], cols[gi], 1));
      }
      best += rowBest;
    }
  // AdaRound is a relaxation, not a search: it must close most of the gap
  // between nearest rounding and the exhaustive optimum.
  EXPECT_LT(r->adaError, r->nearestError);
  EXPECT_LE(r->adaError - best, 0.25 * (r->nearestError - best))
      << "nearest " << r->nearestError << ", ADA " << r->adaError << ", optimum " << best;
  // The reported error is the objective measured from the columns.
  std::vector<std::vector<double>> all;
  double direct = 0;
  for (int64_t gi = 0; gi < groups; ++gi)
    for (int64_t row = 0; row < rows; ++row) {
      int64_t at = (gi * rows + row) * k;
      std::vector<float> wv(w.begin() + at, w.begin() + at + k);
      std::vector<int32_t> q(r->q.begin() + at, r->q.begin() + at + k);
      direct += directError(wv, s[gi * rows + row], q, cols[gi], cols[gi], 1);
    }
  EXPECT_NEAR(r->adaError, direct, 1e-6 * std::max(1.0, direct));
  EXPECT_NEAR(roundingOutputError(p, r->q.data()), r->adaError, 1e-9);
}

TEST(AdaRound, AsymmetricTargetMakesUpForTheInputError) {
  // The quantized model's input is 0.9 x where the float model's is x: the
  // target 0.5 * x is met best by a weight of 0.5 / 0.9 = 0.556, so with
  // scale 0.1 the rounding goes up to 6 (0.6) although 0.5 / 0.1 is 5
  // and nearest (of 0.54) gives 5.
  std::vector<float> w{0.54f}, s{0.1f};
  std::vector<std::vector<double>> cf{{1.0, -2.0, 0.5, 3.0}}, c{{0.9, -1.8, 0.45, 2.7}};
  std::vector<double> g = gramOf(c), cross = crossOf(c, cf), ff = gramOf(cf);
  AdaRoundProblem p = problemOf(1, 1, w, s, g);
  p.crossGram = cross.data();
  p.floatGram = ff.data();
  p.positions = 4;
  std::string error;
  auto r = adaRound(p, quick(), error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->q[0], 6);
  EXPECT_NEAR(r->nearestError, directError(w, 0.1f, {5}, c, cf, 1), 1e-6);
  EXPECT_NEAR(r->adaError, directError(w, 0.1f, {6}, c, cf, 1), 1e-6);
  EXPECT_LT(r->adaError, r->nearestError);
  // The symmetric objective (no float columns) keeps 5.
  p.crossGram = p.floatGram = nullptr;
  r = adaRound(p, quick(), error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->q[0], 5);
}

TEST(AdaRound, ClampsToTheBitsRange) {
  // 127.6 * s wants 128, which int8 cannot hold.
  std::vector<float> w{127.6f}, s{1.0f};
  std::vector<double> g{1.0};
  AdaRoundProblem p = problemOf(1, 1, w, s, g);
  std::string error;
  auto r = adaRound(p, quick(), error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->q[0], 127);
}

TEST(AdaRound, RefusesBadProblems) {
  std::vector<float> w{0.5f}, zero{0.0f}, one{1.0f}, nan{NAN};
  std::vector<double> g{1.0}, bad{NAN};
  AdaRoundProblem p = problemOf(1, 1, w, zero, g);
  std::string error;
  EXPECT_FALSE(adaRound(p, quick(), error));
  EXPECT_NE(error.find("scale"), std::string::npos);
  p.rowScale = one.data();
  p.gram = bad.data();
  EXPECT_FALSE(adaRound(p, quick(), error));
  EXPECT_NE(error.find("NaN"), std::string::npos);
  p.gram = g.data();
  p.weight = nan.data();
  EXPECT_FALSE(adaRound(p, quick(), error));
  p.weight = w.data();
  AdaRoundOptions o = quick();
  o.warmStart = 1.0;
  EXPECT_FALSE(adaRound(p, o, error));
  p.crossGram = g.data();
  EXPECT_FALSE(adaRound(p, quick(), error));
}

} // namespace
