#pragma once
// The router's metrics, registered once in the process's registry (served by
// the gateway's GET /metrics). Children without labels are kept as references
// so the hot path does no lookup.
#include "switchyard/common/metrics.hpp"

namespace switchyard::router {

struct RouterMetrics {
  metrics::CounterFamily& executions_started;   ///< {type}
  metrics::CounterFamily& executions_finished;  ///< {status}
  metrics::Counter& transitions;                ///< guarded commits applied
  metrics::CounterFamily& commits_rejected;     ///< {reason}: stale (version moved on) | gone (execution ended)
  metrics::CounterFamily& work_items;           ///< {kind}: work items taken and processed
  metrics::Counter& work_dropped;               ///< work items dropped before any call (already applied, ended)
  metrics::Gauge& work_in_flight;               ///< work items this router holds right now
  metrics::Counter& timers_fired;               ///< timers moved from the zset to the work stream
  metrics::HistogramFamily& timer_lateness;     ///< {kind}: fired minus due (Wait, retry, timeouts, expired leases)
  metrics::CounterFamily& task_calls;           ///< {outcome}: succeeded | failed | timed_out
  metrics::HistogramFamily& task_call_seconds;  ///< {outcome}: function call latency, cold starts included
  metrics::CounterFamily& callbacks;            ///< {kind, outcome}: /v1/tasks/{token}/{kind} answers
  metrics::Counter& index_entries_swept;        ///< expired executions' ids removed from sy:xs / sy:xs:<name>
  metrics::Counter& timer_polls_behind;         ///< timer polls that found this router behind (admission.hpp)
  metrics::Counter& starts_held;                ///< starts held back while routers were behind on timers
  metrics::Counter& start_hold_seconds;         ///< the time those starts were held, summed

  static RouterMetrics& get() {
    auto& r = metrics::default_registry();
    static RouterMetrics m{
        r.counter("switchyard_executions_started_total", "Executions started.", {"type"}),
        r.counter("switchyard_executions_finished_total", "Executions that ended, by final status.", {"status"}),
        r.counter("switchyard_transitions_committed_total", "State transitions committed to Redis.").get(),
        r.counter("switchyard_commits_rejected_total",
                  "Commits refused by the version guard (stale: already applied; gone: execution ended).", {"reason"}),
        r.counter("switchyard_work_items_processed_total", "Work items processed, by kind.", {"kind"}),
        r.counter("switchyard_work_items_dropped_total",
                  "Work items dropped without a transition (already applied, or the execution ended).")
            .get(),
        r.gauge("switchyard_work_in_flight", "Work items this router is processing now.").get(),
        r.counter("switchyard_timers_fired_total", "Timers (Wait, retry, timeouts) fired by this router.").get(),
        r.histogram("switchyard_timer_lateness_seconds",
                    "How late timers were taken by this router after they fell due, by kind.", {"kind"},
                    {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
        r.counter("switchyard_task_calls_total", "Task function calls, by outcome.", {"outcome"}),
        r.histogram("switchyard_task_call_duration_seconds", "Task function call latency, by outcome.", {"outcome"},
                    {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
        r.counter("switchyard_task_callbacks_total", "Task token completions, by kind and outcome.",
                  {"kind", "outcome"}),
        r.counter("switchyard_index_entries_swept_total",
                  "Ids of expired executions removed from the execution indexes by this router.")
            .get(),
        r.counter("switchyard_timer_polls_behind_total",
                  "Timer polls that found this router behind (timers taken late or a full batch): new starts "
                  "are held back meanwhile.")
            .get(),
        r.counter("switchyard_starts_held_total", "Execution starts held back while routers were behind on due timers.")
            .get(),
        r.counter("switchyard_start_hold_seconds_total", "Time execution starts were held back, summed.").get(),
    };
    return m;
  }
};

}  // namespace switchyard::router
