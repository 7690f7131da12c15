//===- SteppedRunTest.cpp - runs that stop before chosen ops -------------===//
//
// Executor::startStepped: a run stops before each chosen op with its
// operands in view; a replaced operand is what the op and everything after
// it see (sequential GPTQ hands each layer's quantized weight back this
// way).
//
//===----------------------------------------------------------------------===//

#include "KernelTest.h"

namespace amct::rt::test {
namespace {

constexpr const char *kTwoLayers = R"(func.func @main(%x: tensor<1x2xf32>) -> tensor<1x1xf32> {
  %w1 = amct.const dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %w2 = amct.const dense<[[1.0], [-1.0]]> : tensor<2x1xf32>
  %h = amct.MatMul %x, %w1 : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32> loc("fc1")
  %r = amct.Relu %h : (tensor<1x2xf32>) -> tensor<1x2xf32>
  %y = amct.MatMul %r, %w2 : (tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<1x1xf32> loc("fc2")
  return %y : tensor<1x1xf32>
})";

class SteppedRunTest : public KernelTest {
protected:
  void SetUp() override {
    module = mlir::parseSourceString<mlir::ModuleOp>(kTwoLayers, &ctx);
    ASSERT_TRUE(module);
    main = module->lookupSymbol<mlir::func::FuncOp>("main");
    main.walk([&](MatMulOp op) { layers.push_back(op); });
    ASSERT_EQ(layers.size(), 2u);
    ExecutorOptions options;
    options.threads = 1;
    auto created = Executor::create(main, options);
    ASSERT_TRUE(succeeded(created));
    exec = std::move(*created);
  }

  mlir::func::FuncOp main;
  std::vector<mlir::Operation *> layers;
  std::unique_ptr<Executor> exec;
};

TEST_F(SteppedRunTest, StopsBeforeEachChosenOpWithItsOperands) {
  auto run = exec->startStepped({f32({1, 2}, {1, -1})}, layers);
  ASSERT_TRUE(succeeded(run));
  auto at = (*run)->next();
  ASSERT_TRUE(succeeded(at));
  EXPECT_EQ(*at, layers[0]);
  EXPECT_TRUE(matches<float>((*run)->operand(0), {1, 2}, {1, -1}));
  EXPECT_TRUE(matches<float>((*run)->operand(1), {2, 2}, {1, 2, 3, 4}));
  EXPECT_TRUE(failed((*run)->results())); // not at the end yet
  at = (*run)->next();
  ASSERT_TRUE(succeeded(at));
  EXPECT_EQ(*at, layers[1]);
  // relu([1, -1] x [[1, 2], [3, 4]]) = relu([-2, -2]) = [0, 0].
  EXPECT_TRUE(matches<float>((*run)->operand(0), {1, 2}, {0, 0}));
  at = (*run)->next();
  ASSERT_TRUE(succeeded(at));
  EXPECT_EQ(*at, nullptr);
  auto results = (*run)->results();
  ASSERT_TRUE(succeeded(results));
  EXPECT_TRUE(matches<float>(results->front(), {1, 1}, {0}));
  // After the end, next() stays at the end.
  at = (*run)->next();
  ASSERT_TRUE(succeeded(at));
  EXPECT_EQ(*at, nullptr);
}

TEST_F(SteppedRunTest, AReplacedWeightIsWhatTheLayerAndTheRestSee) {
  // Two runs side by side, as calibration batches go; the first layer's
  // weight replaced by -w1 in both.
  std::vector<std::unique_ptr<SteppedRun>> runs;
  for (float v : {1.0f, 2.0f}) {
    auto run = exec->startStepped({f32({1, 2}, {v, -1})}, {layers[0]});
    ASSERT_TRUE(succeeded(run));
    runs.push_back(std::move(*run));
  }
  Tensor negated = f32({2, 2}, {-1, -2, -3, -4});
  for (auto &run : runs) {
    auto at = run->next();
    ASSERT_TRUE(succeeded(at));
    ASSERT_EQ(*at, layers[0]);
    run->setOperand(1, negated);
  }
  for (auto &run : runs) {
    auto at = run->next();
    ASSERT_TRUE(succeeded(at));
    EXPECT_EQ(*at, nullptr); // fc2 is not a stop here
  }
  // x = [1, -1]: relu([2, 2]) . [1, -1] = 0; x = [2, -1]: h = [-2 + 3, -4 + 4]
  // = [1, 0], relu -> [1, 0], . [1, -1] = 1.
  auto first = runs[0]->results(), second = runs[1]->results();
  ASSERT_TRUE(succeeded(first) && succeeded(second));
  EXPECT_TRUE(matches<float>(first->front(), {1, 1}, {0}));
  EXPECT_TRUE(matches<float>(second->front(), {1, 1}, {1}));
  // A plain run still uses the model's weight: relu([2 - 3, 4 - 4]) = [0, 0].
  auto plain = exec->run({f32({1, 2}, {2, -1})});
  ASSERT_TRUE(succeeded(plain));
  EXPECT_TRUE(matches<float>(plain->front(), {1, 1}, {0}));
}

TEST_F(SteppedRunTest, InputsAreCheckedAsRunChecksThem) {
  diagnostics.clear();
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  auto run = exec->startStepped({f32({1, 3}, {1, 2, 3})}, layers);
  EXPECT_TRUE(failed(run));
  EXPECT_NE(diagnostics.find("expected dim 1 to be 2"), std::string::npos) << diagnostics;
}

} // namespace
} // namespace amct::rt::test
