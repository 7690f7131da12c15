//===- Kernels.cpp - amct kernels -----------------------------------------===//
//
// `amct kernels`: the executor's kernel registry, one line per kernel
// (domain, op type, opsets, outputs): the ops `amct run`, calibration and
// evaluation can run. `--format=tsv` is for scripts (the node-test runner
// reads it).
//
//===----------------------------------------------------------------------===//

#include "AmctTool.h"
#include "amct/Runtime/KernelRegistry.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace amct;
using namespace amct::tool;

cl::SubCommand amct::tool::kernelsCmd("kernels", "List the ops the executor runs");
static cl::opt<std::string> kernelsFormat("format", cl::desc("table (default) or tsv"),
                                          cl::init("table"), cl::sub(kernelsCmd));

int amct::tool::runKernels() {
  if (kernelsFormat != "table" && kernelsFormat != "tsv") {
    llvm::errs() << "amct kernels: error: --format must be table or tsv, got '"
                 << kernelsFormat << "'\n";
    return kExitUsageError;
  }
  std::vector<const rt::KernelEntry *> entries;
  for (const rt::KernelEntry &e : rt::KernelRegistry::get().entries())
    entries.push_back(&e);
  std::stable_sort(entries.begin(), entries.end(), [](auto *a, auto *b) {
    return std::tie(a->domain, a->opType, a->since) < std::tie(b->domain, b->opType, b->since);
  });
  auto until = [](const rt::KernelEntry *e) {
    return e->until == rt::KernelEntry::kNoOpsetLimit ? std::string() : std::to_string(e->until);
  };
  auto outputs = [](const rt::KernelEntry *e) {
    return e->maxOutputs == ~0u ? std::string("any") : std::to_string(e->maxOutputs);
  };
  if (kernelsFormat == "tsv") {
    llvm::outs() << "domain\top_type\tsince\tuntil\tmin_inputs\tmax_outputs\n";
    for (auto *e : entries)
      llvm::outs() << e->domain << "\t" << e->opType << "\t" << e->since << "\t" << until(e)
                   << "\t" << e->minInputs << "\t" << outputs(e) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"domain", "op", "opsets", "outputs"}};
  for (auto *e : entries)
    rows.push_back({e->domain.empty() ? "ai.onnx" : e->domain, e->opType,
                    std::to_string(e->since) + (until(e).empty() ? "+" : "-" + until(e)),
                    outputs(e)});
  printTable(llvm::outs(), rows, {false, false, false, true});
  llvm::outs() << entries.size() << " kernels\n";
  return 0;
}
