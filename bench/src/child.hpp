#pragma once
// Forked children for the benchmarks that need their own processes: worker processes
// draining one store, and a fresh process whose resident memory is measured. The parent
// must hold no threads and no open store instance when it forks (the backends refuse an
// instance opened by another process, and only the forking thread survives in a child).

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "workload.hpp"

namespace taskstore::bench {

struct ProcessDrain {
  double seconds = 0;  // from the start signal until the last worker reported
  ClaimCount total;
};

// Forks `processes` workers. Each opens its own instance with `open`, then all start
// claiming at one signal and claim until nothing is due. Throws std::runtime_error if a
// worker could not open its store or died.
ProcessDrain drain_in_processes(int processes,
                                const std::function<std::shared_ptr<BaseStorage>()>& open);

// Runs `body` in a forked child and returns the text it returned. Throws
// std::runtime_error with the child's message if it threw or died.
std::string run_in_child(const std::function<std::string()>& body);

}  // namespace taskstore::bench
