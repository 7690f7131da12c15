//===- RecurrentTest.cpp - LSTM and GRU edge cases ------------------------===//
//
// Bidirectional LSTM with per-batch sequence_lens, initial states, biases
// and peepholes, and a reverse GRU with linear_before_reset, against a
// reference written here from ONNX's equations one scalar at a time (no
// BLAS, no shared code with the kernels).
//
//===----------------------------------------------------------------------===//

#include "KernelTest.h"

#include <cmath>

using namespace amct::rt;
using namespace amct::rt::test;

namespace {

using RecurrentTest = KernelTest;

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

std::vector<float> seeded(int64_t n, uint64_t seed) {
  std::vector<float> v(n);
  uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 7;
  for (auto &x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = float((s >> 40) % 2001) / 1000.0f - 1.0f; // [-1, 1]
  }
  return v;
}

TEST_F(RecurrentTest, BidirectionalLstmWithSequenceLensAndPeepholes) {
  const int T = 3, B = 2, I = 2, H = 2, D = 2;
  std::vector<float> x = seeded(T * B * I, 1), w = seeded(D * 4 * H * I, 2),
                     r = seeded(D * 4 * H * H, 3), bias = seeded(D * 8 * H, 4),
                     h0 = seeded(D * B * H, 5), c0 = seeded(D * B * H, 6),
                     p = seeded(D * 3 * H, 7);
  std::vector<int32_t> lens = {3, 2};
  // Reference: Y [T, D, B, H] zero past each sequence's length.
  std::vector<float> y(T * D * B * H, 0.0f), yh(D * B * H), yc(D * B * H);
  for (int d = 0; d < D; ++d)
    for (int b = 0; b < B; ++b) {
      std::vector<float> h(&h0[(d * B + b) * H], &h0[(d * B + b) * H] + H),
          c(&c0[(d * B + b) * H], &c0[(d * B + b) * H] + H);
      for (int s = 0; s < lens[b]; ++s) {
        int t = d == 0 ? s : lens[b] - 1 - s;
        // Gate order i, o, f, c; pre[g][j].
        float pre[4][H];
        for (int g = 0; g < 4; ++g)
          for (int j = 0; j < H; ++j) {
            int row = g * H + j;
            float v = bias[d * 8 * H + row] + bias[d * 8 * H + 4 * H + row];
            for (int k = 0; k < I; ++k)
              v += x[(t * B + b) * I + k] * w[(d * 4 * H + row) * I + k];
            for (int k = 0; k < H; ++k)
              v += h[k] * r[(d * 4 * H + row) * H + k];
            pre[g][j] = v;
          }
        std::vector<float> hn(H), cn(H);
        for (int j = 0; j < H; ++j) {
          float pi = p[d * 3 * H + j], po = p[d * 3 * H + H + j], pf = p[d * 3 * H + 2 * H + j];
          float ig = sigmoid(pre[0][j] + pi * c[j]);
          float fg = sigmoid(pre[2][j] + pf * c[j]);
          float cg = std::tanh(pre[3][j]);
          cn[j] = fg * c[j] + ig * cg;
          float og = sigmoid(pre[1][j] + po * cn[j]);
          hn[j] = og * std::tanh(cn[j]);
        }
        h = hn;
        c = cn;
        for (int j = 0; j < H; ++j)
          y[((t * D + d) * B + b) * H + j] = h[j];
      }
      for (int j = 0; j < H; ++j) {
        yh[(d * B + b) * H + j] = h[j];
        yc[(d * B + b) * H + j] = c[j];
      }
    }
  Tensor lensT = make<int32_t>({B}, lens);
  std::string src = R"mlir(
    func.func @main(%x: tensor<3x2x2xf32>, %w: tensor<2x8x2xf32>, %r: tensor<2x8x2xf32>,
                    %b: tensor<2x16xf32>, %l: tensor<2xi32>, %h: tensor<2x2x2xf32>,
                    %c: tensor<2x2x2xf32>, %p: tensor<2x6xf32>)
        -> (tensor<3x2x2x2xf32>, tensor<2x2x2xf32>, tensor<2x2x2xf32>) {
      %y:3 = amct.node "LSTM"(%x, %w, %r, %b, %l, %h, %c, %p) {direction = "bidirectional", hidden_size = 2 : i64} : (tensor<3x2x2xf32>, tensor<2x8x2xf32>, tensor<2x8x2xf32>, tensor<2x16xf32>, tensor<2xi32>, tensor<2x2x2xf32>, tensor<2x2x2xf32>, tensor<2x6xf32>) -> (tensor<3x2x2x2xf32>, tensor<2x2x2xf32>, tensor<2x2x2xf32>)
      return %y#0, %y#1, %y#2 : tensor<3x2x2x2xf32>, tensor<2x2x2xf32>, tensor<2x2x2xf32>
    }
  )mlir";
  auto r2 = runFunc(src, {f32({T, B, I}, x), f32({D, 4 * H, I}, w), f32({D, 4 * H, H}, r),
                          f32({D, 8 * H}, bias), lensT, f32({D, B, H}, h0),
                          f32({D, B, H}, c0), f32({D, 3 * H}, p)});
  ASSERT_TRUE(succeeded(r2)) << diagnostics;
  EXPECT_TRUE(matches<float>(r2->at(0), {T, D, B, H}, y, 1e-5));
  EXPECT_TRUE(matches<float>(r2->at(1), {D, B, H}, yh, 1e-5));
  EXPECT_TRUE(matches<float>(r2->at(2), {D, B, H}, yc, 1e-5));
  // Batch entry 1 stops after 2 steps: its Y at t = 2 is zero in both
  // directions.
  for (int d = 0; d < D; ++d)
    for (int j = 0; j < H; ++j)
      EXPECT_EQ(r2->at(0).data<float>()[((2 * D + d) * B + 1) * H + j], 0.0f);
}

TEST_F(RecurrentTest, ReverseGruLinearBeforeReset) {
  const int T = 4, B = 1, I = 3, H = 2;
  std::vector<float> x = seeded(T * B * I, 11), w = seeded(3 * H * I, 12),
                     r = seeded(3 * H * H, 13), bias = seeded(6 * H, 14);
  std::vector<float> h(H, 0.0f), y(T * H);
  for (int s = 0; s < T; ++s) {
    int t = T - 1 - s;
    // Gate order z, r, h: input part xw[g][j], recurrent part rh[g][j].
    float xw[3][H], rh[3][H];
    for (int g = 0; g < 3; ++g)
      for (int j = 0; j < H; ++j) {
        int row = g * H + j;
        xw[g][j] = bias[row];
        for (int k = 0; k < I; ++k)
          xw[g][j] += x[t * I + k] * w[row * I + k];
        rh[g][j] = bias[3 * H + row];
        for (int k = 0; k < H; ++k)
          rh[g][j] += h[k] * r[row * H + k];
      }
    std::vector<float> hn(H);
    for (int j = 0; j < H; ++j) {
      float z = sigmoid(xw[0][j] + rh[0][j]);
      float rg = sigmoid(xw[1][j] + rh[1][j]);
      float ht = std::tanh(xw[2][j] + rg * rh[2][j]); // linear_before_reset
      hn[j] = (1 - z) * ht + z * h[j];
    }
    h = hn;
    for (int j = 0; j < H; ++j)
      y[t * H + j] = h[j];
  }
  auto out = runFunc(R"mlir(
    func.func @main(%x: tensor<4x1x3xf32>, %w: tensor<1x6x3xf32>, %r: tensor<1x6x2xf32>,
                    %b: tensor<1x12xf32>) -> (tensor<4x1x1x2xf32>, tensor<1x1x2xf32>) {
      %y:2 = amct.node "GRU"(%x, %w, %r, %b) {direction = "reverse", hidden_size = 2 : i64, linear_before_reset = 1 : i64} : (tensor<4x1x3xf32>, tensor<1x6x3xf32>, tensor<1x6x2xf32>, tensor<1x12xf32>) -> (tensor<4x1x1x2xf32>, tensor<1x1x2xf32>)
      return %y#0, %y#1 : tensor<4x1x1x2xf32>, tensor<1x1x2xf32>
    }
  )mlir",
                     {f32({T, B, I}, x), f32({1, 3 * H, I}, w), f32({1, 3 * H, H}, r),
                      f32({1, 6 * H}, bias)});
  ASSERT_TRUE(succeeded(out)) << diagnostics;
  EXPECT_TRUE(matches<float>(out->at(0), {T, 1, 1, H}, y, 1e-5));
  // Reverse: the final state is the one after time step 0.
  EXPECT_TRUE(matches<float>(out->at(1), {1, 1, H}, {y[0], y[1]}, 1e-5));
}

} // namespace
