#pragma once
/// Router settings. Defaults follow Step Functions where it has one.
#include <chrono>
#include <cstddef>
#include <string>

namespace switchyard::router {

struct RouterOptions {
  std::string consumer = "router";           ///< this process's name in the consumer group (unique per process)
  size_t max_payload_bytes = 256 * 1024;     ///< AWS's limit per input/output/result
  int64_t max_history_events = 25000;        ///< AWS's limit per execution
  int max_in_flight = 512;                   ///< work items processed at once by this router (memory bound)
  int read_batch = 128;                      ///< work items per XREADGROUP
  std::chrono::milliseconds block{1000};     ///< XREADGROUP BLOCK: how long an idle router waits per read
  std::chrono::milliseconds lease{15000};    ///< work held longer by a silent router is reclaimed by another
  std::chrono::milliseconds timer_poll{20};  ///< timer lateness bound (plus Redis latency)
  int timer_batch = 1000;                    ///< timers moved to the work stream per poll
  /// A new start waits at most this long while routers are behind on due timers (admission.hpp;
  /// serve --start-hold-ms; 0: never).
  std::chrono::milliseconds start_hold{100};
  std::chrono::seconds retention{7 * 24 * 3600};  ///< finished executions expire after this long
  /// How often the execution indexes (sy:xs, sy:xs:<name>) are swept of expired ids (serve --index-sweep-ms).
  std::chrono::milliseconds index_sweep{30000};
  int index_sweep_batch = 1000;                           ///< ids examined per Lua call (one short step of Redis)
  int index_sweep_windows = 50;                           ///< calls per index per sweep at most (bounded work per tick)
  std::chrono::milliseconds default_task_timeout{60000};  ///< a Task without TimeoutSeconds (ASL's default: 60 s)
  std::chrono::milliseconds cold_start_budget{30000};  ///< 502/503/504/refused are retried this long (scale from zero)
  std::chrono::milliseconds schedule_poll{
      1000};  ///< schedule triggers start at most this late (serve --schedule-poll-ms)
  std::chrono::milliseconds schedule_refresh{
      60000};                                  ///< full reload of schedule triggers (changes also reload at once)
  std::string default_execution_timeout_note;  ///< unused; Step Functions has none below one year
};

}  // namespace switchyard::router
