#pragma once
// The benchmark families, one source file each. Each registers its benchmarks for every
// backend in backends() (and every baseline in baselines()), in the order they run.

#include "settings.hpp"

namespace taskstore::bench {

// footprint/<backend>/tasks:N (bench_footprint.cpp)
void register_footprint_benchmarks(const Settings& settings);
// enqueue/<backend>, enqueue/raw_<medium>, cycle/<backend>, get_task/<backend>
// (bench_operations.cpp)
void register_operation_benchmarks(const Settings& settings);
// dequeue/<backend>/threads:N, dequeue/raw_<medium>/threads:N,
// dequeue_size/<backend>/tasks:N (bench_dequeue.cpp)
void register_dequeue_benchmarks(const Settings& settings);
// open/<backend>/tasks:N, durable backends only (bench_open.cpp)
void register_open_benchmarks(const Settings& settings);
// dequeue_processes/<backend>/processes:N, durable backends only (bench_processes.cpp)
void register_process_benchmarks(const Settings& settings);
// dequeue_long/<backend>/tasks:N, dequeue_long/raw_<medium>/tasks:N, backends with a
// long_drain size only (bench_long.cpp)
void register_long_benchmarks(const Settings& settings);
// queue_drain/<backend>/tasks:N (bench_queue.cpp)
void register_queue_benchmarks(const Settings& settings);

}  // namespace taskstore::bench
