#include "switchyard/testing/history_check.hpp"

#include <set>

namespace switchyard::testing {

using Json = nlohmann::json;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_terminal(const std::string& type) {
  return type == "ExecutionSucceeded" || type == "ExecutionFailed" || type == "ExecutionAborted" ||
         type == "ExecutionTimedOut";
}

std::string name_in(const Json& e, const char* details) {
  if (e.contains(details) && e[details].is_object()) {
    return e[details].value("name", std::string());
  }
  return {};
}

}  // namespace

std::vector<std::string> event_types(const std::vector<Json>& events) {
  std::vector<std::string> out;
  out.reserve(events.size());
  for (const auto& e : events) {
    out.push_back(e.value("type", std::string("?")));
  }
  return out;
}

std::vector<std::string> check_structure(const std::vector<Json>& events, const std::string& final_event) {
  std::vector<std::string> problems;
  if (events.empty()) {
    problems.emplace_back("empty history");
    return problems;
  }
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    auto id = e.value("id", int64_t{-1});
    auto prev = e.value("previousEventId", int64_t{-1});
    if (id != static_cast<int64_t>(i) + 1 || prev != static_cast<int64_t>(i)) {
      problems.push_back("event #" + std::to_string(i + 1) + " has id " + std::to_string(id) + " previousEventId " +
                         std::to_string(prev));
    }
    if (!e.contains("timestamp") || !e["timestamp"].is_string()) {
      problems.push_back("event #" + std::to_string(i + 1) + " has no timestamp");
    }
  }
  if (events.front().value("type", "") != "ExecutionStarted") {
    problems.push_back("first event is " + events.front().value("type", std::string("?")));
  }
  int starts = 0;
  int terminals = 0;
  for (const auto& e : events) {
    auto t = e.value("type", std::string());
    starts += t == "ExecutionStarted" ? 1 : 0;
    terminals += is_terminal(t) ? 1 : 0;
  }
  if (starts != 1) {
    problems.push_back(std::to_string(starts) + " ExecutionStarted events");
  }
  if (final_event.empty()) {
    if (terminals != 0) {
      problems.push_back("a running execution has a terminal event");
    }
  } else {
    if (terminals != 1) {
      problems.push_back(std::to_string(terminals) + " terminal events");
    }
    if (events.back().value("type", "") != final_event) {
      problems.push_back("last event is " + events.back().value("type", std::string("?")) + ", want " + final_event);
    }
  }
  return problems;
}

std::vector<std::string> check_history(const std::vector<Json>& events, const HistoryExpectation& want) {
  auto problems = check_structure(events, want.final_event);
  std::map<std::string, int> entered;
  std::map<std::string, int> exited;
  int scheduled = 0;
  int started = 0;
  int succeeded = 0;
  int failed = 0;
  int other_outcomes = 0;
  std::map<int64_t, int> iter_started;
  std::map<int64_t, int> iter_succeeded;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    auto t = e.value("type", std::string());
    if (ends_with(t, "StateEntered")) {
      ++entered[name_in(e, "stateEnteredEventDetails")];
    } else if (ends_with(t, "StateExited")) {
      ++exited[name_in(e, "stateExitedEventDetails")];
    } else if (t == "TaskScheduled") {
      ++scheduled;
    } else if (t == "TaskStarted") {
      ++started;
    } else if (t == "TaskSucceeded") {
      ++succeeded;
    } else if (t == "TaskFailed") {
      ++failed;
    } else if (t == "TaskTimedOut" || t == "TaskSubmitFailed" || t == "TaskStartFailed") {
      ++other_outcomes;
    } else if (t == "MapIterationStarted" || t == "MapIterationSucceeded") {
      int64_t index = -1;
      // Step Functions names the details after the event (mapIterationStartedEventDetails, ...).
      std::string key =
          t == "MapIterationStarted" ? "mapIterationStartedEventDetails" : "mapIterationSucceededEventDetails";
      if (!e.contains(key)) {
        key = "mapIterationEventDetails";
      }
      if (e.contains(key)) {
        index = e[key].value("index", int64_t{-1});
      }
      ++(t == "MapIterationStarted" ? iter_started : iter_succeeded)[index];
      // An iteration cannot end before it started.
      if (t == "MapIterationSucceeded" && iter_succeeded[index] > iter_started[index]) {
        problems.push_back("MapIterationSucceeded for index " + std::to_string(index) + " before it started");
      }
    }
    // Attempts are ordered: a call starts after it was scheduled and ends after it started.
    if (started > scheduled || succeeded + failed + other_outcomes > started) {
      problems.push_back("event #" + std::to_string(i + 1) + " (" + t + ") breaks schedule/start/outcome order");
      break;
    }
  }
  for (const auto& [name, n] : want.entered) {
    if (entered[name] != n) {
      problems.push_back("state '" + name + "' entered " + std::to_string(entered[name]) + " times, want " +
                         std::to_string(n));
    }
    if (want.exits && exited[name] != n) {
      problems.push_back("state '" + name + "' exited " + std::to_string(exited[name]) + " times, want " +
                         std::to_string(n));
    }
  }
  for (const auto& [name, n] : entered) {
    if (want.entered.count(name) == 0) {
      problems.push_back("unexpected state '" + name + "' entered " + std::to_string(n) + " times");
    }
  }
  // Each attempt: one TaskScheduled, one TaskStarted, one outcome; so scheduled == outcomes
  // and a retry (a second TaskScheduled in a state) exists only for a TaskFailed.
  if (scheduled != started || scheduled != succeeded + failed + other_outcomes) {
    problems.push_back("task attempts do not add up: scheduled " + std::to_string(scheduled) + ", started " +
                       std::to_string(started) + ", succeeded " + std::to_string(succeeded) + ", failed " +
                       std::to_string(failed) + ", other " + std::to_string(other_outcomes));
  }
  if (succeeded != want.task_succeeded || failed != want.task_failed || other_outcomes != 0) {
    problems.push_back("TaskSucceeded " + std::to_string(succeeded) + " (want " + std::to_string(want.task_succeeded) +
                       "), TaskFailed " + std::to_string(failed) + " (want " + std::to_string(want.task_failed) + ")");
  }
  for (int64_t k = 0; k < want.map_iterations; ++k) {
    if (iter_started[k] != 1 || iter_succeeded[k] != 1) {
      problems.push_back("map index " + std::to_string(k) + " started " + std::to_string(iter_started[k]) +
                         " times, succeeded " + std::to_string(iter_succeeded[k]) + " times");
    }
  }
  if (static_cast<int64_t>(iter_started.size()) > want.map_iterations) {
    problems.push_back("unexpected map iteration indexes: " + std::to_string(iter_started.size()));
  }
  return problems;
}

}  // namespace switchyard::testing
