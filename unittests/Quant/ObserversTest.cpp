//===- ObserversTest.cpp - MinMax, IFMR and HFMG --------------------------===//
//
// Hand-computed cases for each observer, error paths, properties, and the
// numbers gen_reference_values.py computed with numpy and with PyTorch's
// HistogramObserver (and checked against AMCT's own hfmg_impl.py) on data
// sets this file regenerates bit for bit.
//
//===----------------------------------------------------------------------===//

#include "amct/Quant/Observers.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

using namespace amct::quant;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

/// The LCG of gen_reference_values.py.
struct Lcg {
  uint64_t state;
  uint64_t next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  }
};

/// gen_reference_values.py's dataset(): a sum of 4 uniforms shifted by
/// `shift`, every period-th value (i % period == 7) times 4, over `denom` (a
/// power of two, so every value is exact).
std::vector<float> dataset(uint64_t seed, int n, int shift, float denom,
                           int period = 500) {
  Lcg g{seed};
  std::vector<float> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    int64_t v = -2046 + shift;
    for (int k = 0; k < 4; ++k)
      v += static_cast<int64_t>(g.next() % 1024);
    if (i % period == 7)
      v *= 4;
    out.push_back(static_cast<float>(v) / denom);
  }
  return out;
}

/// Relative tolerance for values computed in double by both sides (numpy and
/// this library) but summed in different orders.
constexpr double kRelTol = 1e-9;

/// Relative tolerance against PyTorch's float32 numbers: its errors are sums
/// of float32 differences of cubes, ~1e-4 relative noise.
constexpr double kTorchRelTol = 1e-3;

//===----------------------------------------------------------------------===//
// MinMax
//===----------------------------------------------------------------------===//

TEST(MinMax, AcrossBatches) {
  MinMaxObserver obs;
  const float b1[] = {1, -2, 3}, b2[] = {0.5f, 7}, b3[] = {-4};
  obs.observe(b1, 3);
  obs.observe(b2, 2);
  obs.observe(b3, 1);
  EXPECT_EQ(obs.count(), 6);
  EXPECT_EQ(obs.min(), -4.0f);
  EXPECT_EQ(obs.max(), 7.0f);
  std::string error;
  // scale 11/255; offset -rint(-4 / (11/255)) - 128 = 93 - 128.
  std::optional<QuantParams> p = obs.finalize(8, true, error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->scale, static_cast<float>(11.0 / 255));
  EXPECT_EQ(p->offset, -35);
  p = obs.finalize(8, false, error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->scale, static_cast<float>(7.0 / 127));
  EXPECT_EQ(p->offset, 0);
}

TEST(MinMax, Errors) {
  MinMaxObserver obs;
  std::string error;
  EXPECT_FALSE(obs.finalize(8, false, error));
  EXPECT_EQ(error, "no calibration data observed");
  const float b[] = {1, kNaN, kInf, 2};
  obs.observe(b, 4);
  EXPECT_EQ(obs.count(), 2);
  EXPECT_EQ(obs.max(), 2.0f);
  EXPECT_FALSE(obs.finalize(8, false, error));
  EXPECT_EQ(error, "2 non-finite values in the calibration data");
}

//===----------------------------------------------------------------------===//
// IFMR: configuration
//===----------------------------------------------------------------------===//

TEST(Ifmr, DefaultMultipliers) {
  // numpy.arange(0.7, 1.3, 0.01): (1.3 - 0.7) / 0.01 = 60.00000000000001,
  // so 61 values, the last 1.3000000000000005.
  std::vector<double> m = ifmrMultipliers(IfmrConfig());
  ASSERT_EQ(m.size(), 61u);
  EXPECT_EQ(m[0], 0.7);
  EXPECT_EQ(m[30], 1.0000000000000002);
  EXPECT_EQ(m[60], 1.3000000000000005);
  for (size_t i = 0; i < m.size(); ++i)
    EXPECT_NEAR(m[i], 0.7 + 0.01 * static_cast<double>(i), 1e-12) << i;
}

TEST(Ifmr, CustomMultipliers) {
  IfmrConfig c;
  c.searchStart = 0.5;
  c.searchEnd = 2.0;
  c.searchStep = 0.5;
  EXPECT_EQ(ifmrMultipliers(c), (std::vector<double>{0.5, 1.0, 1.5}));
  c.searchEnd = 1.5;
  EXPECT_EQ(ifmrMultipliers(c), (std::vector<double>{0.5, 1.0}));
  // A step equal to the range: one candidate.
  c.searchStep = 1.0;
  EXPECT_EQ(ifmrMultipliers(c), (std::vector<double>{0.5}));
}

TEST(Ifmr, StartRank) {
  // 100 - int(99.9999) = 1: small data starts from the extremes.
  EXPECT_EQ(ifmrStartRank(100, 0.999999), 1);
  EXPECT_EQ(ifmrStartRank(1000000, 0.999999), 1);
  EXPECT_EQ(ifmrStartRank(10000000, 0.999999), 10);
  EXPECT_EQ(ifmrStartRank(4000, 0.99), 40);
  EXPECT_EQ(ifmrStartRank(4000, 0.999), 4);
  // 3 - int(1.7999999999999998) = 2.
  EXPECT_EQ(ifmrStartRank(3, 0.6), 2);
  EXPECT_EQ(ifmrStartRank(4000, 1.0), 1);
  EXPECT_EQ(ifmrStartRank(1, 0.6), 1);
}

TEST(Ifmr, ConfigValidation) {
  EXPECT_EQ(validateIfmrConfig(IfmrConfig()), "");
  auto check = [](IfmrConfig c, const std::string &words) {
    std::string msg = validateIfmrConfig(c);
    EXPECT_NE(msg.find(words), std::string::npos)
        << "message '" << msg << "' lacks '" << words << "'";
    std::string error;
    EXPECT_FALSE(IfmrObserver::create(c, error));
    EXPECT_EQ(error, msg);
  };
  for (double p : {0.5, 0.3, 1.0000001, 0.0, -1.0, double(kNaN)}) {
    IfmrConfig c;
    c.maxPercentile = p;
    check(c, "max_percentile");
    c = IfmrConfig();
    c.minPercentile = p;
    check(c, "min_percentile");
  }
  IfmrConfig c;
  c.minPercentile = 0.5000001;
  c.maxPercentile = 1.0;
  EXPECT_EQ(validateIfmrConfig(c), "");

  c = IfmrConfig();
  c.searchStart = 0.0;
  check(c, "search_range[0]");
  c.searchStart = -0.5;
  check(c, "greater than 0");
  c = IfmrConfig();
  c.searchStart = 1.3;
  check(c, "less than search_range[1]");
  c.searchStart = 1.5;
  check(c, "less than search_range[1]");
  c = IfmrConfig();
  c.searchEnd = double(kInf);
  check(c, "finite");

  c = IfmrConfig();
  c.searchStep = 0.0;
  check(c, "search_step");
  c.searchStep = -0.01;
  check(c, "greater than 0");
  c.searchStep = 0.7;
  check(c, "at most");
  c.searchStep = 1e-7;
  check(c, "candidates");
  // 0.3 - 0.1 is 0.19999999999999998 in double; AMCT accepts step 0.2.
  c.searchStart = 0.1;
  c.searchEnd = 0.3;
  c.searchStep = 0.2;
  EXPECT_EQ(validateIfmrConfig(c), "");
}

//===----------------------------------------------------------------------===//
// IFMR: search
//===----------------------------------------------------------------------===//

IfmrConfig halfSteps(double end) {
  IfmrConfig c;
  c.searchStart = 0.5;
  c.searchEnd = end;
  c.searchStep = 0.5;
  return c;
}

TEST(Ifmr, HandComputedSymmetric) {
  // 2 bits, symmetric: qmax = 1, scale = c. Start c = 3.
  // m = 0.5: scale 1.5; 1 -> rint(0.67) = 1 -> 1.5 (err 0.25, x6);
  //          3 -> 2 -> clamp 1 -> 1.5 (err 2.25). MSE 3.75 / 7.
  // m = 1.0: scale 3; 1 -> 0 (err 1, x6); 3 -> 3. MSE 6 / 7.
  // m = 1.5: scale 4.5; 1 -> 0 (err 1, x6); 3 -> 1 -> 4.5 (err 2.25).
  //          MSE 8.25 / 7.
  std::vector<float> v = {1, 1, 1, 1, 1, 1, 3};
  std::string error;
  std::optional<IfmrResult> r =
      ifmrSearch(v.data(), 7, halfSteps(2.0), 2, false, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->start.lo, 0.0f);
  EXPECT_EQ(r->start.hi, 3.0f);
  ASSERT_EQ(r->mse.size(), 3u);
  EXPECT_NEAR(r->mse[0], 3.75 / 7, 1e-12);
  EXPECT_NEAR(r->mse[1], 6.0 / 7, 1e-12);
  EXPECT_NEAR(r->mse[2], 8.25 / 7, 1e-12);
  EXPECT_EQ(r->best, 0u);
  EXPECT_EQ(r->clip.lo, -1.5f);
  EXPECT_EQ(r->clip.hi, 1.5f);
  EXPECT_EQ(r->params.scale, 1.5f);
  EXPECT_EQ(r->params.offset, 0);
}

TEST(Ifmr, HandComputedAsymmetric) {
  // 2 bits, asymmetric: 3 steps; start [-1, 6]; the lower bound stays.
  // m = 0.5: [-1, 3], scale 4/3, offset -rint(-0.75) - 2 = -1, grid
  //   {-4/3, 0, 4/3, 8/3}: -1 -> -4/3, 0 -> 0, 1 -> 4/3, 6 -> 8/3.
  //   MSE (1/9 + 1/9 + 100/9) / 6.
  // m = 1.0: [-1, 6], scale 7/3, offset -rint(-3/7) - 2 = -2, grid
  //   {0, 7/3, 14/3, 7}: -1 -> 0, 0 -> 0, 1 -> 0, 6 -> 7. MSE 3 / 6.
  std::vector<float> v = {-1, 0, 0, 0, 1, 6};
  std::string error;
  std::optional<IfmrResult> r =
      ifmrSearch(v.data(), 6, halfSteps(1.5), 2, true, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->start.lo, -1.0f);
  EXPECT_EQ(r->start.hi, 6.0f);
  ASSERT_EQ(r->mse.size(), 2u);
  EXPECT_NEAR(r->mse[0], 102.0 / 9 / 6, 1e-6);
  EXPECT_NEAR(r->mse[1], 0.5, 1e-6);
  EXPECT_EQ(r->best, 1u);
  EXPECT_EQ(r->clip.lo, -1.0f);
  EXPECT_EQ(r->clip.hi, 6.0f);
  EXPECT_EQ(r->params.scale, static_cast<float>(7.0 / 3));
  EXPECT_EQ(r->params.offset, -2);
}

TEST(Ifmr, PercentileStarts) {
  // 10 values, percentile 0.8: 0.8 * 10 is 8.0 in double, so k = 10 - 8 =
  // 2: the second largest and the second smallest.
  std::vector<float> v = {5, -7, 3, 9, -1, 0, 2, -3, 8, 1};
  IfmrConfig c;
  c.maxPercentile = 0.8;
  c.minPercentile = 0.8;
  std::string error;
  std::optional<IfmrResult> r = ifmrSearch(v.data(), 10, c, 8, true, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->start.hi, 8.0f);
  EXPECT_EQ(r->start.lo, -3.0f);
  // All-positive data: the lower start is clamped to 0.
  std::vector<float> pos = {5, 3, 9, 1, 2};
  r = ifmrSearch(pos.data(), 5, IfmrConfig(), 8, true, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->start.lo, 0.0f);
  EXPECT_EQ(r->start.hi, 9.0f);
  // All-negative data: the upper start is clamped to 0.
  std::vector<float> neg = {-5, -3, -9};
  r = ifmrSearch(neg.data(), 3, IfmrConfig(), 8, false, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->start.hi, 0.0f);
  EXPECT_EQ(r->start.lo, -9.0f);
}

TEST(Ifmr, AllZeroData) {
  std::vector<float> v(10, 0.0f);
  std::string error;
  std::optional<IfmrResult> r =
      ifmrSearch(v.data(), 10, IfmrConfig(), 8, true, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->best, 0u);
  EXPECT_EQ(r->params.scale, kFallbackScale);
  EXPECT_EQ(r->mse[r->best], 0.0);
}

struct IfmrCase {
  const char *name;
  int bits;
  bool asymmetric;
  double percentile;
  float startLo, startHi;
  size_t best;
  float scale;
  int32_t offset;
  double bestMse;
  double mseAtOne;
};

// From gen_reference_values.py on dataset(1, 4000, 512, 512).
const IfmrCase kIfmrCases[] = {
    {"sym8 defaults", 8, false, 0.999999, -3.390625f, 7.28125f, 28,
     0.056186024099588394f, 0, 0.00026955753535355166, 0.0002766121947979326},
    {"asym8 defaults", 8, true, 0.999999, -3.390625f, 7.28125f, 30,
     0.041850488632917404f, -47, 0.00014404211910008517,
     0.00014404211910008517},
    {"sym8 p=0.99", 8, false, 0.99, -1.587890625f, 3.6484375f, 60,
     0.037346210330724716f, 0, 0.0017606492401489933, 0.004852742761479744},
    {"asym8 p=0.99", 8, true, 0.99, -1.587890625f, 3.6484375f, 60,
     0.02482689917087555f, -64, 0.003316079970053659, 0.006430846098745533},
    {"sym4 p=0.999", 4, false, 0.999, -2.205078125f, 4.265625f, 11,
     0.4935937523841858f, 0, 0.02706536306344527, 0.03314487648010254},
};

TEST(Ifmr, MatchesNumpyReference) {
  const std::vector<float> data = dataset(1, 4000, 512, 512.0f);
  for (const IfmrCase &t : kIfmrCases) {
    SCOPED_TRACE(t.name);
    IfmrConfig c;
    c.maxPercentile = c.minPercentile = t.percentile;
    std::vector<float> v = data;
    std::string error;
    std::optional<IfmrResult> r =
        ifmrSearch(v.data(), 4000, c, t.bits, t.asymmetric, error);
    ASSERT_TRUE(r) << error;
    EXPECT_EQ(r->start.lo, t.startLo);
    EXPECT_EQ(r->start.hi, t.startHi);
    ASSERT_EQ(r->mse.size(), 61u);
    EXPECT_EQ(r->best, t.best);
    EXPECT_EQ(r->params.scale, t.scale);
    EXPECT_EQ(r->params.offset, t.offset);
    EXPECT_NEAR(r->mse[r->best], t.bestMse, t.bestMse * kRelTol);
    EXPECT_NEAR(r->mse[30], t.mseAtOne, t.mseAtOne * kRelTol);
  }
}

/// On the data it saw, IFMR is never worse than its start (m = 1) and its
/// choice is the minimum; asymmetric candidates keep the lower start.
TEST(Ifmr, NeverWorseThanItsStart) {
  const std::vector<float> data = dataset(7, 3000, -300, 256.0f, 97);
  for (int bits : {4, 8}) {
    for (bool asym : {false, true}) {
      for (double p : {0.999999, 0.999, 0.98}) {
        SCOPED_TRACE(testing::Message()
                     << bits << " bits, asym " << asym << ", percentile " << p);
        IfmrConfig c;
        c.maxPercentile = c.minPercentile = p;
        std::vector<float> v = data;
        std::string error;
        std::optional<IfmrResult> r =
            ifmrSearch(v.data(), 3000, c, bits, asym, error);
        ASSERT_TRUE(r) << error;
        EXPECT_LE(r->mse[r->best], r->mse[30]);
        EXPECT_EQ(r->mse[r->best],
                  *std::min_element(r->mse.begin(), r->mse.end()));
        // The reported MSE is the MSE of the reported parameters.
        EXPECT_NEAR(fakeQuantMse(data.data(), 3000, r->params, bits),
                    r->mse[r->best], r->mse[r->best] * kRelTol);
        // ... and no lower than the MSE of the start clip range itself.
        QuantParams start =
            asym ? paramsFromRange(r->start.lo, r->start.hi, bits, true)
                 : paramsFromRange(-std::max(-r->start.lo, r->start.hi),
                                   std::max(-r->start.lo, r->start.hi), bits,
                                   false);
        EXPECT_LE(r->mse[r->best],
                  fakeQuantMse(data.data(), 3000, start, bits) * (1 + kRelTol));
        if (asym) {
          EXPECT_EQ(r->clip.lo, r->start.lo);
        }
      }
    }
  }
}

TEST(Ifmr, ObserverAccumulatesBatches) {
  const std::vector<float> data = dataset(1, 4000, 512, 512.0f);
  std::string error;
  std::optional<IfmrObserver> obs = IfmrObserver::create(IfmrConfig(), error);
  ASSERT_TRUE(obs) << error;
  for (int b = 0; b < 4; ++b)
    obs->observe(data.data() + b * 1000, 1000);
  EXPECT_EQ(obs->count(), 4000);
  std::optional<QuantParams> p = obs->finalize(8, false, error);
  ASSERT_TRUE(p) << error;
  // The same as the whole data at once ("sym8 defaults").
  EXPECT_EQ(p->scale, 0.056186024099588394f);
  EXPECT_EQ(p->offset, 0);
}

TEST(Ifmr, ObserverErrors) {
  std::string error;
  std::optional<IfmrObserver> obs = IfmrObserver::create(IfmrConfig(), error);
  ASSERT_TRUE(obs) << error;
  EXPECT_FALSE(obs->finalize(8, false, error));
  EXPECT_EQ(error, "no calibration data observed");
  const float b[] = {1, kNaN, 2};
  obs->observe(b, 3);
  EXPECT_EQ(obs->count(), 2);
  EXPECT_FALSE(obs->finalize(8, false, error));
  EXPECT_EQ(error, "1 non-finite values in the calibration data");
  // The free function rejects them too.
  float v[] = {1, kInf};
  EXPECT_FALSE(ifmrSearch(v, 2, IfmrConfig(), 8, false, error));
  EXPECT_NE(error.find("non-finite"), std::string::npos);
}

/// The search as it was written first, one fakeQuantMse pass per candidate
/// and selection by nth_element on a copy: the fast search must give the
/// same bits.
IfmrResult referenceIfmr(std::vector<float> v, const IfmrConfig &c, int bits,
                         bool asym) {
  IfmrResult r;
  auto n = static_cast<int64_t>(v.size());
  int64_t kHi = ifmrStartRank(n, c.maxPercentile);
  std::nth_element(v.begin(), v.begin() + (kHi - 1), v.end(),
                   std::greater<float>());
  float hi = v[kHi - 1];
  int64_t kLo = ifmrStartRank(n, c.minPercentile);
  std::nth_element(v.begin(), v.begin() + (kLo - 1), v.end());
  float lo = v[kLo - 1];
  r.start = {std::min(lo, 0.0f), std::max(hi, 0.0f)};
  r.multipliers = ifmrMultipliers(c);
  double absMax = std::max(-static_cast<double>(r.start.lo),
                           static_cast<double>(r.start.hi));
  for (size_t i = 0; i < r.multipliers.size(); ++i) {
    double m = r.multipliers[i];
    auto cm = static_cast<float>(absMax * m);
    ClipRange clip = asym ? ClipRange{r.start.lo, static_cast<float>(r.start.hi * m)}
                          : ClipRange{-cm, cm};
    QuantParams p = paramsFromRange(clip.lo, clip.hi, bits, asym);
    r.mse.push_back(fakeQuantMse(v.data(), n, p, bits));
    if (i == 0 || r.mse[i] < r.mse[r.best]) {
      r.best = i;
      r.clip = clip;
      r.params = p;
    }
  }
  return r;
}

TEST(Ifmr, FastSearchIsBitExact) {
  // Values spanning many binades, duplicates, zeros of both signs, values
  // far outside the clip range (they saturate) and exact .5 ties.
  std::vector<float> data = dataset(11, 50000, 0, 8.0f, 331);
  for (int i = 0; i < 200; ++i) {
    data[i * 7] = 0.0f;
    data[i * 7 + 1] = -0.0f;
    data[i * 7 + 2] = 0.5f * static_cast<float>(i - 100);
  }
  data[3] = 1e30f;
  data[5] = -3e-30f;
  for (int bits : {2, 4, 8, 16}) {
    for (bool asym : {false, true}) {
      for (double p : {0.999999, 0.9999, 0.9}) {
        SCOPED_TRACE(testing::Message()
                     << bits << " bits, asym " << asym << ", percentile " << p);
        IfmrConfig c;
        c.maxPercentile = c.minPercentile = p;
        IfmrResult ref = referenceIfmr(data, c, bits, asym);
        for (int threads : {1, 2, 3}) {
          std::string error;
          std::optional<IfmrResult> r = ifmrSearch(
              data.data(), data.size(), c, bits, asym, error, threads);
          ASSERT_TRUE(r) << error;
          EXPECT_EQ(r->start.lo, ref.start.lo);
          EXPECT_EQ(r->start.hi, ref.start.hi);
          ASSERT_EQ(r->mse.size(), ref.mse.size());
          for (size_t i = 0; i < ref.mse.size(); ++i)
            ASSERT_EQ(r->mse[i], ref.mse[i]) << "candidate " << i;
          EXPECT_EQ(r->best, ref.best);
          EXPECT_EQ(r->params.scale, ref.params.scale);
          EXPECT_EQ(r->params.offset, ref.params.offset);
        }
      }
    }
  }
}

TEST(Ifmr, SearchLeavesValuesAlone) {
  const std::vector<float> data = dataset(1, 4000, 512, 512.0f);
  std::vector<float> v = data;
  std::string error;
  ASSERT_TRUE(ifmrSearch(v.data(), 4000, IfmrConfig(), 8, true, error));
  EXPECT_EQ(v, data);
}

TEST(Ifmr, ObserverElidesZerosExactly) {
  // ReLU-like batches: the zeros are counted, not kept, and the result is
  // bit for bit the search over all the values.
  std::vector<float> data = dataset(5, 40000, 0, 16.0f, 211);
  for (float &x : data)
    x = std::max(x, 0.0f);
  data[17] = -0.0f;
  for (double p : {0.999999, 0.9}) { // heap and radix selections
    SCOPED_TRACE(p);
    IfmrConfig c;
    c.maxPercentile = c.minPercentile = p;
    for (bool asym : {false, true}) {
      std::string error;
      std::optional<IfmrResult> whole =
          ifmrSearch(data.data(), data.size(), c, 8, asym, error);
      ASSERT_TRUE(whole) << error;
      std::optional<IfmrObserver> obs = IfmrObserver::create(c, error);
      ASSERT_TRUE(obs) << error;
      for (int b = 0; b < 4; ++b)
        obs->observe(data.data() + b * 10000, 10000);
      EXPECT_EQ(obs->count(), 40000);
      int64_t zeros = std::count(data.begin(), data.end(), 0.0f);
      EXPECT_GT(zeros, 10000);
      EXPECT_LE(obs->bytesKept(), (40000 - zeros + 1) * sizeof(float) * 2);
      std::optional<IfmrResult> r = obs->search(8, asym, error);
      ASSERT_TRUE(r) << error;
      EXPECT_EQ(r->start.lo, whole->start.lo);
      EXPECT_EQ(r->start.hi, whole->start.hi);
      ASSERT_EQ(r->mse.size(), whole->mse.size());
      for (size_t i = 0; i < r->mse.size(); ++i)
        ASSERT_EQ(r->mse[i], whole->mse[i]) << "candidate " << i;
      EXPECT_EQ(r->params.scale, whole->params.scale);
      EXPECT_EQ(r->params.offset, whole->params.offset);
      // The same through finalizeWithLast, with kept values and without.
      std::optional<IfmrObserver> last = IfmrObserver::create(c, error);
      ASSERT_TRUE(last) << error;
      for (int b = 0; b < 3; ++b)
        last->observe(data.data() + b * 10000, 10000);
      std::optional<QuantParams> p2 =
          last->finalizeWithLast(data.data() + 30000, 10000, 8, asym, error);
      ASSERT_TRUE(p2) << error;
      EXPECT_EQ(p2->scale, whole->params.scale);
      EXPECT_EQ(p2->offset, whole->params.offset);
    }
  }
  // Only zeros before the last batch: nothing kept, the zeros still count.
  std::string error;
  std::optional<IfmrObserver> obs = IfmrObserver::create(IfmrConfig(), error);
  ASSERT_TRUE(obs) << error;
  std::vector<float> zeros(1000, 0.0f);
  obs->observe(zeros.data(), 1000);
  EXPECT_EQ(obs->bytesKept(), 0u);
  std::vector<float> all = zeros;
  all.insert(all.end(), data.begin(), data.begin() + 1000);
  std::optional<IfmrResult> whole =
      ifmrSearch(all.data(), all.size(), IfmrConfig(), 8, true, error);
  ASSERT_TRUE(whole) << error;
  std::optional<QuantParams> p =
      obs->finalizeWithLast(data.data(), 1000, 8, true, error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->scale, whole->params.scale);
  EXPECT_EQ(p->offset, whole->params.offset);
}

TEST(Ifmr, FinalizeWithLastBatch) {
  const std::vector<float> data = dataset(1, 4000, 512, 512.0f);
  std::string error;
  // One batch: searched in the caller's buffer.
  std::optional<IfmrObserver> one = IfmrObserver::create(IfmrConfig(), error);
  ASSERT_TRUE(one) << error;
  std::optional<QuantParams> p =
      one->finalizeWithLast(data.data(), 4000, 8, false, error, 2);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->scale, 0.056186024099588394f); // "sym8 defaults"
  EXPECT_EQ(one->count(), 0);
  // Several: the kept values and the last batch, then nothing kept.
  std::optional<IfmrObserver> four = IfmrObserver::create(IfmrConfig(), error);
  ASSERT_TRUE(four) << error;
  for (int b = 0; b < 3; ++b)
    four->observe(data.data() + b * 1000, 1000);
  p = four->finalizeWithLast(data.data() + 3000, 1000, 8, false, error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->scale, 0.056186024099588394f);
  EXPECT_EQ(four->count(), 0);
  // A non-finite value in the last batch is an error.
  std::optional<IfmrObserver> bad = IfmrObserver::create(IfmrConfig(), error);
  ASSERT_TRUE(bad) << error;
  const float b[] = {1, kInf, kNaN};
  EXPECT_FALSE(bad->finalizeWithLast(b, 3, 8, false, error));
  EXPECT_EQ(error, "2 non-finite values in the calibration data");
}

//===----------------------------------------------------------------------===//
// HFMG: bins, histogram, merging
//===----------------------------------------------------------------------===//

TEST(Hfmg, BinValidation) {
  for (int bins : {1024, 2048, 4096, 8192}) {
    EXPECT_EQ(validateHfmgBins(bins), "");
    std::string error;
    std::optional<HfmgObserver> obs = HfmgObserver::create(bins, error);
    ASSERT_TRUE(obs) << error;
    EXPECT_EQ(obs->histogram().size(), static_cast<size_t>(bins));
  }
  for (int bins : {0, -4096, 1000, 1023, 4095, 16384}) {
    std::string error;
    EXPECT_FALSE(HfmgObserver::create(bins, error)) << bins;
    EXPECT_EQ(error, "num_of_bins " + std::to_string(bins) +
                         " must be one of 1024, 2048, 4096, 8192");
  }
}

HfmgObserver makeHfmg(int bins) {
  std::string error;
  std::optional<HfmgObserver> obs = HfmgObserver::create(bins, error);
  EXPECT_TRUE(obs) << error;
  return *obs;
}

TEST(Hfmg, Binning) {
  // 0..1024 over 1024 bins of width 1: x in bin x, the maximum in the last.
  HfmgObserver obs = makeHfmg(1024);
  std::vector<float> v(1025);
  std::iota(v.begin(), v.end(), 0.0f);
  obs.observe(v.data(), 1025);
  EXPECT_EQ(obs.min(), 0.0f);
  EXPECT_EQ(obs.max(), 1024.0f);
  for (int i = 0; i < 1023; ++i)
    EXPECT_EQ(obs.histogram()[i], 1.0) << i;
  EXPECT_EQ(obs.histogram()[1023], 2.0);
  // A batch inside the range is added without re-binning.
  const float inner[] = {0.5f, 1000.99f, 1024.0f};
  obs.observe(inner, 3);
  EXPECT_EQ(obs.histogram()[0], 2.0);
  EXPECT_EQ(obs.histogram()[1000], 2.0);
  EXPECT_EQ(obs.histogram()[1023], 3.0);
  EXPECT_EQ(obs.count(), 1028);
}

TEST(Hfmg, MergeDoublingRange) {
  // [0, 1] widened to [-1, 1]: new bins are twice as wide, old bin i lands
  // whole in new bin 512 + i / 2.
  HfmgObserver obs = makeHfmg(1024);
  const float b1[] = {0.0f, 0.25f, 0.5f, 1.0f};
  obs.observe(b1, 4);
  const float b2[] = {-1.0f};
  obs.observe(b2, 1);
  EXPECT_EQ(obs.min(), -1.0f);
  EXPECT_EQ(obs.max(), 1.0f);
  std::vector<double> expected(1024, 0.0);
  expected[0] = 1;    // -1
  expected[512] = 1;  // 0 (old bin 0)
  expected[640] = 1;  // 0.25 (old bin 256)
  expected[768] = 1;  // 0.5 (old bin 512)
  expected[1023] = 1; // 1 (old bin 1023)
  EXPECT_EQ(obs.histogram(), expected);
}

TEST(Hfmg, MergeSplitsStraddlingBins) {
  // [0, 1] widened to [0, 1.5]: old bin i spans new bins [i, i + 1] * 2/3.
  // Old bin 0 ([0, 2/3]) stays in new bin 0; old bin 1 ([2/3, 4/3]) is split
  // half and half between new bins 0 and 1; old bin 1023
  // ([682, 682.67]) lands in new bin 682; 1.5 is the new last bin.
  HfmgObserver obs = makeHfmg(1024);
  const float b1[] = {0.0f, 1.5f / 1024, 1.0f};
  obs.observe(b1, 3);
  EXPECT_EQ(obs.histogram()[1], 1.0);
  const float b2[] = {1.5f};
  obs.observe(b2, 1);
  const std::vector<double> &h = obs.histogram();
  EXPECT_NEAR(h[0], 1.5, 1e-12);
  EXPECT_NEAR(h[1], 0.5, 1e-12);
  EXPECT_NEAR(h[682], 1.0, 1e-12);
  EXPECT_EQ(h[1023], 1.0);
  EXPECT_NEAR(std::accumulate(h.begin(), h.end(), 0.0), 4.0, 1e-12);
}

TEST(Hfmg, PointMass) {
  // While every value is 2 the mass is a point; widening to [0, 4] puts it
  // in the bin of 2, floor(2 * 1024 / 4) = 512.
  HfmgObserver obs = makeHfmg(1024);
  const float b1[] = {2, 2, 2};
  obs.observe(b1, 3);
  std::string error;
  std::optional<HfmgResult> r = obs.search(8, false, HfmgSearch::Amct, error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->clip.lo, 2.0f);
  EXPECT_EQ(r->clip.hi, 2.0f);
  EXPECT_EQ(r->params.scale, static_cast<float>(2.0 / 127));
  const float b2[] = {0, 4};
  obs.observe(b2, 2);
  EXPECT_EQ(obs.histogram()[512], 3.0);
  EXPECT_EQ(obs.histogram()[0], 1.0);
  EXPECT_EQ(obs.histogram()[1023], 1.0);
}

TEST(Hfmg, Errors) {
  HfmgObserver obs = makeHfmg(2048);
  std::string error;
  EXPECT_FALSE(obs.finalize(8, false, error));
  EXPECT_EQ(error, "no calibration data observed");
  const float b[] = {1, kNaN, 2, -kInf};
  obs.observe(b, 4);
  EXPECT_EQ(obs.count(), 2);
  EXPECT_FALSE(obs.finalize(8, false, error));
  EXPECT_EQ(error, "2 non-finite values in the calibration data");
  // Batches of only non-finite values leave the histogram untouched.
  HfmgObserver other = makeHfmg(1024);
  const float bad[] = {kNaN};
  other.observe(bad, 1);
  EXPECT_EQ(other.count(), 0);
}

//===----------------------------------------------------------------------===//
// HFMG: the L2 error and the range searches
//===----------------------------------------------------------------------===//

TEST(Hfmg, L2ErrorByHand) {
  // 4 values uniform over bin 1 (width 1) quantized to 2 levels over that
  // bin: each level covers half a bin, MSE w^2 / 12 with w = 1/2, times 4.
  const double h1[4] = {0, 4, 0, 0};
  EXPECT_NEAR(histogramL2Error(h1, 4, 1.0, 1, 1, 2), 4 * 0.25 / 12, 1e-15);
  // One value uniform over [0, 1] clamped to the lower level, centered at
  // 2.5: integral of (x - 2.5)^2 over [0, 1] = (2.5^3 - 1.5^3) / 3.
  const double h2[4] = {1, 0, 0, 0};
  EXPECT_NEAR(histogramL2Error(h2, 4, 1.0, 2, 3, 2), (15.625 - 3.375) / 3,
              1e-12);
  // Scaling the bin width by s scales the error by s^2.
  EXPECT_NEAR(histogramL2Error(h2, 4, 0.5, 2, 3, 2), (15.625 - 3.375) / 12,
              1e-12);
  EXPECT_EQ(histogramL2Error(h2, 4, 0.0, 2, 3, 2), 0.0);
}

TEST(Hfmg, AmctSearchRangesByHand) {
  // 1024 bins, total 4 -> step 1, minBins 256. First round: one bin off
  // each end, a tie, so the right end is cut.
  std::vector<double> h(1024, 0.0);
  h[0] = 1;
  h[1] = 1;
  h[1000] = 1;
  h[1023] = 1;
  std::vector<BinRange> r = amctSearchRanges(h.data(), 1024);
  ASSERT_GE(r.size(), 2u);
  EXPECT_EQ(r[0].start, 0);
  EXPECT_EQ(r[0].end, 1022);
  // Then the left still takes 1 bin, the right runs down to bin 1000 (23
  // bins): the right end is cut to 999.
  EXPECT_EQ(r[1].start, 0);
  EXPECT_EQ(r[1].end, 999);
  // Every range is narrower than the last and all are wider than 256 bins
  // except possibly the final one.
  for (size_t i = 1; i < r.size(); ++i)
    EXPECT_LT(r[i].end - r[i].start, r[i - 1].end - r[i - 1].start);
  EXPECT_LE(r.back().end - r.back().start, 256);
  EXPECT_GT(r[r.size() - 2].end - r[r.size() - 2].start, 256);
}

struct SearchCase {
  int bits;
  BinRange amct;
  float symScale;
  float asymScale;
  int32_t asymOffset;
  BinRange torch;
};

void expectRange(BinRange got, BinRange want) {
  EXPECT_EQ(got.start, want.start);
  EXPECT_EQ(got.end, want.end);
}

void checkSearch(const HfmgObserver &obs, const SearchCase &t) {
  SCOPED_TRACE(testing::Message() << t.bits << " bits");
  std::string error;
  std::optional<HfmgResult> sym =
      obs.search(t.bits, false, HfmgSearch::Amct, error);
  ASSERT_TRUE(sym) << error;
  expectRange(sym->bins, t.amct);
  EXPECT_EQ(sym->params.scale, t.symScale);
  EXPECT_EQ(sym->params.offset, 0);
  std::optional<QuantParams> asym = obs.finalize(t.bits, true, error);
  ASSERT_TRUE(asym) << error;
  EXPECT_EQ(asym->scale, t.asymScale);
  EXPECT_EQ(asym->offset, t.asymOffset);
  std::optional<HfmgResult> torch =
      obs.search(t.bits, false, HfmgSearch::PyTorch, error);
  ASSERT_TRUE(torch) << error;
  expectRange(torch->bins, t.torch);
  // The clip range spans the chosen bins.
  double w = (double(obs.max()) - obs.min()) / obs.histogram().size();
  EXPECT_EQ(torch->clip.lo, float(obs.min() + t.torch.start * w));
  EXPECT_EQ(torch->clip.hi, float(obs.min() + (t.torch.end + 1) * w));
}

/// One batch: dataset(5, 200000, 512, 512, 4000) plus -13 and 21, 2048 bins
/// (PyTorch's default). gen_reference_values.py checked that torch's
/// forward() (histc) bins it exactly like this observer.
TEST(Hfmg, OneBatchMatchesTorchAndAmct) {
  std::vector<float> data = dataset(5, 200000, 512, 512.0f, 4000);
  data.push_back(-13.0f);
  data.push_back(21.0f);
  HfmgObserver obs = makeHfmg(2048);
  obs.observe(data.data(), static_cast<int64_t>(data.size()));
  EXPECT_EQ(obs.min(), -13.0f);
  EXPECT_EQ(obs.max(), 21.0f);
  const std::vector<double> &h = obs.histogram();
  EXPECT_EQ(std::accumulate(h.begin(), h.end(), 0.0), 200002.0);
  EXPECT_EQ(h[0], 1.0);
  EXPECT_EQ(h[292], 1.0);
  EXPECT_EQ(h[614], 2.0);
  EXPECT_EQ(h[615], 0.0);
  EXPECT_EQ(h[622], 4.0);
  EXPECT_EQ(h[1641], 1.0);
  EXPECT_EQ(h[2047], 1.0);

  EXPECT_EQ(amctSearchRanges(h.data(), 2048).size(), 8u);
  // torch's _compute_quantization_error (float32) and numpy (float64).
  const double w = 34.0 / 2048;
  struct {
    int64_t s, e, dst;
    double numpy, torch;
  } errors[] = {
      {0, 2047, 256, 293.7436478932699, 293.7437438964844},
      {615, 1611, 256, 256.62368945779036, 256.62347412109375},
      {614, 1640, 256, 253.8157538416588, 253.81552124023438},
      {100, 1024, 256, 986.3743497565723, 986.3794555664062},
      {0, 2047, 16, 75121.27695020041, 75121.59375},
      {615, 1104, 16, 5108.265090409054, 5108.26708984375},
      {622, 1019, 16, 4051.364513709495, 4051.36572265625},
      {100, 1024, 16, 16534.058109213463, 16534.048828125},
  };
  for (const auto &t : errors) {
    double e = histogramL2Error(h.data(), 2048, w, t.s, t.e, t.dst);
    EXPECT_NEAR(e, t.numpy, t.numpy * kRelTol) << t.s << ".." << t.e;
    EXPECT_NEAR(e, t.torch, t.torch * kTorchRelTol) << t.s << ".." << t.e;
  }

  checkSearch(obs,
              {8, {615, 1611}, 0.10835999f, 0.064908855f, -85, {614, 1640}});
  checkSearch(obs, {4, {615, 1104}, 0.76353234f, 0.5423177f, -3, {622, 1019}});
  // torch's own forward() + _non_linear_param_search gave [-2.806640625,
  // 14.2431640625] for 8 bits.
  std::string error;
  std::optional<HfmgResult> r = obs.search(8, true, HfmgSearch::PyTorch, error);
  ASSERT_TRUE(r) << error;
  EXPECT_NEAR(r->clip.lo, -2.806640625, 1e-6);
  EXPECT_NEAR(r->clip.hi, 14.2431640625, 1e-6);
}

/// Three batches of 80000 values, each widening the range, 4096 bins.
TEST(Hfmg, ThreeBatchesMatchReference) {
  HfmgObserver obs = makeHfmg(4096);
  const std::vector<float> b1 = dataset(2, 80000, 0, 1024.0f, 4000);
  const std::vector<float> b2 = dataset(3, 80000, 512, 512.0f, 4000);
  const std::vector<float> b3 = dataset(4, 80000, -1024, 512.0f, 4000);
  obs.observe(b1.data(), 80000);
  EXPECT_EQ(obs.min(), -3.171875f);
  EXPECT_EQ(obs.max(), 4.94140625f);
  obs.observe(b2.data(), 80000);
  EXPECT_EQ(obs.min(), -4.296875f);
  EXPECT_EQ(obs.max(), 11.4140625f);
  obs.observe(b3.data(), 80000);
  EXPECT_EQ(obs.min(), -16.7890625f);
  EXPECT_EQ(obs.max(), 11.4140625f);
  EXPECT_EQ(obs.count(), 240000);

  const std::vector<double> &h = obs.histogram();
  EXPECT_NEAR(std::accumulate(h.begin(), h.end(), 0.0), 240000.0, 1e-6);
  EXPECT_NEAR(h[0], 1.0, 1e-9);
  EXPECT_EQ(h[1000], 0.0);
  EXPECT_NEAR(h[2000], 153.0, 153.0 * kRelTol);
  EXPECT_NEAR(h[2048], 151.37543510691202, 151.4 * kRelTol);
  EXPECT_NEAR(h[2500], 430.6631638650712, 430.7 * kRelTol);
  EXPECT_NEAR(h[4095], 1.0, 1e-9);

  EXPECT_EQ(amctSearchRanges(h.data(), 4096).size(), 391u);
  const double w = (11.4140625 + 16.7890625) / 4096;
  struct {
    int64_t s, e, dst;
    double numpy, torch;
  } errors[] = {
      {0, 4095, 256, 242.84004909618378, 242.84005737304688},
      {572, 3330, 256, 177.85081110109152, 177.85316467285156},
      {571, 3330, 256, 177.82659844775463, 177.83102416992188},
      {100, 2048, 256, 1947418.8154653828, 1947412.5},
      {0, 4095, 16, 60042.369194474275, 60042.03515625},
      {1659, 2944, 16, 7068.318115592447, 7068.33154296875},
      {1652, 2942, 16, 7128.820736120345, 7128.7548828125},
      {100, 2048, 16, 2442184.2272524107, 2442187.0},
  };
  for (const auto &t : errors) {
    double e = histogramL2Error(h.data(), 4096, w, t.s, t.e, t.dst);
    EXPECT_NEAR(e, t.numpy, t.numpy * kRelTol) << t.s << ".." << t.e;
    EXPECT_NEAR(e, t.torch, t.torch * kTorchRelTol) << t.s << ".." << t.e;
  }

  checkSearch(obs, {8, {572, 3330}, 0.10118536f, 0.07449872f, 44, {571, 3330}});
  checkSearch(obs,
              {4, {1659, 2944}, 0.76656723f, 0.59031934f, 1, {1652, 2942}});
}

/// The chosen range is inside the data range and its error is the lowest
/// among the ranges AMCT scores.
TEST(Hfmg, AmctChoiceIsTheMinimum) {
  HfmgObserver obs = makeHfmg(1024);
  const std::vector<float> d = dataset(9, 150000, 100, 128.0f, 700);
  obs.observe(d.data(), 150000);
  const std::vector<double> &h = obs.histogram();
  double w = (double(obs.max()) - obs.min()) / 1024;
  for (int bits : {4, 8}) {
    std::string error;
    std::optional<HfmgResult> r =
        obs.search(bits, true, HfmgSearch::Amct, error);
    ASSERT_TRUE(r) << error;
    EXPECT_GE(r->clip.lo, obs.min());
    EXPECT_LE(r->clip.hi, obs.max());
    double best = histogramL2Error(h.data(), 1024, w, r->bins.start,
                                   r->bins.end, int64_t(1) << bits);
    for (BinRange b : amctSearchRanges(h.data(), 1024))
      EXPECT_GE(histogramL2Error(h.data(), 1024, w, b.start, b.end,
                                 int64_t(1) << bits),
                best);
  }
}

} // namespace
