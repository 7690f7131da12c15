//===- QuantConfigJsonWriter.cpp - AMCT JSON config writer ----------------===//
//
// The config as AMCT's create_quant_config writes it (Python json.dumps
// layout, key order, float repr).
//
//===----------------------------------------------------------------------===//

#include "amct/Support/QuantConfig.h"
#include "ConfigRules.h"



using namespace amct;
using namespace amct::detail;

//===----------------------------------------------------------------------===//
// JSON writing
//===----------------------------------------------------------------------===//

namespace {

/// Emits JSON as Python's json.dump(obj, indent=4, separators=(',', ':'))
/// with ensure_ascii does.
class PyJsonWriter {
public:
  std::string out;

  void beginObject() { open('{'); }
  void endObject() { close('}'); }
  void beginList() { open('['); }
  void endList() { close(']'); }

  /// The key of the next member of the current object.
  void key(const std::string &name) {
    item();
    string(name);
    out += ':';
    pendingValue = true;
  }

  void boolean(bool value) { scalar(value ? "true" : "false"); }
  void integer(long long value) { scalar(std::to_string(value)); }
  void number(double value) { scalar(formatDoubleRepr(value)); }
  void text(const std::string &value) {
    startValue();
    string(value);
  }

private:
  struct Level {
    size_t items = 0;
  };
  std::vector<Level> levels;
  bool pendingValue = false;

  void newline(size_t depth) {
    out += '\n';
    out.append(depth * 4, ' ');
  }
  /// Separator and indentation before a member or element.
  void item() {
    if (levels.back().items++)
      out += ',';
    newline(levels.size());
  }
  void startValue() {
    if (pendingValue)
      pendingValue = false;
    else if (!levels.empty())
      item();
  }
  void scalar(const std::string &value) {
    startValue();
    out += value;
  }
  void open(char bracket) {
    startValue();
    out += bracket;
    levels.push_back({});
  }
  void close(char bracket) {
    size_t items = levels.back().items;
    levels.pop_back();
    if (items)
      newline(levels.size());
    out += bracket;
  }

  void hex4(unsigned value) {
    static const char digits[] = "0123456789abcdef";
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4)
      out += digits[(value >> shift) & 0xF];
  }

  /// A JSON string with ensure_ascii escaping (\uXXXX, surrogate pairs);
  /// bytes that are not UTF-8 become U+FFFD.
  void string(const std::string &s) {
    out += '"';
    for (size_t i = 0; i < s.size();) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
      default:
        break;
      }
      if (c < 0x20) {
        hex4(c);
        ++i;
        continue;
      }
      if (c < 0x80) {
        out += static_cast<char>(c);
        ++i;
        continue;
      }
      unsigned length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
      unsigned codePoint = length == 4   ? c & 0x07
                           : length == 3 ? c & 0x0F
                                         : c & 0x1F;
      bool valid = length != 0 && i + length <= s.size();
      for (unsigned k = 1; valid && k < length; ++k) {
        unsigned char next = static_cast<unsigned char>(s[i + k]);
        valid = (next & 0xC0) == 0x80;
        codePoint = (codePoint << 6) | (next & 0x3F);
      }
      if (!valid || codePoint > 0x10FFFF) {
        hex4(0xFFFD);
        ++i;
        continue;
      }
      if (codePoint >= 0x10000) {
        codePoint -= 0x10000;
        hex4(0xD800 + (codePoint >> 10));
        hex4(0xDC00 + (codePoint & 0x3FF));
      } else {
        hex4(codePoint);
      }
      i += length;
    }
    out += '"';
  }
};

} // namespace

std::string amct::writeQuantConfigJson(const QuantConfig &config) {
  PyJsonWriter w;
  w.beginObject();
  w.key("version");
  w.integer(config.version);
  w.key("batch_num");
  w.integer(config.batchNum);
  w.key("activation_offset");
  w.boolean(config.activationOffset);
  w.key("do_fusion");
  w.boolean(config.doFusion);
  w.key("skip_fusion_layers");
  w.beginList();
  for (const std::string &name : config.skipFusionLayers)
    w.text(name);
  w.endList();

  // Key order of AMCT's samples (reference 004).
  for (const auto &[name, layer] : config.layers) {
    w.key(name);
    w.beginObject();
    w.key("quant_enable");
    w.boolean(layer.quantEnable);
    if (layer.dmq.enabled) {
      w.key("dmq_balancer_param");
      w.number(layer.dmq.migrationStrength);
    }

    const ActivationQuantParams &act = layer.act;
    w.key("activation_quant_params");
    w.beginObject();
    w.key("num_bits");
    w.integer(act.numBits);
    if (act.algo == "hfmg") {
      w.key("act_algo");
      w.text(act.algo);
      w.key("num_of_bins");
      w.integer(act.numOfBins);
    } else {
      w.key("max_percentile");
      w.number(act.maxPercentile);
      w.key("min_percentile");
      w.number(act.minPercentile);
      w.key("search_range");
      w.beginList();
      w.number(act.searchRangeStart);
      w.number(act.searchRangeEnd);
      w.endList();
      w.key("search_step");
      w.number(act.searchStep);
      w.key("act_algo");
      w.text(act.algo);
    }
    w.key("asymmetric");
    w.boolean(act.asymmetric);
    w.endObject();

    const WeightQuantParams &wts = layer.wts;
    w.key("weight_quant_params");
    w.beginObject();
    w.key("num_bits");
    w.integer(wts.numBits);
    w.key("wts_algo");
    w.text(wts.algo);
    if (wts.algo == "ada_quantize") {
      w.key("num_iteration");
      w.integer(wts.numIteration);
      w.key("reg_param");
      w.number(wts.regParam);
      w.key("beta_range");
      w.beginList();
      w.number(wts.betaRangeStart);
      w.number(wts.betaRangeEnd);
      w.endList();
      w.key("warm_start");
      w.number(wts.warmStart);
    }
    w.key("channel_wise");
    w.boolean(wts.channelWise);
    w.endObject();

    w.endObject();
  }
  w.endObject();
  return w.out;
}
