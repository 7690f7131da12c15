//===- Progress.cpp - a progress bar on stderr ----------------------------===//
//
// The bar is a single line rewritten with '\r'. Everything is written to
// stderr in one call per redraw so a slow terminal shows no half lines.
//
//===----------------------------------------------------------------------===//

#include "amct/Support/Progress.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace amct;

namespace {
/// The bar on the screen now, if any (one at a time; tools are sequential).
ProgressBar *current = nullptr;
/// Characters of the last line drawn, to blank it out.
size_t drawnWidth = 0;

std::string formatDuration(double seconds) {
  auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600)
    return llvm::formatv("{0}:{1:2}:{2:2}", s / 3600, (s / 60) % 60, s % 60).str();
  return llvm::formatv("{0}:{1:2}", s / 60, s % 60).str();
}
} // namespace

ProgressBar::ProgressBar(llvm::StringRef label, int64_t total, int64_t minSteps)
    : label(label.str()), total(std::max<int64_t>(total, 0)),
      active(total >= std::max<int64_t>(minSteps, 1) &&
             llvm::sys::Process::StandardErrIsDisplayed()),
      start(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(int64_t value) {
  if (!active)
    return;
  done = std::clamp<int64_t>(value, 0, total);
  auto now = std::chrono::steady_clock::now();
  if (drawn && done < total && now - lastDraw < std::chrono::milliseconds(100))
    return;
  lastDraw = now;
  draw();
}

void ProgressBar::finish() {
  if (drawn)
    erase();
  active = false;
}

void ProgressBar::clearCurrent() {
  if (current)
    current->erase();
}

void ProgressBar::draw() {
  if (current && current != this)
    current->erase();
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string tail = llvm::formatv(" {0}/{1}  {2}", done, total, formatDuration(elapsed)).str();
  if (done > 0 && done < total)
    tail += " (" + formatDuration(elapsed * (total - done) / done) + " left)";
  unsigned columns = llvm::sys::Process::StandardErrColumns();
  if (columns == 0)
    columns = 80;
  // Keep one column free: writing the last column makes some terminals wrap.
  int64_t room = static_cast<int64_t>(columns) - 1 - label.size() - 3 - tail.size();
  int64_t width = std::clamp<int64_t>(room, 0, 40);
  std::string line = "\r" + label;
  if (width >= 5) {
    int64_t filled = total ? width * done / total : width;
    line += " [" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
  }
  line += tail;
  // A line that wraps could not be redrawn with '\r': cut it instead.
  if (line.size() > columns)
    line.resize(columns);
  size_t visible = line.size() - 1;
  if (visible < drawnWidth)
    line += std::string(drawnWidth - visible, ' ');
  drawnWidth = visible;
  llvm::errs() << line;
  llvm::errs().flush();
  drawn = true;
  current = this;
}

void ProgressBar::erase() {
  if (!drawn)
    return;
  llvm::errs() << "\r" << std::string(drawnWidth, ' ') << "\r";
  llvm::errs().flush();
  drawn = false;
  drawnWidth = 0;
  if (current == this)
    current = nullptr;
}
