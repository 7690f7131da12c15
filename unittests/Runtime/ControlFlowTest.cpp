//===- ControlFlowTest.cpp - If, Loop, Scan with outer-scope values -------===//
//
// Subgraphs read values of the enclosing graph directly (captures), at any
// depth; the expected values are worked out by hand in each test.
//
//===----------------------------------------------------------------------===//

#include "KernelTest.h"

using namespace amct::rt;
using namespace amct::rt::test;

namespace {

using ControlFlowTest = KernelTest;

Tensor boolScalar(bool v) {
  Tensor t = *Tensor::zeros(DType::Bool, {});
  *t.mutableData<uint8_t>() = v;
  return t;
}

// %a is computed in the outer graph and read by both branches; %x is an
// outer argument.
constexpr const char *kIf = R"mlir(
  func.func @main(%c: tensor<i1>, %x: tensor<3xf32>, %y: tensor<3xf32>) -> tensor<3xf32> {
    %a = amct.Add %x, %y : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
    %r = amct.node "If"(%c) {} graphs {
      %m = amct.Mul %a, %x : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
      amct.yield %m : tensor<3xf32>
    }, {
      %s = amct.Sub %a, %y : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
      %n = amct.Neg %s : (tensor<3xf32>) -> tensor<3xf32>
      amct.yield %n : tensor<3xf32>
    } attributes {subgraphs = ["then_branch", "else_branch"]} : (tensor<i1>) -> tensor<3xf32>
    return %r : tensor<3xf32>
  }
)mlir";

TEST_F(ControlFlowTest, IfBranchesReadOuterValues) {
  Tensor x = f32({3}, {1, 2, 3}), y = f32({3}, {10, 20, 30});
  auto r = runFunc(kIf, {boolScalar(true), x, y});
  ASSERT_TRUE(succeeded(r)) << diagnostics;
  EXPECT_TRUE(matches<float>(r->at(0), {3}, {11, 44, 99})); // (x + y) * x
  r = runFunc(kIf, {boolScalar(false), x, y});
  ASSERT_TRUE(succeeded(r)) << diagnostics;
  EXPECT_TRUE(matches<float>(r->at(0), {3}, {-1, -2, -3})); // -((x + y) - y)
}

// A Loop whose body holds an If that reads a value of the outermost graph
// (%k) and the loop's own carried value: captures two levels deep.
// sum = 0; for i in 0..3: sum += (i is even ? k : 1); scan out sum.
TEST_F(ControlFlowTest, LoopWithNestedIfCarriesStateAndStacksScanOutputs) {
  auto r = runFunc(R"mlir(
    func.func @main(%m: tensor<i64>, %k: tensor<f32>) -> (tensor<f32>, tensor<4xf32>) {
      %none = amct.none
      %zero = amct.Constant {value = dense<0.0> : tensor<f32>} : tensor<f32>
      %r:2 = amct.node "Loop"(%m, %none, %zero) {} graphs {
      ^bb0(%i: tensor<i64>, %c: tensor<i1>, %sum: tensor<f32>):
        %two = amct.Constant {value = dense<2> : tensor<i64>} : tensor<i64>
        %half = amct.Div %i, %two : (tensor<i64>, tensor<i64>) -> tensor<i64>
        %back = amct.Mul %half, %two : (tensor<i64>, tensor<i64>) -> tensor<i64>
        %even = amct.Equal %back, %i : (tensor<i64>, tensor<i64>) -> tensor<i1>
        %step = amct.node "If"(%even) {} graphs {
          amct.yield %k : tensor<f32>
        }, {
          %one = amct.Constant {value = dense<1.0> : tensor<f32>} : tensor<f32>
          amct.yield %one : tensor<f32>
        } attributes {subgraphs = ["then_branch", "else_branch"]} : (tensor<i1>) -> tensor<f32>
        %next = amct.Add %sum, %step : (tensor<f32>, tensor<f32>) -> tensor<f32>
        amct.yield %c, %next, %next : tensor<i1>, tensor<f32>, tensor<f32>
      } attributes {subgraphs = ["body"]} : (tensor<i64>, none, tensor<f32>) -> (tensor<f32>, tensor<4xf32>)
      return %r#0, %r#1 : tensor<f32>, tensor<4xf32>
    }
  )mlir",
                   {i64({}, {4}), f32({}, {10})});
  ASSERT_TRUE(succeeded(r)) << diagnostics;
  EXPECT_TRUE(matches<float>(r->at(0), {}, {22}));
  EXPECT_TRUE(matches<float>(r->at(1), {4}, {10, 11, 21, 22}));
}

// Scan over axis 1 in reverse: running sum of columns, state [2].
TEST_F(ControlFlowTest, ScanReverseAlongAxisOne) {
  auto r = runFunc(R"mlir(
    func.func @main(%init: tensor<2xf32>, %x: tensor<2x3xf32>) -> (tensor<2xf32>, tensor<3x2xf32>) {
      %r:2 = amct.node "Scan"(%init, %x) {num_scan_inputs = 1 : i64, scan_input_axes = array<i64: 1>, scan_input_directions = array<i64: 1>} graphs {
      ^bb0(%s: tensor<2xf32>, %col: tensor<2xf32>):
        %n = amct.Add %s, %col : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
        amct.yield %n, %n : tensor<2xf32>, tensor<2xf32>
      } attributes {subgraphs = ["body"]} : (tensor<2xf32>, tensor<2x3xf32>) -> (tensor<2xf32>, tensor<3x2xf32>)
      return %r#0, %r#1 : tensor<2xf32>, tensor<3x2xf32>
    }
  )mlir",
                   {f32({2}, {0, 100}), f32({2, 3}, {1, 2, 3, 4, 5, 6})});
  ASSERT_TRUE(succeeded(r)) << diagnostics;
  EXPECT_TRUE(matches<float>(r->at(0), {2}, {6, 115}));
  // Columns taken 2, 1, 0: sums [3, 106], [5, 111], [6, 115].
  EXPECT_TRUE(matches<float>(r->at(1), {3, 2}, {3, 106, 5, 111, 6, 115}));
}

TEST_F(ControlFlowTest, LoopWithoutTripCountOrConditionChangeIsStopped) {
  // cond stays true and there is no M: the executor stops with an error
  // instead of hanging. (10 million iterations of an empty body.)
  auto r = runFunc(R"mlir(
    func.func @main(%c: tensor<i1>) -> tensor<i64> {
      %none = amct.none
      %zero = amct.Constant {value = dense<0> : tensor<i64>} : tensor<i64>
      %r = amct.node "Loop"(%none, %c, %zero) {} graphs {
      ^bb0(%i: tensor<i64>, %cin: tensor<i1>, %v: tensor<i64>):
        amct.yield %cin, %i : tensor<i1>, tensor<i64>
      } attributes {subgraphs = ["body"]} : (none, tensor<i1>, tensor<i64>) -> tensor<i64>
      return %r : tensor<i64>
    }
  )mlir",
                   {boolScalar(true)});
  EXPECT_TRUE(failed(r));
  EXPECT_NE(diagnostics.find("iterations without reaching its trip count"), std::string::npos)
      << diagnostics;
}

} // namespace
