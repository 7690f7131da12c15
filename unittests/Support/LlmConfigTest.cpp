//===- LlmConfigTest.cpp - the language-model quantize() config -----------===//
//
// Reference 002's example and each legal row of reference 000's table
// parse to the values they say; every rule violation is refused with the
// key, the value and the rule in its message.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/LlmConfig.h"

#include "gtest/gtest.h"

using namespace amct;

namespace {

std::optional<LlmQuantConfig> parse(const std::string &text, std::string &error) {
  return parseLlmConfig(text, "llm.json", error);
}

TEST(LlmConfig, ReferenceExample) {
  // Reference 002's example (a Python set of one name is a JSON list here).
  std::string error;
  auto c = parse(R"({"batch_num": 1, "quant_cfg": {"weights": {"type": "int8",
      "symmetric": true, "strategy": "tensor"}}, "algorithm": ["minmax"]})", error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->batchNum, 1);
  EXPECT_EQ(c->weights.bits, 8);
  EXPECT_TRUE(c->weights.symmetric);
  EXPECT_EQ(c->weights.strategy, LlmWeightConfig::Strategy::Tensor);
  EXPECT_FALSE(c->inputs);
  ASSERT_EQ(c->algorithms.size(), 1u);
  EXPECT_EQ(c->algorithms[0].kind, LlmAlgorithm::Kind::MinMax);
}

TEST(LlmConfig, Int4GroupGptqAndAwqParameters) {
  std::string error;
  auto c = parse(R"({"quant_cfg": {"weights": {"type": "int4", "symmetric": false,
      "strategy": "group", "group_size": 128}}, "algorithm": "gptq",
      "skip_layers": ["lm_head", "mlp.down"]})", error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->weights.bits, 4);
  EXPECT_FALSE(c->weights.symmetric);
  EXPECT_EQ(c->weights.groupSize, 128);
  EXPECT_TRUE(c->uses(LlmAlgorithm::Kind::Gptq));
  EXPECT_EQ(c->skipLayers, (std::vector<std::string>{"lm_head", "mlp.down"}));
  c = parse(R"({"quant_cfg": {"weights": {"type": "int8"}}, "algorithm": {"awq": {"grids_num": 8}}})",
            error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->weights.strategy, LlmWeightConfig::Strategy::Channel); // default
  EXPECT_EQ(c->algorithms[0].gridsNum, 8);
  EXPECT_TRUE(c->algorithms[0].clip); // the clipping search is on by default
  c = parse(R"({"quant_cfg": {"weights": {"type": "int8"}}, "algorithm": {"awq": {"clip": false}}})",
            error);
  ASSERT_TRUE(c) << error;
  EXPECT_FALSE(c->algorithms[0].clip);
  c = parse(R"({"quant_cfg": {"weights": {"type": "int8"}}, "algorithm": {"gptq": {"clip": false}}})",
            error);
  ASSERT_TRUE(c) << error;
  EXPECT_FALSE(c->algorithms[0].clip);
  c = parse(R"({"quant_cfg": {"weights": {"type": "int8"}}})", error);
  ASSERT_TRUE(c) << error;
  EXPECT_TRUE(c->uses(LlmAlgorithm::Kind::MinMax)); // the default algorithm
  EXPECT_EQ(c->algorithms.front().gridsNum, 20);
}

TEST(LlmConfig, W8A8WithSmoothQuantPerToken) {
  std::string error;
  auto c = parse(R"({"quant_cfg": {"weights": {"type": "int8", "strategy": "channel"},
      "inputs": {"type": "int8", "symmetric": false, "strategy": "token"}},
      "algorithm": {"smoothquant": {"smooth_strength": 0.8}, "minmax": null}})", error);
  ASSERT_TRUE(c) << error;
  ASSERT_TRUE(c->inputs);
  EXPECT_FALSE(c->inputs->symmetric);
  EXPECT_EQ(c->inputs->strategy, LlmInputConfig::Strategy::Token);
  ASSERT_TRUE(c->algorithms[0].smoothStrength);
  EXPECT_DOUBLE_EQ(*c->algorithms[0].smoothStrength, 0.8);
  EXPECT_TRUE(c->uses(LlmAlgorithm::Kind::MinMax));
  // Without smooth_strength the strength is searched (none set).
  auto searched = parse(R"({"quant_cfg": {"weights": {"type": "int8"},
      "inputs": {"type": "int8"}}, "algorithm": "smoothquant"})", error);
  ASSERT_TRUE(searched) << error;
  EXPECT_FALSE(searched->algorithms[0].smoothStrength);
}

struct BadCase {
  const char *json;
  const char *message;
};

class LlmConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(LlmConfigErrors, NamesKeyValueAndRule) {
  std::string error;
  EXPECT_FALSE(parse(GetParam().json, error));
  EXPECT_NE(error.find(GetParam().message), std::string::npos) << error;
  EXPECT_EQ(error.rfind("llm.json", 0), 0u) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, LlmConfigErrors,
    ::testing::Values(
        BadCase{R"({"quant_cfg": {"weights": {"type": "int4"}, "inputs": {"type": "int8"}}})",
                "int4 weights are weight-only"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8", "strategy": "group", "group_size": 64},
                   "inputs": {"type": "int8"}}})",
                "not per group"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8", "group_size": 64}}})",
                "quant_cfg.weights.group_size: may only be given with strategy group"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int4", "strategy": "group"}}})",
                "strategy group needs group_size"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int4", "strategy": "group", "group_size": 48}}})",
                "must be a multiple of 32 and at least 32, got 48"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int2"}}})",
                "quant_cfg.weights.type: must be int4 or int8, got 'int2'"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8"}, "inputs": {"type": "int4"}}})",
                "activations are quantized to int8 only"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8"}, "inputs": {"type": "int8",
                   "strategy": "channel"}}})",
                "quant_cfg.inputs.strategy: must be tensor or token"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8"}}, "algorithm": "smoothquant"})",
                "smoothquant moves difficulty"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8"}, "inputs": {"type": "int8"}},
                   "algorithm": "gptq"})",
                "gptq is a weight-only algorithm"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8"}}, "algorithm": ["awq", "gptq"]})",
                "awq and gptq both choose"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8"}}, "algorithm": "adaround"})",
                "unknown algorithm 'adaround'"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8"}}, "algorithm": {"awq": {"grids": 3}}})",
                "algorithm.awq.grids: unknown parameter of 'awq' (known: grids_num, clip)"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8"}}, "algorithm": {"awq": {"grids_num": 0}}})",
                "algorithm.awq.grids_num: must be >= 1, got 0"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8"}}, "algorithm": {"awq": {"clip": 1}}})",
                "algorithm.awq.clip: must be true or false, got 1"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8"}, "inputs": {"type": "int8"}},
                   "algorithm": {"smoothquant": {"smooth_strength": 1.0}}})",
                "smooth_strength: must be in (0, 1)"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8"}}, "algorithm": ["minmax", "minmax"]})",
                "is named twice"},
        BadCase{R"({"quant_cfg": {"inputs": {"type": "int8"}}})", "\"weights\" is required"},
        BadCase{R"({"batch_num": 0, "quant_cfg": {"weights": {"type": "int8"}}})",
                "batch_num: must be at least 1"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8"}}, "skip_layers": "lm_head"})",
                "skip_layers: expected a list"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8"}}, "calibration": 1})",
                "unknown key 'calibration'"},
        BadCase{R"({"quant_cfg": {"weights": {"type": "int8", "type": "int4"}}})",
                "duplicate key"},
        BadCase{R"({"quant_cfg": )", "invalid JSON"}));

TEST(LlmConfig, LayerShapeRules) {
  std::string error;
  auto c = parse(R"({"quant_cfg": {"weights": {"type": "int4", "strategy": "group", "group_size": 128}}})",
                 error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->layerProblem(4096, 4096), "");
  EXPECT_NE(c->layerProblem(128, 256).find("group_size 128 exceeds K - 1 = 127"),
            std::string::npos);
  EXPECT_NE(c->layerProblem(4096, 96).find("multiples of 64 for int4"), std::string::npos);
  c = parse(R"({"quant_cfg": {"weights": {"type": "int8"}}})", error);
  EXPECT_EQ(c->layerProblem(96, 32), "");
  EXPECT_NE(c->layerProblem(65536 + 32, 32).find("up to 65535"), std::string::npos);
}

} // namespace
