#include "switchyard/router/admission.hpp"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "router_metrics.hpp"

namespace switchyard::router {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

bool timers_behind(int64_t max_lateness_ms, int fired, int burst, bool batch_full, milliseconds timer_poll) {
  return batch_full || (fired >= burst && max_lateness_ms > 2 * timer_poll.count());
}

milliseconds timers_behind_ttl(milliseconds timer_poll) { return std::max(milliseconds{100}, 5 * timer_poll); }

StartAdmission::StartAdmission(store::ExecutionStore& store, milliseconds max_hold)
    : store_(store), max_hold_(max_hold) {}

asio::awaitable<bool> StartAdmission::behind() {
  auto now = Clock::now();
  if (!reading_ && now - read_at_ >= kRefresh) {
    reading_ = true;
    try {
      behind_ = co_await store_.timers_behind();
    } catch (const std::exception&) {
      // Redis trouble: the start itself will meet it and answer; holding it would only add delay.
      behind_ = false;
    }
    reading_ = false;
    read_at_ = Clock::now();
  }
  co_return behind_;
}

asio::awaitable<milliseconds> StartAdmission::admit() {
  if (max_hold_.count() <= 0) {
    co_return milliseconds{0};
  }
  auto start = Clock::now();
  auto deadline = start + max_hold_;
  std::optional<asio::steady_timer> timer;
  while (co_await behind()) {
    auto now = Clock::now();
    if (now >= deadline) {
      break;
    }
    if (!timer) {
      timer.emplace(co_await asio::this_coro::executor);
    }
    // Short naps: the start goes on within a few ms of the router catching up.
    timer->expires_after(std::min<Clock::duration>(milliseconds{5}, deadline - now));
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  auto held = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  if (timer) {
    RouterMetrics::get().starts_held.inc();
    RouterMetrics::get().start_hold_seconds.inc(static_cast<double>(held.count()) / 1000.0);
  }
  co_return held;
}

}  // namespace switchyard::router
