#include "switchyard/router/scheduler.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iostream>

#include "switchyard/router/clock.hpp"

namespace switchyard::router {

namespace asio = boost::asio;
using namespace std::chrono;

Scheduler::Scheduler(asio::any_io_executor ex, ExecutionService& service, store::StateMachineStore& state_machines,
                     store::Redis& redis, const RouterOptions& options)
    : service_(service), state_machines_(state_machines), index_(redis), options_(options), timer_(ex) {}

void Scheduler::start() {
  asio::co_spawn(timer_.get_executor(), loop(), [](const std::exception_ptr& e) {
    if (!e) {
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "switchyard: scheduler loop ended: " << ex.what() << "\n";
    }
  });
}

void Scheduler::stop() {
  stopping_ = true;
  timer_.cancel();
}

asio::awaitable<void> Scheduler::loop() {
  while (!stopping_) {
    try {
      co_await tick(time_point_cast<seconds>(sys_time<milliseconds>(milliseconds{now_ms()})));
    } catch (const std::exception& e) {
      if (stopping_) {
        break;
      }
      std::cerr << "switchyard: schedules: " << e.what() << "\n";  // Redis down: try again next poll
    }
    timer_.expires_after(options_.schedule_poll);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> Scheduler::reload(sys_seconds now) {
  std::map<std::string, int64_t> known;
  for (const auto& e : entries_) {
    known[e.key] = e.last;
  }
  auto stored = co_await index_.last_fired();
  std::vector<Entry> fresh;
  for (const auto& name : co_await index_.scheduled()) {
    auto rec = co_await state_machines_.get(name);
    if (!rec) {
      continue;
    }
    for (auto& s : schedules_of(Json::parse(rec->triggers, nullptr, false))) {
      Entry e;
      e.state_machine = name;
      e.key = name + "#" + std::to_string(s.index);
      e.trigger = std::move(s);
      auto st = stored.find(e.key);
      auto kn = known.find(e.key);
      if (st != stored.end() || kn != known.end()) {
        e.last = std::max(st != stored.end() ? st->second : 0, kn != known.end() ? kn->second : 0);
      } else {
        // New trigger: its first fire is this minute (if it matches). Recorded so that a
        // restart after an outage still finds the minutes it missed.
        e.last = duration_cast<seconds>(floor<minutes>(now).time_since_epoch()).count() - 60;
        co_await index_.set_last_fired(e.key, e.last);
      }
      fresh.push_back(std::move(e));
    }
  }
  entries_ = std::move(fresh);
  loaded_at_ = steady_clock::now();
}

asio::awaitable<int> Scheduler::tick(sys_seconds now) {
  int64_t version = co_await index_.schedules_version();
  if (version != version_ || steady_clock::now() - loaded_at_ >= options_.schedule_refresh) {
    co_await reload(now);
    version_ = version;
  }
  int created = 0;
  bool admitted = false;
  for (auto& e : entries_) {
    auto due = e.trigger.cron.last_fire_at_or_before(now, e.trigger.zone);
    if (!due) {
      continue;
    }
    int64_t minute = due->time_since_epoch().count();
    if (minute <= e.last) {
      continue;
    }
    if (!admitted) {
      co_await service_.admit();  // once per tick, not once per due schedule
      admitted = true;
    }
    auto r = co_await service_.start(e.state_machine, e.trigger.input, schedule_execution_name(e.trigger, *due),
                                     ExecutionService::Hold::Admitted);
    if (!r) {
      // Deleted meanwhile, or an input over the limit: nothing a retry would fix.
      std::cerr << "switchyard: schedule " << e.key << ": " << r.error().error << ": " << r.error().cause << "\n";
    } else if (r->kind == StartResult::Kind::Created) {
      ++created;
    }
    e.last = minute;
    co_await index_.set_last_fired(e.key, minute);
  }
  co_return created;
}

}  // namespace switchyard::router
