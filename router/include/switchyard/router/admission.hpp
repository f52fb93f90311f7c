#pragma once
/// Work of running executions goes before new executions. A burst of Waits falling due (or a
/// backlog after every router was down) competes for the same CPUs and the same Redis as the
/// starts that keep arriving; a start can wait a little, a timer is late already. So a router
/// whose timer poll finds it behind raises a flag in Redis (keys::kTimersBehind, expiring by
/// itself, lowered as soon as it catches up), and every process that starts executions (the
/// gateway's API, webhooks, CloudEvents, schedules) holds each new start while the flag is up,
/// for at most RouterOptions::start_hold. Inside a router, reading new work from the stream is
/// held back the same way (Worker::read_loop).
///
/// The flag is read at most every kRefresh per process (one EXISTS, only while starts arrive):
/// a start costs no extra round trip otherwise. Routers that are all down raise no flag, so
/// starts are never held for timers nobody is firing.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>

#include "switchyard/store/execution_store.hpp"

namespace switchyard::router {

/// Whether a timer poll shows the router behind: the batch was full (more are due right now), or
/// it was a burst (`fired` at least `burst`) whose latest-taken timer fell due more than two polls
/// ago, later than polling explains. Only a burst counts: due times come from the clocks of the
/// processes that set the timers, and a router whose clock runs ahead of theirs sees a trickle of
/// timers as late when none is.
bool timers_behind(int64_t max_lateness_ms, int fired, int burst, bool batch_full,
                   std::chrono::milliseconds timer_poll);

/// How long a raised flag lives unless raised again: a router that dies while behind must not
/// hold starts for long; a live one refreshes it every poll it is still behind.
std::chrono::milliseconds timers_behind_ttl(std::chrono::milliseconds timer_poll);

class StartAdmission {
 public:
  /// `max_hold` zero: never hold.
  StartAdmission(store::ExecutionStore& store, std::chrono::milliseconds max_hold);

  /// Resolves when a new execution may start: at once while no router is behind on timers, else
  /// when they have caught up or after max_hold. Returns how long the start was held. A request
  /// or tick that starts several executions waits once, not once per start.
  boost::asio::awaitable<std::chrono::milliseconds> admit();

  /// How often the flag is read (at most) while starts arrive.
  static constexpr std::chrono::milliseconds kRefresh{10};

 private:
  boost::asio::awaitable<bool> behind();

  store::ExecutionStore& store_;
  std::chrono::milliseconds max_hold_;
  bool behind_ = false;
  bool reading_ = false;  // one read at a time; concurrent starts use the last answer
  std::chrono::steady_clock::time_point read_at_{};
};

}  // namespace switchyard::router
