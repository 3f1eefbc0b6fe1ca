#pragma once
// sync_wait: run one store operation to completion from ordinary (non-coroutine) code,
// e.g. in a test or a command-line tool.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "taskstore/storage.hpp"

namespace taskstore {

// Runs `op` on `io` until it completes and returns its value (or rethrows its error).
// `io` must not be running elsewhere; each thread that calls this needs its own.
template <typename T>
T sync_wait(boost::asio::io_context& io, Awaitable<T> op) {
  auto result = boost::asio::co_spawn(io, std::move(op), boost::asio::use_future);
  io.restart();
  io.run();
  return result.get();
}

}  // namespace taskstore
