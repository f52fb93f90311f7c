#pragma once
/// Invariants of one execution's history, for the durability tests: the
/// event list is gap-free and linked, the execution starts and ends once, and
/// every state was entered (and exited) exactly as often as the definition
/// says; Task attempts add up (each TaskScheduled has one TaskStarted and one
/// outcome; a state is scheduled again only after a TaskFailed), and every
/// Map index started and ended once. A transition committed twice shows up
/// here as an extra event.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace switchyard::testing {

struct HistoryExpectation {
  /// The last event (the only Execution{Succeeded,Failed,Aborted,TimedOut} one).
  std::string final_event = "ExecutionSucceeded";
  /// State name -> how many times it is entered (and exited, when `exits` is set). States not
  /// listed must not appear.
  std::map<std::string, int> entered;
  bool exits = true;
  /// Total TaskSucceeded and TaskFailed events across all Task states.
  int task_succeeded = 0;
  int task_failed = 0;
  /// Map states' iteration counts: each index 0..n-1 starts and succeeds once per entry.
  int map_iterations = 0;
};

/// Every broken invariant as one line (empty when the history is fine).
std::vector<std::string> check_history(const std::vector<nlohmann::json>& events, const HistoryExpectation& want);

/// Only the structural part: ids 1..N linked by previousEventId, ExecutionStarted first,
/// exactly one terminal event and it is last (`final_event`, or none when empty and still running).
std::vector<std::string> check_structure(const std::vector<nlohmann::json>& events, const std::string& final_event);

/// The events' types in order (for messages and reference comparisons).
std::vector<std::string> event_types(const std::vector<nlohmann::json>& events);

}  // namespace switchyard::testing
