//===- Workers.h - threads for the weight searches (internal) ---*- C++ -*-===//
//
// Internal to lib/Quant: the searches split their work into independent
// parts whose results do not depend on the thread count, and run them on
// plain threads with OpenBLAS held to one thread meanwhile.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_LIB_QUANT_WORKERS_H
#define AMCT_LIB_QUANT_WORKERS_H

#include <cblas.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace amct::quant {

/// OpenBLAS on one thread while the searches run their own workers (its
/// own threads would compete with them), restored after.
class SingleThreadedBlas {
public:
  explicit SingleThreadedBlas(bool active) : saved(active ? openblas_get_num_threads() : 0) {
    if (saved)
      openblas_set_num_threads(1);
  }
  ~SingleThreadedBlas() {
    if (saved)
      openblas_set_num_threads(saved);
  }
  SingleThreadedBlas(const SingleThreadedBlas &) = delete;
  SingleThreadedBlas &operator=(const SingleThreadedBlas &) = delete;

private:
  int saved;
};

/// Runs fn(id) for id in [0, workers) on that many threads (the caller's
/// included), then returns the first non-empty message of `errors`, if any.
template <typename Fn>
std::optional<std::string> runWorkers(int workers, Fn &&fn,
                                      const std::vector<std::string> &errors) {
  std::vector<std::thread> pool;
  for (int id = 1; id < workers; ++id)
    pool.emplace_back(fn, id);
  fn(0);
  for (std::thread &th : pool)
    th.join();
  for (const std::string &e : errors)
    if (!e.empty())
      return e;
  return std::nullopt;
}

} // namespace amct::quant

#endif // AMCT_LIB_QUANT_WORKERS_H
