//===- LinearWeightsBench.cpp - GPTQ and minmax on an LLM-sized layer -----===//
//
//   amct-bench-quant [google benchmark flags]
//
// GPTQ on one 4096 x 4096 Linear weight with the Hessian of 2048
// calibration tokens (seeded random data, int4 group 128 and int8 per
// channel), AWQ's 20-point search (256 of the tokens scored), and minmax on
// the same layer. The Hessian's accumulation
// (2 X^T X, one dsyrk) is timed separately: the pipeline accumulates it
// batch by batch while calibrating.
//
//===----------------------------------------------------------------------===//

#include "amct/Quant/LinearWeights.h"

#include <benchmark/benchmark.h>
#include <cblas.h>
#include <random>

using namespace amct::quant;

namespace {

constexpr int64_t kK = 4096, kN = 4096, kTokens = 2048;

struct Problem {
  std::vector<float> w, xf;
  std::vector<double> h;
  Problem() : w(kK * kN), xf(kTokens * kK), h(kK * kK, 0.0) {
    std::mt19937 gen(1);
    std::normal_distribution<float> dist;
    for (float &v : w)
      v = 0.02f * dist(gen);
    std::vector<double> x(kTokens * kK);
    for (int64_t t = 0; t < kTokens; ++t) {
      double shared = dist(gen);
      for (int64_t i = 0; i < kK; ++i)
        x[t * kK + i] = 0.5 * shared + dist(gen);
    }
    for (size_t i = 0; i < x.size(); ++i)
      xf[i] = float(x[i]);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, kK, kTokens, 2.0, x.data(), kK, 0.0,
                h.data(), kK);
    for (int64_t i = 0; i < kK; ++i)
      for (int64_t j = 0; j < i; ++j)
        h[i * kK + j] = h[j * kK + i];
  }
};

const Problem &problem() {
  static Problem p;
  return p;
}

void gptq(benchmark::State &state, LinearWeightSpec spec, bool clip = false) {
  const Problem &p = problem();
  GptqOptions options;
  options.clip = clip;
  options.threads = 2;
  for (auto _ : state) {
    std::string error;
    auto r = gptqQuantize(p.w.data(), kK, kN, p.h.data(), spec, options, error);
    if (!r)
      state.SkipWithError(error.c_str());
    benchmark::DoNotOptimize(r);
  }
}

void BM_GptqInt4Group128(benchmark::State &state) {
  LinearWeightSpec s;
  s.bits = 4;
  s.granularity = WeightGranularity::Group;
  s.groupSize = 128;
  gptq(state, s, state.range(0) != 0);
}
/// Arg: the clipping search of the group ranges (1, the pipeline's
/// default) or minmax's ranges (0, AMCT's GPTQ).
BENCHMARK(BM_GptqInt4Group128)->Arg(0)->Arg(1)->Unit(benchmark::kSecond)->Iterations(1);

void BM_GptqInt8Channel(benchmark::State &state) {
  gptq(state, LinearWeightSpec());
}
BENCHMARK(BM_GptqInt8Channel)->Unit(benchmark::kSecond)->Iterations(1);

/// state.range(0): the clipping search after the scale search (1) or not.
void BM_AwqInt4Group128(benchmark::State &state) {
  const Problem &p = problem();
  LinearWeightSpec s;
  s.bits = 4;
  s.granularity = WeightGranularity::Group;
  s.groupSize = 128;
  for (auto _ : state) {
    std::string error;
    AwqOptions o;
    o.threads = 2;
    o.clip = state.range(0) != 0;
    auto r = awqSearch(p.xf.data(), kTokens, p.w.data(), kK, kN, s, o, error);
    if (!r)
      state.SkipWithError(error.c_str());
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_AwqInt4Group128)->Arg(0)->Arg(1)->Unit(benchmark::kSecond)->Iterations(1);

void BM_MinmaxInt4Group128(benchmark::State &state) {
  const Problem &p = problem();
  LinearWeightSpec s;
  s.bits = 4;
  s.granularity = WeightGranularity::Group;
  s.groupSize = 128;
  std::vector<int8_t> q(kK * kN);
  for (auto _ : state) {
    std::string error;
    auto params = minmaxParams(p.w.data(), kK, kN, s, error);
    quantizeLinear(p.w.data(), *params, 4, q.data());
    benchmark::DoNotOptimize(q.data());
  }
}
BENCHMARK(BM_MinmaxInt4Group128)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
