#include "switchyard/router/worker.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iostream>

#include "router_metrics.hpp"
#include "switchyard/router/admission.hpp"
#include "switchyard/router/clock.hpp"
#include "switchyard/store/keys.hpp"

namespace switchyard::router {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {
asio::awaitable<void> sleep_for(milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}
}  // namespace

Worker::Worker(asio::any_io_executor ex, store::Address address, ExecutionService& service,
               const RouterOptions& options)
    : ex_(ex),
      blocking_(std::make_unique<store::Redis>(ex, std::move(address))),
      service_(service),
      options_(options) {}

Worker::~Worker() { service_.set_local_worker(nullptr); }

void Worker::start() {
  auto log = [](const char* what) {
    return [what](const std::exception_ptr& e) {
      if (!e) {
        return;
      }
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "switchyard: router " << what << " loop ended: " << ex.what() << "\n";
      }
    };
  };
  service_.set_local_worker(this);
  asio::co_spawn(ex_, read_loop(), log("read"));
  asio::co_spawn(ex_, reclaim_loop(), log("reclaim"));
  asio::co_spawn(ex_, timer_loop(), log("timer"));
  asio::co_spawn(ex_, sweep_loop(), log("index sweep"));
}

bool Worker::has_room() const { return !stopping_ && static_cast<int>(in_flight_.size()) < options_.max_in_flight; }

void Worker::dispatch(store::WorkItem item, std::shared_ptr<ExecutionService::Carry> carry) {
  run(std::move(item), std::move(carry), false);
}

void Worker::run(store::WorkItem item, std::shared_ptr<ExecutionService::Carry> carry, bool timer) {
  if (!in_flight_.insert(item.id).second) {
    return;  // already being processed here (a reclaim raced the read)
  }
  if (timer) {
    ++timers_in_flight_;
  }
  RouterMetrics::get().work_in_flight.set(static_cast<double>(in_flight_.size()));
  asio::co_spawn(
      ex_,
      [this, item = std::move(item), carry = std::move(carry), timer]() mutable -> asio::awaitable<void> {
        // One coroutine follows the chain of steps its commits lease (the fast path).
        std::optional<store::WorkItem> next = std::move(item);
        while (next) {
          std::string id = next->id;
          std::optional<store::WorkItem> leased;
          try {
            leased = co_await service_.process(std::move(*next), carry);
          } catch (const std::exception& e) {
            // Left pending: another delivery after the lease retries it.
            std::cerr << "switchyard: work item " << id << " failed: " << e.what() << "\n";
          }
          in_flight_.erase(id);
          if (timer) {
            --timers_in_flight_;
            timer = false;
          }
          next.reset();
          if (leased && in_flight_.insert(leased->id).second) {
            next = std::move(leased);
          }
          RouterMetrics::get().work_in_flight.set(static_cast<double>(in_flight_.size()));
        }
      },
      asio::detached);
}

asio::awaitable<void> Worker::read_loop() {
  co_await blocking_->connect();
  co_await service_.executions().ensure_group();
  while (!stopping_) {
    // While fired timers run, or a burst of them is due, new work is read only up to an eighth of
    // the limit: every item in flight shares the router's CPU and its Redis pipeline with them, and
    // a timer is late already.
    bool timers = timers_in_flight_ > 0 || timers_due_;
    int limit = timers ? std::max(1, options_.max_in_flight / 8) : options_.max_in_flight;
    if (static_cast<int>(in_flight_.size()) >= limit) {
      co_await sleep_for(milliseconds{timers ? 1 : 2});  // back-pressure: finish what we hold first
      continue;
    }
    int room = std::min(options_.read_batch, limit - static_cast<int>(in_flight_.size()));
    bool failed = false;
    try {
      auto items = co_await store::ExecutionStore::read_work(*blocking_, options_.consumer, room, options_.block);
      for (auto& item : items) {
        dispatch(std::move(item));
      }
    } catch (const std::exception& e) {
      if (stopping_) {
        break;
      }
      std::cerr << "switchyard: reading work failed: " << e.what() << "\n";
      failed = true;
    }
    if (failed) {
      co_await sleep_for(milliseconds{200});  // Redis is down or restarting: do not spin
    }
  }
}

asio::awaitable<void> Worker::reclaim_loop() {
  // Reclaim at a third of the lease so dead routers' work waits at most ~1.3 leases.
  milliseconds every = std::max(milliseconds{100}, options_.lease / 3);
  while (!stopping_) {
    co_await sleep_for(every);
    if (stopping_) {
      break;
    }
    try {
      // Renew what we hold first, so a long call is not taken from us: stream
      // items by XCLAIM, leases (timer members, see ExecutionService) by moving their timers.
      // (A run's lease member is shared by its steps: holding an outdated copy of a step, we
      // renew the current holder's lease until our call ends; the version guard keeps our
      // commit out, and a takeover after the holder dies waits that much longer.)
      std::vector<std::string> held;
      std::vector<std::string> leases;
      for (const auto& id : in_flight_) {
        (id.find('|') != std::string::npos ? leases : held).push_back(id);
      }
      co_await service_.executions().renew(options_.consumer, held);
      co_await service_.executions().renew_leases(leases, now_ms() + options_.lease.count());
      auto items = co_await service_.executions().reclaim(options_.consumer, options_.lease, options_.read_batch);
      for (auto& item : items) {
        dispatch(std::move(item));
      }
    } catch (const std::exception& e) {
      std::cerr << "switchyard: reclaiming work failed: " << e.what() << "\n";
    }
  }
}

asio::awaitable<void> Worker::timer_loop() {
  while (!stopping_) {
    try {
      // Due timers are work of executions already running: this router takes what it has room
      // for, up to twice its in-flight limit (read_loop stops reading new work at the limit, so
      // timers always find room), and runs them at once. The rest stay due in the zset for the
      // next poll or another router, never behind new executions in the stream. Bounded because
      // every item in flight holds its coroutine frames (tens of KiB).
      int limit = 2 * options_.max_in_flight;
      int take = stopping_ ? 0 : std::clamp(limit - static_cast<int>(in_flight_.size()), 0, options_.timer_batch);
      std::vector<store::WorkItem> fired;
      if (take > 0) {
        fired = co_await service_.executions().fire_timers(now_ms(), take, now_ms() + options_.lease.count());
      }
      int fired_count = static_cast<int>(fired.size());
      RouterMetrics::get().timers_fired.inc(static_cast<double>(fired_count));
      int64_t taken = now_ms();
      int64_t max_late = 0;
      for (const auto& item : fired) {
        int64_t late = std::max<int64_t>(0, taken - item.due_ms);
        max_late = std::max(max_late, late);
        RouterMetrics::get().timer_lateness.with({item.kind}).observe(static_cast<double>(late) / 1000.0);
      }
      bool more = fired_count >= options_.timer_batch;
      // A burst (not a trickle: a few timers every poll must not cap new work for good) makes
      // read_loop hold back new work until a poll finds fewer: wake-ups are due now, starts can queue.
      int burst = std::max(1, options_.max_in_flight / 8);
      timers_due_ = fired_count >= burst || (take == 0 && timers_in_flight_ > 0);
      for (auto& item : fired) {
        run(std::move(item), nullptr, true);
      }
      // (No room to take any: nothing learnt, the flag stays as it is.) Not awaited here: the
      // write would queue behind the batch's own Redis round trips and delay the next poll.
      if (take > 0 && !signalling_) {
        bool behind = timers_behind(max_late, fired_count, burst, more, options_.timer_poll);
        if (behind || behind_raised_) {
          signalling_ = true;
          asio::co_spawn(
              ex_,
              [this, behind]() -> asio::awaitable<void> {
                co_await signal_behind(behind);
                signalling_ = false;
              },
              asio::detached);
        }
      }
      if (more) {
        continue;  // more are due: keep going without sleeping
      }
    } catch (const std::exception& e) {
      std::cerr << "switchyard: firing timers failed: " << e.what() << "\n";
    }
    co_await sleep_for(options_.timer_poll);
  }
}

asio::awaitable<void> Worker::signal_behind(bool behind) {
  // Raised again at every poll that is still behind (with several routers, one catching up
  // lowers the flag for all; the others raise it again at their next poll); lowered at once on
  // catching up. A failure only costs the hold: the timers run regardless.
  try {
    auto ttl = timers_behind_ttl(options_.timer_poll);
    if (behind) {
      RouterMetrics::get().timer_polls_behind.inc();
      co_await service_.executions().set_timers_behind(true, ttl);
      behind_raised_ = true;
    } else if (behind_raised_) {
      behind_raised_ = false;
      co_await service_.executions().set_timers_behind(false, ttl);
    }
  } catch (const std::exception& e) {
    std::cerr << "switchyard: signalling the timer backlog failed: " << e.what() << "\n";
  }
}

asio::awaitable<void> Worker::sweep_loop() {
  // Not faster than every 10 ms whatever is configured: a sweep is a few Redis round trips per index.
  milliseconds every = std::max(milliseconds{10}, options_.index_sweep);
  while (!stopping_) {
    co_await sleep_for(every);
    if (stopping_) {
      break;
    }
    try {
      co_await sweep_indexes();
    } catch (const std::exception& e) {
      std::cerr << "switchyard: sweeping the execution indexes failed: " << e.what() << "\n";
    }
  }
}

asio::awaitable<void> Worker::sweep_indexes() {
  // Every index: all executions, each state machine's, and those of deleted state
  // machines still holding ids. Name -> whether it is in sy:xsd (deleted).
  std::map<std::string, bool> names;
  constexpr int64_t kPage = 1000;  // state machine names per read
  std::string after;
  for (;;) {
    auto page = co_await service_.state_machines().list(after, kPage);
    for (const auto& n : page) {
      names.emplace(n, false);
    }
    if (static_cast<int64_t>(page.size()) < kPage) {
      break;
    }
    after = page.back();
  }
  for (auto& n : co_await service_.executions().deleted_state_machines()) {
    names[n] = true;  // also when created again: the sweep then forgets it in sy:xsd
  }
  std::vector<std::pair<std::string, std::string>> indexes{{std::string(store::keys::kExecutions), ""}};
  for (const auto& [n, deleted] : names) {
    indexes.emplace_back(store::keys::executions_of(n), deleted ? n : "");
  }
  // An execution expires no earlier than the retention after its start: younger ids are not looked at.
  std::optional<int64_t> horizon;
  if (options_.retention.count() > 0) {
    horizon = now_ms() - std::chrono::duration_cast<milliseconds>(options_.retention).count();
  }
  std::map<std::string, int64_t> cursors;
  int64_t removed = 0;
  for (const auto& [key, deleted_name] : indexes) {
    int64_t next = sweep_cursors_.count(key) ? sweep_cursors_[key] : 0;
    // Windows until the index wraps around or the per-tick budget is spent.
    for (int w = 0; w < options_.index_sweep_windows && !stopping_; ++w) {
      auto r = co_await service_.executions().sweep_index(key, next, options_.index_sweep_batch, horizon, deleted_name);
      removed += r.removed;
      next = r.next;
      if (next == 0) {
        break;
      }
    }
    cursors[key] = next;
  }
  sweep_cursors_ = std::move(cursors);  // forgets the indexes that are gone
  RouterMetrics::get().index_entries_swept.inc(static_cast<double>(removed));
}

asio::awaitable<void> Worker::stop(milliseconds grace) {
  stopping_ = true;
  service_.set_local_worker(nullptr);  // steps committed from now on go to the stream for the others
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (!in_flight_.empty() && std::chrono::steady_clock::now() < deadline) {
    co_await sleep_for(milliseconds{10});
  }
  blocking_->close();
}

}  // namespace switchyard::router
