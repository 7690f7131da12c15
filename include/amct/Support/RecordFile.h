//===- RecordFile.h - AMCT scale/offset record files ------------*- C++ -*-===//
//
// The record file of calibration results that AMCT's quantize_model writes
// and the fake-quant/deploy steps read (reference 003, DESIGN.md section 6):
// protobuf text of a ScaleOffsetRecord
// (lib/Support/proto/scale_offset_record.proto), one `record` entry per
// layer, e.g.
//
//   record {
//     key: "conv1"
//     value {
//       scale_d: 0.0798
//       offset_d: 1
//       scale_w: 0.00298
//       offset_w: 0
//     }
//   }
//
// Free of MLIR, of protobuf in this header and of exceptions. Files written
// here read back bit for bit, and interchange with AMCT's.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_SUPPORT_RECORDFILE_H
#define AMCT_SUPPORT_RECORDFILE_H

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace amct {

/// SingleLayerRecord: one layer's quantization factors. Unset optionals and
/// empty strings are not written.
struct LayerRecord {
  /// Activation scale and offset (AscendQuant takes 1/scale_d, offset_d).
  std::optional<float> scaleD;
  std::optional<int32_t> offsetD;
  /// Weight scales and offsets: one, or one per output channel.
  std::vector<float> scaleW;
  std::vector<int32_t> offsetW;
  std::vector<uint32_t> shiftBit;
  /// DMQ balancer factors, one per input channel.
  std::vector<float> tensorBalanceFactor;
  std::optional<bool> skipFusion;
  /// "INT8" (AMCT's default when absent), "INT4", "INT16"; not checked here.
  std::string dstType;
  std::string actType;
  std::string wtsType;
  std::string fakequantPrecisionMode;

  bool operator==(const LayerRecord &other) const;
  bool operator!=(const LayerRecord &other) const { return !(*this == other); }
};

/// SingleLayerKVCacheRecord: a KV-cache quantization entry.
struct KVCacheRecord {
  std::vector<float> scale;
  std::vector<int32_t> offset;

  bool operator==(const KVCacheRecord &other) const;
};

/// AttrProto: one named attribute of a PruneNode. amct-mlir writes INT,
/// INTS and STRING (bytes) attributes.
struct PruneAttr {
  enum class Type { Undefined = 0, Float = 1, Int = 2, String = 3, Floats = 4, Ints = 5, Strings = 6 };
  std::string name;
  Type type = Type::Undefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};

/// PruneNode: a layer a prune record changes, with its attributes.
struct PruneNode {
  std::string name;
  std::vector<PruneAttr> attrs;

  const PruneAttr *find(const std::string &attrName) const;
  void addInt(const std::string &attrName, int64_t value);
  void addInts(const std::string &attrName, std::vector<int64_t> values);
  void addString(const std::string &attrName, std::string value);
};

/// PruneRecord: one group of layers pruned together (filter pruning:
/// producers whose output channels go and consumers whose input channels
/// go) or one layer's n-out-of-m mask (`selective_prune`).
struct PruneRecordEntry {
  std::vector<PruneNode> producers, consumers;
  std::optional<PruneNode> selective;
};

/// The protobuf text of `entry` (its fields, as Record::pruneRecords holds
/// them).
std::string printPruneRecord(const PruneRecordEntry &entry);

/// Reads one Record::pruneRecords text; `where` names it in errors.
std::optional<PruneRecordEntry> parsePruneRecord(const std::string &text,
                                                 const std::string &where,
                                                 std::string &error);

/// A whole record file.
struct Record {
  /// Entries with a `value`, in file order; keys are unique.
  std::vector<std::pair<std::string, LayerRecord>> layers;
  /// Entries with a `kv_cache_value`, in file order; keys are unique. An
  /// entry with both lands in both lists and is written back as one entry.
  std::vector<std::pair<std::string, KVCacheRecord>> kvCache;
  /// The `prune_record` messages, each as protobuf text (fields at the
  /// top level), written back verbatim; parsePruneRecord reads one.
  std::vector<std::string> pruneRecords;

  /// The layer's record, or null. Linear in the number of layers.
  const LayerRecord *find(const std::string &key) const;
  LayerRecord *find(const std::string &key);
  /// The layer's record, appended empty if absent.
  LayerRecord &getOrAdd(const std::string &key);
};

/// Parses record file text. Errors start with `fileName` and give
/// line:col: syntax errors, unknown fields, a field given twice, an entry
/// without a key or without a value, a key recorded twice (with the line of
/// the first), and the GRU/LSTM fields (scale_h, offset_h, scale_r,
/// offset_r), which amct-mlir does not support. Empty text is an empty
/// record. Values (scale > 0, offset ranges) are the reader's business.
std::optional<Record> parseRecordFile(const std::string &text,
                                      const std::string &fileName,
                                      std::string &error);

/// parseRecordFile on the contents of the file at `path`.
std::optional<Record> readRecordFile(const std::string &path,
                                     std::string &error);

/// Writes the record as AMCT does (Python protobuf's
/// text_format.MessageToString(as_utf8=True)): fields in field-number order,
/// two-space indentation, repeated values one per line, floats as the
/// shortest decimal that reads back to the same float (inf, -inf, nan as
/// words). parseRecordFile(writeRecordFile(r)) == r bit for bit, NaN
/// payloads aside.
std::string writeRecordFile(const Record &record);

} // namespace amct

#endif // AMCT_SUPPORT_RECORDFILE_H
