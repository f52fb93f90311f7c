/*
 * The ASL interpreter (JSONPath flavour).
 *
 * step() replays nothing: it takes where a run stands (Cursor), one event,
 * and walks forward through every state that needs no I/O, collecting the
 * history events Step Functions would write, until it needs the outside world
 * (a Task call, a timer, child runs) or the run ends. All data flow follows
 * AWS: InputPath -> Parameters -> (work) -> ResultSelector -> ResultPath ->
 * OutputPath; Assign is evaluated with the variables as they were when the
 * state was entered and takes effect when the state exits.
 *
 * Errors: States.Runtime and States.DataLimitExceeded end the run (no
 * Retry/Catch); everything else raised by a Task/Parallel/Map goes through
 * Retry, then Catch, then ends the run.
 */
#include "switchyard/asl/interpreter.hpp"

#include <cassert>
#include <cmath>

#include "model.hpp"
#include "path_engine.hpp"
#include "retry.hpp"
#include "switchyard/asl/choice.hpp"
#include "switchyard/asl/intrinsics.hpp"
#include "switchyard/asl/paths.hpp"
#include "switchyard/asl/payload.hpp"

namespace switchyard::asl {

// ---- Cursor ----------------------------------------------------------------

Json Cursor::to_json() const {
  return Json{{"state", state},
              {"input", input},
              {"retryCount", retry_count},
              {"retriers", retriers},
              {"enteredMs", entered_ms}};
}

Cursor Cursor::from_json(const Json& j) {
  Cursor c;
  c.state = j.value("state", std::string());
  if (auto it = j.find("input"); it != j.end()) {
    c.input = *it;
  }
  c.retry_count = j.value("retryCount", 0);
  if (auto it = j.find("retriers"); it != j.end() && it->is_array()) {
    c.retriers = it->get<std::vector<int>>();
  }
  c.entered_ms = j.value("enteredMs", int64_t{0});
  return c;
}

Json child_outer_variables(const Json& visible_variables) {
  Json names = Json::array();
  if (visible_variables.is_object()) {
    for (const auto& [name, value] : visible_variables.items()) {
      names.push_back(name);
    }
  }
  return names;
}

Cursor start_cursor(const Definition& def, const std::string& machine, Json input, int64_t now_ms) {
  const auto& machines = def.impl().machines;
  auto it = machines.find(machine);
  assert(it != machines.end() && "start_cursor: unknown machine");
  Cursor c;
  c.state = it == machines.end() ? std::string() : it->second.start_at;
  c.input = std::move(input);
  c.entered_ms = now_ms;
  return c;
}

namespace {

// An event's details as JSON text, {"<wrapper>":{...}}, written with JsonObjectWriter: a Json tree
// per event, built from initializer lists, printed and destroyed, was about a quarter of a
// router's instructions per Task step.
class DetailsText {
 public:
  explicit DetailsText(std::string_view wrapper) : outer_(reserved(text_)), fields_(outer_.field(wrapper)) {}
  DetailsText& string(std::string_view key, const std::string& value) {
    fields_.string(key, value);
    return *this;
  }
  DetailsText& document(std::string_view key, const Json& value) {
    fields_.document(key, value);
    return *this;
  }
  DetailsText& json(std::string_view key, const Json& value) {
    fields_.json(key, value);
    return *this;
  }
  DetailsText& number(std::string_view key, int64_t value) {
    fields_.number(key, value);
    return *this;
  }
  DetailsText& not_truncated(std::string_view key) {
    fields_.raw(key, R"({"truncated":false})");
    return *this;
  }
  std::string done() {  // leaves the builder empty
    fields_.close();
    outer_.close();
    return std::move(text_);
  }

 private:
  static std::string& reserved(std::string& s) {
    s.reserve(256);
    return s;
  }

  std::string text_;  // first: the writers below write into it
  JsonObjectWriter outer_;
  JsonObjectWriter fields_;
};

}  // namespace

HistoryEvent task_started_event(const InvokeTask& task) {
  ResourceInfo info = describe_resource(task.resource);
  if (info.legacy_lambda) {
    return HistoryEvent{"LambdaFunctionStarted", ""};
  }
  return HistoryEvent{"TaskStarted", DetailsText("taskStartedEventDetails")
                                         .string("resource", info.resource)
                                         .string("resourceType", info.resource_type)
                                         .done()};
}

namespace {

using Step = std::optional<Next>;  // nullopt: moved on to cursor.state, enter it next

Json not_truncated() { return Json{{"truncated", false}}; }

bool is_timeout_error(std::string_view e) { return e == "States.Timeout" || e == "States.HeartbeatTimeout"; }

/// A whole, non-negative number (AWS accepts 10 and 10.0 from a path).
std::optional<int64_t> whole_number(const Json& v) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return std::nullopt;
    }
    return v.get<int64_t>();
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.2e18) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

class Runner {
 public:
  Runner(const Machine& m, const RunContext& ctx, const Env& env, Cursor cursor)
      : m_(m), ctx_(ctx), env_(env), cur_(std::move(cursor)), vars_(ctx.variables) {
    if (!vars_.is_object()) {
      vars_ = Json::object();
    }
  }

  Decision run(Event& event) {
    Step r = dispatch(event);
    int steps = 1;
    while (!r) {
      if (steps >= env_.max_steps) {
        r = Yield{};
        break;
      }
      Event enter = Enter{};
      r = dispatch(enter);
      ++steps;
    }
    return Decision{std::move(events_), std::move(cur_), std::move(vars_), std::move(*r)};
  }

 private:
  // ---- plumbing ---------------------------------------------------------------

  Step fail(std::string error, std::string cause) { return Failed{std::move(error), std::move(cause)}; }
  Step fail(const Error& e) { return Failed{e.error, e.cause}; }

  void emit(std::string type, const Json& details) {
    events_.push_back(HistoryEvent{std::move(type), details.empty() ? std::string() : dump_json(details)});
  }
  void emit(std::string type) { events_.push_back(HistoryEvent{std::move(type), std::string()}); }
  void emit_text(std::string type, std::string details_text) {
    events_.push_back(HistoryEvent{std::move(type), std::move(details_text)});
  }

  Scope scope(const Json& input, const Json& context) const { return Scope{input, &context, &vars_, &env_.random}; }

  /// The context object ($$) of the current state.
  Json context(const std::string* task_token = nullptr, const Json* map_item = nullptr) const {
    if (at_ != nullptr && !at_->uses_context) {
      return Json::object();  // nothing in this state reads $$
    }
    Json c = Json::object();
    c["Execution"] = ctx_.execution.is_null() ? Json::object() : ctx_.execution;
    c["StateMachine"] = ctx_.state_machine.is_null() ? Json::object() : ctx_.state_machine;
    c["State"] = {
        {"EnteredTime", format_rfc3339_ms(cur_.entered_ms)}, {"Name", cur_.state}, {"RetryCount", cur_.retry_count}};
    if (task_token != nullptr) {
      c["Task"] = {{"Token", *task_token}};
    }
    if (map_item != nullptr) {
      c["Map"] = {{"Item", *map_item}};
    } else if (!ctx_.map_item.is_null()) {
      c["Map"] = {{"Item", ctx_.map_item}};
    }
    return c;
  }

  bool too_big(const Json& j) const { return json_size(j) > env_.max_payload_bytes; }

  Step data_limit(const StateDef& st) {
    return fail("States.DataLimitExceeded", "The state/task '" + st.name +
                                                "' returned a result with a size exceeding the maximum number of "
                                                "bytes service limit.");
  }

  Result<Json> input_path(const StateDef& st, const Json& context) const {
    switch (st.input_path.kind) {
      case PathField::Kind::Absent:
        return cur_.input;
      case PathField::Kind::Null:
        return Json::object();
      case PathField::Kind::Value:
        break;
    }
    return evaluate_path(st.input_path.path, scope(cur_.input, context));
  }

  Result<Json> output_path(const StateDef& st, Json output, const Json& context) const {
    switch (st.output_path.kind) {
      case PathField::Kind::Absent:
        return output;
      case PathField::Kind::Null:
        return Json::object();
      case PathField::Kind::Value:
        break;
    }
    return evaluate_path(st.output_path.path, scope(output, context));
  }

  Result<Json> result_path(const PathField& rp, Json result) const {
    switch (rp.kind) {
      case PathField::Kind::Absent:
        return result;
      case PathField::Kind::Null:
        return cur_.input;
      case PathField::Kind::Value:
        break;
    }
    return apply_result_path(cur_.input, rp.path, std::move(result));
  }

  /// A payload template; an unresolvable path is States.Runtime, as AWS reports it.
  Result<Json> eval_template(const Json& tmpl, const Json& input, const Json& context) const {
    auto r = evaluate_payload(tmpl, scope(input, context));
    if (!r.ok() && r.error().error == "States.ParameterPathFailure") {
      return Error{"States.Runtime", r.error().cause};
    }
    return r;
  }

  /// The variables an Assign sets (evaluated against the variables at state entry). A branch or
  /// iteration cannot assign a variable of an enclosing scope.
  Result<Json> eval_assign(const Json* tmpl, const Json& input, const Json& context) const {
    if (tmpl == nullptr) {
      return Json::object();
    }
    auto r = eval_template(*tmpl, input, context);
    if (r.ok() && ctx_.outer_variables.is_array() && !ctx_.outer_variables.empty()) {
      for (const auto& [name, value] : r->items()) {
        for (const auto& outer : ctx_.outer_variables) {
          if (outer.is_string() && outer.get<std::string>() == name) {
            return Error{"States.Runtime", "Cannot bind value '" + value.dump() + "' to variable '" + name +
                                               "' as it belongs to an outer scope."};
          }
        }
      }
    }
    return r;
  }

  /// A Reference Path or an intrinsic (Fail's ErrorPath/CausePath).
  Result<Json> eval_path_or_intrinsic(const std::string& text, const Json& input, const Json& context) const {
    if (is_intrinsic(text)) {
      return evaluate_intrinsic(text, scope(input, context));
    }
    return evaluate_path(text, scope(input, context));
  }

  void entered(const StateDef& st) {
    emit_text(std::string(type_name(st.type)) + "StateEntered", DetailsText("stateEnteredEventDetails")
                                                                    .document("input", cur_.input)
                                                                    .not_truncated("inputDetails")
                                                                    .string("name", st.name)
                                                                    .done());
  }

  void exited(const StateDef& st, const Json& output, const Json& assigned) {
    DetailsText d("stateExitedEventDetails");
    if (assigned.is_object() && !assigned.empty()) {
      Json texts = Json::object();
      for (const auto& [name, value] : assigned.items()) {
        texts[name] = dump_json(value);
        vars_[name] = value;
      }
      d.json("assignedVariables", texts).not_truncated("assignedVariablesDetails");
    }
    d.string("name", st.name).document("output", output).not_truncated("outputDetails");
    emit_text(std::string(type_name(st.type)) + "StateExited", d.done());
  }

  void move_to(const std::string& next, Json input) {
    cur_.state = next;
    cur_.input = std::move(input);
    cur_.retry_count = 0;
    cur_.retriers.clear();
    cur_.entered_ms = env_.now_ms;
  }

  /// Exits the state with `output` (after the size check) and follows Next/End.
  Step finish_state(const StateDef& st, Json output, const Json& assigned) {
    if (too_big(output)) {
      return data_limit(st);
    }
    exited(st, output, assigned);
    if (st.end) {
      return Succeeded{std::move(output)};
    }
    move_to(st.next, std::move(output));
    return std::nullopt;
  }

  // ---- dispatch -------------------------------------------------------------

  /// `event` may be consumed (a Task's result moves on into the state's output).
  Step dispatch(Event& event) {
    auto it = m_.states.find(cur_.state);
    if (it == m_.states.end()) {
      return fail("States.Runtime", "State '" + cur_.state + "' does not exist in this state machine.");
    }
    const StateDef& st = it->second;
    at_ = &st;
    auto unexpected = [&](std::string_view what) {
      return fail("States.Runtime", "Event " + std::string(what) + " is not expected in " +
                                        std::string(type_name(st.type)) + " state '" + st.name + "'.");
    };
    bool children = st.type == StateType::Parallel || st.type == StateType::Map;
    if (std::holds_alternative<Enter>(event)) {
      return enter(st);
    }
    if (auto* e = std::get_if<TaskSucceeded>(&event)) {
      return st.type == StateType::Task ? task_succeeded(st, std::move(e->output)) : unexpected("TaskSucceeded");
    }
    if (const auto* e = std::get_if<TaskFailed>(&event)) {
      return st.type == StateType::Task ? task_failed(st, e->error, e->cause) : unexpected("TaskFailed");
    }
    if (std::holds_alternative<TimerFired>(event)) {
      switch (st.type) {
        case StateType::Wait:
          return wait_done(st);
        case StateType::Task:
          return invoke(st);
        case StateType::Parallel:
        case StateType::Map:
          return start_children(st);
        default:
          return unexpected("TimerFired");
      }
    }
    if (const auto* e = std::get_if<ChildrenSucceeded>(&event)) {
      return children ? children_succeeded(st, e->outputs) : unexpected("ChildrenSucceeded");
    }
    if (const auto* e = std::get_if<ChildrenFailed>(&event)) {
      return children ? handle_error(st, e->error, e->cause, true) : unexpected("ChildrenFailed");
    }
    return unexpected("?");
  }

  Step enter(const StateDef& st) {
    cur_.entered_ms = env_.now_ms;
    cur_.retry_count = 0;
    cur_.retriers.clear();
    entered(st);
    switch (st.type) {
      case StateType::Pass:
        return pass(st);
      case StateType::Task:
        return invoke(st);
      case StateType::Choice:
        return choice(st);
      case StateType::Wait:
        return wait(st);
      case StateType::Succeed:
        return succeed(st);
      case StateType::Fail:
        return fail_state(st);
      case StateType::Parallel:
      case StateType::Map:
        return start_children(st);
    }
    return fail("States.Runtime", "Unknown state type.");
  }

  // ---- simple states ----------------------------------------------------------

  Step pass(const StateDef& st) {
    Json c = context();
    auto in = input_path(st, c);
    if (!in.ok()) {
      return fail(in.error());
    }
    Json effective = std::move(*in);
    if (st.parameters != nullptr) {
      auto p = eval_template(*st.parameters, effective, c);
      if (!p.ok()) {
        return fail(p.error());
      }
      effective = std::move(*p);
    }
    Json result = st.result != nullptr ? *st.result : std::move(effective);
    auto assigned = eval_assign(st.assign, result, c);
    if (!assigned.ok()) {
      return fail(assigned.error());
    }
    auto placed = result_path(st.result_path, std::move(result));
    if (!placed.ok()) {
      return fail(placed.error());
    }
    auto out = output_path(st, std::move(*placed), c);
    if (!out.ok()) {
      return fail(out.error());
    }
    return finish_state(st, std::move(*out), *assigned);
  }

  Step choice(const StateDef& st) {
    Json c = context();
    auto in = input_path(st, c);
    if (!in.ok()) {
      return fail(in.error());
    }
    const Json& effective = *in;
    std::string next;
    const Json* assign = nullptr;
    if (st.choices != nullptr) {
      for (const Json& rule : *st.choices) {
        auto matched = evaluate_choice_rule(rule, scope(effective, c));
        if (!matched.ok()) {
          return fail(matched.error());
        }
        if (*matched) {
          next = rule.value("Next", std::string());
          if (auto a = rule.find("Assign"); a != rule.end()) {
            assign = &*a;
          }
          break;
        }
      }
    }
    if (next.empty()) {
      if (st.default_next.empty()) {
        return fail("States.NoChoiceMatched",
                    "No Choice Rule matched the input of state '" + st.name + "' and it has no Default.");
      }
      next = st.default_next;
      assign = st.assign;
    }
    auto assigned = eval_assign(assign, effective, c);
    if (!assigned.ok()) {
      return fail(assigned.error());
    }
    auto out = output_path(st, effective, c);
    if (!out.ok()) {
      return fail(out.error());
    }
    if (too_big(*out)) {
      return data_limit(st);
    }
    exited(st, *out, *assigned);
    move_to(next, std::move(*out));
    return std::nullopt;
  }

  Step wait(const StateDef& st) {
    Json c = context();
    auto in = input_path(st, c);
    if (!in.ok()) {
      return fail(in.error());
    }
    int64_t until = env_.now_ms;
    if (st.seconds) {
      until = env_.now_ms + *st.seconds * 1000;
    } else if (st.timestamp_ms) {
      until = *st.timestamp_ms;
    } else if (!st.seconds_path.empty()) {
      auto v = evaluate_path(st.seconds_path, scope(*in, c));
      if (!v.ok()) {
        return fail(v.error());
      }
      auto n = whole_number(*v);
      if (!n || *n < 0) {
        return fail("States.Runtime", "The SecondsPath parameter '" + st.seconds_path +
                                          "' does not reference a valid non-negative integer value: " + v->dump());
      }
      until = env_.now_ms + std::min<int64_t>(*n, 99999999) * 1000;
    } else if (!st.timestamp_path.empty()) {
      auto v = evaluate_path(st.timestamp_path, scope(*in, c));
      if (!v.ok()) {
        return fail(v.error());
      }
      std::optional<int64_t> ts = v->is_string() ? parse_rfc3339_ms(v->get<std::string>()) : std::nullopt;
      if (!ts) {
        return fail("States.Runtime", "The TimestampPath parameter '" + st.timestamp_path +
                                          "' does not reference a valid ISO-8601 extended offset date-time format "
                                          "string: " +
                                          v->dump());
      }
      until = *ts;
    }
    if (until <= env_.now_ms) {
      return wait_done(st);
    }
    return Sleep{until};
  }

  Step wait_done(const StateDef& st) {
    Json c = context();
    auto in = input_path(st, c);
    if (!in.ok()) {
      return fail(in.error());
    }
    auto assigned = eval_assign(st.assign, *in, c);
    if (!assigned.ok()) {
      return fail(assigned.error());
    }
    auto out = output_path(st, std::move(*in), c);
    if (!out.ok()) {
      return fail(out.error());
    }
    return finish_state(st, std::move(*out), *assigned);
  }

  Step succeed(const StateDef& st) {
    Json c = context();
    auto in = input_path(st, c);
    if (!in.ok()) {
      return fail(in.error());
    }
    auto out = output_path(st, std::move(*in), c);
    if (!out.ok()) {
      return fail(out.error());
    }
    if (too_big(*out)) {
      return data_limit(st);
    }
    exited(st, *out, Json::object());
    return Succeeded{std::move(*out)};
  }

  Step fail_state(const StateDef& st) {
    Json c = context();
    std::string error = st.error.value_or("");
    std::string cause = st.cause.value_or("");
    for (auto [path, target, field] :
         {std::tuple{&st.error_path, &error, "ErrorPath"}, std::tuple{&st.cause_path, &cause, "CausePath"}}) {
      if (path->empty()) {
        continue;
      }
      auto v = eval_path_or_intrinsic(*path, cur_.input, c);
      if (!v.ok()) {
        return fail(v.error());
      }
      if (!v->is_string()) {
        return fail("States.Runtime", "The " + std::string(field) + " '" + *path +
                                          "' must resolve to a string, but it resolved to " + v->dump());
      }
      *target = v->get<std::string>();
    }
    return Failed{std::move(error), std::move(cause)};
  }

  // ---- Task -------------------------------------------------------------------

  /// TimeoutSeconds(Path) / HeartbeatSeconds(Path) in seconds; nullopt when unset.
  Result<std::optional<int64_t>> seconds_field(const std::optional<int64_t>& fixed, const std::string& path,
                                               std::string_view field, const Json& input, const Json& c) const {
    if (fixed) {
      return std::optional<int64_t>(*fixed);
    }
    if (path.empty()) {
      return std::optional<int64_t>();
    }
    auto v = evaluate_path(path, scope(input, c));
    if (!v.ok()) {
      return v.error();
    }
    auto n = whole_number(*v);
    if (!n || *n <= 0) {
      return Error{"States.Runtime", "The " + std::string(field) + " '" + path +
                                         "' does not reference a positive integer value: " + v->dump()};
    }
    return std::optional<int64_t>(std::min<int64_t>(*n, 99999999));
  }

  Step invoke(const StateDef& st) {
    std::string token;
    if (st.wait_for_token && env_.new_task_token) {
      token = env_.new_task_token();
    }
    Json c = context(st.wait_for_token ? &token : nullptr);
    auto in = input_path(st, c);
    if (!in.ok()) {
      return fail(in.error());
    }
    const Json& effective = *in;
    // Without Parameters the payload is the effective input; it is moved, not copied, unless a
    // *SecondsPath still reads the effective input below.
    const bool reads_input_later = !st.timeout_seconds_path.empty() || !st.heartbeat_seconds_path.empty();
    Json payload;
    if (st.parameters == nullptr) {
      if (reads_input_later) {
        payload = effective;
      } else {
        payload = std::move(*in);  // `effective` is not read again
      }
    } else {
      auto p = eval_template(*st.parameters, effective, c);
      if (!p.ok()) {
        return handle_error(st, p.error().error, p.error().cause, false);
      }
      payload = std::move(*p);
    }
    if (too_big(payload)) {
      return fail("States.DataLimitExceeded", "The state/task '" + st.name +
                                                  "' has an input with a size exceeding the maximum number of bytes "
                                                  "service limit.");
    }
    auto timeout = seconds_field(st.timeout_seconds, st.timeout_seconds_path, "TimeoutSecondsPath", effective, c);
    if (!timeout.ok()) {
      return fail(timeout.error());
    }
    auto heartbeat =
        seconds_field(st.heartbeat_seconds, st.heartbeat_seconds_path, "HeartbeatSecondsPath", effective, c);
    if (!heartbeat.ok()) {
      return fail(heartbeat.error());
    }
    const ResourceInfo& info = st.resource_info;
    if (info.legacy_lambda) {
      Json d = {{"resource", info.resource}, {"input", dump_json(payload)}, {"inputDetails", not_truncated()}};
      if (*timeout) {
        d["timeoutInSeconds"] = **timeout;
      }
      emit("LambdaFunctionScheduled", Json{{"lambdaFunctionScheduledEventDetails", std::move(d)}});
    } else {
      DetailsText d("taskScheduledEventDetails");
      if (*heartbeat) {
        d.number("heartbeatInSeconds", **heartbeat);
      }
      d.document("parameters", payload)
          .string("region", info.region)
          .string("resource", info.resource)
          .string("resourceType", info.resource_type);
      if (*timeout) {
        d.number("timeoutInSeconds", **timeout);
      }
      emit_text("TaskScheduled", d.done());
    }
    InvokeTask call;
    call.resource = st.resource;
    call.payload = std::move(payload);
    if (*timeout) {
      call.timeout_ms = **timeout * 1000;
    }
    if (*heartbeat) {
      call.heartbeat_ms = **heartbeat * 1000;
    }
    call.wait_for_token = st.wait_for_token;
    call.task_token = std::move(token);
    call.attempt = cur_.retry_count;
    return call;
  }

  void task_failure_event(const StateDef& st, const std::string& error, const std::string& cause) {
    const ResourceInfo& info = st.resource_info;
    bool timed_out = is_timeout_error(error);
    if (info.legacy_lambda) {
      emit(timed_out ? "LambdaFunctionTimedOut" : "LambdaFunctionFailed",
           Json{{timed_out ? "lambdaFunctionTimedOutEventDetails" : "lambdaFunctionFailedEventDetails",
                 {{"error", error}, {"cause", cause}}}});
      return;
    }
    emit_text(timed_out ? "TaskTimedOut" : "TaskFailed",
              DetailsText(timed_out ? "taskTimedOutEventDetails" : "taskFailedEventDetails")
                  .string("cause", cause)
                  .string("error", error)
                  .string("resource", info.resource)
                  .string("resourceType", info.resource_type)
                  .done());
  }

  Step task_succeeded(const StateDef& st, Json result) {
    if (too_big(result)) {
      std::string cause = "The state/task '" + st.name +
                          "' returned a result with a size exceeding the maximum number of bytes service limit.";
      task_failure_event(st, "States.DataLimitExceeded", cause);
      return fail("States.DataLimitExceeded", cause);
    }
    const ResourceInfo& info = st.resource_info;
    if (info.legacy_lambda) {
      emit("LambdaFunctionSucceeded", Json{{"lambdaFunctionSucceededEventDetails",
                                            {{"output", dump_json(result)}, {"outputDetails", not_truncated()}}}});
    } else {
      emit_text("TaskSucceeded", DetailsText("taskSucceededEventDetails")
                                     .document("output", result)
                                     .not_truncated("outputDetails")
                                     .string("resource", info.resource)
                                     .string("resourceType", info.resource_type)
                                     .done());
    }
    return after_result(st, std::move(result));
  }

  Step task_failed(const StateDef& st, const std::string& error, const std::string& cause) {
    task_failure_event(st, error, cause);
    return handle_error(st, error, cause, false);
  }

  /// Assign ($ = the raw result), ResultSelector, ResultPath, OutputPath; then exit.
  Step after_result(const StateDef& st, Json result) {
    Json c = context();
    auto assigned = eval_assign(st.assign, result, c);
    if (!assigned.ok()) {
      return fail(assigned.error());
    }
    Json selected;
    if (st.result_selector != nullptr) {
      auto s = eval_template(*st.result_selector, result, c);
      if (!s.ok()) {
        return fail(s.error());
      }
      selected = std::move(*s);
    } else {
      selected = std::move(result);  // not read again
    }
    auto placed = result_path(st.result_path, std::move(selected));
    if (!placed.ok()) {
      return handle_error(st, placed.error().error, placed.error().cause, false);
    }
    auto out = output_path(st, std::move(*placed), c);
    if (!out.ok()) {
      return fail(out.error());
    }
    return finish_state(st, std::move(*out), *assigned);
  }

  /// Retry, then Catch, then the run fails. `state_failed` adds
  /// ParallelStateFailed/MapStateFailed when no retry happens.
  Step handle_error(const StateDef& st, const std::string& error, const std::string& cause, bool state_failed) {
    if (auto plan = plan_retry(st.retry, cur_.retriers, error, env_.random)) {
      cur_.retriers.resize(st.retry.size(), 0);
      cur_.retriers[plan->retrier] += 1;
      cur_.retry_count += 1;
      return Sleep{env_.now_ms + plan->delay_ms};
    }
    if (state_failed) {
      emit(std::string(type_name(st.type)) + "StateFailed");
    }
    const Catcher* catcher = find_catcher(st.catchers, error);
    if (catcher == nullptr) {
      return fail(error, cause);
    }
    Json error_output = {{"Error", error}, {"Cause", cause}};
    Json c = context();
    auto assigned = eval_assign(catcher->assign, error_output, c);
    if (!assigned.ok()) {
      return fail(assigned.error());
    }
    auto out = result_path(catcher->result_path, std::move(error_output));
    if (!out.ok()) {
      return fail(out.error());
    }
    if (too_big(*out)) {
      return data_limit(st);
    }
    exited(st, *out, *assigned);
    move_to(catcher->next, std::move(*out));
    return std::nullopt;
  }

  // ---- Parallel / Map ---------------------------------------------------------

  /// MaxConcurrencyPath / ToleratedFailure*Path: a non-negative number from the input.
  Result<double> number_path(const std::string& path, std::string_view field, const Json& input, const Json& c,
                             bool whole, double max) const {
    auto v = evaluate_path(path, scope(input, c));
    if (!v.ok()) {
      return v.error();
    }
    if (!v->is_number() || v->get<double>() < 0 || v->get<double>() > max || (whole && !whole_number(*v))) {
      return Error{"States.Runtime", "The " + std::string(field) + " '" + path + "' does not reference a valid " +
                                         (whole ? "non-negative integer" : "percentage") + " value: " + v->dump()};
    }
    return v->get<double>();
  }

  Step start_children(const StateDef& st) {
    Json c = context();
    auto in = input_path(st, c);
    if (!in.ok()) {
      return fail(in.error());
    }
    RunChildren run;
    if (st.type == StateType::Parallel) {
      Json input = std::move(*in);
      if (st.parameters != nullptr) {
        auto p = eval_template(*st.parameters, input, c);
        if (!p.ok()) {
          return handle_error(st, p.error().error, p.error().cause, false);
        }
        input = std::move(*p);
      }
      if (too_big(input)) {
        return data_limit(st);
      }
      emit("ParallelStateStarted");
      for (const auto& branch : st.branches) {
        run.children.push_back(Child{branch, input, Json()});
      }
      return run;
    }

    const Json& effective = *in;
    Json items = effective;
    if (!st.items_path.absent()) {
      auto v = evaluate_path(st.items_path.path, scope(effective, c));
      if (!v.ok()) {
        return fail(v.error());
      }
      items = std::move(*v);
    }
    if (!items.is_array()) {
      return fail("States.Runtime",
                  "Map state '" + st.name + "' needs an array of items, but " +
                      (st.items_path.absent() ? std::string("its input") : "ItemsPath '" + st.items_path.path + "'") +
                      " is of type " + detail::json_type_name(items) + ".");
    }
    run.is_map = true;
    if (st.max_concurrency) {
      run.max_concurrency = static_cast<int>(std::min<int64_t>(*st.max_concurrency, INT32_MAX));
    } else if (!st.max_concurrency_path.empty()) {
      auto n = number_path(st.max_concurrency_path, "MaxConcurrencyPath", effective, c, true, 99999999);
      if (!n.ok()) {
        return fail(n.error());
      }
      run.max_concurrency = static_cast<int>(*n);
    }
    if (st.tolerated_failure_count) {
      run.tolerated_failure_count = *st.tolerated_failure_count;
    } else if (!st.tolerated_failure_count_path.empty()) {
      auto n = number_path(st.tolerated_failure_count_path, "ToleratedFailureCountPath", effective, c, true, 1e18);
      if (!n.ok()) {
        return fail(n.error());
      }
      run.tolerated_failure_count = static_cast<int64_t>(*n);
    }
    if (st.tolerated_failure_percentage) {
      run.tolerated_failure_percentage = *st.tolerated_failure_percentage;
    } else if (!st.tolerated_failure_percentage_path.empty()) {
      auto n =
          number_path(st.tolerated_failure_percentage_path, "ToleratedFailurePercentagePath", effective, c, false, 100);
      if (!n.ok()) {
        return fail(n.error());
      }
      run.tolerated_failure_percentage = *n;
    }
    run.children.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      Json item = {{"Index", i}, {"Value", items[i]}};
      Json child_input = items[i];
      if (st.item_selector != nullptr) {
        Json item_context = context(nullptr, &item);
        auto p = eval_template(*st.item_selector, effective, item_context);
        if (!p.ok()) {
          return handle_error(st, p.error().error, p.error().cause, false);
        }
        child_input = std::move(*p);
      }
      run.children.push_back(Child{st.processor, std::move(child_input), std::move(item)});
    }
    emit("MapStateStarted", Json{{"mapStateStartedEventDetails", {{"length", items.size()}}}});
    if (run.children.empty()) {
      emit("MapStateSucceeded");
      return after_result(st, Json::array());
    }
    return run;
  }

  Step children_succeeded(const StateDef& st, const Json& outputs) {
    emit(std::string(type_name(st.type)) + "StateSucceeded");
    if (too_big(outputs)) {
      return data_limit(st);
    }
    return after_result(st, outputs);
  }

  const Machine& m_;
  const RunContext& ctx_;
  const Env& env_;
  Cursor cur_;
  Json vars_;
  std::vector<HistoryEvent> events_;
  const StateDef* at_ = nullptr;  // the state being handled (set by dispatch)
};

}  // namespace

Decision step(const Definition& def, const std::string& machine, const RunContext& ctx, Cursor cursor, Event event,
              const Env& env) {
  const auto& machines = def.impl().machines;
  auto it = machines.find(machine);
  if (it == machines.end()) {
    return Decision{{},
                    std::move(cursor),
                    ctx.variables,
                    Failed{"States.Runtime", "The definition has no state machine at '" + machine + "'."}};
  }
  return Runner(it->second, ctx, env, std::move(cursor)).run(event);
}

}  // namespace switchyard::asl
