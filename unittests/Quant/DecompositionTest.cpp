//===- DecompositionTest.cpp - SVD and Tucker-2 factors -------------------===//
//
// Hand-computed singular values; the truncated SVD's product is the best
// rank-R approximation (its error is the dropped singular values' energy,
// Eckart-Young); full-rank factors rebuild the weight; the Tucker-2 chain
// at full rank rebuilds a conv weight, and its factors are orthonormal.
//
//===----------------------------------------------------------------------===//

#include "amct/Quant/Decomposition.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace amct::quant;

namespace {

TEST(DecompositionTest, SingularValuesByHand) {
  // [[3, 0], [0, -2], [0, 0]]: singular values 3 and 2.
  std::vector<float> w = {3, 0, 0, -2, 0, 0};
  std::string error;
  auto s = singularValues(w.data(), 3, 2, error);
  ASSERT_TRUE(s) << error;
  ASSERT_EQ(s->size(), 2u);
  EXPECT_NEAR((*s)[0], 3.0, 1e-12);
  EXPECT_NEAR((*s)[1], 2.0, 1e-12);
  // 9 / 13 of the energy in the first: 0.6 needs 1, 0.7 needs 2.
  EXPECT_EQ(rankForEnergy(*s, 0.6), 1);
  EXPECT_EQ(rankForEnergy(*s, 0.7), 2);
  EXPECT_EQ(rankForEnergy(*s, 1.0), 2);
}

TEST(DecompositionTest, TruncatedSvdIsTheBestApproximation) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  const int64_t n = 7, k = 5;
  std::vector<float> w(n * k);
  for (float &v : w)
    v = normal(rng);
  std::string error;
  auto s = singularValues(w.data(), n, k, error);
  ASSERT_TRUE(s) << error;
  for (int64_t rank : {1, 3, 5}) {
    auto f = truncatedSvd(w.data(), n, k, rank, error);
    ASSERT_TRUE(f) << error;
    double err = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j) {
        double v = 0;
        for (int64_t r = 0; r < rank; ++r)
          v += double(f->second[i * rank + r]) * f->first[r * k + j];
        err += (v - w[i * k + j]) * (v - w[i * k + j]);
      }
    double dropped = 0;
    for (size_t r = rank; r < s->size(); ++r)
      dropped += (*s)[r] * (*s)[r];
    EXPECT_NEAR(err, dropped, 1e-4 * (1 + dropped)) << "rank " << rank;
  }
  EXPECT_FALSE(truncatedSvd(w.data(), n, k, 6, error));
  EXPECT_EQ(error, "decomposition: rank 6 outside [1, 5]");
}

TEST(DecompositionTest, Tucker2AtFullRankRebuildsTheWeight) {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal;
  const int64_t m = 4, c = 3, kh = 2, kw = 2, t = kh * kw;
  std::vector<float> w(m * c * t);
  for (float &v : w)
    v = normal(rng);
  std::string error;
  auto f = tucker2(w.data(), m, c, kh, kw, c, m, error);
  ASSERT_TRUE(f) << error;
  // W'[o][i][p] = sum_{a,b} last[o][a] core[a][b][p] first[b][i].
  for (int64_t o = 0; o < m; ++o)
    for (int64_t i = 0; i < c; ++i)
      for (int64_t p = 0; p < t; ++p) {
        double v = 0;
        for (int64_t a = 0; a < m; ++a)
          for (int64_t b = 0; b < c; ++b)
            v += double(f->last[o * m + a]) * f->core[(a * c + b) * t + p] * f->first[b * c + i];
        EXPECT_NEAR(v, w[(o * c + i) * t + p], 1e-5);
      }
  // The input factor's rows are orthonormal.
  for (int64_t a = 0; a < c; ++a)
    for (int64_t b = 0; b < c; ++b) {
      double d = 0;
      for (int64_t i = 0; i < c; ++i)
        d += double(f->first[a * c + i]) * f->first[b * c + i];
      EXPECT_NEAR(d, a == b ? 1.0 : 0.0, 1e-6);
    }
  EXPECT_FALSE(tucker2(w.data(), m, c, kh, kw, c + 1, m, error));
}

} // namespace
