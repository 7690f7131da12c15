//===- LinearWeightsTest.cpp - minmax, int4 packing and GPTQ --------------===//
//
// Parameters and packed bytes worked out by hand; GPTQ on a 3-channel
// example whose error propagation is computed by hand, reduced to
// round-to-nearest when the inputs are uncorrelated, and on a seeded
// correlated problem where it must beat round-to-nearest on the layer's
// output error (what it minimises).
//
//===----------------------------------------------------------------------===//

#include "amct/Quant/LinearWeights.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace amct::quant;

namespace {

LinearWeightSpec spec(int bits, bool symmetric, WeightGranularity g, int64_t groupSize = 0) {
  LinearWeightSpec s;
  s.bits = bits;
  s.symmetric = symmetric;
  s.granularity = g;
  s.groupSize = groupSize;
  return s;
}

TEST(LinearWeights, MinmaxAsymmetricPerChannel) {
  // W [K=2, N=2]; column 0 spans [-1, 3], column 1 [0, 1.5] (widened to 0).
  std::vector<float> w = {-1, 0.5f, 3, 1.5f};
  std::string error;
  auto p = minmaxParams(w.data(), 2, 2, spec(8, false, WeightGranularity::Channel), error);
  ASSERT_TRUE(p) << error;
  ASSERT_EQ(p->scale.size(), 2u);
  EXPECT_FLOAT_EQ(p->scale[0], 4.0f / 255);
  EXPECT_EQ(p->offset[0], -64); // -rint(-1 / (4/255)) - 128 = 64 - 128
  EXPECT_FLOAT_EQ(p->scale[1], 1.5f / 255);
  EXPECT_EQ(p->offset[1], -128);
  std::vector<int8_t> q(4);
  quantizeLinear(w.data(), *p, 8, q.data());
  // -1 / (4/255) = -63.75 -> -64, + offset -64 = -128; 3 -> 191.25 -> 191 - 64 = 127.
  EXPECT_EQ(q[0], -128);
  EXPECT_EQ(q[2], 127);
  EXPECT_EQ(q[1], 85 - 128); // 0.5 / (1.5/255) = 85
  EXPECT_EQ(q[3], 127);
}

TEST(LinearWeights, MinmaxSymmetricGroupsPadK) {
  // K = 3, G = 2, N = 1: groups {1, -2} and {4, pad 0}; int4: scale = absmax / 7.
  std::vector<float> w = {1, -2, 4};
  std::string error;
  auto p = minmaxParams(w.data(), 3, 1, spec(4, true, WeightGranularity::Group, 2), error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->groups, 2);
  ASSERT_EQ(p->scale.size(), 2u);
  EXPECT_FLOAT_EQ(p->scale[0], 2.0f / 7);
  EXPECT_FLOAT_EQ(p->scale[1], 4.0f / 7);
  EXPECT_FLOAT_EQ(p->at(2, 0).scale, 4.0f / 7);
  std::vector<int8_t> q(3);
  quantizeLinear(w.data(), *p, 4, q.data());
  EXPECT_EQ(q[0], 3); // 1 / float(2/7) = 3.4999998 (the float scale rounds up)
  EXPECT_EQ(q[1], -7);
  EXPECT_EQ(q[2], 7);
}

TEST(LinearWeights, RefusesBadSpecsAndNonFiniteWeights) {
  std::vector<float> w = {1, NAN};
  std::string error;
  EXPECT_FALSE(minmaxParams(w.data(), 2, 1, spec(8, true, WeightGranularity::Channel), error));
  EXPECT_NE(error.find("non-finite value at row 1"), std::string::npos) << error;
  w = {1, 2};
  EXPECT_FALSE(minmaxParams(w.data(), 2, 1, spec(3, true, WeightGranularity::Channel), error));
  EXPECT_FALSE(minmaxParams(w.data(), 2, 1, spec(4, true, WeightGranularity::Group, 0), error));
}

TEST(LinearWeights, PacksInt4LowNibbleFirstAlongK) {
  // q [K=3, N=2] = [[1, -2], [3, -8], [7, 0]].
  std::vector<int8_t> q = {1, -2, 3, -8, 7, 0};
  std::vector<uint8_t> packed = packInt4(q.data(), 3, 2);
  // Row pair (0, 1): column 0 = 1 | 3 << 4, column 1 = 0xE | 0x8 << 4;
  // row 2 with a zero pad: 7, 0.
  EXPECT_EQ(packed, (std::vector<uint8_t>{0x31, 0x8E, 0x07, 0x00}));
  EXPECT_EQ(unpackInt4(packed.data(), 3, 2), q);
}

/// sum over rows of X of (X (W - Wq))^2 for X [t, k]: the output error GPTQ
/// minimises.
double outputError(const std::vector<float> &x, int64_t t, const std::vector<float> &w,
                   const std::vector<float> &wq, int64_t k, int64_t n) {
  double e = 0;
  for (int64_t r = 0; r < t; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double s = 0;
      for (int64_t i = 0; i < k; ++i)
        s += double(x[r * k + i]) * (double(w[i * n + c]) - wq[i * n + c]);
      e += s * s;
    }
  return e;
}

TEST(Gptq, PropagatesTheErrorAsWorkedOutByHand) {
  // W = [0.7, 0.33, 0.14] (N = 1), int4 per tensor: scale 0.7 / 7 = 0.1.
  // H = [[1, 0, 0], [0, 2, 1], [0, 1, 2]], no damping, natural order.
  // Row 0: 7 exactly. Row 1: 3.3 -> 3, error 0.03; row 2 takes
  // -H^-1(1,2) / H^-1(1,1) * 0.03 = 0.5 * 0.03: 0.155 -> 1.55 -> 2.
  // Round-to-nearest would give 0.14 -> 1.
  std::vector<float> w = {0.7f, 0.33f, 0.14f};
  std::vector<double> h = {1, 0, 0, 0, 2, 1, 0, 1, 2};
  GptqOptions o;
  o.dampPercent = 0;
  o.actOrder = false;
  std::string error;
  auto r = gptqQuantize(w.data(), 3, 1, h.data(), spec(4, true, WeightGranularity::Tensor), o,
                        error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->q, (std::vector<int8_t>{7, 3, 2}));
  EXPECT_FLOAT_EQ(r->params.scale[0], 0.1f);
}

TEST(Gptq, UncorrelatedInputsGiveRoundToNearest) {
  // H diagonal: H^-1's Cholesky factor is diagonal, no error propagates.
  const int64_t k = 6, n = 4;
  std::mt19937 gen(3);
  std::normal_distribution<float> dist;
  std::vector<float> w(k * n);
  for (float &v : w)
    v = dist(gen);
  std::vector<double> h(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    h[i * k + i] = 1.0 + i;
  LinearWeightSpec s = spec(4, false, WeightGranularity::Group, 4);
  std::string error;
  auto r = gptqQuantize(w.data(), k, n, h.data(), s, GptqOptions(), error);
  ASSERT_TRUE(r) << error;
  auto p = minmaxParams(w.data(), k, n, s, error);
  std::vector<int8_t> rtn(k * n);
  quantizeLinear(w.data(), *p, 4, rtn.data());
  EXPECT_EQ(r->q, rtn);
}

TEST(Gptq, BeatsRoundToNearestOnCorrelatedInputsAndHandlesDeadChannels) {
  // X [256, 64] with correlated channels (a shared component), channel 5
  // never active (dead: its weight becomes 0); W [64, 16]; int4 per channel;
  // blocks of 16 so the lazy updates run.
  const int64_t t = 256, k = 64, n = 16;
  std::mt19937 gen(7);
  std::normal_distribution<float> dist;
  std::vector<float> x(t * k), w(k * n);
  for (int64_t r = 0; r < t; ++r) {
    float shared = dist(gen);
    for (int64_t i = 0; i < k; ++i)
      x[r * k + i] = i == 5 ? 0.0f : 0.8f * shared + 0.6f * dist(gen);
  }
  for (float &v : w)
    v = dist(gen);
  std::vector<double> h(k * k, 0.0);
  for (int64_t r = 0; r < t; ++r)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        h[i * k + j] += 2.0 * x[r * k + i] * x[r * k + j];
  LinearWeightSpec s = spec(4, true, WeightGranularity::Channel);
  GptqOptions o;
  o.blockSize = 16;
  std::string error;
  auto g = gptqQuantize(w.data(), k, n, h.data(), s, o, error);
  ASSERT_TRUE(g) << error;
  std::vector<float> wg(k * n), wr(k * n);
  dequantizeLinear(g->q.data(), g->params, wg.data());
  for (int64_t c = 0; c < n; ++c)
    EXPECT_EQ(g->q[5 * n + c], 0) << "dead channel";
  auto p = minmaxParams(w.data(), k, n, s, error);
  std::vector<int8_t> rtn(k * n);
  quantizeLinear(w.data(), *p, 4, rtn.data());
  dequantizeLinear(rtn.data(), *p, wr.data());
  double eg = outputError(x, t, w, wg, k, n), er = outputError(x, t, w, wr, k, n);
  EXPECT_LT(eg, 0.7 * er) << "GPTQ " << eg << " vs round-to-nearest " << er;
}

} // namespace

namespace {

TEST(Awq, OneGridPointIsRoundToNearest) {
  std::mt19937 gen(5);
  std::normal_distribution<float> dist;
  const int64_t t = 32, k = 8, n = 4;
  std::vector<float> x(t * k), w(k * n);
  for (float &v : x)
    v = dist(gen);
  for (float &v : w)
    v = dist(gen);
  AwqOptions o;
  o.gridsNum = 1; // only r = 0: s = 1
  std::string error;
  LinearWeightSpec s = spec(4, true, WeightGranularity::Channel);
  auto r = awqSearch(x.data(), t, w.data(), k, n, s, o, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->ratio, 0.0);
  for (float v : r->scale)
    EXPECT_EQ(v, 1.0f);
  auto p = minmaxParams(w.data(), k, n, s, error);
  std::vector<int8_t> rtn(k * n);
  quantizeLinear(w.data(), *p, 4, rtn.data());
  EXPECT_EQ(r->q, rtn);
  EXPECT_EQ(r->error, r->minmaxError);
}

TEST(Awq, ProtectsTheSalientInputChannel) {
  // Input channel 0 carries activations ~100x the others but small
  // weights: per output channel, int4 rounds its row to 0 and the output
  // loses x0 * w0. Scaling row 0 up (and x0 down) keeps it.
  const int64_t t = 64, k = 4, n = 2;
  std::mt19937 gen(9);
  std::normal_distribution<float> dist;
  std::vector<float> x(t * k);
  for (int64_t r = 0; r < t; ++r)
    for (int64_t i = 0; i < k; ++i)
      x[r * k + i] = (i == 0 ? 10.0f : 0.1f) * dist(gen);
  std::vector<float> w = {0.03f, -0.02f, 1.0f, 0.8f, -0.9f, 1.0f, 0.5f, -0.7f};
  std::string error;
  auto r = awqSearch(x.data(), t, w.data(), k, n, spec(4, true, WeightGranularity::Channel),
                     AwqOptions(), error);
  ASSERT_TRUE(r) << error;
  EXPECT_GT(r->ratio, 0.0);
  EXPECT_GT(r->scale[0], r->scale[1]);
  EXPECT_LT(r->error, 0.1 * r->minmaxError)
      << "AWQ " << r->error << " vs round-to-nearest " << r->minmaxError;
  // The scaled weight's row 0 no longer rounds to zero.
  EXPECT_NE(r->q[0], 0);
}

} // namespace

namespace {

TEST(Awq, ThreadCountDoesNotChangeTheResult) {
  std::mt19937 gen(11);
  std::normal_distribution<float> dist;
  const int64_t t = 40, k = 16, n = 8;
  std::vector<float> x(t * k), w(k * n);
  for (int64_t i = 0; i < t * k; ++i)
    x[i] = dist(gen) * (i % k == 3 ? 20.0f : 1.0f);
  for (float &v : w)
    v = dist(gen);
  LinearWeightSpec s = spec(4, false, WeightGranularity::Group, 8);
  AwqOptions one, three;
  three.threads = 3;
  std::string error;
  auto a = awqSearch(x.data(), t, w.data(), k, n, s, one, error);
  auto b = awqSearch(x.data(), t, w.data(), k, n, s, three, error);
  ASSERT_TRUE(a && b) << error;
  EXPECT_EQ(a->ratio, b->ratio);
  EXPECT_EQ(a->scale, b->scale);
  EXPECT_EQ(a->q, b->q);
  EXPECT_EQ(a->error, b->error);
  EXPECT_LE(a->error, a->minmaxError);
}


TEST(LinearWeights, GramAccumulatesBothTrianglesInDouble) {
  // X = [[1, 2], [3, 4], [5, 6]]: X^T X = [[35, 44], [44, 56]], added to h.
  const float x[] = {1, 2, 3, 4, 5, 6};
  double h[4] = {1, 0, 0, 1};
  accumulateGram(x, 3, 2, h);
  EXPECT_EQ(h[0], 36);
  EXPECT_EQ(h[1], 44);
  EXPECT_EQ(h[2], 44);
  EXPECT_EQ(h[3], 57);
  // More rows than one chunk (512): 1000 rows of [1, 1e-4]; the sums
  // agree with the double ones to 1e-12 relative (float sums of 1000 terms
  // would be off by ~1e-5).
  std::vector<float> many(2000);
  for (int r = 0; r < 1000; ++r) {
    many[2 * r] = 1.0f;
    many[2 * r + 1] = 1e-4f;
  }
  double g[4] = {0, 0, 0, 0};
  accumulateGram(many.data(), 1000, 2, g);
  EXPECT_DOUBLE_EQ(g[0], 1000.0);
  double d = double(1e-4f);
  EXPECT_NEAR(g[1], 1000.0 * d, 1e-12 * 1000.0 * d);
  EXPECT_NEAR(g[3], 1000.0 * d * d, 1e-12 * 1000.0 * d * d);
  EXPECT_EQ(g[1], g[2]);
}

/// `count` values in [-amplitude, amplitude] in steps of amplitude / 1000,
/// from a seeded linear congruential generator.
std::vector<float> thousandths(int64_t count, uint32_t seed, float amplitude) {
  std::vector<float> out(count);
  for (float &v : out) {
    seed = seed * 1664525u + 1013904223u;
    v = amplitude * float(int(seed >> 9) % 2001 - 1000) / 1000.0f;
  }
  return out;
}

TEST(LinearWeights, ClipSearchNeverWorseThanMinmaxOnItsRows) {
  // An outlier weight per group: shrinking the range trades it for the rest.
  const int64_t t = 40, k = 64, n = 4;
  std::vector<float> x = thousandths(t * k, 12345, 1.0f), w = thousandths(k * n, 54321, 0.1f);
  w[0] = 1.0f; // one outlier in group 0 of column 0
  LinearWeightSpec spec{4, true, WeightGranularity::Group, 32};
  std::string error;
  auto base = minmaxParams(w.data(), k, n, spec, error);
  auto clipped = clipSearch(x.data(), t, w.data(), k, n, spec, 20, 0.5, 2, error);
  ASSERT_TRUE(base && clipped) << error;
  auto outputError = [&](const LinearWeightParams &p) {
    std::vector<int8_t> q(k * n);
    std::vector<float> wq(k * n);
    quantizeLinear(w.data(), p, 4, q.data());
    dequantizeLinear(q.data(), p, wq.data());
    double e = 0;
    for (int64_t r = 0; r < t; ++r)
      for (int64_t c = 0; c < n; ++c) {
        double d = 0;
        for (int64_t i = 0; i < k; ++i)
          d += double(x[r * k + i]) * (w[i * n + c] - wq[i * n + c]);
        e += d * d;
      }
    return e;
  };
  EXPECT_LE(outputError(*clipped), outputError(*base));
  // Every scale is minmax's or a shrunk one, never larger.
  for (size_t i = 0; i < base->scale.size(); ++i) {
    EXPECT_LE(clipped->scale[i], base->scale[i] * 1.000001f);
    EXPECT_GE(clipped->scale[i], base->scale[i] * 0.49f);
  }
}


TEST(LinearWeights, ClipSearchWithHessianMatchesTheRowsError) {
  // H = X^T X gives each set the error the rows give: the same choices as
  // clipSearch on the rows (both never worse than minmax).
  const int64_t t = 80, k = 64, n = 3;
  std::vector<float> x = thousandths(t * k, 777, 1.0f), w = thousandths(k * n, 888, 0.1f);
  w[5 * n + 1] = 0.9f;
  std::vector<double> h(k * k, 0.0);
  accumulateGram(x.data(), t, k, h.data());
  LinearWeightSpec spec{4, false, WeightGranularity::Group, 32};
  std::string error;
  auto fromRows = clipSearch(x.data(), t, w.data(), k, n, spec, 10, 0.5, 1, error);
  auto fromH = clipSearchWithHessian(h.data(), w.data(), k, n, spec, 10, 0.5, 2, error);
  ASSERT_TRUE(fromRows && fromH) << error;
  EXPECT_EQ(fromRows->scale, fromH->scale);
  EXPECT_EQ(fromRows->offset, fromH->offset);
}

TEST(LinearWeights, SmoothQuantFactorsHandComputed) {
  // a = 0.5: sqrt(4) / sqrt(1) = 2, sqrt(9) / sqrt(4) = 1.5; a channel with
  // no input or no weight keeps 1; a factor below 1e-5 keeps 1.
  std::vector<float> act{4, 0, 1, 9, 1e-12f}, w{1, 2, 0, 4, 1};
  std::vector<float> f = smoothQuantFactors(act.data(), w.data(), 5, 0.5);
  EXPECT_EQ(f, (std::vector<float>{2, 1, 1, 1.5f, 1}));
  // a = 0.75: 16^0.75 / 16^0.25 = 8 / 2 = 4.
  std::vector<float> a2{16}, w2{16};
  EXPECT_FLOAT_EQ(smoothQuantFactors(a2.data(), w2.data(), 1, 0.75)[0], 4.0f);
}

TEST(LinearWeights, PerTokenRowMatchesTheHandComputedGrid) {
  // max|row| 127 -> scale 1: -63.5 ties to -64, 0.25 to 0.
  std::vector<float> row{127, -63.5f, 0.25f, 2}, out(4);
  fakeQuantizeRowPerToken(row.data(), 4, true, out.data());
  EXPECT_EQ(out, (std::vector<float>{127, -64, 0, 2}));
  // Asymmetric: lo -1, hi 254 -> scale 1, zero point -127: exact.
  std::vector<float> row2{-1, 0, 254};
  fakeQuantizeRowPerToken(row2.data(), 3, false, row2.data());
  EXPECT_EQ(row2, (std::vector<float>{-1, 0, 254}));
}

TEST(LinearWeights, SmoothQuantSearchPicksTheLowestErrorAndHelpsOutliers) {
  // Inputs with 4 outlier channels (x 40): per-tensor int8 inputs lose the
  // small channels unless the outliers move into the weights.
  int64_t t = 256, k = 64, n = 32;
  std::vector<float> x = thousandths(t * k, 7, 1.0f), w = thousandths(k * n, 8, 0.1f);
  for (int64_t r = 0; r < t; ++r)
    for (int64_t c : {3, 10, 40, 50})
      x[r * k + c] *= 40.0f;
  std::vector<float> lo(k, INFINITY), hi(k, -INFINITY);
  for (int64_t r = 0; r < t; ++r)
    for (int64_t c = 0; c < k; ++c) {
      lo[c] = std::min(lo[c], x[r * k + c]);
      hi[c] = std::max(hi[c], x[r * k + c]);
    }
  LinearWeightSpec spec;
  spec.bits = 8;
  spec.granularity = WeightGranularity::Channel;
  ActivationSpec act;
  SmoothSearchOptions options;
  options.strengths = {0.01, 0.3, 0.5, 0.7, 0.9};
  std::string error;
  auto r = smoothQuantSearch(x.data(), t, w.data(), k, n, lo.data(), hi.data(), spec, act,
                             options, error);
  ASSERT_TRUE(r) << error;
  ASSERT_EQ(r->errors.size(), 5u);
  EXPECT_EQ(r->error, *std::min_element(r->errors.begin(), r->errors.end()));
  // Nearly no migration (0.01) is far worse than the chosen strength.
  EXPECT_LT(r->error, 0.5 * r->errors[0]);
  EXPECT_GT(r->strength, 0.01);
  // The same on two threads.
  options.threads = 2;
  auto r2 = smoothQuantSearch(x.data(), t, w.data(), k, n, lo.data(), hi.data(), spec, act,
                              options, error);
  ASSERT_TRUE(r2) << error;
  EXPECT_EQ(r2->errors, r->errors);
  EXPECT_EQ(r2->factors, r->factors);
}

} // namespace
