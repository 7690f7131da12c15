//===- RecordFileTest.cpp - AMCT scale/offset record files ----------------===//
//
// An AMCT-style record file (Inputs/config/record.txt) read field by field
// and written back byte for byte; floats that are awkward in decimal, and a
// sweep of random bit patterns, written and read back bit for bit; and the
// errors, with their line and column.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/RecordFile.h"
#include "scale_offset_record.pb.h"

#include "gtest/gtest.h"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
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

uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float floatOf(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

std::string recordError(const std::string &text) {
  std::string error;
  std::optional<Record> record = parseRecordFile(text, "r.txt", error);
  EXPECT_FALSE(record) << text;
  return error;
}

Record roundTrip(const Record &record) {
  std::string text = writeRecordFile(record);
  std::string error;
  std::optional<Record> back = parseRecordFile(text, "rt.txt", error);
  EXPECT_TRUE(back) << error << "\n" << text;
  return back ? *back : Record();
}

TEST(RecordFile, ParsesAmctStyleFixture) {
  std::string error;
  std::optional<Record> record = readRecordFile(fixture("record.txt"), error);
  ASSERT_TRUE(record) << error;
  ASSERT_EQ(record->layers.size(), 3u);
  EXPECT_EQ(record->layers[0].first, "conv1");
  EXPECT_EQ(record->layers[1].first, "fc");
  EXPECT_EQ(record->layers[2].first, "pool");

  const LayerRecord *conv1 = record->find("conv1");
  ASSERT_TRUE(conv1);
  EXPECT_EQ(conv1->scaleD, 0.0798f);
  EXPECT_EQ(conv1->offsetD, 1);
  EXPECT_EQ(conv1->scaleW, (std::vector<float>{0.00298f, 0.0041f}));
  EXPECT_EQ(conv1->offsetW, (std::vector<int32_t>{0, 0}));
  EXPECT_TRUE(conv1->shiftBit.empty());
  EXPECT_EQ(conv1->tensorBalanceFactor, (std::vector<float>{1.5f, 0.75f}));
  EXPECT_EQ(conv1->skipFusion, false);
  EXPECT_EQ(conv1->dstType, "INT8");
  EXPECT_TRUE(conv1->actType.empty());

  const LayerRecord *fc = record->find("fc");
  ASSERT_TRUE(fc);
  EXPECT_EQ(fc->scaleD, 0.015625f);
  EXPECT_EQ(fc->offsetD, -128);
  EXPECT_EQ(fc->scaleW, std::vector<float>{1.0f / 3});
  EXPECT_EQ(fc->shiftBit, std::vector<uint32_t>{3});
  EXPECT_FALSE(fc->skipFusion);
  EXPECT_TRUE(fc->dstType.empty());

  const LayerRecord *pool = record->find("pool");
  ASSERT_TRUE(pool);
  EXPECT_EQ(pool->scaleD, 1e-38f);
  EXPECT_EQ(pool->offsetD, 0);
  EXPECT_TRUE(pool->scaleW.empty());

  EXPECT_EQ(record->find("attn.k_proj"), nullptr);
  ASSERT_EQ(record->kvCache.size(), 1u);
  EXPECT_EQ(record->kvCache[0].first, "attn.k_proj");
  EXPECT_EQ(record->kvCache[0].second.scale, std::vector<float>{0.5f});
  EXPECT_EQ(record->kvCache[0].second.offset, std::vector<int32_t>{0});

  ASSERT_EQ(record->pruneRecords.size(), 1u);
  EXPECT_EQ(record->pruneRecords[0], "producer {\n"
                                     "  name: \"conv1\"\n"
                                     "  attr {\n"
                                     "    name: \"type\"\n"
                                     "    type: STRING\n"
                                     "    s: \"Conv2d\"\n"
                                     "  }\n"
                                     "}\n"
                                     "consumer {\n"
                                     "  name: \"conv2\"\n"
                                     "}\n");
}

TEST(RecordFile, WritesFixtureBackByteForByte) {
  std::string text = readText(fixture("record.txt"));
  std::string error;
  std::optional<Record> record = parseRecordFile(text, "record.txt", error);
  ASSERT_TRUE(record) << error;
  EXPECT_EQ(writeRecordFile(*record), text);
}

TEST(RecordFile, WritesAmctLayout) {
  Record record;
  LayerRecord &conv1 = record.getOrAdd("conv1");
  conv1.scaleD = 0.0798f;
  conv1.offsetD = 1;
  conv1.scaleW = {0.00298f};
  conv1.offsetW = {0};
  conv1.dstType = "INT8";
  EXPECT_EQ(&record.getOrAdd("conv1"), &conv1);
  EXPECT_EQ(writeRecordFile(record), "record {\n"
                                     "  key: \"conv1\"\n"
                                     "  value {\n"
                                     "    scale_d: 0.0798\n"
                                     "    offset_d: 1\n"
                                     "    scale_w: 0.00298\n"
                                     "    offset_w: 0\n"
                                     "    dst_type: \"INT8\"\n"
                                     "  }\n"
                                     "}\n");
  EXPECT_EQ(writeRecordFile(Record()), "");
}

TEST(RecordFile, RoundTripsAwkwardFloatsBitForBit) {
  const float awkward[] = {1.0f / 3,
                           0.1f,
                           1e-38f,
                           0.0798f,
                           2.0f / 3,
                           0.999999f,
                           FLT_MIN,
                           FLT_TRUE_MIN,
                           floatOf(0x007FFFFF), // largest subnormal
                           FLT_MAX,
                           -FLT_MAX,
                           std::nextafter(FLT_MAX, 0.0f),
                           16777217.0f,
                           3.4028234e38f,
                           1e10f,
                           123456.79f,
                           -0.0f,
                           0.0f,
                           -1.0f / 7,
                           std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity()};
  Record record;
  LayerRecord &layer = record.getOrAdd("l");
  layer.scaleW.assign(std::begin(awkward), std::end(awkward));
  layer.tensorBalanceFactor = layer.scaleW;
  layer.scaleD = 1.0f / 3;
  Record back = roundTrip(record);
  ASSERT_EQ(back.layers.size(), 1u);
  const LayerRecord &got = back.layers[0].second;
  ASSERT_EQ(got.scaleW.size(), layer.scaleW.size());
  for (size_t i = 0; i < layer.scaleW.size(); ++i)
    EXPECT_EQ(bitsOf(got.scaleW[i]), bitsOf(layer.scaleW[i]))
        << "element " << i << " = " << layer.scaleW[i];
  EXPECT_EQ(bitsOf(*got.scaleD), bitsOf(1.0f / 3));
  EXPECT_TRUE(got == layer);

  std::string text = writeRecordFile(record);
  EXPECT_NE(text.find("scale_d: 0.33333334\n"), std::string::npos) << text;
  EXPECT_NE(text.find("scale_w: 1e-38\n"), std::string::npos) << text;
  EXPECT_NE(text.find("scale_w: 0.1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("scale_w: -0.0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("scale_w: inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("scale_w: -inf\n"), std::string::npos) << text;
}

TEST(RecordFile, RoundTripsRandomBitPatterns) {
  std::mt19937 rng(12345);
  Record record;
  LayerRecord &layer = record.getOrAdd("random");
  while (layer.scaleW.size() < 200000) {
    float value = floatOf(static_cast<uint32_t>(rng()));
    if (!std::isnan(value))
      layer.scaleW.push_back(value);
  }
  Record back = roundTrip(record);
  ASSERT_EQ(back.layers.size(), 1u);
  const std::vector<float> &got = back.layers[0].second.scaleW;
  ASSERT_EQ(got.size(), layer.scaleW.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (bitsOf(got[i]) != bitsOf(layer.scaleW[i]) && mismatches++ < 5)
      ADD_FAILURE() << "0x" << std::hex << bitsOf(layer.scaleW[i])
                    << " read back as 0x" << bitsOf(got[i]);
  EXPECT_EQ(mismatches, 0u);
}

TEST(RecordFile, NanStaysNan) {
  Record record;
  record.getOrAdd("n").scaleD = std::numeric_limits<float>::quiet_NaN();
  std::string text = writeRecordFile(record);
  EXPECT_NE(text.find("scale_d: nan\n"), std::string::npos) << text;
  Record back = roundTrip(record);
  ASSERT_EQ(back.layers.size(), 1u);
  EXPECT_TRUE(std::isnan(*back.layers[0].second.scaleD));
}

TEST(RecordFile, RoundTripsEverythingElse) {
  Record record;
  LayerRecord a;
  a.scaleD = 0.5f;
  a.offsetD = -2147483647 - 1;
  a.scaleW = {1, 2, 3};
  a.offsetW = {2147483647, -1, 0};
  a.shiftBit = {0, 4294967295u};
  a.tensorBalanceFactor = {0.25f};
  a.skipFusion = true;
  a.dstType = "INT4";
  a.actType = "INT16";
  a.wtsType = "INT4";
  a.fakequantPrecisionMode = "FORCE_FP16_QUANT";
  record.layers.push_back({"block.0/conv \"q\" caf\xC3\xA9\\", a});
  record.getOrAdd("empty");
  record.kvCache.push_back(
      {"block.0/conv \"q\" caf\xC3\xA9\\", {{0.125f}, {3}}});
  record.kvCache.push_back({"v_proj", {{1.5f, 2.5f}, {0, 1}}});
  record.pruneRecords.push_back("consumer {\n  name: \"x\"\n}\n");

  std::string text = writeRecordFile(record);
  EXPECT_NE(text.find("key: \"block.0/conv \\\"q\\\" caf\xC3\xA9\\\\\"\n"),
            std::string::npos)
      << text;
  Record back = roundTrip(record);
  ASSERT_EQ(back.layers.size(), 2u);
  EXPECT_EQ(back.layers[0].first, record.layers[0].first);
  EXPECT_TRUE(back.layers[0].second == a);
  EXPECT_EQ(back.layers[1].first, "empty");
  EXPECT_TRUE(back.layers[1].second == LayerRecord());
  ASSERT_EQ(back.kvCache.size(), 2u);
  EXPECT_EQ(back.kvCache[0].first, record.kvCache[0].first);
  EXPECT_TRUE(back.kvCache[0].second == record.kvCache[0].second);
  EXPECT_TRUE(back.kvCache[1].second == record.kvCache[1].second);
  EXPECT_EQ(back.pruneRecords, record.pruneRecords);
  EXPECT_EQ(writeRecordFile(back), text);
}

TEST(RecordFile, AcceptsAmctVariants) {
  // Single-line entries, `field: {` and `<>` message syntax, integers in
  // float fields, comments: all protobuf text format.
  std::string error;
  std::optional<Record> record = parseRecordFile(
      "# calibration of 2 layers\n"
      "record { key: \"conv1\" value { scale_d: 1 offset_d: -3 scale_w: [0.5, "
      "0.25] } }\n"
      "record: < key: 'fc' value: { scale_d: 2.5e-3 } >\n",
      "r.txt", error);
  ASSERT_TRUE(record) << error;
  ASSERT_EQ(record->layers.size(), 2u);
  EXPECT_EQ(record->find("conv1")->scaleD, 1.0f);
  EXPECT_EQ(record->find("conv1")->offsetD, -3);
  EXPECT_EQ(record->find("conv1")->scaleW, (std::vector<float>{0.5f, 0.25f}));
  EXPECT_EQ(record->find("fc")->scaleD, 2.5e-3f);

  std::optional<Record> empty = parseRecordFile("", "r.txt", error);
  ASSERT_TRUE(empty) << error;
  EXPECT_TRUE(empty->layers.empty());
}

TEST(RecordFileErrors, SyntaxAndFields) {
  EXPECT_EQ(recordError("record {\n  key: \"conv1\"\n  value {\n    scale_d "
                        "0.5\n  }\n}\n"),
            "r.txt:4:13: Expected \":\", found \"0.5\".");
  EXPECT_EQ(recordError("record {\n  key: \"conv1\"\n  value {\n    scale_x: "
                        "0.5\n  }\n}\n"),
            "r.txt:4:12: Message type \"SingleLayerRecord\" has no field named "
            "\"scale_x\".");
  EXPECT_EQ(recordError("records { key: \"a\" }"),
            "r.txt:1:9: Message type \"ScaleOffsetRecord\" has no field named "
            "\"records\".");
  EXPECT_EQ(
      recordError("record { key: \"a\" value { scale_d: 1 scale_d: 2 } }"),
      "r.txt:1:45: Non-repeated field \"scale_d\" is specified multiple "
      "times.");
  EXPECT_EQ(recordError("record { key: \"a\" value { offset_d: 0.5 } }"),
            "r.txt:1:37: Expected integer, got: 0.5");
  EXPECT_EQ(recordError("record { key: \"a\" value { scale_d: 1 }"),
            "r.txt:1:39: Expected identifier, got: ");
  EXPECT_EQ(recordError("prune_record { producer { } }"),
            "r.txt: Message missing required fields: "
            "prune_record[0].producer[0].name");
}

TEST(RecordFileErrors, Entries) {
  EXPECT_EQ(
      recordError("record {\n  key: \"conv1\"\n  value { scale_d: 1 }\n}\n"
                  "record {\n  key: \"fc\"\n  value { scale_d: 1 }\n}\n"
                  "record {\n  key: \"conv1\"\n  value { scale_d: 2 }\n}\n"),
      "r.txt:10:3: duplicate record key 'conv1' (first recorded at line "
      "1)");
  EXPECT_EQ(recordError("record { key: \"k\" kv_cache_value { scale: 1 } }\n"
                        "record { key: \"k\" kv_cache_value { scale: 2 } }\n"),
            "r.txt:2:10: duplicate kv_cache_value record key 'k' (first "
            "recorded at line 1)");
  EXPECT_EQ(recordError("record { key: \"a\" value {} }\n"
                        "record { value { scale_d: 1 } }\n"),
            "r.txt:2:1: record entry without a key");
  EXPECT_EQ(recordError("record { key: \"\" value {} }"),
            "r.txt:1:10: empty record key");
  EXPECT_EQ(recordError("\n\nrecord { key: \"lonely\" }"),
            "r.txt:3:1: record 'lonely' has neither value nor kv_cache_value");
  EXPECT_EQ(recordError("record {\n  key: \"gru\"\n  value {\n    scale_d: 1\n"
                        "    scale_h: 0.5\n  }\n}\n"),
            "r.txt:5:5: scale_h (GRU/LSTM records) is not supported");
  EXPECT_EQ(recordError("record { key: \"gru\" value { scale_r: [1, 2] } }"),
            "r.txt:1:29: scale_r (GRU/LSTM records) is not supported");
}

TEST(RecordFileErrors, MissingFile) {
  std::string error;
  EXPECT_FALSE(readRecordFile(fixture("no-such-record.txt"), error));
  EXPECT_EQ(error, fixture("no-such-record.txt") +
                       ": cannot open: No such file or directory");
}

} // namespace

//===----------------------------------------------------------------------===//
// AMCT's schema
//===----------------------------------------------------------------------===//

// The record's messages field by field as AMCT's schema declares them
// (scale_offset_record_pytorch.proto of hicann/amct; docs/DeployFormat.md):
// name, number, label and type, so a record of ours parses with AMCT's
// proto (text or binary) and one of AMCT's with ours.
TEST(RecordFile, SchemaMatchesAmcts) {
  using FD = google::protobuf::FieldDescriptor;
  struct Field {
    const char *message, *name;
    int number;
    FD::Label label;
    FD::Type type;
  };
  const Field fields[] = {
      {"SingleLayerRecord", "scale_d", 1, FD::LABEL_OPTIONAL, FD::TYPE_FLOAT},
      {"SingleLayerRecord", "offset_d", 2, FD::LABEL_OPTIONAL, FD::TYPE_INT32},
      {"SingleLayerRecord", "scale_w", 3, FD::LABEL_REPEATED, FD::TYPE_FLOAT},
      {"SingleLayerRecord", "offset_w", 4, FD::LABEL_REPEATED, FD::TYPE_INT32},
      {"SingleLayerRecord", "shift_bit", 5, FD::LABEL_REPEATED, FD::TYPE_UINT32},
      {"SingleLayerRecord", "tensor_balance_factor", 6, FD::LABEL_REPEATED, FD::TYPE_FLOAT},
      {"SingleLayerRecord", "skip_fusion", 9, FD::LABEL_OPTIONAL, FD::TYPE_BOOL},
      {"SingleLayerRecord", "dst_type", 10, FD::LABEL_OPTIONAL, FD::TYPE_STRING},
      {"SingleLayerRecord", "act_type", 11, FD::LABEL_OPTIONAL, FD::TYPE_STRING},
      {"SingleLayerRecord", "wts_type", 12, FD::LABEL_OPTIONAL, FD::TYPE_STRING},
      {"SingleLayerRecord", "fakequant_precision_mode", 13, FD::LABEL_OPTIONAL, FD::TYPE_STRING},
      {"SingleLayerRecord", "scale_h", 21, FD::LABEL_OPTIONAL, FD::TYPE_FLOAT},
      {"SingleLayerRecord", "offset_h", 22, FD::LABEL_OPTIONAL, FD::TYPE_INT32},
      {"SingleLayerRecord", "scale_r", 23, FD::LABEL_REPEATED, FD::TYPE_FLOAT},
      {"SingleLayerRecord", "offset_r", 24, FD::LABEL_REPEATED, FD::TYPE_INT32},
      {"SingleLayerKVCacheRecord", "scale", 1, FD::LABEL_REPEATED, FD::TYPE_FLOAT},
      {"SingleLayerKVCacheRecord", "offset", 2, FD::LABEL_REPEATED, FD::TYPE_INT32},
      {"MapFiledEntry", "key", 1, FD::LABEL_OPTIONAL, FD::TYPE_STRING},
      {"MapFiledEntry", "value", 2, FD::LABEL_OPTIONAL, FD::TYPE_MESSAGE},
      {"MapFiledEntry", "kv_cache_value", 3, FD::LABEL_OPTIONAL, FD::TYPE_MESSAGE},
      {"ScaleOffsetRecord", "record", 1, FD::LABEL_REPEATED, FD::TYPE_MESSAGE},
      {"ScaleOffsetRecord", "prune_record", 2, FD::LABEL_REPEATED, FD::TYPE_MESSAGE},
  };
  const google::protobuf::FileDescriptor *file = amct::proto::ScaleOffsetRecord::descriptor()->file();
  for (const Field &f : fields) {
    const google::protobuf::Descriptor *message =
        file->FindMessageTypeByName(f.message);
    ASSERT_NE(message, nullptr) << f.message;
    const FD *field = message->FindFieldByName(f.name);
    ASSERT_NE(field, nullptr) << f.message << "." << f.name;
    EXPECT_EQ(field->number(), f.number) << f.name;
    EXPECT_EQ(field->label(), f.label) << f.name;
    EXPECT_EQ(field->type(), f.type) << f.name;
  }
  // Nothing more in SingleLayerRecord than AMCT's fields.
  EXPECT_EQ(file->FindMessageTypeByName("SingleLayerRecord")->field_count(), 15);
}

TEST(RecordFile, ReadsWhatAmctWritesForEachLayerKind) {
  // AMCT's recorder output for a Conv (channel-wise), a Linear and an
  // AvgPool2d (scale_w 1, offset_w 0, no wts_type), fields in number order.
  const std::string text = "record {\n  key: \"conv1\"\n  value {\n    scale_d: 0.0125\n"
                           "    offset_d: -128\n    scale_w: 0.01\n    scale_w: 0.02\n"
                           "    offset_w: 0\n    offset_w: 0\n    act_type: \"INT8\"\n"
                           "    wts_type: \"INT8\"\n  }\n}\n"
                           "record {\n  key: \"fc\"\n  value {\n    scale_d: 0.5\n"
                           "    offset_d: 3\n    scale_w: 0.25\n    offset_w: 0\n"
                           "    act_type: \"INT8\"\n    wts_type: \"INT8\"\n  }\n}\n"
                           "record {\n  key: \"pool\"\n  value {\n    scale_d: 0.125\n"
                           "    offset_d: -128\n    scale_w: 1.0\n    offset_w: 0\n"
                           "    act_type: \"INT8\"\n  }\n}\n";
  std::string error;
  std::optional<Record> record = parseRecordFile(text, "amct_record.txt", error);
  ASSERT_TRUE(record) << error;
  ASSERT_EQ(record->layers.size(), 3u);
  EXPECT_EQ(record->layers[0].second.scaleW, (std::vector<float>{0.01f, 0.02f}));
  EXPECT_EQ(record->layers[0].second.actType, "INT8");
  EXPECT_EQ(record->layers[0].second.wtsType, "INT8");
  EXPECT_EQ(record->layers[2].second.scaleW, (std::vector<float>{1.0f}));
  EXPECT_EQ(record->layers[2].second.wtsType, "");
  // And writes it back as AMCT laid it out.
  EXPECT_EQ(writeRecordFile(*record), text);
}

namespace {

TEST(RecordFileTest, PruneRecordsRoundTrip) {
  amct::PruneRecordEntry entry;
  amct::PruneNode producer;
  producer.name = "conv1";
  producer.addString("type", "Conv2d");
  producer.addInt("channels", 4);
  producer.addInts("remain_channels", {0, 3});
  entry.producers.push_back(producer);
  amct::PruneNode mask;
  mask.name = "fc";
  mask.addString("mask", std::string("\x05\xff\x00", 3));
  entry.selective = mask;
  amct::Record record;
  record.pruneRecords.push_back(amct::printPruneRecord(entry));
  std::string error;
  std::optional<amct::Record> back =
      amct::parseRecordFile(amct::writeRecordFile(record), "r.txt", error);
  ASSERT_TRUE(back) << error;
  ASSERT_EQ(back->pruneRecords.size(), 1u);
  std::optional<amct::PruneRecordEntry> parsed =
      amct::parsePruneRecord(back->pruneRecords[0], "r.txt", error);
  ASSERT_TRUE(parsed) << error;
  ASSERT_EQ(parsed->producers.size(), 1u);
  EXPECT_EQ(parsed->producers[0].name, "conv1");
  EXPECT_EQ(parsed->producers[0].find("type")->s, "Conv2d");
  EXPECT_EQ(parsed->producers[0].find("channels")->i, 4);
  EXPECT_EQ(parsed->producers[0].find("remain_channels")->ints, (std::vector<int64_t>{0, 3}));
  ASSERT_TRUE(parsed->selective);
  EXPECT_EQ(parsed->selective->find("mask")->s, std::string("\x05\xff\x00", 3));
  EXPECT_EQ(parsed->selective->find("mask")->type, amct::PruneAttr::Type::String);
  EXPECT_FALSE(amct::parsePruneRecord("producer { nme: \"x\" }", "bad.txt", error));
  EXPECT_NE(error.find("bad.txt:1:"), std::string::npos) << error;
}

} // namespace
