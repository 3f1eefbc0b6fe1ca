#pragma once
// offload: run blocking work on a pool the backend owns, then resume the awaiting
// coroutine on its own executor. Durable backends use it for every file or database
// call, so a caller's io_context thread never waits on a disk or a lock.

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "taskstore/storage.hpp"

namespace taskstore {

// Runs `work()` on `pool_executor` and returns (or rethrows) its outcome on the
// executor of the coroutine that awaits the result.
template <typename PoolExecutor, typename Work>
Awaitable<std::invoke_result_t<Work&>> offload(PoolExecutor pool_executor, Work work) {
  namespace asio = boost::asio;
  using Result = std::invoke_result_t<Work&>;
  constexpr bool kVoid = std::is_void_v<Result>;
  // Carries a value out of the pool; optional<> so Result needn't be default-constructible.
  using Slot = std::conditional_t<kVoid, bool, std::optional<Result>>;

  auto initiate = [pool_executor, &work](auto handler) mutable {
    // Keep the caller's executor busy while the work is away, so a caller that runs its
    // io_context until it is out of work does not return early.
    auto home = asio::prefer(asio::get_associated_executor(handler),
                             asio::execution::outstanding_work.tracked);
    asio::post(pool_executor, [work = std::move(work), handler = std::move(handler),
                               home = std::move(home)]() mutable {
      std::exception_ptr error;
      Slot slot{};
      try {
        if constexpr (kVoid) {
          work();
        } else {
          slot.emplace(work());
        }
      } catch (...) {
        error = std::current_exception();
      }
      asio::post(home, [handler = std::move(handler), error, slot = std::move(slot)]() mutable {
        std::move(handler)(error, std::move(slot));
      });
    });
  };

  Slot slot = co_await asio::async_initiate<decltype(asio::use_awaitable),
                                            void(std::exception_ptr, Slot)>(
      std::move(initiate), asio::use_awaitable);
  if constexpr (!kVoid) {
    co_return std::move(*slot);
  }
}

}  // namespace taskstore
