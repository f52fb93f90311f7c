#pragma once
/// Schedule triggers (DESIGN.md §3): every router runs a Scheduler. Each poll it
/// finds, for every schedule trigger, the latest minute at or before now that
/// the cron matches and, when that minute is newer than the last one fired,
/// starts an execution named after the minute ("schedule-20261122T1509Z"), so
/// any number of routers firing the same minute start one execution
/// (idempotent start).
///
/// The last fired minute of each trigger is kept in Redis (sy:tg:sched:last):
/// after an outage of all routers only the LATEST missed minute is started,
/// not every missed one (a backlog of identical runs is rarely wanted; a
/// workflow that must see every minute can read $$.Execution.Name). A new
/// trigger fires first for the minute it is deployed in, if that minute matches.
///
/// Triggers are cached and reloaded when the schedules version key changes
/// (every write of a scheduled state machine bumps it) and every
/// RouterOptions::schedule_refresh.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "switchyard/router/execution_service.hpp"
#include "switchyard/router/options.hpp"
#include "switchyard/router/triggers.hpp"
#include "switchyard/store/trigger_index.hpp"

namespace switchyard::router {

class Scheduler {
 public:
  Scheduler(boost::asio::any_io_executor ex, ExecutionService& service, store::StateMachineStore& state_machines,
            store::Redis& redis, const RouterOptions& options);

  /// Starts polling every options.schedule_poll until stop().
  void start();
  void stop();

  /// One poll at `now`: reloads the triggers when they changed, starts what is due.
  /// Returns how many executions it created. I/O failures throw.
  boost::asio::awaitable<int> tick(std::chrono::sys_seconds now);

 private:
  struct Entry {
    std::string state_machine;
    ScheduleTrigger trigger;
    std::string key;   // "<state machine>#<index>" in sy:tg:sched:last
    int64_t last = 0;  // last fired minute, Unix seconds
  };
  boost::asio::awaitable<void> reload(std::chrono::sys_seconds now);
  boost::asio::awaitable<void> loop();

  ExecutionService& service_;
  store::StateMachineStore& state_machines_;
  store::TriggerIndex index_;
  const RouterOptions& options_;
  boost::asio::steady_timer timer_;
  std::vector<Entry> entries_;
  int64_t version_ = -1;
  std::chrono::steady_clock::time_point loaded_at_{};
  bool stopping_ = false;
};

}  // namespace switchyard::router
