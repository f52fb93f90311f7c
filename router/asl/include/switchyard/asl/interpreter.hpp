#pragma once
/// The ASL interpreter: a pure function
///   (definition, machine, context, cursor, event, env) -> decision.
/// It walks every state that needs no I/O (Pass, Choice, Succeed, Fail, and
/// the data processing of all states) and stops at the first thing that needs
/// the outside world: a Task call, a timer, child runs (Parallel/Map), or the
/// end. The router commits the decision (events + cursor + next work) in one
/// atomic write and performs the I/O. No clock, no sockets, no randomness
/// except through Env.
///
/// History: step() emits every event of the states it walks, shaped as Step
/// Functions shapes them (*StateEntered/*StateExited with JSON-text input/output
/// and {"truncated": false} details, assignedVariables on exits, TaskScheduled /
/// TaskSucceeded / TaskFailed / TaskTimedOut, or LambdaFunctionScheduled/... for
/// "arn:aws:lambda:...:function:x" resources, ParallelStateStarted/Succeeded/
/// Failed, MapStateStarted {length}/Succeeded/Failed). The router adds only:
///   - TaskStarted (or LambdaFunctionStarted) when the call is actually made:
///     task_started_event() builds it; TaskSubmitted/heartbeat events if it wants;
///   - ExecutionStarted/Succeeded/Failed/TimedOut/Aborted for the top-level run
///     (for States.Runtime, AWS prefixes the cause with "An error occurred while
///     executing the state '<cursor.state>' (entered at the event id #<id>). ");
///   - MapIterationStarted/Succeeded/Failed/Aborted {"name": <Map state>, "index"}
///     around each Map child run, and TaskStateAborted/*StateAborted on a stop.
/// Feeding children: a failed child run (or a Map past its tolerated failures:
/// error "States.ExceedToleratedFailureThreshold") is ChildrenFailed with that
/// run's error and cause; ChildrenSucceeded carries outputs in child order.
/// A failed Task is TaskFailed; a missed timeout is error "States.Timeout" and
/// a missed heartbeat "States.HeartbeatTimeout" (both show as TaskTimedOut).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "switchyard/asl/definition.hpp"
#include "switchyard/asl/json.hpp"

namespace switchyard::asl {

/// Impure services, injected.
struct Env {
  int64_t now_ms = 0;                           ///< wall clock (EnteredTime, Wait, retry backoff)
  std::function<uint64_t()> random;             ///< jitter, MathRandom, UUID
  std::function<std::string()> new_task_token;  ///< for ".waitForTaskToken" Tasks
  size_t max_payload_bytes = 256 * 1024;        ///< States.DataLimitExceeded above this
  int max_steps = 1000;                         ///< non-I/O states per call before Yield
};

/// Where one run of a (sub)machine stands; persisted by the router between calls.
struct Cursor {
  std::string state;          ///< current state name
  Json input;                 ///< the raw input of the current state
  int retry_count = 0;        ///< retries done for the current state ($$.State.RetryCount)
  std::vector<int> retriers;  ///< attempts used per Retrier of the current state
  int64_t entered_ms = 0;     ///< $$.State.EnteredTime
  Json to_json() const;
  static Cursor from_json(const Json& j);
};

/// The parts of the context object that do not change within a run, plus variables.
struct RunContext {
  Json execution;                   ///< {"Id","Input","Name","StartTime","RedriveCount"}
  Json state_machine;               ///< {"Id","Name"}
  Json map_item;                    ///< null, or {"Index","Value"} inside a Map iteration
  Json variables = Json::object();  ///< visible variables; Assign updates the copy in Decision
  /// Inside a Parallel branch or Map iteration: the names of the enclosing scopes' variables
  /// (an array). They can be read but not assigned: an Assign to one is States.Runtime, as in
  /// Step Functions. Empty at the top level.
  Json outer_variables = Json::array();
};

/// The outer_variables of a child run started from a run with these visible variables.
Json child_outer_variables(const Json& visible_variables);

// ---- events fed to the interpreter ---------------------------------------

struct Enter {};  ///< enter cursor.state with cursor.input
struct TaskSucceeded {
  Json output;
};  ///< the Task's result (or a callback's output)
struct TaskFailed {
  std::string error;
  std::string cause;
};                     ///< incl. States.Timeout
struct TimerFired {};  ///< a Wait elapsed, or a retry backoff elapsed
struct ChildrenSucceeded {
  Json outputs;
};  ///< Parallel/Map: every result, in order
struct ChildrenFailed {
  std::string error;
  std::string cause;
};
using Event = std::variant<Enter, TaskSucceeded, TaskFailed, TimerFired, ChildrenSucceeded, ChildrenFailed>;

// ---- the decision ---------------------------------------------------------

/// A history event without id/previousEventId/timestamp (the router adds those).
/// `details` is the one "<type>EventDetails" object, e.g. for TaskStateEntered:
/// {"stateEnteredEventDetails": {"name": "A", "input": "<JSON text>"}}.
struct HistoryEvent {
  std::string type;
  /// The details member as JSON text, e.g. {"taskSucceededEventDetails":{...}} ("" = none). Text,
  /// not a tree: the events of a step are written once and never read back by the engine.
  std::string details_text;
  /// The details parsed (an empty object when there are none), for tests and tools.
  Json details() const { return details_text.empty() ? Json::object() : Json::parse(details_text); }
};

/// Call a function. On completion feed TaskSucceeded / TaskFailed.
struct InvokeTask {
  std::string resource;                 ///< as written, e.g. "fn:echo", "arn:aws:lambda:...:function:x"
  Json payload;                         ///< effective input (after InputPath / Parameters)
  std::optional<int64_t> timeout_ms;    ///< TimeoutSeconds(Path)
  std::optional<int64_t> heartbeat_ms;  ///< HeartbeatSeconds(Path)
  bool wait_for_token = false;          ///< ".waitForTaskToken"
  std::string task_token;               ///< set when wait_for_token
  int attempt = 0;                      ///< == cursor.retry_count
};

/// Wake at until_ms with TimerFired (a Wait state, or a retry backoff).
struct Sleep {
  int64_t until_ms = 0;
};

/// One branch (Parallel) or iteration (Map).
struct Child {
  std::string machine;  ///< JSON pointer of the nested machine
  Json input;
  Json map_item;  ///< {"Index","Value"} for Map, null for Parallel
};

/// Run children; on completion feed ChildrenSucceeded / ChildrenFailed.
struct RunChildren {
  bool is_map = false;
  std::vector<Child> children;
  int max_concurrency = 0;                  ///< 0: unbounded
  int64_t tolerated_failure_count = 0;      ///< Map only
  double tolerated_failure_percentage = 0;  ///< Map only
};

struct Succeeded {
  Json output;
};
struct Failed {
  std::string error;
  std::string cause;
};
/// Too many non-I/O states in one call: commit, then call again with Enter.
struct Yield {};

using Next = std::variant<InvokeTask, Sleep, RunChildren, Succeeded, Failed, Yield>;

struct Decision {
  std::vector<HistoryEvent> events;
  Cursor cursor;   ///< where the run stands after this decision
  Json variables;  ///< the run's variables after Assign
  Next next;
};

/// Advances one run. `machine` is "" for the top level or the JSON pointer of
/// a nested machine (see Definition::has_machine). Succeeded/Failed end this
/// run; for the top level the router adds the Execution* events. `cursor` and
/// `event` are taken by value: a caller done with its own moves them in (they
/// hold the state's input and the Task's result).
Decision step(const Definition& def, const std::string& machine, const RunContext& ctx, Cursor cursor, Event event,
              const Env& env);

/// The TaskStarted (or LambdaFunctionStarted) history event for a call the
/// router is about to make.
HistoryEvent task_started_event(const InvokeTask& task);

/// The cursor at the start of a (sub)machine run with the given input.
Cursor start_cursor(const Definition& def, const std::string& machine, Json input, int64_t now_ms);

}  // namespace switchyard::asl
