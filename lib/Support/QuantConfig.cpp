//===- QuantConfig.cpp - AMCT quant configs: lookup, form detection, loading ---===//
//
// What both forms share: the config's queries, telling the forms apart by
// content, and the one loader every tool and pass calls. The forms are read
// in QuantConfigJson.cpp and SimpleConfig.cpp, written in
// QuantConfigJsonWriter.cpp, with the rules of ConfigRules.h.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/QuantConfig.h"
#include "amct/Support/LlmConfig.h"
#include "ConfigRules.h"
#include "amct/Support/FileAccess.h"


#include <nlohmann/json.hpp>

using namespace amct;
using OJson = nlohmann::ordered_json;
using namespace amct::detail;

const std::vector<std::string> &amct::quantizableLayerTypes() {
  static const std::vector<std::string> types = {
      "Conv2d", "Conv3d", "ConvTranspose2d", "Linear", "AvgPool2d"};
  return types;
}

const LayerQuantConfig *QuantConfig::find(const std::string &layerName) const {
  auto it = layers.find(layerName);
  return it == layers.end() ? nullptr : &it->second;
}

bool QuantConfig::isQuantized(const std::string &layerName) const {
  const LayerQuantConfig *layer = find(layerName);
  return layer && layer->quantEnable;
}

//===----------------------------------------------------------------------===//
// Either form
//===----------------------------------------------------------------------===//

ConfigKind amct::detectConfigKind(const std::string &text) {
  size_t i = 0;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0)
    i = 3;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
        c == '\v') {
      ++i;
    } else if (c == '#') {
      size_t end = text.find('\n', i);
      i = end == std::string::npos ? text.size() : end + 1;
    } else {
      break;
    }
  }
  if (i == text.size())
    return ConfigKind::Unknown;
  char c = text[i];
  if (c == '{') {
    OJson root = OJson::parse(text, nullptr, /*allow_exceptions=*/false);
    if (root.is_object() && root.contains("quant_cfg"))
      return ConfigKind::LlmJson;
    return ConfigKind::LayerJson;
  }
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
    return ConfigKind::SimpleCfg;
  return ConfigKind::Unknown;
}

std::optional<QuantConfig> amct::loadQuantConfig(const std::string &text,
                                                 const std::string &fileName,
                                                 const LayerList &layers,
                                                 std::string &error) {
  switch (detectConfigKind(text)) {
  case ConfigKind::LayerJson: {
    std::optional<QuantConfig> config =
        parseQuantConfigJson(text, fileName, error);
    if (!config || !bindQuantConfigToLayers(*config, layers, fileName, error))
      return std::nullopt;
    return config;
  }
  case ConfigKind::SimpleCfg:
    return parseSimpleConfig(text, fileName, layers, error);
  case ConfigKind::LlmJson:
    // Validated in full, so a wrong key is reported as such; a valid one
    // belongs to the language-model flow (quantizeModel dispatches it there
    // before asking for a layer config).
    if (!parseLlmConfig(text, fileName, error))
      return std::nullopt;
    error = prefixed(fileName,
                     "a language-model quantize() config (\"quant_cfg\"), which only "
                     "`amct quantize` and --amct-quantize take; this step "
                     "expects a layer config (JSON, as create_quant_config "
                     "writes) or a simple config (.cfg)");
    return std::nullopt;
  case ConfigKind::Unknown:
    break;
  }
  if (isBlank(text))
    error = prefixed(fileName, "the config file is empty");
  else
    error = prefixed(fileName, "neither a JSON config (a '{' object) nor a "
                               "simple config (protobuf text)");
  return std::nullopt;
}

std::optional<QuantConfig> amct::loadQuantConfigFile(const std::string &path,
                                                     const LayerList &layers,
                                                     std::string &error) {
  if (path.empty())
    return createQuantConfig(layers, /*skipLayers=*/{}, /*batchNum=*/1,
                             /*activationOffset=*/true, error);
  std::string contents;
  if (!readRegularFile(path, contents, error)) {
    error = "quant config " + error;
    return std::nullopt;
  }
  return loadQuantConfig(contents, path, layers, error);
}
