//===- Progress.h - a progress bar on stderr --------------------*- C++ -*-===//
//
// One progress bar for the long loops of the tools: calibration (a step per
// observed layer and batch) and `amct run` over many batches. It draws only
// when stderr is a terminal, so redirected stderr (logs, tests) never sees
// it, and it never writes to stdout, which carries the tools' results.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_SUPPORT_PROGRESS_H
#define AMCT_SUPPORT_PROGRESS_H

#include "llvm/ADT/StringRef.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace amct {

/// A one-line bar, `label [#####.....] 12/40  0:03 left`, redrawn in place
/// with '\r' at most ten times a second and erased when finished, so the
/// terminal is left as it was. Single-threaded: update it from one thread.
class ProgressBar {
public:
  /// A bar over `total` steps. It stays invisible unless stderr is a
  /// terminal and `total` >= `minSteps` (a bar over one or two steps says
  /// nothing the wait does not).
  ProgressBar(llvm::StringRef label, int64_t total, int64_t minSteps = 2);
  ~ProgressBar();
  ProgressBar(const ProgressBar &) = delete;
  ProgressBar &operator=(const ProgressBar &) = delete;

  /// Sets the number of steps done (clamped to [0, total]) and redraws if
  /// the last drawing is older than 100 ms or the bar is complete.
  void update(int64_t done);
  /// Erases the bar; later updates draw nothing.
  void finish();
  /// Whether the bar draws at all.
  bool enabled() const { return active; }

  /// Erases the bar currently on the screen, if any, so that a message can
  /// be printed on a clean line; the bar redraws on its next update.
  /// ToolDiagnostics calls it before printing a diagnostic.
  static void clearCurrent();

private:
  void draw();
  void erase();

  std::string label;
  int64_t total;
  int64_t done = 0;
  bool active;
  bool drawn = false;
  std::chrono::steady_clock::time_point start, lastDraw;
};

} // namespace amct

#endif // AMCT_SUPPORT_PROGRESS_H
