//===- QuantConfigTest.cpp - AMCT quantization configs --------------------===//
//
// The JSON config samples of reference 004 (Inputs/config/*.json) parsed key
// by key and written back byte for byte; a simple config (.cfg) expanded over
// a model's layers with AMCT's precedence; and every validation error with
// the words of its message.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/QuantConfig.h"

#include "gtest/gtest.h"

#include <cfloat>
#include <cmath>
#include <fstream>
#include <sstream>

using namespace amct;

namespace {

std::string fixture(const std::string &name) {
  std::string dir = __FILE__;
  dir.resize(dir.find_last_of('/') + 1);
  return dir + "Inputs/config/" + name;
}

std::string readText(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// The layers of the model the .cfg fixtures are written for.
const LayerList kModel = {{"conv1", "Conv2d"},  {"conv2", "Conv2d"},
                          {"conv3", "Conv3d"},  {"deconv", "ConvTranspose2d"},
                          {"fc1", "Linear"},    {"fc2", "Linear"},
                          {"pool", "AvgPool2d"}};

/// Parses JSON text expected to be rejected; returns the message.
std::string jsonError(const std::string &text) {
  std::string error;
  std::optional<QuantConfig> config =
      parseQuantConfigJson(text, "q.json", error);
  EXPECT_FALSE(config) << text;
  return error;
}

/// A config with one layer "conv1" whose entry holds `members`.
std::string layerJson(const std::string &members) {
  return "{\"conv1\":{\"quant_enable\":true" +
         (members.empty() ? std::string() : "," + members) + "}}";
}

std::string cfgError(const std::string &text,
                     const LayerList &layers = kModel) {
  std::string error;
  std::optional<QuantConfig> config =
      parseSimpleConfig(text, "s.cfg", layers, error);
  EXPECT_FALSE(config) << text;
  return error;
}

QuantConfig cfgOk(const std::string &text, const LayerList &layers = kModel) {
  std::string error;
  std::optional<QuantConfig> config =
      parseSimpleConfig(text, "s.cfg", layers, error);
  EXPECT_TRUE(config) << error;
  return config ? *config : QuantConfig();
}

std::string bindError(const std::string &json,
                      const LayerList &layers = kModel) {
  std::string error;
  std::optional<QuantConfig> config =
      parseQuantConfigJson(json, "q.json", error);
  EXPECT_TRUE(config) << error;
  if (!config)
    return error;
  EXPECT_FALSE(bindQuantConfigToLayers(*config, layers, "q.json", error));
  return error;
}

void expectIfmrDefaults(const ActivationQuantParams &act) {
  EXPECT_EQ(act.numBits, 8);
  EXPECT_EQ(act.algo, "ifmr");
  EXPECT_EQ(act.maxPercentile, 0.999999);
  EXPECT_EQ(act.minPercentile, 0.999999);
  EXPECT_EQ(act.searchRangeStart, 0.7);
  EXPECT_EQ(act.searchRangeEnd, 1.3);
  EXPECT_EQ(act.searchStep, 0.01);
}

//===----------------------------------------------------------------------===//
// JSON fixtures
//===----------------------------------------------------------------------===//

TEST(QuantConfigJson, ParsesIfmrSampleKeyByKey) {
  std::string text = readText(fixture("ifmr.json"));
  std::string error;
  std::optional<QuantConfig> config =
      parseQuantConfigJson(text, "ifmr.json", error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->version, 1);
  EXPECT_EQ(config->batchNum, 2);
  EXPECT_TRUE(config->activationOffset);
  EXPECT_TRUE(config->doFusion);
  EXPECT_TRUE(config->skipFusionLayers.empty());
  ASSERT_EQ(config->layers.size(), 2u);

  const LayerQuantConfig *conv1 = config->find("conv1");
  ASSERT_TRUE(conv1);
  EXPECT_TRUE(conv1->quantEnable);
  EXPECT_TRUE(conv1->dmq.enabled);
  EXPECT_EQ(conv1->dmq.migrationStrength, 0.5);
  expectIfmrDefaults(conv1->act);
  EXPECT_FALSE(conv1->act.asymmetric);
  EXPECT_TRUE(conv1->act.asymmetricSet);
  EXPECT_EQ(conv1->wts.numBits, 8);
  EXPECT_EQ(conv1->wts.algo, "arq_quantize");
  EXPECT_TRUE(conv1->wts.channelWise);
  EXPECT_TRUE(conv1->wts.channelWiseSet);

  const LayerQuantConfig *fc = config->find("fc");
  ASSERT_TRUE(fc);
  EXPECT_FALSE(fc->wts.channelWise);
  EXPECT_TRUE(config->isQuantized("fc"));
  EXPECT_FALSE(config->isQuantized("conv2"));
  EXPECT_EQ(config->find("conv2"), nullptr);
}

TEST(QuantConfigJson, ParsesHfmgSample) {
  std::string error;
  std::optional<QuantConfig> config =
      parseQuantConfigJson(readText(fixture("hfmg.json")), "hfmg.json", error);
  ASSERT_TRUE(config) << error;
  const LayerQuantConfig *conv1 = config->find("conv1");
  ASSERT_TRUE(conv1);
  EXPECT_EQ(conv1->act.algo, "hfmg");
  EXPECT_EQ(conv1->act.numOfBins, 4096);
  EXPECT_FALSE(conv1->act.asymmetric);
  EXPECT_TRUE(conv1->dmq.enabled);
}

TEST(QuantConfigJson, ParsesAdaSampleAndAmctDefaults) {
  std::string error;
  std::optional<QuantConfig> config =
      parseQuantConfigJson(readText(fixture("ada.json")), "ada.json", error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->batchNum, 1);
  EXPECT_FALSE(config->activationOffset);
  EXPECT_FALSE(config->doFusion);
  EXPECT_EQ(config->skipFusionLayers, std::vector<std::string>{"conv1"});

  const LayerQuantConfig *ada = config->find("layer_name1");
  ASSERT_TRUE(ada);
  EXPECT_TRUE(ada->quantEnable);
  EXPECT_EQ(ada->wts.algo, "ada_quantize");
  EXPECT_EQ(ada->wts.numIteration, 10000);
  EXPECT_EQ(ada->wts.regParam, 0.1);
  EXPECT_EQ(ada->wts.betaRangeStart, 20);
  EXPECT_EQ(ada->wts.betaRangeEnd, 2);
  EXPECT_EQ(ada->wts.warmStart, 0.2);
  EXPECT_TRUE(ada->wts.channelWise);
  EXPECT_FALSE(ada->dmq.enabled);
  // No activation_quant_params: IFMR defaults, asymmetric from
  // activation_offset.
  expectIfmrDefaults(ada->act);
  EXPECT_FALSE(ada->act.asymmetric);
  EXPECT_FALSE(ada->act.asymmetricSet);

  // An entry without quant_enable is not quantized (AMCT's rule); HFMG is
  // inferred from num_of_bins.
  const LayerQuantConfig *conv1 = config->find("conv1");
  ASSERT_TRUE(conv1);
  EXPECT_FALSE(conv1->quantEnable);
  EXPECT_FALSE(config->isQuantized("conv1"));
  EXPECT_EQ(conv1->act.algo, "hfmg");
  EXPECT_EQ(conv1->act.numOfBins, 8192);
}

TEST(QuantConfigJson, WritesAmctSamplesByteForByte) {
  for (const char *name : {"ifmr.json", "hfmg.json"}) {
    std::string text = readText(fixture(name));
    std::string error;
    std::optional<QuantConfig> config = parseQuantConfigJson(text, name, error);
    ASSERT_TRUE(config) << error;
    EXPECT_EQ(writeQuantConfigJson(*config), text) << name;
  }
}

TEST(QuantConfigJson, WriteThenParseIsIdentity) {
  std::string error;
  std::optional<QuantConfig> config =
      parseQuantConfigJson(readText(fixture("ada.json")), "ada.json", error);
  ASSERT_TRUE(config) << error;
  ASSERT_TRUE(bindQuantConfigToLayers(
      *config, {{"layer_name1", "Conv2d"}, {"conv1", "Conv2d"}}, "ada.json",
      error))
      << error;
  std::string written = writeQuantConfigJson(*config);
  std::optional<QuantConfig> again =
      parseQuantConfigJson(written, "again.json", error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(writeQuantConfigJson(*again), written);
  const LayerQuantConfig *ada = again->find("layer_name1");
  ASSERT_TRUE(ada);
  EXPECT_EQ(ada->wts.algo, "ada_quantize");
  EXPECT_EQ(ada->wts.regParam, 0.1);
  EXPECT_EQ(ada->wts.betaRangeStart, 20);
  EXPECT_NE(written.find("\"beta_range\":[\n                20.0,\n"
                         "                2.0\n            ],"),
            std::string::npos)
      << written;
}

TEST(QuantConfigJson, WritesPythonStyleEscapesAndLists) {
  QuantConfig config;
  config.skipFusionLayers = {"a", "b"};
  LayerQuantConfig layer;
  layer.act.asymmetric = true;
  config.layers["caf\xC3\xA9/\"q\"\n\xF0\x9F\x98\x80"] = layer;
  std::string text = writeQuantConfigJson(config);
  std::string head = "{\n"
                     "    \"version\":1,\n"
                     "    \"batch_num\":1,\n"
                     "    \"activation_offset\":true,\n"
                     "    \"do_fusion\":true,\n"
                     "    \"skip_fusion_layers\":[\n"
                     "        \"a\",\n"
                     "        \"b\"\n"
                     "    ],\n";
  EXPECT_EQ(text.substr(0, head.size()), head);
  EXPECT_NE(text.find("    \"caf\\u00e9/\\\"q\\\"\\n\\ud83d\\ude00\":{\n"),
            std::string::npos)
      << text;
  std::string error;
  std::optional<QuantConfig> again = parseQuantConfigJson(text, "", error);
  ASSERT_TRUE(again) << error;
  EXPECT_TRUE(again->find("caf\xC3\xA9/\"q\"\n\xF0\x9F\x98\x80"));
  EXPECT_EQ(text.back(), '}');
}

TEST(QuantConfigJson, AsymmetricFollowsActivationOffsetUnlessSet) {
  std::string error;
  std::optional<QuantConfig> config = parseQuantConfigJson(
      R"({"a":{"quant_enable":true},
          "b":{"activation_quant_params":{"asymmetric":false}},
          "activation_offset":true})",
      "q.json", error);
  ASSERT_TRUE(config) << error;
  EXPECT_TRUE(config->find("a")->act.asymmetric);
  EXPECT_FALSE(config->find("a")->act.asymmetricSet);
  EXPECT_FALSE(config->find("b")->act.asymmetric);
  EXPECT_TRUE(config->find("b")->act.asymmetricSet);
}

TEST(QuantConfigJson, AcceptsBoundaryValues) {
  std::string error;
  EXPECT_TRUE(parseQuantConfigJson(
      layerJson(R"("dmq_balancer_param":0.2,"activation_quant_params":{
        "max_percentile":1,"min_percentile":0.5000001,
        "search_range":[0.7,1.3],"search_step":0.6})"),
      "q.json", error))
      << error;
  EXPECT_TRUE(parseQuantConfigJson(
      layerJson(R"("dmq_balancer_param":0.8,"activation_quant_params":{
        "search_range":[0.1,0.3],"search_step":0.2})"),
      "q.json", error))
      << error;
}

//===----------------------------------------------------------------------===//
// JSON errors
//===----------------------------------------------------------------------===//

TEST(QuantConfigJsonErrors, SyntaxAndStructure) {
  EXPECT_EQ(jsonError(""), "q.json: the config file is empty");
  EXPECT_EQ(jsonError(" \n\t"), "q.json: the config file is empty");
  EXPECT_EQ(jsonError("{\n    \"version\":1,\n    \"batch_num\" 2\n}"),
            "q.json:3:17: invalid JSON: syntax error while parsing object "
            "separator - unexpected number literal; expected ':'");
  EXPECT_EQ(jsonError("{\n  \"a\": {},\n}"),
            "q.json:3:1: invalid JSON: syntax error while parsing object key "
            "- unexpected '}'; expected string literal");
  EXPECT_EQ(jsonError("{\"conv1\":{"),
            "q.json:1:11: invalid JSON: syntax error while parsing object key "
            "- unexpected end of input; expected string literal");
  EXPECT_EQ(jsonError("{\"batch_num\":1,\n\"batch_num\":2}"),
            "q.json: duplicate key 'batch_num' (every key may appear once)");
  EXPECT_EQ(jsonError(layerJson(
                R"("activation_quant_params":{"num_bits":8,"num_bits":8})")),
            "q.json: duplicate key 'conv1.activation_quant_params.num_bits' "
            "(every key may appear once)");
  EXPECT_EQ(jsonError("[1, 2]"),
            "q.json: the config must be a JSON object, got an array");
  EXPECT_EQ(jsonError(R"({"foo":1})"),
            "q.json: unknown top-level key 'foo' holding 1 (allowed: version, "
            "batch_num, activation_offset, do_fusion, skip_fusion_layers, or "
            "a layer name holding an object)");
  EXPECT_EQ(jsonError(R"({"tensor_quantize":[]})"),
            "q.json: unknown top-level key 'tensor_quantize' holding an array "
            "(allowed: version, batch_num, activation_offset, do_fusion, "
            "skip_fusion_layers, or a layer name holding an object)");
  EXPECT_EQ(jsonError(R"({"":{}})"),
            "q.json: \"\": a layer name cannot be empty");
}

TEST(QuantConfigJsonErrors, GlobalKeys) {
  EXPECT_EQ(jsonError(R"({"version":2})"), "q.json: version: must be 1, got 2");
  EXPECT_EQ(jsonError(R"({"version":"1"})"),
            "q.json: version: expected an integer, got \"1\"");
  EXPECT_EQ(jsonError(R"({"batch_num":0})"),
            "q.json: batch_num: must be greater than 0, got 0");
  EXPECT_EQ(jsonError(R"({"batch_num":-3})"),
            "q.json: batch_num: must be greater than 0, got -3");
  EXPECT_EQ(jsonError(R"({"batch_num":1.5})"),
            "q.json: batch_num: expected an integer, got 1.5");
  EXPECT_EQ(jsonError(R"({"batch_num":99999999999})"),
            "q.json: batch_num: the integer 99999999999 is out of range");
  EXPECT_EQ(jsonError(R"({"batch_num":-99999999999})"),
            "q.json: batch_num: the integer -99999999999 is out of range");
  EXPECT_EQ(jsonError(R"({"batch_num":18446744073709551615})"),
            "q.json: batch_num: the integer 18446744073709551615 is out of "
            "range");
  EXPECT_EQ(jsonError(R"({"activation_offset":"true"})"),
            "q.json: activation_offset: expected true or false, got \"true\"");
  EXPECT_EQ(jsonError(R"({"do_fusion":1})"),
            "q.json: do_fusion: expected true or false, got 1");
  EXPECT_EQ(jsonError(R"({"skip_fusion_layers":"conv1"})"),
            "q.json: skip_fusion_layers: expected a list of layer names, got "
            "\"conv1\"");
  EXPECT_EQ(jsonError(R"({"skip_fusion_layers":["a",1]})"),
            "q.json: skip_fusion_layers[1]: expected a string, got 1");
  EXPECT_EQ(jsonError(R"({"skip_fusion_layers":["a","a"]})"),
            "q.json: skip_fusion_layers: layer 'a' is listed twice");
}

TEST(QuantConfigJsonErrors, LayerKeys) {
  EXPECT_EQ(jsonError(layerJson(R"("foo":1)")),
            "q.json: conv1: unknown key 'foo' (allowed: quant_enable, "
            "dmq_balancer_param, activation_quant_params, "
            "weight_quant_params)");
  EXPECT_EQ(jsonError(R"({"conv1":{"quant_enable":"yes"}})"),
            "q.json: conv1.quant_enable: expected true or false, got \"yes\"");
  EXPECT_EQ(jsonError(layerJson(R"("dmq_balancer_param":0.9)")),
            "q.json: conv1.dmq_balancer_param: must be in [0.2, 0.8], got 0.9");
  EXPECT_EQ(jsonError(layerJson(R"("dmq_balancer_param":0.1)")),
            "q.json: conv1.dmq_balancer_param: must be in [0.2, 0.8], got 0.1");
  EXPECT_EQ(jsonError(layerJson(R"("dmq_balancer_param":"0.5")")),
            "q.json: conv1.dmq_balancer_param: expected a number, got \"0.5\"");
  EXPECT_EQ(jsonError(layerJson(R"("activation_quant_params":8)")),
            "q.json: conv1.activation_quant_params: expected an object, got 8");
  EXPECT_EQ(jsonError(layerJson(R"("weight_quant_params":[])")),
            "q.json: conv1.weight_quant_params: expected an object, got an "
            "array");
}

TEST(QuantConfigJsonErrors, ActivationParams) {
  auto act = [](const std::string &members) {
    return jsonError(
        layerJson("\"activation_quant_params\":{" + members + "}"));
  };
  const std::string p = "q.json: conv1.activation_quant_params";
  EXPECT_EQ(act(R"("foo":1)"),
            p + ": unknown key 'foo' (allowed: num_bits, max_percentile, "
                "min_percentile, search_range, search_step, act_algo, "
                "num_of_bins, asymmetric)");
  EXPECT_EQ(act(R"("num_bits":4)"),
            p + ".num_bits: must be 8 (amct-mlir quantizes activations to 8 "
                "bits only), got 4");
  EXPECT_EQ(act(R"("num_bits":16)"),
            p + ".num_bits: must be 8 (amct-mlir quantizes activations to 8 "
                "bits only), got 16");
  EXPECT_EQ(act(R"("num_bits":8.0)"),
            p + ".num_bits: expected an integer, got 8.0");
  EXPECT_EQ(act(R"("num_bits":true)"),
            p + ".num_bits: expected an integer, got true");
  EXPECT_EQ(act(R"("max_percentile":0.5)"),
            p + ".max_percentile: must be greater than 0.5 and at most 1.0, "
                "got 0.5");
  EXPECT_EQ(act(R"("min_percentile":1.01)"),
            p + ".min_percentile: must be greater than 0.5 and at most 1.0, "
                "got 1.01");
  EXPECT_EQ(act(R"("max_percentile":"0.9")"),
            p + ".max_percentile: expected a number, got \"0.9\"");
  EXPECT_EQ(act(R"("search_range":[0.7])"),
            p + ".search_range: expected a list of two numbers, got a list of "
                "1 elements");
  EXPECT_EQ(act(R"("search_range":[0.7,1.3,2])"),
            p + ".search_range: expected a list of two numbers, got a list of "
                "3 elements");
  EXPECT_EQ(act(R"("search_range":0.7)"),
            p + ".search_range: expected a list of two numbers, got 0.7");
  EXPECT_EQ(act(R"("search_range":["a",1])"),
            p + ".search_range[0]: expected a number, got \"a\"");
  EXPECT_EQ(act(R"("search_range":[0,1])"),
            p + ".search_range: the start must be greater than 0, got 0.0");
  EXPECT_EQ(act(R"("search_range":[1.3,0.7])"),
            p + ".search_range: the start must be less than the end, got 1.3 "
                "and 0.7");
  EXPECT_EQ(act(R"("search_range":[1,1])"),
            p + ".search_range: the start must be less than the end, got 1.0 "
                "and 1.0");
  EXPECT_EQ(act(R"("search_step":0)"),
            p + ".search_step: must be greater than 0, got 0.0");
  EXPECT_EQ(act(R"("search_step":-0.01)"),
            p + ".search_step: must be greater than 0, got -0.01");
  EXPECT_EQ(act(R"("search_step":0.7)"),
            p + ".search_step: must be at most the search range's length 1.3 "
                "- 0.7, got 0.7");
  EXPECT_EQ(act(R"("search_range":[0.8,1.2],"search_step":0.5)"),
            p + ".search_step: must be at most the search range's length 1.2 "
                "- 0.8, got 0.5");
  EXPECT_EQ(act(R"("act_algo":"minmax")"),
            p + ".act_algo: must be \"ifmr\" or \"hfmg\", got \"minmax\"");
  EXPECT_EQ(act(R"("act_algo":1)"), p + ".act_algo: expected a string, got 1");
  EXPECT_EQ(act(R"("act_algo":"hfmg","num_of_bins":1000)"),
            p + ".num_of_bins: must be 1024, 2048, 4096 or 8192, got 1000");
  EXPECT_EQ(act(R"("act_algo":"ifmr","num_of_bins":1024)"),
            p + ".num_of_bins: is an HFMG key, not allowed with act_algo "
                "\"ifmr\"");
  EXPECT_EQ(act(R"("act_algo":"hfmg","search_step":0.01)"),
            p + ".search_step: is an IFMR key, not allowed with act_algo "
                "\"hfmg\"");
  EXPECT_EQ(act(R"("max_percentile":0.9,"num_of_bins":1024)"),
            p + ": IFMR key 'max_percentile' and HFMG key 'num_of_bins' "
                "cannot appear together");
  EXPECT_EQ(act(R"("asymmetric":1)"),
            p + ".asymmetric: expected true or false, got 1");
}

TEST(QuantConfigJsonErrors, WeightParams) {
  auto wts = [](const std::string &members) {
    return jsonError(layerJson("\"weight_quant_params\":{" + members + "}"));
  };
  const std::string p = "q.json: conv1.weight_quant_params";
  EXPECT_EQ(wts(R"("foo":1)"),
            p + ": unknown key 'foo' (allowed: num_bits, wts_algo, "
                "channel_wise, num_iteration, reg_param, beta_range, "
                "warm_start)");
  EXPECT_EQ(wts(R"("num_bits":4)"),
            p + ".num_bits: must be 8 (amct-mlir quantizes weights to 8 bits "
                "only), got 4");
  EXPECT_EQ(wts(R"("wts_algo":"gptq")"),
            p + ".wts_algo: must be \"arq_quantize\" or \"ada_quantize\", got "
                "\"gptq\"");
  EXPECT_EQ(wts(R"("channel_wise":"yes")"),
            p + ".channel_wise: expected true or false, got \"yes\"");
  EXPECT_EQ(wts(R"("reg_param":0.1)"),
            p + ".reg_param: is an ada_quantize key, not allowed with wts_algo "
                "\"arq_quantize\"");
  EXPECT_EQ(wts(R"("wts_algo":"arq_quantize","warm_start":0.2)"),
            p + ".warm_start: is an ada_quantize key, not allowed with "
                "wts_algo \"arq_quantize\"");
  const std::string ada = R"("wts_algo":"ada_quantize",)";
  EXPECT_EQ(wts(ada + R"("reg_param":1.5)"),
            p + ".reg_param: must be greater than 0 and less than 1, got 1.5");
  EXPECT_EQ(wts(ada + R"("warm_start":0)"),
            p + ".warm_start: must be greater than 0 and less than 1, got 0.0");
  EXPECT_EQ(wts(ada + R"("num_iteration":-1)"),
            p + ".num_iteration: must be at least 1 (ADA's iterations), got -1");
  EXPECT_EQ(wts(ada + R"("num_iteration":0)"),
            p + ".num_iteration: must be at least 1 (ADA's iterations), got 0");
  EXPECT_EQ(wts(ada + R"("beta_range":[2,20])"),
            p + ".beta_range: the start must be greater than the end, got 2.0 "
                "and 20.0");
  EXPECT_EQ(wts(ada + R"("beta_range":[2,0])"),
            p + ".beta_range: the end must be greater than 0, got 0.0");
}

//===----------------------------------------------------------------------===//
// Binding a JSON config to the model
//===----------------------------------------------------------------------===//

TEST(QuantConfigBind, FillsTypeDefaults) {
  std::string error;
  std::optional<QuantConfig> config = parseQuantConfigJson(
      R"({"activation_offset":true,"skip_fusion_layers":["conv1"],
          "conv1":{"quant_enable":true},"fc1":{"quant_enable":true},
          "conv3":{"quant_enable":true}})",
      "q.json", error);
  ASSERT_TRUE(config) << error;
  ASSERT_TRUE(bindQuantConfigToLayers(*config, kModel, "q.json", error))
      << error;
  EXPECT_TRUE(config->find("conv1")->wts.channelWise);
  EXPECT_FALSE(config->find("fc1")->wts.channelWise);
  EXPECT_TRUE(config->find("conv1")->act.asymmetric);
  // Conv3d activations are symmetric only.
  EXPECT_FALSE(config->find("conv3")->act.asymmetric);
}

TEST(QuantConfigBind, Errors) {
  EXPECT_EQ(bindError(R"({"conv9":{"quant_enable":true}})"),
            "q.json: conv9: not a quantizable layer of the model (quantizable "
            "layers: conv1, conv2, conv3, deconv, fc1, fc2, pool)");
  EXPECT_EQ(bindError(R"({"skip_fusion_layers":["convX"]})"),
            "q.json: skip_fusion_layers: 'convX' is not a layer of the model "
            "(quantizable layers: conv1, conv2, conv3, deconv, fc1, fc2, "
            "pool)");
  // Per-channel Linear weights are an extension (AMCT refuses them); a
  // layer without weights cannot have them.
  EXPECT_EQ(
      bindError(R"({"pool":{"weight_quant_params":{"channel_wise":true}}})"),
      "q.json: pool.weight_quant_params.channel_wise: must be false for a "
      "AvgPool2d layer (per-channel weights are for Conv2d, Conv3d, "
      "ConvTranspose2d and Linear)");
  {
    std::string error;
    std::optional<QuantConfig> linear = parseQuantConfigJson(
        R"({"fc1":{"weight_quant_params":{"channel_wise":true}}})", "q.json", error);
    ASSERT_TRUE(linear) << error;
    ASSERT_TRUE(bindQuantConfigToLayers(*linear, kModel, "q.json", error)) << error;
    EXPECT_TRUE(linear->layers.at("fc1").wts.channelWise);
  }
  EXPECT_EQ(
      bindError(R"({"conv3":{"activation_quant_params":{"asymmetric":true}}})"),
      "q.json: conv3.activation_quant_params.asymmetric: must be false "
      "for a Conv3d layer (its activations are quantized symmetrically "
      "only)");
  EXPECT_EQ(bindError(R"({"pool":{"dmq_balancer_param":0.5}})"),
            "q.json: pool.dmq_balancer_param: not supported for a AvgPool2d "
            "layer (it has no weights)");
  EXPECT_EQ(
      bindError(
          R"({"conv3":{"weight_quant_params":{"wts_algo":"ada_quantize"}}})"),
      "q.json: conv3.weight_quant_params.wts_algo: ada_quantize is not "
      "supported for a Conv3d layer (only Conv2d, ConvTranspose2d and "
      "Linear)");
  EXPECT_EQ(bindError("{}", {{"x", "Conv1d"}}),
            "q.json: layer 'x' has type 'Conv1d', which is not a quantizable "
            "layer type (Conv2d, Conv3d, ConvTranspose2d, Linear, AvgPool2d)");
  EXPECT_EQ(bindError("{}", {{"x", "Conv2d"}, {"x", "Linear"}}),
            "q.json: two quantizable layers of the model are named 'x'; layer "
            "names must be unique");
}

TEST(QuantConfigBind, LongLayerListsAreAbbreviated) {
  LayerList many;
  for (int i = 0; i < 20; ++i)
    many.push_back({"l" + std::to_string(i), "Conv2d"});
  EXPECT_EQ(bindError(R"({"zz":{}})", many),
            "q.json: zz: not a quantizable layer of the model (quantizable "
            "layers: l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, ... 8 "
            "more)");
}

//===----------------------------------------------------------------------===//
// Simple config
//===----------------------------------------------------------------------===//

TEST(SimpleConfig, ExpandsFixtureWithAmctPrecedence) {
  std::string error;
  std::optional<QuantConfig> config = parseSimpleConfig(
      readText(fixture("simple.cfg")), "simple.cfg", kModel, error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->batchNum, 4);
  EXPECT_FALSE(config->activationOffset);
  EXPECT_TRUE(config->doFusion);
  EXPECT_EQ(config->skipFusionLayers, std::vector<std::string>{"conv3"});
  ASSERT_EQ(config->layers.size(), kModel.size());

  // common_config.
  const LayerQuantConfig &conv1 = config->layers.at("conv1");
  EXPECT_TRUE(conv1.quantEnable);
  expectIfmrDefaults(conv1.act);
  EXPECT_TRUE(conv1.act.asymmetric); // common_config's, not activation_offset
  EXPECT_TRUE(conv1.wts.channelWise);
  EXPECT_TRUE(conv1.dmq.enabled);
  EXPECT_EQ(conv1.dmq.migrationStrength, 0.3); // the float 0.3f, as 0.3

  // override_layer_configs wins, whole: no dmq from common_config.
  const LayerQuantConfig &conv2 = config->layers.at("conv2");
  EXPECT_TRUE(conv2.quantEnable);
  EXPECT_EQ(conv2.act.algo, "ifmr");
  EXPECT_EQ(conv2.act.searchRangeStart, 0.8);
  EXPECT_EQ(conv2.act.searchRangeEnd, 1.2);
  EXPECT_EQ(conv2.act.searchStep, 0.02);
  EXPECT_EQ(conv2.act.maxPercentile, 0.9999);
  EXPECT_EQ(conv2.act.minPercentile, 0.9999);
  EXPECT_FALSE(conv2.act.asymmetric);
  EXPECT_FALSE(conv2.wts.channelWise);
  EXPECT_FALSE(conv2.dmq.enabled);

  // Conv3d from common_config: symmetric whatever common_config says.
  const LayerQuantConfig &conv3 = config->layers.at("conv3");
  EXPECT_FALSE(conv3.act.asymmetric);
  EXPECT_TRUE(conv3.wts.channelWise);
  EXPECT_TRUE(conv3.dmq.enabled);

  // Type override without asymmetric, same algorithm as common_config:
  // inherits common_config's asymmetric; channel_wise by type.
  const LayerQuantConfig &deconv = config->layers.at("deconv");
  EXPECT_EQ(deconv.act.searchStep, 0.05);
  EXPECT_EQ(deconv.act.searchRangeStart, 0.7);
  EXPECT_TRUE(deconv.act.asymmetric);
  EXPECT_TRUE(deconv.wts.channelWise);
  EXPECT_FALSE(deconv.dmq.enabled);

  // Type override with another algorithm: asymmetric = activation_offset.
  const LayerQuantConfig &fc1 = config->layers.at("fc1");
  EXPECT_TRUE(fc1.quantEnable);
  EXPECT_EQ(fc1.act.algo, "hfmg");
  EXPECT_EQ(fc1.act.numOfBins, 2048);
  EXPECT_FALSE(fc1.act.asymmetric);
  EXPECT_FALSE(fc1.wts.channelWise);

  // Skipped by name and by type: entries kept, not quantized.
  EXPECT_FALSE(config->layers.at("fc2").quantEnable);
  EXPECT_EQ(config->layers.at("fc2").act.algo, "hfmg");
  const LayerQuantConfig &pool = config->layers.at("pool");
  EXPECT_FALSE(pool.quantEnable);
  EXPECT_FALSE(pool.dmq.enabled); // AvgPool2d has no weights
  EXPECT_FALSE(pool.wts.channelWise);
  EXPECT_FALSE(config->isQuantized("pool"));
}

TEST(SimpleConfig, WritesTheJsonAmctWould) {
  std::string error;
  std::optional<QuantConfig> config =
      loadQuantConfigFile(fixture("simple.cfg"), kModel, error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(writeQuantConfigJson(*config),
            readText(fixture("simple_expected.json")));
  // And that JSON reads back to the same config.
  std::optional<QuantConfig> again =
      loadQuantConfigFile(fixture("simple_expected.json"), kModel, error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(writeQuantConfigJson(*again), writeQuantConfigJson(*config));
}

TEST(SimpleConfig, LayerOverrideBeatsTypeOverrideBeatsCommon) {
  QuantConfig config = cfgOk(R"(
    common_config { hfmg_quantize { num_of_bins: 1024 } }
    override_layer_types {
      layer_type: "Conv2d"
      calibration_config { hfmg_quantize { num_of_bins: 2048 } }
    }
    override_layer_configs {
      layer_name: "conv2"
      calibration_config { hfmg_quantize { num_of_bins: 8192 } }
    })");
  EXPECT_EQ(config.layers.at("conv1").act.numOfBins, 2048);
  EXPECT_EQ(config.layers.at("conv2").act.numOfBins, 8192);
  EXPECT_EQ(config.layers.at("conv3").act.numOfBins, 1024);
  EXPECT_EQ(config.layers.at("fc1").act.numOfBins, 1024);
}

TEST(SimpleConfig, EmptyCommonGivesAmctDefaults) {
  QuantConfig config = cfgOk("batch_num: 1");
  EXPECT_TRUE(config.activationOffset);
  for (const auto &[name, type] : kModel) {
    const LayerQuantConfig &layer = config.layers.at(name);
    EXPECT_TRUE(layer.quantEnable) << name;
    expectIfmrDefaults(layer.act);
    EXPECT_EQ(layer.act.asymmetric, type != "Conv3d") << name;
    EXPECT_EQ(layer.wts.algo, "arq_quantize");
    EXPECT_EQ(layer.wts.channelWise,
              type == "Conv2d" || type == "Conv3d" || type == "ConvTranspose2d")
        << name;
    EXPECT_FALSE(layer.dmq.enabled);
  }
}

TEST(SimpleConfig, CommonAdaFallsBackToArqWhereUnsupported) {
  QuantConfig config = cfgOk(R"(
    common_config { ada_quantize { num_iteration: 500 reg_param: 0.05 } })");
  EXPECT_EQ(config.layers.at("conv1").wts.algo, "ada_quantize");
  EXPECT_EQ(config.layers.at("conv1").wts.numIteration, 500);
  EXPECT_EQ(config.layers.at("conv1").wts.regParam, 0.05);
  EXPECT_EQ(config.layers.at("conv1").wts.betaRangeStart, 20);
  EXPECT_EQ(config.layers.at("fc1").wts.algo, "ada_quantize");
  EXPECT_EQ(config.layers.at("conv3").wts.algo, "arq_quantize");
  EXPECT_TRUE(config.layers.at("conv3").wts.channelWise);
  EXPECT_EQ(config.layers.at("pool").wts.algo, "arq_quantize");
}

TEST(SimpleConfig, CommonChannelWiseReachesLinear) {
  // Per-channel Linear weights: an extension (AMCT refuses them).
  QuantConfig all = cfgOk("common_config { arq_quantize { channel_wise: true } }");
  EXPECT_TRUE(all.layers.at("fc1").wts.channelWise);
  EXPECT_TRUE(all.layers.at("fc1").quantEnable);
  QuantConfig config = cfgOk(R"(
    skip_layer_types: "Linear"
    common_config { arq_quantize { channel_wise: true } })");
  EXPECT_TRUE(config.layers.at("conv1").wts.channelWise);
  EXPECT_FALSE(config.layers.at("fc1").quantEnable);
  // The default stays AMCT's: per tensor for Linear.
  EXPECT_FALSE(cfgOk("batch_num: 1").layers.at("fc1").wts.channelWise);
  // An AvgPool2d has no weights: AMCT would reject common_config's
  // channel_wise for it; here it is moot and written as false.
  EXPECT_FALSE(config.layers.at("pool").wts.channelWise);
  EXPECT_TRUE(config.layers.at("pool").quantEnable);
}

TEST(SimpleConfigErrors, SyntaxAndFields) {
  EXPECT_EQ(cfgError(""), "s.cfg: the config file is empty");
  EXPECT_EQ(cfgError("batch_num: 2\ncommon_config {\n  ifmr_quantize {\n"
                     "    search_step 0.01\n  }\n}\n"),
            "s.cfg:4:17: Expected \":\", found \"0.01\".");
  EXPECT_EQ(cfgError("batch_num: 2\nbatch_size: 3\n"),
            "s.cfg:2:11: Message type \"AMCTConfig\" has no field named "
            "\"batch_size\".");
  EXPECT_EQ(cfgError("batch_num: 2\nbatch_num: 3\n"),
            "s.cfg:2:10: Non-repeated field \"batch_num\" is specified "
            "multiple times.");
  EXPECT_EQ(cfgError("batch_num: -1"), "s.cfg:1:12: Expected integer, got: -");
  EXPECT_EQ(
      cfgError("common_config {\n ifmr_quantize {}\n hfmg_quantize {}\n}"),
      "s.cfg:3:16: Field \"hfmg_quantize\" is specified along with field "
      "\"ifmr_quantize\", another member of oneof \"acts_quant_algo\".");
  EXPECT_EQ(cfgError("override_layer_types { layer_type: \"Linear\" }"),
            "s.cfg: Message missing required fields: "
            "override_layer_types[0].calibration_config");
}

TEST(SimpleConfigErrors, Globals) {
  EXPECT_EQ(cfgError("batch_num: 0"),
            "s.cfg:1:1: batch_num: must be greater than 0");
  EXPECT_EQ(
      cfgError("fakequant_precision_mode: FORCE_FP16_QUANT"),
      "s.cfg:1:1: fakequant_precision_mode is not supported by amct-mlir");
  EXPECT_EQ(cfgError("skip_layers: \"conv1\"\nskip_layers: \"conv1\""),
            "s.cfg:2:1: skip_layers: 'conv1' is listed twice");
  EXPECT_EQ(cfgError("skip_layers: \"relu1\""),
            "s.cfg:1:1: skip_layers: 'relu1' is not a quantizable layer of the "
            "model (quantizable layers: conv1, conv2, conv3, deconv, fc1, fc2, "
            "pool)");
  EXPECT_EQ(cfgError("skip_layer_types: \"Conv1d\""),
            "s.cfg:1:1: skip_layer_types: 'Conv1d' is not a quantizable layer "
            "type (Conv2d, Conv3d, ConvTranspose2d, Linear, AvgPool2d)");
  EXPECT_EQ(
      cfgError("skip_layer_types: \"Linear\" skip_layer_types: \"Linear\""),
      "s.cfg:1:28: skip_layer_types: 'Linear' is listed twice");
  EXPECT_EQ(cfgError("skip_layer_types: [\"Conv2d\", \"Conv3d\", "
                     "\"ConvTranspose2d\", \"Linear\", \"AvgPool2d\"]"),
            "s.cfg:1:1: skip_layer_types: every quantizable layer type is "
            "skipped");
  EXPECT_EQ(cfgError("skip_layers: [\"conv1\", \"conv2\", \"conv3\", "
                     "\"deconv\"]\nskip_layer_types: [\"Linear\", "
                     "\"AvgPool2d\"]"),
            "s.cfg: no layer left to quantize: every quantizable layer is in "
            "skip_layers or skip_layer_types");
  EXPECT_EQ(
      cfgError("skip_fusion_layers: \"convX\""),
      "s.cfg:1:1: skip_fusion_layers: 'convX' is not a layer of the model "
      "(quantizable layers: conv1, conv2, conv3, deconv, fc1, fc2, pool)");
  EXPECT_EQ(cfgError("skip_fusion_layers: [\"conv1\", \"conv1\"]"),
            "s.cfg:1:1: skip_fusion_layers: 'conv1' is listed twice");
}

TEST(SimpleConfigErrors, CalibrationValues) {
  EXPECT_EQ(cfgError("common_config {\n  ifmr_quantize {\n    max_percentile: "
                     "0.4\n  }\n}"),
            "s.cfg:3:5: common_config.ifmr_quantize.max_percentile: must be "
            "greater than 0.5 and at most 1.0, got 0.4");
  EXPECT_EQ(cfgError("common_config { ifmr_quantize { min_percentile: 1.5 } }"),
            "s.cfg:1:33: common_config.ifmr_quantize.min_percentile: must be "
            "greater than 0.5 and at most 1.0, got 1.5");
  EXPECT_EQ(
      cfgError("common_config { ifmr_quantize { search_range_start: 1.5 } }"),
      "s.cfg:1:33: common_config.ifmr_quantize.search_range_start: the "
      "start must be less than the end, got 1.5 and 1.3");
  EXPECT_EQ(
      cfgError("common_config { ifmr_quantize { search_range_end: 0.5 } }"),
      "s.cfg:1:33: common_config.ifmr_quantize.search_range_end: the start "
      "must be less than the end, got 0.7 and 0.5");
  EXPECT_EQ(cfgError("common_config { ifmr_quantize { search_step: 0 } }"),
            "s.cfg:1:33: common_config.ifmr_quantize.search_step: must be "
            "greater than 0, got 0.0");
  EXPECT_EQ(cfgError("common_config { ifmr_quantize { dst_type: INT16 } }"),
            "s.cfg:1:33: common_config.ifmr_quantize.dst_type: only INT8 is "
            "supported by amct-mlir");
  EXPECT_EQ(cfgError("common_config { hfmg_quantize { num_of_bins: 100 } }"),
            "s.cfg:1:33: common_config.hfmg_quantize.num_of_bins: must be "
            "1024, 2048, 4096 or 8192, got 100");
  EXPECT_EQ(cfgError("common_config { hfmg_quantize { dst_type: INT16 } }"),
            "s.cfg:1:33: common_config.hfmg_quantize.dst_type: only INT8 is "
            "supported by amct-mlir");
  EXPECT_EQ(cfgError("common_config { arq_quantize { quant_bits: 4 } }"),
            "s.cfg:1:32: common_config.arq_quantize.quant_bits: must be 8 "
            "(amct-mlir quantizes weights to 8 bits only), got 4");
  EXPECT_EQ(cfgError("common_config { ada_quantize { reg_param: 2 } }"),
            "s.cfg:1:32: common_config.ada_quantize.reg_param: must be greater "
            "than 0 and less than 1, got 2.0");
  EXPECT_EQ(
      cfgError("common_config { ada_quantize { warm_start: 1 } }"),
      "s.cfg:1:32: common_config.ada_quantize.warm_start: must be greater "
      "than 0 and less than 1, got 1.0");
  EXPECT_EQ(
      cfgError("common_config { ada_quantize { beta_range_start: 1 } }"),
      "s.cfg:1:32: common_config.ada_quantize.beta_range_start: the start "
      "must be greater than the end, got 1.0 and 2.0");
  EXPECT_EQ(
      cfgError("common_config { dmq_balancer { migration_strength: 0.9 } }"),
      "s.cfg:1:32: common_config.dmq_balancer.migration_strength: must be "
      "in [0.2, 0.8], got 0.9");

}

TEST(SimpleConfigErrors, Overrides) {
  EXPECT_EQ(cfgError(R"(override_layer_types {
  layer_type: "MatMul"
  calibration_config {}
})"),
            "s.cfg:2:3: override_layer_types[MatMul].layer_type: 'MatMul' is "
            "not a quantizable layer type (Conv2d, Conv3d, ConvTranspose2d, "
            "Linear, AvgPool2d)");
  EXPECT_EQ(
      cfgError(
          R"(override_layer_types { layer_type: "Linear" calibration_config {} }
override_layer_types { layer_type: "Linear" calibration_config {} })"),
      "s.cfg:2:24: override_layer_types[Linear]: layer type 'Linear' is "
      "overridden twice");
  EXPECT_EQ(cfgError(R"(override_layer_types {
  layer_type: "AvgPool2d"
  calibration_config {
    arq_quantize { channel_wise: true }
  }
})"),
            "s.cfg:4:20: override_layer_types[AvgPool2d].calibration_config."
            "arq_quantize.channel_wise: must be false for a AvgPool2d layer "
            "(per-channel weights are for Conv2d, Conv3d, ConvTranspose2d and Linear)");
  EXPECT_EQ(cfgError(R"(override_layer_types { layer_type: "Conv3d"
  calibration_config { hfmg_quantize { asymmetric: true } } })"),
            "s.cfg:2:40: override_layer_types[Conv3d].calibration_config."
            "hfmg_quantize.asymmetric: must be false for a Conv3d layer (its "
            "activations are quantized symmetrically only)");
  EXPECT_EQ(cfgError(R"(override_layer_types { layer_type: "AvgPool2d"
  calibration_config { dmq_balancer {} } })"),
            "s.cfg:2:24: override_layer_types[AvgPool2d].calibration_config."
            "dmq_balancer: not supported for a AvgPool2d layer (it has no "
            "weights)");
  EXPECT_EQ(cfgError(R"(override_layer_configs { layer_name: "conv3"
  calibration_config { ada_quantize {} } })"),
            "s.cfg:2:24: override_layer_configs[conv3].calibration_config."
            "ada_quantize: not supported for layer 'conv3' (Conv3d) (only "
            "Conv2d, ConvTranspose2d and Linear)");
  EXPECT_EQ(cfgError(R"(override_layer_configs { layer_name: "pool"
  calibration_config { ifmr_quantize { asymmetric: true } arq_quantize { channel_wise: true } } })"),
            "s.cfg:2:74: override_layer_configs[pool].calibration_config."
            "arq_quantize.channel_wise: must be false for layer 'pool' (AvgPool2d) "
            "(per-channel weights are for Conv2d, Conv3d, ConvTranspose2d and Linear)");
  EXPECT_EQ(
      cfgError(
          R"(override_layer_configs { layer_name: "fc9" calibration_config {} })"),
      "s.cfg:1:26: override_layer_configs[fc9].layer_name: 'fc9' is not a "
      "quantizable layer of the model (quantizable layers: conv1, conv2, "
      "conv3, deconv, fc1, fc2, pool)");
  EXPECT_EQ(
      cfgError(
          R"(override_layer_configs { layer_name: "fc1" calibration_config {} }
override_layer_configs { layer_name: "fc1" calibration_config {} })"),
      "s.cfg:2:26: override_layer_configs[fc1]: layer 'fc1' is overridden "
      "twice");
  EXPECT_EQ(cfgError(R"(override_layer_configs { layer_name: "fc1"
  calibration_config { ifmr_quantize { search_step: 0.9 } } })"),
            "s.cfg:2:40: override_layer_configs[fc1].calibration_config."
            "ifmr_quantize.search_step: must be at most the search range's "
            "length 1.3 - 0.7, got 0.9");
}

TEST(SimpleConfigErrors, LayerList) {
  EXPECT_EQ(cfgError("batch_num: 1", {}),
            "s.cfg: the model has no quantizable layer (Conv2d, Conv3d, "
            "ConvTranspose2d, Linear, AvgPool2d)");
  EXPECT_EQ(cfgError("batch_num: 1", {{"batch_num", "Conv2d"}}),
            "s.cfg: layer 'batch_num' has the name of a global config key, so "
            "it cannot be configured");
  EXPECT_EQ(cfgError("batch_num: 1", {{"", "Conv2d"}}),
            "s.cfg: a quantizable layer of the model has an empty name; layer "
            "names are config keys");
}

//===----------------------------------------------------------------------===//
// create_quant_config, detection, loading
//===----------------------------------------------------------------------===//

TEST(CreateQuantConfig, DefaultsAndSkips) {
  std::string error;
  std::optional<QuantConfig> config =
      createQuantConfig(kModel, {"fc2"}, 3, false, error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->batchNum, 3);
  EXPECT_FALSE(config->activationOffset);
  EXPECT_FALSE(config->layers.at("fc2").quantEnable);
  EXPECT_TRUE(config->layers.at("fc1").quantEnable);
  EXPECT_FALSE(config->layers.at("conv1").act.asymmetric);
  EXPECT_FALSE(config->layers.at("fc1").wts.channelWise);
  EXPECT_TRUE(config->layers.at("conv1").wts.channelWise);

  config = createQuantConfig(kModel, {}, 1, true, error);
  ASSERT_TRUE(config) << error;
  EXPECT_TRUE(config->layers.at("conv1").act.asymmetric);
  EXPECT_FALSE(config->layers.at("conv3").act.asymmetric);

  EXPECT_FALSE(createQuantConfig(kModel, {"nope"}, 1, true, error));
  EXPECT_EQ(error, "skip_layers: 'nope' is not a quantizable layer of the "
                   "model (quantizable layers: conv1, conv2, conv3, deconv, "
                   "fc1, fc2, pool)");
  EXPECT_FALSE(createQuantConfig(kModel, {"fc1", "fc1"}, 1, true, error));
  EXPECT_EQ(error, "skip_layers: 'fc1' is listed twice");
  EXPECT_FALSE(createQuantConfig(kModel, {}, 0, true, error));
  EXPECT_EQ(error, "batch_num: must be greater than 0, got 0");
  EXPECT_FALSE(createQuantConfig({{"fc1", "Linear"}}, {"fc1"}, 1, true, error));
  EXPECT_EQ(error, "no layer left to quantize: every quantizable layer is in "
                   "skip_layers or skip_layer_types");
}

TEST(ConfigKindTest, DetectsByContent) {
  EXPECT_EQ(detectConfigKind(readText(fixture("ifmr.json"))),
            ConfigKind::LayerJson);
  EXPECT_EQ(detectConfigKind(readText(fixture("simple.cfg"))),
            ConfigKind::SimpleCfg);
  EXPECT_EQ(detectConfigKind(readText(fixture("llm.json"))),
            ConfigKind::LlmJson);
  EXPECT_EQ(detectConfigKind("\xEF\xBB\xBF  {\"a\":"), ConfigKind::LayerJson);
  EXPECT_EQ(detectConfigKind("# comment { \n\n  batch_num: 1"),
            ConfigKind::SimpleCfg);
  EXPECT_EQ(detectConfigKind(""), ConfigKind::Unknown);
  EXPECT_EQ(detectConfigKind("  # only a comment\n"), ConfigKind::Unknown);
  EXPECT_EQ(detectConfigKind("[1, 2]"), ConfigKind::Unknown);
}

TEST(LoadQuantConfig, DispatchesAndReportsKinds) {
  std::string error;
  std::optional<QuantConfig> config = loadQuantConfigFile(
      fixture("ifmr.json"), {{"conv1", "Conv2d"}, {"fc", "Linear"}}, error);
  ASSERT_TRUE(config) << error;
  EXPECT_TRUE(config->isQuantized("fc"));

  // A JSON config goes through bindQuantConfigToLayers.
  EXPECT_FALSE(
      loadQuantConfigFile(fixture("ifmr.json"), {{"conv1", "Conv2d"}}, error));
  EXPECT_EQ(error, fixture("ifmr.json") +
                       ": fc: not a quantizable layer of the model "
                       "(quantizable layers: conv1)");

  EXPECT_FALSE(loadQuantConfigFile(fixture("llm.json"), kModel, error));
  EXPECT_EQ(error, fixture("llm.json") +
                       ": a language-model quantize() config (\"quant_cfg\"), which only "
                       "`amct quantize` and --amct-quantize take; this step "
                       "expects a layer config (JSON, as create_quant_config "
                       "writes) or a simple config (.cfg)");
  // An invalid one says what is wrong with it.
  EXPECT_FALSE(loadQuantConfig(R"({"quant_cfg": {"weights": {"type": "int4"},
      "inputs": {"type": "int8"}}})", "bad.json", kModel, error));
  EXPECT_NE(error.find("bad.json: quant_cfg.inputs: int4 weights are weight-only"),
            std::string::npos) << error;
  EXPECT_FALSE(loadQuantConfig("\n\n", "x.cfg", kModel, error));
  EXPECT_EQ(error, "x.cfg: the config file is empty");
  EXPECT_FALSE(loadQuantConfig("42", "x.cfg", kModel, error));
  EXPECT_EQ(error, "x.cfg: neither a JSON config (a '{' object) nor a simple "
                   "config (protobuf text)");
  EXPECT_FALSE(loadQuantConfigFile(fixture("missing.json"), kModel, error));
  EXPECT_EQ(error, "quant config " + fixture("missing.json") +
                       ": cannot open: No such file or directory");
}

//===----------------------------------------------------------------------===//
// Number formatting
//===----------------------------------------------------------------------===//

TEST(NumberFormat, DoubleReprMatchesPython) {
  EXPECT_EQ(formatDoubleRepr(0.1), "0.1");
  EXPECT_EQ(formatDoubleRepr(1.0), "1.0");
  EXPECT_EQ(formatDoubleRepr(20), "20.0");
  EXPECT_EQ(formatDoubleRepr(0.0001), "0.0001");
  EXPECT_EQ(formatDoubleRepr(0.00001), "1e-05");
  EXPECT_EQ(formatDoubleRepr(1.5e-7), "1.5e-07");
  EXPECT_EQ(formatDoubleRepr(1e15), "1000000000000000.0");
  EXPECT_EQ(formatDoubleRepr(1e16), "1e+16");
  EXPECT_EQ(formatDoubleRepr(1.25e100), "1.25e+100");
  EXPECT_EQ(formatDoubleRepr(123.456), "123.456");
  EXPECT_EQ(formatDoubleRepr(1.3 - 0.7), "0.6000000000000001");
  EXPECT_EQ(formatDoubleRepr(0.999999), "0.999999");
  EXPECT_EQ(formatDoubleRepr(-0.0), "-0.0");
  EXPECT_EQ(formatDoubleRepr(-2.5), "-2.5");
  EXPECT_EQ(formatDoubleRepr(5e-324), "5e-324");
  EXPECT_EQ(formatDoubleRepr(INFINITY), "inf");
  EXPECT_EQ(formatDoubleRepr(-INFINITY), "-inf");
  EXPECT_EQ(formatDoubleRepr(NAN), "nan");
}

TEST(NumberFormat, FloatReprIsShortest) {
  EXPECT_EQ(formatFloatRepr(1.0f / 3), "0.33333334");
  EXPECT_EQ(formatFloatRepr(0.1f), "0.1");
  EXPECT_EQ(formatFloatRepr(1e-38f), "1e-38");
  EXPECT_EQ(formatFloatRepr(0.0798f), "0.0798");
  EXPECT_EQ(formatFloatRepr(16777216.0f), "16777216.0");
  EXPECT_EQ(formatFloatRepr(FLT_TRUE_MIN), "1e-45");
  EXPECT_EQ(formatFloatRepr(-0.0f), "-0.0");
  EXPECT_EQ(floatToShortestDouble(0.999999f), 0.999999);
  EXPECT_EQ(floatToShortestDouble(0.3f), 0.3);
  EXPECT_EQ(floatToShortestDouble(20.0f), 20.0);
}

} // namespace
