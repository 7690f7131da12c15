//===- Parallel.h - the kernels' thread pool --------------------*- C++ -*-===//
//
// A small persistent pool for the executor's kernels. Work is split into
// items whose results do not depend on which thread runs them, so outputs
// are byte-identical for any thread count. BLAS runs single-threaded inside
// the items: its own pool would spin between calls and compete with ours.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_LIB_RUNTIME_PARALLEL_H
#define AMCT_LIB_RUNTIME_PARALLEL_H

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>

namespace amct::rt {

/// Calls fn(begin, end, worker) on disjoint ranges covering [0, n), none
/// longer than `grain`, on up to `threads` threads (the caller is one of
/// them; `worker` is in [0, threads) and names a thread's scratch space).
/// Runs inline when `threads` <= 1, when n <= grain, and when called from
/// inside a parallel region or while another thread's region runs.
void parallelFor(int threads, int64_t n, int64_t grain,
                 llvm::function_ref<void(int64_t begin, int64_t end, int worker)> fn);

} // namespace amct::rt

#endif // AMCT_LIB_RUNTIME_PARALLEL_H
