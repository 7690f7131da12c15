//===- Convert.cpp - amct convert: a record to the quantized models -------===//
//
// AMCT's convert (save_model from a record): the fp32 model and a record
// file give the fake-quant and deploy models, without calibrating again,
// exactly as `amct quantize` made them from the same record.
//
//===----------------------------------------------------------------------===//

#include "AmctTool.h"

#include "amct/Pipelines/Quantize.h"
#include "amct/Support/RecordFile.h"
#include "amct/Target/ONNX/SaveModels.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace amct;
using namespace amct::tool;

cl::SubCommand amct::tool::convertCmd("convert",
                                      "Fake-quant and deploy models from an fp32 model and a "
                                      "record file, without calibrating");
static PluginOptions pluginOptions(convertCmd);
static cl::opt<std::string> cModel("model", cl::desc("ONNX model (fp32)"), cl::Required,
                                   cl::value_desc("M.onnx"), cl::sub(convertCmd));
static cl::opt<std::string> cRecord("record", cl::desc("record file (amct quantize's, or AMCT's)"),
                                    cl::Required, cl::value_desc("FILE"), cl::sub(convertCmd));
static cl::opt<std::string> cConfig("config",
                                    cl::desc("the quant config the record was made with (default: "
                                             "every layer the record has an activation scale for)"),
                                    cl::value_desc("FILE"), cl::sub(convertCmd));
static cl::opt<std::string> cSavePath("save-path",
                                      cl::desc("output prefix P: P_fake_quant_model.onnx, "
                                               "P_deploy_model.onnx"),
                                      cl::Required, cl::value_desc("P"), cl::sub(convertCmd));
static cl::opt<bool> cExternalData(
    "onnx-external-data",
    cl::desc("write the models' weights as ONNX external data (<model>.onnx.data; done anyway "
             "for a model over protobuf's 2 GiB)"),
    cl::sub(convertCmd));

int amct::tool::runConvert() {
  ToolSession session("amct convert");
  if (!pluginOptions.load("amct convert"))
    return kExitUserError;
  std::string error;
  std::optional<Record> record = readRecordFile(cRecord, error);
  if (!record) {
    llvm::errs() << "amct convert: error: " << error << "\n";
    return kExitUserError;
  }
  OwningOpRef<ModuleOp> module = session.loadModel(cModel);
  if (!module)
    return kExitUserError;
  auto result = convertModel(*module, cConfig, *record, cRecord);
  if (failed(result))
    return kExitUserError;
  SaveModelsOptions save;
  save.fakeQuantPath = fakeQuantModelPath(cSavePath);
  save.deployPath = deployModelPath(cSavePath);
  save.externalData = cExternalData;
  if (failed(saveQuantizeResult(*result, save, error))) {
    if (!error.empty())
      llvm::errs() << "amct convert: error: " << error << "\n";
    return kExitUserError;
  }
  llvm::outs() << result->quantized.size() << " layer"
               << (result->quantized.size() == 1 ? "" : "s") << " quantized from " << cRecord
               << "\nfake-quant model: " << save.fakeQuantPath << "\ndeploy model: " << save.deployPath
               << "\n";
  return 0;
}
