//===- Parallel.cpp - the kernels' thread pool ----------------------------===//
//
// Helpers sleep on a condition variable between regions, after a short spin:
// the executor runs one parallel kernel after another, and a futex wake-up
// costs more than most gaps between them.
//
//===----------------------------------------------------------------------===//

#include "Parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AMCT_CPU_RELAX() _mm_pause()
#else
#define AMCT_CPU_RELAX() ((void)0)
#endif

namespace amct::rt {
namespace {

using Fn = llvm::function_ref<void(int64_t, int64_t, int)>;

thread_local bool inRegion = false;

/// Spins on `done` for up to ~50 us; returns whether it became true.
template <typename Pred> bool spinFor(Pred done) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 1;; ++i) {
    if (done())
      return true;
    AMCT_CPU_RELAX();
    if (i % 256 == 0 &&
        std::chrono::steady_clock::now() - start > std::chrono::microseconds(50))
      return false;
  }
}

/// Set in the child of a fork: the helpers did not come along.
std::atomic<bool> forkedChild{false};

/// Never destroyed: helpers idle at exit need no joining, and a forked
/// child (which has none) must not try to.
class Pool {
public:
  /// Runs the region on `threads` threads; false if another region is
  /// running (the caller then runs it alone).
  bool run(int threads, int64_t n, int64_t grain, Fn fn) {
    std::unique_lock<std::mutex> job(jobMutex, std::try_to_lock);
    if (!job.owns_lock())
      return false;
    while ((int)helpers.size() < threads - 1) {
      // The helper joins from the next generation on, however late it starts.
      int id = helpers.size() + 1;
      uint64_t seen = generation.load();
      helpers.emplace_back([this, id, seen] { helperLoop(id, seen); });
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      this->fn = &fn;
      this->n = n;
      this->grain = grain;
      next.store(0);
      participants = threads - 1;
      active.store(threads - 1);
      generation.fetch_add(1);
    }
    wake.notify_all();
    work(0);
    if (!spinFor([&] { return active.load() == 0; })) {
      std::unique_lock<std::mutex> lock(mutex);
      done.wait(lock, [&] { return active.load() == 0; });
    }
    return true;
  }

private:
  void work(int worker) {
    inRegion = true;
    for (;;) {
      int64_t begin = next.fetch_add(grain);
      if (begin >= n)
        break;
      (*fn)(begin, std::min(n, begin + grain), worker);
    }
    inRegion = false;
  }

  void helperLoop(int id, uint64_t seen) {
    for (;;) {
      if (!spinFor([&] { return generation.load() != seen; })) {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return generation.load() != seen; });
      }
      int count;
      {
        std::lock_guard<std::mutex> lock(mutex);
        seen = generation.load();
        count = participants;
      }
      if (id > count)
        continue;
      work(id);
      if (active.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lock(mutex);
        done.notify_one();
      }
    }
  }

  std::mutex jobMutex; // one region at a time
  std::mutex mutex;    // guards the fields below and the waits
  std::condition_variable wake, done;
  std::vector<std::thread> helpers;
  std::atomic<uint64_t> generation{0};
  std::atomic<int64_t> next{0};
  std::atomic<int> active{0};
  int participants = 0;
  const Fn *fn = nullptr;
  int64_t n = 0, grain = 1;
};

} // namespace

void parallelFor(int threads, int64_t n, int64_t grain, Fn fn) {
  grain = std::max<int64_t>(1, grain);
  if (n <= 0)
    return;
  threads = std::max<int64_t>(1, std::min<int64_t>(threads, (n + grain - 1) / grain));
  if (threads > 1 && !inRegion && !forkedChild) {
    static Pool &pool = [] () -> Pool & {
      pthread_atfork(nullptr, nullptr, [] { forkedChild = true; });
      return *new Pool;
    }();
    if (pool.run(threads, n, grain, fn))
      return;
  }
  for (int64_t begin = 0; begin < n; begin += grain)
    fn(begin, std::min(n, begin + grain), 0);
}

} // namespace amct::rt
