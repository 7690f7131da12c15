//===- ImportExportBench.cpp - ONNX import/export speed and memory --------===//
//
//   amct-bench-onnx MODEL.onnx [google benchmark flags]
//
// Times importONNXFile and exportONNX on a real model file (scripts/bench.sh
// generates a ResNet-50-sized one), then does one import + export in a
// fresh context and reports the process's peak resident memory against the
// model's size: the importer takes weights from the parsed protobuf without
// copying them, so the peak should stay under 2x the model.
//
//===----------------------------------------------------------------------===//

#include "amct/Target/ONNX/ExportONNX.h"
#include "amct/Target/ONNX/ImportONNX.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <benchmark/benchmark.h>
#include <chrono>
#include <sys/resource.h>

using namespace mlir;

static std::string modelPath;

namespace {
/// Discards what is written but counts it.
class CountingStream : public llvm::raw_ostream {
public:
  uint64_t bytes = 0;
  CountingStream() { SetUnbuffered(); }

private:
  void write_impl(const char *, size_t size) override { bytes += size; }
  uint64_t current_pos() const override { return bytes; }
};
} // namespace

static void BM_Import(benchmark::State &state) {
  for (auto _ : state) {
    MLIRContext ctx;
    auto module = amct::importONNXFile(modelPath, &ctx);
    if (failed(module))
      state.SkipWithError("import failed");
  }
  uint64_t size = 0;
  llvm::sys::fs::file_size(modelPath, size);
  state.SetBytesProcessed(state.iterations() * size);
}

static void BM_Export(benchmark::State &state) {
  MLIRContext ctx;
  auto module = amct::importONNXFile(modelPath, &ctx);
  if (failed(module)) {
    state.SkipWithError("import failed");
    return;
  }
  uint64_t bytes = 0;
  for (auto _ : state) {
    CountingStream os;
    if (failed(amct::exportONNX(**module, os)))
      state.SkipWithError("export failed");
    bytes = os.bytes;
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}

BENCHMARK(BM_Import)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Export)->Unit(benchmark::kMillisecond);

/// One import + export to a file, as amct-opt M.onnx -o out.onnx does, with
/// wall time and peak RSS.
static int measureOnce() {
  uint64_t size = 0;
  llvm::sys::fs::file_size(modelPath, size);
  auto start = std::chrono::steady_clock::now();
  {
    MLIRContext ctx;
    auto module = amct::importONNXFile(modelPath, &ctx);
    if (failed(module))
      return 1;
    std::string out = modelPath + ".bench-out.onnx";
    if (failed(amct::exportONNXFile(**module, out)))
      return 1;
    llvm::sys::fs::remove(out);
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double peakMB = usage.ru_maxrss / 1024.0, modelMB = size / 1048576.0;
  llvm::outs() << llvm::format("import+export of %.1f MB: %.2f s, peak RSS %.1f MB "
                               "(%.2fx the model)\n",
                               modelMB, seconds, peakMB, peakMB / modelMB);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') {
    llvm::errs() << "usage: amct-bench-onnx MODEL.onnx [benchmark flags]\n";
    return 2;
  }
  modelPath = argv[1];
  // Peak memory is measured first, before the benchmarks raise it.
  if (measureOnce() != 0)
    return 1;
  argv[1] = argv[0];
  ++argv;
  --argc;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
