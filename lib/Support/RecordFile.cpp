//===- RecordFile.cpp - AMCT scale/offset record files --------------------===//
//
// Protobuf's own text parser reads the files (so anything AMCT's Python
// protobuf writes is accepted) with a ParseInfoTree for the line and column
// of semantic errors. Writing goes through protobuf's Printer with a value
// printer that reproduces Python protobuf's output: shortest round-trip
// floats (C++'s default prints 6 or 9 digits) and UTF-8 strings unescaped.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/RecordFile.h"
#include "ProtoText.h"
#include "amct/Support/FileAccess.h"

#include "amct/Support/QuantConfig.h"

#include "scale_offset_record.pb.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

using namespace amct;
namespace pb = google::protobuf;
using InfoTree = pb::TextFormat::ParseInfoTree;

//===----------------------------------------------------------------------===//
// Data
//===----------------------------------------------------------------------===//

namespace {

/// Floats compare bit for bit: a record that reads back must be the same
/// record, -0.0 and NaN included.
bool sameBits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() &&
         (a.empty() ||
          std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

bool sameBits(const std::optional<float> &a, const std::optional<float> &b) {
  if (a.has_value() != b.has_value())
    return false;
  return !a || std::memcmp(&*a, &*b, sizeof(float)) == 0;
}

} // namespace

bool LayerRecord::operator==(const LayerRecord &other) const {
  return sameBits(scaleD, other.scaleD) && offsetD == other.offsetD &&
         sameBits(scaleW, other.scaleW) && offsetW == other.offsetW &&
         shiftBit == other.shiftBit &&
         sameBits(tensorBalanceFactor, other.tensorBalanceFactor) &&
         skipFusion == other.skipFusion && dstType == other.dstType &&
         actType == other.actType && wtsType == other.wtsType &&
         fakequantPrecisionMode == other.fakequantPrecisionMode;
}

bool KVCacheRecord::operator==(const KVCacheRecord &other) const {
  return sameBits(scale, other.scale) && offset == other.offset;
}

const LayerRecord *Record::find(const std::string &key) const {
  for (const auto &entry : layers)
    if (entry.first == key)
      return &entry.second;
  return nullptr;
}

LayerRecord *Record::find(const std::string &key) {
  for (auto &entry : layers)
    if (entry.first == key)
      return &entry.second;
  return nullptr;
}

LayerRecord &Record::getOrAdd(const std::string &key) {
  if (LayerRecord *existing = find(key))
    return *existing;
  layers.emplace_back(key, LayerRecord());
  return layers.back().second;
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

namespace {

/// Python protobuf's CEscape: quotes, backslash and \t \n \r escaped; other
/// control bytes as octal; bytes >= 0x80 kept for strings (as_utf8) and
/// escaped as octal for `bytes` fields.
std::string escape(const std::string &value, bool keepHighBytes) {
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
    case '\t':
      out += "\\t";
      continue;
    case '\n':
      out += "\\n";
      continue;
    case '\r':
      out += "\\r";
      continue;
    case '"':
      out += "\\\"";
      continue;
    case '\'':
      out += "\\'";
      continue;
    case '\\':
      out += "\\\\";
      continue;
    default:
      break;
    }
    if (c < 0x20 || c == 0x7F || (c >= 0x80 && !keepHighBytes)) {
      char octal[5];
      std::snprintf(octal, sizeof octal, "\\%03o", c);
      out += octal;
    } else {
      out += ch;
    }
  }
  return out;
}

class PythonStyleValuePrinter : public pb::TextFormat::FastFieldValuePrinter {
public:
  void PrintFloat(float value,
                  pb::TextFormat::BaseTextGenerator *generator) const override {
    generator->PrintString(formatFloatRepr(value));
  }
  void
  PrintDouble(double value,
              pb::TextFormat::BaseTextGenerator *generator) const override {
    generator->PrintString(formatDoubleRepr(value));
  }
  void
  PrintString(const std::string &value,
              pb::TextFormat::BaseTextGenerator *generator) const override {
    generator->PrintLiteral("\"");
    generator->PrintString(escape(value, /*keepHighBytes=*/true));
    generator->PrintLiteral("\"");
  }
  void PrintBytes(const std::string &value,
                  pb::TextFormat::BaseTextGenerator *generator) const override {
    generator->PrintLiteral("\"");
    generator->PrintString(escape(value, /*keepHighBytes=*/false));
    generator->PrintLiteral("\"");
  }
};

std::string printMessage(const pb::Message &message) {
  pb::TextFormat::Printer printer;
  // The printer owns its value printer.
  printer.SetDefaultFieldValuePrinter(new PythonStyleValuePrinter());
  std::string out;
  printer.PrintToString(message, &out);
  return out;
}

} // namespace

std::string amct::writeRecordFile(const Record &record) {
  proto::ScaleOffsetRecord message;
  std::map<std::string, const KVCacheRecord *> kvByKey;
  for (const auto &[key, kv] : record.kvCache)
    kvByKey.emplace(key, &kv);
  auto fillKv = [](proto::SingleLayerKVCacheRecord *out,
                   const KVCacheRecord &kv) {
    for (float v : kv.scale)
      out->add_scale(v);
    for (int32_t v : kv.offset)
      out->add_offset(v);
  };

  std::set<std::string> written;
  for (const auto &[key, layer] : record.layers) {
    proto::MapFiledEntry *entry = message.add_record();
    entry->set_key(key);
    proto::SingleLayerRecord *value = entry->mutable_value();
    if (layer.scaleD)
      value->set_scale_d(*layer.scaleD);
    if (layer.offsetD)
      value->set_offset_d(*layer.offsetD);
    for (float v : layer.scaleW)
      value->add_scale_w(v);
    for (int32_t v : layer.offsetW)
      value->add_offset_w(v);
    for (uint32_t v : layer.shiftBit)
      value->add_shift_bit(v);
    for (float v : layer.tensorBalanceFactor)
      value->add_tensor_balance_factor(v);
    if (layer.skipFusion)
      value->set_skip_fusion(*layer.skipFusion);
    if (!layer.dstType.empty())
      value->set_dst_type(layer.dstType);
    if (!layer.actType.empty())
      value->set_act_type(layer.actType);
    if (!layer.wtsType.empty())
      value->set_wts_type(layer.wtsType);
    if (!layer.fakequantPrecisionMode.empty())
      value->set_fakequant_precision_mode(layer.fakequantPrecisionMode);
    if (auto it = kvByKey.find(key); it != kvByKey.end())
      fillKv(entry->mutable_kv_cache_value(), *it->second);
    written.insert(key);
  }
  for (const auto &[key, kv] : record.kvCache) {
    if (written.count(key))
      continue;
    proto::MapFiledEntry *entry = message.add_record();
    entry->set_key(key);
    fillKv(entry->mutable_kv_cache_value(), kv);
  }

  std::string out = printMessage(message);
  // prune_record (field 2) comes after every record (field 1).
  for (const std::string &prune : record.pruneRecords) {
    out += "prune_record {\n";
    std::istringstream lines(prune);
    for (std::string line; std::getline(lines, line);)
      out += (line.empty() ? "" : "  ") + line + "\n";
    out += "}\n";
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {


std::string fileOrPlaceholder(const std::string &fileName) {
  return fileName.empty() ? std::string("<record>") : fileName;
}

/// Fails at field `name` (element `index`, -1 if singular) of a message
/// whose locations are in `tree`.
bool failAt(const std::string &fileName, const InfoTree *tree,
            const pb::Descriptor *descriptor, const char *name, int index,
            const std::string &message, std::string &error) {
  const pb::FieldDescriptor *field = descriptor->FindFieldByName(name);
  pb::TextFormat::ParseLocation loc;
  if (tree && field)
    loc = tree->GetLocation(field, index);
  error = fileOrPlaceholder(fileName);
  if (loc.line >= 0)
    error += ":" + std::to_string(loc.line + 1) + ":" +
             std::to_string(loc.column + 1);
  error += ": " + message;
  return false;
}

} // namespace

std::optional<Record> amct::parseRecordFile(const std::string &text,
                                            const std::string &fileName,
                                            std::string &error) {
  proto::ScaleOffsetRecord message;
  InfoTree tree;
  if (!detail::parseProtoText(text, fileOrPlaceholder(fileName), "record file", message, tree, error))
    return std::nullopt;

  const pb::Descriptor *top = proto::ScaleOffsetRecord::descriptor();
  const pb::Descriptor *entryType = proto::MapFiledEntry::descriptor();
  const pb::Descriptor *valueType = proto::SingleLayerRecord::descriptor();
  const pb::FieldDescriptor *recordField = top->FindFieldByName("record");
  const pb::FieldDescriptor *valueField = entryType->FindFieldByName("value");

  Record record;
  // Line of each key's first entry, for duplicate messages.
  std::map<std::string, int> layerLines, kvLines;
  auto fail = [&](const InfoTree *t, const pb::Descriptor *d, const char *name,
                  int index, const std::string &msg) {
    failAt(fileName, t, d, name, index, msg, error);
    return std::nullopt;
  };

  for (int i = 0; i < message.record_size(); ++i) {
    const proto::MapFiledEntry &entry = message.record(i);
    const InfoTree *entryTree = tree.GetTreeForNested(recordField, i);
    if (!entry.has_key())
      return fail(&tree, top, "record", i, "record entry without a key");
    const std::string &key = entry.key();
    if (key.empty())
      return fail(entryTree, entryType, "key", -1, "empty record key");
    if (!entry.has_value() && !entry.has_kv_cache_value())
      return fail(&tree, top, "record", i,
                  "record '" + key + "' has neither value nor kv_cache_value");
    int line = tree.GetLocation(recordField, i).line + 1;

    if (entry.has_value()) {
      auto [it, inserted] = layerLines.emplace(key, line);
      if (!inserted)
        return fail(entryTree, entryType, "key", -1,
                    "duplicate record key '" + key +
                        "' (first recorded at line " +
                        std::to_string(it->second) + ")");
      const proto::SingleLayerRecord &v = entry.value();
      const InfoTree *valueTree =
          entryTree ? entryTree->GetTreeForNested(valueField, -1) : nullptr;
      // GRU/LSTM hidden-state factors: nothing here could use them.
      if (v.has_scale_h())
        return fail(valueTree, valueType, "scale_h", -1,
                    "scale_h (GRU/LSTM records) is not supported");
      if (v.has_offset_h())
        return fail(valueTree, valueType, "offset_h", -1,
                    "offset_h (GRU/LSTM records) is not supported");
      if (v.scale_r_size())
        return fail(valueTree, valueType, "scale_r", 0,
                    "scale_r (GRU/LSTM records) is not supported");
      if (v.offset_r_size())
        return fail(valueTree, valueType, "offset_r", 0,
                    "offset_r (GRU/LSTM records) is not supported");

      LayerRecord layer;
      if (v.has_scale_d())
        layer.scaleD = v.scale_d();
      if (v.has_offset_d())
        layer.offsetD = v.offset_d();
      layer.scaleW.assign(v.scale_w().begin(), v.scale_w().end());
      layer.offsetW.assign(v.offset_w().begin(), v.offset_w().end());
      layer.shiftBit.assign(v.shift_bit().begin(), v.shift_bit().end());
      layer.tensorBalanceFactor.assign(v.tensor_balance_factor().begin(),
                                       v.tensor_balance_factor().end());
      if (v.has_skip_fusion())
        layer.skipFusion = v.skip_fusion();
      if (v.has_dst_type())
        layer.dstType = v.dst_type();
      if (v.has_act_type())
        layer.actType = v.act_type();
      if (v.has_wts_type())
        layer.wtsType = v.wts_type();
      if (v.has_fakequant_precision_mode())
        layer.fakequantPrecisionMode = v.fakequant_precision_mode();
      record.layers.emplace_back(key, std::move(layer));
    }

    if (entry.has_kv_cache_value()) {
      auto [it, inserted] = kvLines.emplace(key, line);
      if (!inserted)
        return fail(entryTree, entryType, "key", -1,
                    "duplicate kv_cache_value record key '" + key +
                        "' (first recorded at line " +
                        std::to_string(it->second) + ")");
      const proto::SingleLayerKVCacheRecord &v = entry.kv_cache_value();
      KVCacheRecord kv;
      kv.scale.assign(v.scale().begin(), v.scale().end());
      kv.offset.assign(v.offset().begin(), v.offset().end());
      record.kvCache.emplace_back(key, std::move(kv));
    }
  }

  for (const proto::PruneRecord &prune : message.prune_record())
    record.pruneRecords.push_back(printMessage(prune));
  return record;
}

//===----------------------------------------------------------------------===//
// Prune records
//===----------------------------------------------------------------------===//

const PruneAttr *PruneNode::find(const std::string &attrName) const {
  for (const PruneAttr &attr : attrs)
    if (attr.name == attrName)
      return &attr;
  return nullptr;
}

void PruneNode::addInt(const std::string &attrName, int64_t value) {
  PruneAttr attr;
  attr.name = attrName;
  attr.type = PruneAttr::Type::Int;
  attr.i = value;
  attrs.push_back(std::move(attr));
}

void PruneNode::addInts(const std::string &attrName, std::vector<int64_t> values) {
  PruneAttr attr;
  attr.name = attrName;
  attr.type = PruneAttr::Type::Ints;
  attr.ints = std::move(values);
  attrs.push_back(std::move(attr));
}

void PruneNode::addString(const std::string &attrName, std::string value) {
  PruneAttr attr;
  attr.name = attrName;
  attr.type = PruneAttr::Type::String;
  attr.s = std::move(value);
  attrs.push_back(std::move(attr));
}

namespace {

void fillNode(proto::PruneNode *out, const PruneNode &node) {
  out->set_name(node.name);
  for (const PruneAttr &attr : node.attrs) {
    proto::AttrProto *a = out->add_attr();
    a->set_name(attr.name);
    a->set_type(static_cast<proto::AttrProto::AttrType>(attr.type));
    switch (attr.type) {
    case PruneAttr::Type::Float:
      a->set_f(attr.f);
      break;
    case PruneAttr::Type::Int:
      a->set_i(attr.i);
      break;
    case PruneAttr::Type::String:
      a->set_s(attr.s);
      break;
    case PruneAttr::Type::Floats:
      for (float v : attr.floats)
        a->add_floats(v);
      break;
    case PruneAttr::Type::Ints:
      for (int64_t v : attr.ints)
        a->add_ints(v);
      break;
    case PruneAttr::Type::Strings:
      for (const std::string &v : attr.strings)
        a->add_strings(v);
      break;
    case PruneAttr::Type::Undefined:
      break;
    }
  }
}

PruneNode readNode(const proto::PruneNode &in) {
  PruneNode node;
  node.name = in.name();
  for (const proto::AttrProto &a : in.attr()) {
    PruneAttr attr;
    attr.name = a.name();
    attr.type = static_cast<PruneAttr::Type>(a.type());
    attr.f = a.f();
    attr.i = a.i();
    attr.s = a.s();
    attr.floats.assign(a.floats().begin(), a.floats().end());
    attr.ints.assign(a.ints().begin(), a.ints().end());
    attr.strings.assign(a.strings().begin(), a.strings().end());
    node.attrs.push_back(std::move(attr));
  }
  return node;
}

} // namespace

std::string amct::printPruneRecord(const PruneRecordEntry &entry) {
  proto::PruneRecord message;
  for (const PruneNode &node : entry.producers)
    fillNode(message.add_producer(), node);
  for (const PruneNode &node : entry.consumers)
    fillNode(message.add_consumer(), node);
  if (entry.selective)
    fillNode(message.mutable_selective_prune(), *entry.selective);
  return printMessage(message);
}

std::optional<PruneRecordEntry> amct::parsePruneRecord(const std::string &text,
                                                       const std::string &where,
                                                       std::string &error) {
  proto::PruneRecord message;
  InfoTree tree;
  if (!detail::parseProtoText(text, where, "prune record", message, tree, error))
    return std::nullopt;
  PruneRecordEntry entry;
  for (const proto::PruneNode &node : message.producer())
    entry.producers.push_back(readNode(node));
  for (const proto::PruneNode &node : message.consumer())
    entry.consumers.push_back(readNode(node));
  if (message.has_selective_prune())
    entry.selective = readNode(message.selective_prune());
  return entry;
}

std::optional<Record> amct::readRecordFile(const std::string &path,
                                           std::string &error) {
  std::string contents;
  if (!readRegularFile(path, contents, error))
    return std::nullopt;
  return parseRecordFile(contents, path, error);
}
