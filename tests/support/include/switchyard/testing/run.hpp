#pragma once
/// Running coroutines to completion in tests: the io_context is driven until the futures are
/// ready, bounded in time, so a hang fails the test instead of blocking ctest.
#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <stdexcept>
#include <vector>

namespace switchyard::testing {

/// Runs `ioc` until every future in `futures` is ready; throws after `limit`.
template <typename Future>
void drive(boost::asio::io_context& ioc, std::vector<Future>& futures,
           std::chrono::milliseconds limit = std::chrono::seconds{10}) {
  using namespace std::chrono_literals;
  ioc.restart();
  auto deadline = std::chrono::steady_clock::now() + limit;
  auto all_ready = [&] {
    return std::all_of(futures.begin(), futures.end(),
                       [](auto& f) { return f.wait_for(0s) == std::future_status::ready; });
  };
  while (!all_ready() && std::chrono::steady_clock::now() < deadline) {
    ioc.run_one_for(20ms);
  }
  if (!all_ready()) {
    throw std::runtime_error("test coroutines did not finish in time");
  }
}

/// Runs one coroutine on `ioc` to completion and returns its result (or rethrows its exception).
template <typename T>
T run(boost::asio::io_context& ioc, boost::asio::awaitable<T> aw,
      std::chrono::milliseconds limit = std::chrono::seconds{10}) {
  std::vector<std::future<T>> fs;
  fs.push_back(boost::asio::co_spawn(ioc, std::move(aw), boost::asio::use_future));
  drive(ioc, fs, limit);
  return fs.front().get();
}

}  // namespace switchyard::testing
