// The execution service: one work item in, one committed transition out.
//
// process() reads the run (one HMGET), lets the pure interpreter decide, does
// at most one function call, and commits the whole outcome with commit.lua:
// the run's new state, its history events, the next work item or timer, the
// ack of the consumed item, and (for Parallel/Map children) the durable join.
// The commit is guarded by the run's version, so a redelivered or reclaimed
// item that was already committed is dropped instead of applied twice.
//
// A Task step is committed twice: once when it is scheduled (TaskScheduled,
// the call's parameters saved in the run) and once with its outcome
// (TaskStarted + TaskSucceeded/Failed + everything up to the next I/O). A
// router that dies during the call leaves the "invoke" item pending; another
// router reclaims it after the lease and calls again with the same
// Idempotency-Key (at-least-once calls, exactly-once transitions).
//
// The fast path: when a router runs in this process, the next step of the same
// run (after a Task or a long chain of Pass states) is not put in the stream:
// the commit writes it as a lease instead, a timer "exec|run|@|kind" due when
// the lease ends ("@": the run's current version, which fire_timers.lua reads
// when it fires), and this router goes on with it at once, with the run it
// just wrote still in memory (a Carry). start() decides the first step itself
// and commits it with the execution's creation (Transition::create: no start
// script, stream entry or lease for it), then goes on the same way. So a chain
// of Tasks costs one commit and one call per step: no stream entry, read or
// ack, no HMGET, no parse of the run. The next commit re-scores
// the same member for the step after (or removes it: it is that commit's ack);
// while that member is still due at least 3/4 of a lease ahead, the commit
// keeps it as it is instead (Transition::keep_lease: one Redis command less
// per step; renewals every third of a lease keep it ahead while a step runs);
// a router that dies leaves it to fire, and the timer puts the item in the
// stream for any router, as a reclaim would. Leases are renewed like held
// stream items, and the version guard is unchanged.
#include "switchyard/router/execution_service.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>
#include <functional>
#include <iostream>

#include "router_metrics.hpp"
#include "switchyard/router/clock.hpp"
#include "switchyard/router/triggers.hpp"
#include "switchyard/store/keys.hpp"

namespace switchyard::router {

namespace asio = boost::asio;
using std::chrono::milliseconds;

// ---- FinishNotifier -------------------------------------------------------

void FinishNotifier::notify(const std::string& id, const Json* record) {
  auto [b, e] = waiters_.equal_range(id);
  for (auto it = b; it != e; ++it) {
    if (record != nullptr && it->second.record != nullptr) {
      *it->second.record = *record;
    }
    it->second.timer->cancel();
  }
}

asio::awaitable<bool> FinishNotifier::wait(const std::string& id, milliseconds poll, std::optional<Json>* record) {
  asio::steady_timer timer(ex_, poll);
  auto it = waiters_.emplace(id, Waiter{&timer, record});
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  waiters_.erase(it);
  co_return ec == asio::error::operation_aborted;
}

// ---- helpers -----------------------------------------------------------------

std::string event_text(const std::string& type, int64_t ms, const std::string& details_text) {
  // Hot (several events per step): built as text, not as a Json tree.
  std::string s;
  s.reserve(64 + details_text.size());
  s += "{\"type\":";
  append_json_string(s, type);
  s += ",\"timestamp\":\"";
  append_rfc3339(s, ms);
  s += '"';
  if (details_text.size() > 2) {
    assert(details_text.front() == '{' && details_text.back() == '}');
    s += ',';
    s.append(details_text, 1);  // the details' members, and their '}' closes the event
  } else {
    s += '}';
  }
  return s;
}

std::string event_text(const std::string& type, int64_t ms, const Json& details) {
  return event_text(type, ms, details.is_object() && !details.empty() ? dump_json(details) : std::string());
}

namespace {

const std::string kRunning = "RUNNING";

Json parse_or(const std::string& text, Json fallback) {
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

Json from_field(const std::map<std::string, std::string>& rec, const std::string& k) {
  auto it = rec.find(k);
  if (it == rec.end() || it->second.empty()) {
    return nullptr;
  }
  return parse_or(it->second, Json(it->second));
}

std::string field(const std::map<std::string, std::string>& rec, const std::string& k) {
  auto it = rec.find(k);
  return it == rec.end() ? std::string() : it->second;
}

// Takes the task's payload (a Task step's largest value: moved, not copied, once per step).
Json task_json(asl::InvokeTask& t) {
  Json j = Json::object();
  j["attempt"] = t.attempt;
  j["payload"] = std::move(t.payload);
  j["resource"] = t.resource;
  j["wait"] = t.wait_for_token;
  if (t.timeout_ms) {
    j["timeout"] = *t.timeout_ms;
  }
  if (t.heartbeat_ms) {
    j["heartbeat"] = *t.heartbeat_ms;
  }
  if (!t.task_token.empty()) {
    j["token"] = t.task_token;
  }
  return j;
}

// Takes the payload out of `j` unless the step waits for a callback: such a step parks with its
// task in the run; any other clears the run's task after the call.
asl::InvokeTask task_from_json(Json& j) {
  asl::InvokeTask t;
  t.resource = j.at("resource").get<std::string>();
  t.wait_for_token = j.value("wait", false);
  t.payload = t.wait_for_token ? j.at("payload") : std::move(j.at("payload"));
  t.attempt = j.value("attempt", 0);
  if (j.contains("timeout")) {
    t.timeout_ms = j["timeout"].get<int64_t>();
  }
  if (j.contains("heartbeat")) {
    t.heartbeat_ms = j["heartbeat"].get<int64_t>();
  }
  t.task_token = j.value("token", std::string());
  return t;
}

Json error_object(const std::string& error, const std::string& cause) {
  return Json{{"error", error}, {"cause", cause}};
}

// {"mapIterationStartedEventDetails": {"name", "index"}}: Step Functions names the details after the event.
Json iteration_details(const std::string& type, const std::string& map_state, const Json& map_item) {
  std::string key = "m" + type.substr(1) + "EventDetails";
  return Json{{key, {{"name", map_state}, {"index", map_item.value("Index", 0)}}}};
}

// Whether a Map fails on its first failed iteration with that iteration's error (Step Functions'
// inline Map), or counts failures against ToleratedFailureCount/Percentage and fails with
// States.ExceedToleratedFailureThreshold past them (its Distributed Map; Switchyard allows both inline).
bool has_tolerance(const asl::RunChildren& run) {
  return run.is_map && (run.tolerated_failure_count > 0 || run.tolerated_failure_percentage > 0);
}

// EXPRESS Parallel branches and Map iterations, in memory: side by side up to MaxConcurrency,
// results in child order. The first failure past the tolerance stops the rest (Step Functions
// aborts them too); the group waits until every child has stopped before returning, so nothing
// outlives `events` or the definition.
asio::awaitable<asl::Event> run_express_children(
    const asl::RunChildren& run, const std::string& map_state, std::vector<std::string>& events,
    const std::function<asio::awaitable<asl::Decision>(const asl::Child&)>& run_child) {
  const size_t n = run.children.size();
  if (n == 0) {
    co_return asl::ChildrenSucceeded{Json::array()};
  }
  const size_t workers = run.max_concurrency > 0 ? std::min(n, static_cast<size_t>(run.max_concurrency)) : n;
  Json outputs(Json::value_t::array);
  for (size_t i = 0; i < n; ++i) {
    outputs.push_back(nullptr);
  }
  size_t next = 0;
  int64_t failed = 0;
  bool stop = false;
  std::optional<asl::ChildrenFailed> failure;
  auto iteration_event = [&](const std::string& type, const asl::Child& c) {
    if (run.is_map) {
      events.push_back(event_text(type, now_ms(), iteration_details(type, map_state, c.map_item)));
    }
  };
  auto worker = [&]() -> asio::awaitable<void> {
    while (!stop && next < n) {
      size_t i = next++;
      const asl::Child& c = run.children[i];
      iteration_event("MapIterationStarted", c);
      std::optional<asl::Decision> d;
      try {
        d = co_await run_child(c);
      } catch (const std::exception&) {
        if (!stop) {
          throw;
        }
        iteration_event("MapIterationAborted", c);  // cancelled by a sibling's failure
        co_return;
      }
      if (auto* ok = std::get_if<asl::Succeeded>(&d->next)) {
        outputs[i] = std::move(ok->output);
        iteration_event("MapIterationSucceeded", c);
        continue;
      }
      const auto& f = std::get<asl::Failed>(d->next);
      iteration_event("MapIterationFailed", c);
      ++failed;
      // The same rule as commit.lua's join.
      bool too_many = failed > run.tolerated_failure_count &&
                      static_cast<double>(failed) * 100.0 / static_cast<double>(n) > run.tolerated_failure_percentage;
      if (!run.is_map || too_many) {
        if (!stop) {
          stop = true;
          failure = has_tolerance(run) ? asl::ChildrenFailed{"States.ExceedToleratedFailureThreshold",
                                                             "The specified tolerated failure threshold was exceeded"}
                                       : asl::ChildrenFailed{f.error, f.cause};
        }
        co_return;
      }
    }
  };
  auto ex = co_await asio::this_coro::executor;
  using Op = decltype(asio::co_spawn(ex, worker(), asio::deferred));
  std::vector<Op> ops;
  ops.reserve(workers);
  for (size_t w = 0; w < workers; ++w) {
    ops.push_back(asio::co_spawn(ex, worker(), asio::deferred));
  }
  [[maybe_unused]] auto [order, errors] =
      co_await asio::experimental::make_parallel_group(std::move(ops))
          .async_wait(
              [&stop](const std::exception_ptr& e) {
                return e || stop ? asio::cancellation_type::terminal : asio::cancellation_type::none;
              },
              asio::use_awaitable);
  if (failure) {
    co_return *failure;
  }
  for (const auto& e : errors) {
    if (e) {
      std::rethrow_exception(e);
    }
  }
  co_return asl::ChildrenSucceeded{std::move(outputs)};
}

// "<execution>_<run>_<secret>" -> secret
std::string token_secret(const std::string& token) {
  auto pos = token.rfind('_');
  return pos == std::string::npos ? token : token.substr(pos + 1);
}

// The step of this token ended without its completion: refuse the token from now on.
void end_token(store::Transition& t, const std::string& run, const std::string& token, const std::string& why) {
  t.del.push_back("tk:" + run);
  t.del.push_back("tw:" + run);
  t.del.push_back("th:" + run);
  t.del.push_back("tr:" + run);
  if (!token.empty()) {
    t.set.emplace_back("tu:" + token_secret(token), why);
  }
}

// Commits and counts the outcome (GET /metrics).
asio::awaitable<store::CommitResult> commit_counted(store::ExecutionStore& executions, const store::Transition& t) {
  auto& m = RouterMetrics::get();
  auto result = co_await executions.commit_reporting(t);
  auto outcome = result.outcome;
  if (outcome == store::CommitOutcome::Committed) {
    m.transitions.inc();
    if (t.finished) {
      for (const auto& [k, v] : t.set) {
        if (k == "status") {
          m.executions_finished.with({v}).inc();
        }
      }
    }
  } else {
    if (outcome != store::CommitOutcome::Exists) {  // (a start by a name in use: not a rejected commit)
      m.commits_rejected.with({outcome == store::CommitOutcome::Stale ? "stale" : "gone"}).inc();
    }
  }
  co_return result;
}

// Acks and deletes a work item without a transition, counted (GET /metrics).
asio::awaitable<void> drop_counted(store::ExecutionStore& executions, const store::WorkItem& item) {
  RouterMetrics::get().work_dropped.inc();
  co_await executions.drop(item);
}

// Calls the function and records the call's outcome and latency (GET /metrics).
asio::awaitable<Result<Json>> call_timed(Invoker& invoker, const asl::InvokeTask& task, const CallMeta& meta) {
  auto started = std::chrono::steady_clock::now();
  auto r = co_await invoker.call(task, meta);
  std::string_view outcome = r ? "succeeded" : r.error().error == "States.Timeout" ? "timed_out" : "failed";
  auto& m = RouterMetrics::get();
  m.task_calls.with({outcome}).inc();
  m.task_call_seconds.with({outcome}).observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  co_return r;
}

}  // namespace

Json execution_json(const std::map<std::string, std::string>& rec) {
  Json j{{"executionId", field(rec, "id")},
         {"stateMachine", field(rec, "stateMachine")},
         {"revision", std::stoll(field(rec, "revision").empty() ? "0" : field(rec, "revision"))},
         {"type", field(rec, "type")},
         {"name", field(rec, "name")},
         {"status", field(rec, "status")},
         {"input", from_field(rec, "input")},
         {"output", from_field(rec, "output")},
         {"error", rec.count("error") != 0U && !field(rec, "error").empty() ? Json(field(rec, "error")) : Json()},
         {"cause", rec.count("cause") != 0U && !field(rec, "cause").empty() ? Json(field(rec, "cause")) : Json()}};
  auto started = field(rec, "startedAt");
  j["startedAt"] = started.empty() ? Json() : Json(rfc3339(std::stoll(started)));
  auto stopped = field(rec, "stoppedAt");
  j["stoppedAt"] = stopped.empty() ? Json() : Json(rfc3339(std::stoll(stopped)));
  return j;
}

// The router's record of one run, kept in the field "r:<run>".
struct ExecutionService::Run {
  std::string machine;
  asl::Cursor cursor;
  Json variables = Json::object();
  Json map_item;
  std::string parent;         // "" for the top level
  std::string prefix;         // parent's children prefix
  Json join;                  // for a parent waiting on children: {n, prefix}
  Json limits;                // for a child: the join's {n, maxc, tolc, tolp}
  std::string map_state;      // for a Map iteration: the Map state's name (its history events name it)
  int64_t entered_event = 0;  // id of the current state's *StateEntered event (for States.Runtime causes)
  Json task;                  // the scheduled call, between TaskScheduled and its outcome
  Json outer;                 // for a child: the enclosing scopes' variable names (read-only here)

  Json to_json() const {
    Json j{{"m", machine}, {"c", cursor.to_json()}, {"vars", variables}};
    if (!map_item.is_null()) {
      j["mi"] = map_item;
    }
    if (!parent.empty()) {
      j["p"] = parent;
      j["px"] = prefix;
    }
    if (!join.is_null()) {
      j["join"] = join;
    }
    if (!limits.is_null()) {
      j["lim"] = limits;
    }
    if (!map_state.empty()) {
      j["ms"] = map_state;
    }
    if (entered_event != 0) {
      j["eid"] = entered_event;
    }
    if (!task.is_null()) {
      j["task"] = task;
    }
    if (outer.is_array() && !outer.empty()) {
      j["ov"] = outer;
    }
    return j;
  }
  // dump_json(to_json()), written directly: the Json tree copied the input, the
  // variables and the task only to print them. Keys in to_json()'s (sorted) order.
  std::string to_text() const {
    std::string out;
    out.reserve(256);
    JsonObjectWriter run(out);
    {
      JsonObjectWriter c(run.field("c"));
      c.number("enteredMs", cursor.entered_ms).json("input", cursor.input);
      std::string& retriers = c.field("retriers");
      retriers += '[';
      for (size_t i = 0; i < cursor.retriers.size(); ++i) {
        if (i > 0) {
          retriers += ',';
        }
        retriers += std::to_string(cursor.retriers[i]);
      }
      retriers += ']';
      c.number("retryCount", cursor.retry_count).string("state", cursor.state).close();
    }
    if (entered_event != 0) {
      run.number("eid", entered_event);
    }
    if (!join.is_null()) {
      run.json("join", join);
    }
    if (!limits.is_null()) {
      run.json("lim", limits);
    }
    run.string("m", machine);
    if (!map_item.is_null()) {
      run.json("mi", map_item);
    }
    if (!map_state.empty()) {
      run.string("ms", map_state);
    }
    if (outer.is_array() && !outer.empty()) {
      run.json("ov", outer);
    }
    if (!parent.empty()) {
      run.string("p", parent).string("px", prefix);
    }
    if (!task.is_null()) {
      run.json("task", task);
    }
    run.json("vars", variables).close();
    assert(out == dump_json(to_json()));  // debug builds check that both agree
    return out;
  }
  static Run from_json(const Json& j) {
    Run r;
    r.machine = j.value("m", std::string());
    r.cursor = asl::Cursor::from_json(j.at("c"));
    r.variables = j.value("vars", Json::object());
    r.map_item = j.value("mi", Json());
    r.parent = j.value("p", std::string());
    r.prefix = j.value("px", std::string());
    r.join = j.value("join", Json());
    r.limits = j.value("lim", Json());
    r.map_state = j.value("ms", std::string());
    r.entered_event = j.value("eid", int64_t{0});
    r.task = j.value("task", Json());
    r.outer = j.value("ov", Json::array());
    return r;
  }
};

// What a committed transition leaves in memory for the next item of the same run.
struct ExecutionService::Carry {
  std::string exec;  // the work item it is for
  std::string run;
  std::string version;
  std::map<std::string, std::string> rec;  // the fields process() reads, as they are now (r:/rv: aside)
  std::optional<Run> state;                // the run, as committed
  std::shared_ptr<const asl::Definition> def;
  // When the lease the item is held under falls due, as this router last wrote it: a lower
  // bound (renewals only move it later), 0 when unknown.
  int64_t lease_due_ms = 0;
  Json ctx_execution;      // the context object's Execution part (parsed input)
  Json ctx_state_machine;  // and its StateMachine part
};

ExecutionService::ExecutionService(asio::any_io_executor ex, store::ExecutionStore& executions,
                                   store::StateMachineStore& state_machines, DefinitionCache& definitions,
                                   Invoker& invoker, const RouterOptions& options)
    : ex_(ex),
      executions_(executions),
      state_machines_(state_machines),
      definitions_(definitions),
      invoker_(invoker),
      options_(options),
      notifier_(ex),
      admission_(executions, options.start_hold) {}

// ---- state machines ------------------------------------------------------------

asio::awaitable<ExecutionService::PutResult> ExecutionService::put_state_machine(const std::string& name,
                                                                                 const Json& definition,
                                                                                 const std::string& type,
                                                                                 const Json& triggers) {
  PutResult out;
  auto parsed = asl::parse_definition(definition);
  if (!parsed.ok()) {
    out.problems = std::move(parsed.problems);
  } else if (type == "EXPRESS") {
    out.problems = asl::express_problems(*parsed.definition);
  }
  auto trigger_problems = validate_triggers(triggers);
  out.problems.insert(out.problems.end(), trigger_problems.begin(), trigger_problems.end());
  if (!out.problems.empty()) {
    co_return out;
  }
  out.outcome = co_await state_machines_.put(name, definition.dump(), type, triggers.dump(), rfc3339(now_ms()));
  co_return out;
}

// ---- EXPRESS ---------------------------------------------------------------------

struct ExecutionService::ExpressStart {
  std::string id, state_machine, name;
  Json input;
  std::string input_text;
  int64_t started_ms = 0;
  std::string first_event;
  std::vector<std::pair<std::string, std::string>> fields;  ///< the record's, while it runs (status aside)

  /// The record as describe() shows it while it runs.
  std::map<std::string, std::string> running_record() const {
    std::map<std::string, std::string> rec(fields.begin(), fields.end());
    rec["status"] = kRunning;
    return rec;
  }
};

asio::awaitable<void> ExecutionService::express_execution(std::shared_ptr<const asl::Definition> def,
                                                          std::unique_ptr<ExpressStart> x) {
  const std::string id = x->id;
  const std::string state_machine = x->state_machine;
  const std::string name = x->name;
  std::optional<Json> final_record;
  try {
    std::vector<std::string> events;
    Json ctx_exec{{"Id", id},
                  {"Input", x->input},
                  {"Name", x->name.empty() ? id : x->name},
                  {"StartTime", rfc3339(x->started_ms)},
                  {"RedriveCount", 0}};
    Json sm_ctx{{"Id", x->state_machine}, {"Name", x->state_machine}};
    Json rec = co_await run_express(*def, ctx_exec, sm_ctx, id, x->input, events);
    // Recorded by one creating commit, as a STANDARD start is, ended already: the record, all
    // its history, the name key and retention at once.
    store::Transition t;
    t.exec = id;
    t.run = "0";
    t.expected_version = "*";
    store::Transition::Create& c = t.create.emplace();
    c.state_machine = x->state_machine;
    c.name = x->name;
    c.input = x->input_text;  // (copies: describe() and the name check read them until the commit is in)
    c.started_ms = x->started_ms;
    c.first_event = std::move(x->first_event);
    c.fields = x->fields;
    c.fields.emplace_back("status", rec["status"].get<std::string>());
    c.fields.emplace_back("stoppedAt", std::to_string(now_ms()));
    if (rec.contains("output")) {
      c.fields.emplace_back("output", rec["output"].dump());
    }
    if (rec.contains("error")) {
      c.fields.emplace_back("error", rec["error"].get<std::string>());
      c.fields.emplace_back("cause", rec["cause"].get<std::string>());
    }
    t.events = std::move(events);
    t.finished = true;
    t.retention = options_.retention;
    if (!x->name.empty()) {
      t.name_key = store::keys::execution_name(x->state_machine, x->name);
    }
    auto committed = co_await executions_.commit_reporting(t);
    // Exists: another start of the same name (at the same moment) was recorded first; this run is dropped.
    if (committed.outcome != store::CommitOutcome::Exists) {
      RouterMetrics::get().executions_started.with({"EXPRESS"}).inc();
      RouterMetrics::get().executions_finished.with({rec["status"].get<std::string>()}).inc();
      final_record = execution_json(co_await executions_.read_all(id));
    }
  } catch (const std::exception& e) {
    // Redis failed at the end: an EXPRESS execution is not durable until then, so it is lost.
    std::cerr << "switchyard: EXPRESS execution " << id << " could not be recorded: " << e.what() << "\n";
  }
  if (auto it = express_names_.find({state_machine, name}); it != express_names_.end() && it->second == id) {
    express_names_.erase(it);
  }
  express_running_.erase(id);
  notifier_.notify(id, final_record ? &*final_record : nullptr);
}

// ---- start -------------------------------------------------------------------------

asio::awaitable<Result<StartResult>> ExecutionService::start(const std::string& state_machine, const Json& input,
                                                             const std::string& name, Hold hold) {
  if (hold == Hold::Wait) {
    co_await admission_.admit();
  }
  auto sm = co_await state_machines_.head(state_machine);  // (not the definition: the cache has it parsed)
  if (!sm) {
    co_return Error{"NotFound", "state machine '" + state_machine + "' does not exist"};
  }
  std::string input_text = dump_json(input);
  if (input_text.size() > options_.max_payload_bytes) {
    co_return Error{"PayloadTooLarge", "the input is " + std::to_string(input_text.size()) + " bytes; the limit is " +
                                           std::to_string(options_.max_payload_bytes)};
  }
  auto def = co_await definitions_.get(sm->name, sm->revision);
  int64_t now = now_ms();
  std::string id = uuid_v4();
  Json started_details{{"executionStartedEventDetails",
                        {{"input", input_text}, {"inputDetails", {{"truncated", false}}}, {"roleArn", ""}}}};

  std::string first_event = event_text("ExecutionStarted", now, started_details);
  std::vector<std::pair<std::string, std::string>> fields{{"id", id},
                                                          {"stateMachine", sm->name},
                                                          {"revision", std::to_string(sm->revision)},
                                                          {"type", sm->type},
                                                          {"name", name.empty() ? id : name},
                                                          {"input", input_text},
                                                          {"startedAt", std::to_string(now)}};

  if (sm->type == "EXPRESS") {
    // The same name again is the same execution (or a conflict) without running it again: an
    // EXPRESS run calls its functions before anything is written. (Two starts of one new name at
    // once both run; the creating commit below keeps the first.)
    if (!name.empty()) {
      // Still running here: it has no name key yet.
      if (auto it = express_names_.find({sm->name, name}); it != express_names_.end()) {
        StartResult res;
        res.id = it->second;
        res.kind = express_running_.at(it->second)->input_text == input_text ? StartResult::Kind::Existing
                                                                             : StartResult::Kind::Conflict;
        co_return res;
      }
      if (auto existing = co_await executions_.named(sm->name, name)) {
        std::vector<std::string> wanted;  // (not a braced list: g++ 12 miscompiles those in coroutines)
        wanted.push_back("input");
        auto prior = co_await executions_.read(*existing, wanted);
        if (prior && (*prior)[0]) {
          StartResult res;
          res.id = *existing;
          res.kind = *(*prior)[0] == input_text ? StartResult::Kind::Existing : StartResult::Kind::Conflict;
          co_return res;
        }
      }
    }
    // In memory from start to end, in this process, on its own coroutine: the start answers at
    // once (201, or what ?wait= saw), and only the final record (and its history) is written.
    auto x = std::make_unique<ExpressStart>();
    x->id = id;
    x->state_machine = sm->name;
    x->name = name;
    x->input = input;
    x->input_text = std::move(input_text);
    x->started_ms = now;
    x->first_event = std::move(first_event);
    x->fields = std::move(fields);
    express_running_[id] = x.get();
    if (!name.empty()) {
      express_names_[{sm->name, name}] = id;
    }
    asio::co_spawn(ex_, express_execution(def, std::move(x)), asio::detached);
    StartResult res;
    res.id = id;
    co_return res;
  }

  // The first step is decided here and committed with the execution's creation: one
  // transition (commit.lua 'c') instead of a start script, a stream (or lease) round trip and a
  // commit. What it leads to (the next step, a timer, children) goes on as from any step.
  Run run;
  run.cursor = asl::start_cursor(*def, "", input, now);
  StartFold fold;
  auto& create = fold.create;
  create.state_machine = sm->name;
  create.name = name;
  create.input = std::move(input_text);
  create.started_ms = now;
  create.first_event = std::move(first_event);
  if (auto t = def->timeout_ms()) {
    create.timeout_at_ms = now + *t;
  }
  create.fields = std::move(fields);
  create.fields.emplace_back("status", kRunning);
  create.fields.emplace_back("rv:0", "0");
  fold.lease = local_ != nullptr && local_->has_room();  // else the next step goes to the stream
  Carry carry;  // what process_run reads of a carry (its exec/run/version only match items)
  std::map<std::string, std::string> rec(create.fields.begin(), create.fields.end());
  rec["ev"] = "1";
  carry.state = std::move(run);
  carry.def = def;
  store::WorkItem item{"", id, "0", "0", "enter", "", 1};
  std::shared_ptr<Carry> out;
  auto next = co_await process_run(item, std::move(rec), &carry, out, &fold);
  StartResult res;
  res.id = id;
  if (fold.result.outcome == store::CommitOutcome::Exists) {
    res.id = fold.result.existing;
    res.kind = fold.result.same_input ? StartResult::Kind::Existing : StartResult::Kind::Conflict;
    co_return res;
  }
  RouterMetrics::get().executions_started.with({"STANDARD"}).inc();
  if (next && out && local_ != nullptr) {
    local_->dispatch(std::move(*next), std::move(out));
  }  // else the router stopped meanwhile: the lease fires and another router takes the step
  co_return res;
}

// ---- reads ----------------------------------------------------------------------------

asio::awaitable<std::optional<Json>> ExecutionService::describe(const std::string& id) {
  if (auto it = express_running_.find(id); it != express_running_.end()) {
    co_return execution_json(it->second->running_record());
  }
  auto rec = co_await executions_.read_all(id);
  if (rec.empty() || rec.count("status") == 0) {
    co_return std::nullopt;
  }
  co_return execution_json(rec);
}

asio::awaitable<std::optional<Json>> ExecutionService::wait(const std::string& id, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  milliseconds poll{10};
  // Local finishes wake us at once, with the finished record; the poll finds
  // finishes by other routers, reading only the status until it changes (the
  // whole record once, at the end).
  std::vector<std::string> fields{"status"};  // (a braced list in the call trips GCC 12's coroutines)
  // (An EXPRESS execution running here has no record yet.)
  auto running_now = [&](const auto& status) {
    return express_running_.contains(id) || (status && status->front() && *status->front() == kRunning);
  };
  auto status = co_await executions_.read(id, fields);
  bool running = running_now(status);
  while (running) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      break;
    }
    std::optional<Json> finished;
    bool notified = co_await notifier_.wait(id, std::min(poll, left), &finished);
    poll = std::min(poll * 2, milliseconds{250});
    if (finished) {
      co_return finished;
    }
    if (notified) {
      break;  // ended here without a record (stopped, timed out): read it
    }
    status = co_await executions_.read(id, fields);
    running = running_now(status);
  }
  co_return co_await describe(id);
}

asio::awaitable<Result<Json>> ExecutionService::stop(const std::string& id, const std::string& error,
                                                     const std::string& cause) {
  if (express_running_.contains(id)) {
    // As in Step Functions: an EXPRESS execution runs to its end (or its TimeoutSeconds).
    co_return Error{"InvalidOperation", "EXPRESS executions cannot be stopped"};
  }
  int64_t now = now_ms();
  Json details{{"executionAbortedEventDetails", {{"error", error}, {"cause", cause}}}};
  auto prior = co_await executions_.stop(id, "ABORTED", error, cause, now, event_text("ExecutionAborted", now, details),
                                         options_.retention);
  if (!prior) {
    co_return Error{"NotFound", "execution '" + id + "' does not exist"};
  }
  if (*prior == kRunning) {
    RouterMetrics::get().executions_finished.with({"ABORTED"}).inc();
  }
  notifier_.notify(id);
  auto rec = co_await describe(id);
  co_return rec ? *rec : Json();
}

// ---- callbacks ---------------------------------------------------------------------------

asio::awaitable<Result<void>> ExecutionService::complete_task(const std::string& token, const std::string& kind,
                                                              const Json& body) {
  // "<execution>_<run>_<secret>"
  auto a = token.find('_');
  auto b = token.rfind('_');
  if (a == std::string::npos || a == b || b + 1 >= token.size() || token.size() > 512) {
    RouterMetrics::get().callbacks.with({kind, "unknown"}).inc();
    co_return Error{"NotFound", "unknown task token"};
  }
  std::string exec = token.substr(0, a);
  std::string run = token.substr(a + 1, b - a - 1);
  std::string secret = token.substr(b + 1);
  std::string data;
  if (kind == "success") {
    Json output = body.contains("output") ? body["output"] : Json();
    data = Json{{"output", output}}.dump();
    if (data.size() > options_.max_payload_bytes) {
      co_return Error{"PayloadTooLarge",
                      "the output is over the " + std::to_string(options_.max_payload_bytes) + " byte limit"};
    }
  } else if (kind == "failure") {
    auto str_or = [&](const char* k) {
      return body.contains(k) && body[k].is_string() ? body[k].get<std::string>() : std::string();
    };
    data = Json{{"error", str_or("error")}, {"cause", str_or("cause")}}.dump();
  }
  auto r = co_await executions_.complete_task(exec, run, secret, kind, data, now_ms());
  RouterMetrics::get().callbacks.with({kind, r}).inc();
  if (r == "ok") {
    co_return Result<void>{};
  }
  if (r == "used") {
    co_return Error{"TaskAlreadyCompleted", "this task token was already used"};
  }
  if (r == "expired" || r == "finished") {
    co_return Error{"TaskGone", r == "expired" ? "the step of this token ended (timed out or failed)"
                                               : "the execution of this token is no longer running"};
  }
  co_return Error{"NotFound", "unknown task token"};
}

// ---- process -----------------------------------------------------------------------------

asio::awaitable<void> ExecutionService::process(store::WorkItem item) {
  std::shared_ptr<Carry> carry;
  std::optional<store::WorkItem> next = std::move(item);
  while (next) {
    next = co_await process(std::move(*next), carry);
  }
}

asio::awaitable<std::optional<store::WorkItem>> ExecutionService::process(store::WorkItem item,
                                                                          std::shared_ptr<Carry>& carry) {
  RouterMetrics::get().work_items.with({item.kind}).inc();
  std::shared_ptr<Carry> in = std::move(carry);
  carry.reset();
  if (item.kind.empty() || item.exec.empty()) {
    co_await drop_counted(executions_, item);  // deleted or malformed entry
    co_return std::nullopt;
  }
  if (in && in->exec == item.exec && in->run == item.run && in->version == item.version) {
    // The commit that wrote this item took it for us: the run is as it left it
    // (the version guard of the next commit covers a stop or a race meanwhile).
    co_return co_await process_run(item, std::move(in->rec), in.get(), carry);
  }
  std::vector<std::string> fields{"id",        "status", "stateMachine",  "revision",       "name", "input",
                                  "startedAt", "ev",     "r:" + item.run, "rv:" + item.run, "type"};
  auto values = co_await executions_.read(item.exec, fields);
  if (!values) {
    co_await drop_counted(executions_, item);
    co_return std::nullopt;
  }
  std::map<std::string, std::string> rec;
  for (size_t i = 0; i < fields.size(); ++i) {
    if ((*values)[i]) {
      rec[fields[i]] = *(*values)[i];
    }
  }
  if (field(rec, "status") != kRunning ||
      (item.version != "*" && (rec.count("rv:" + item.run) == 0U || rec["rv:" + item.run] != item.version))) {
    co_await drop_counted(executions_, item);  // finished, stopped, or already applied
    co_return std::nullopt;
  }
  co_return co_await process_run(item, std::move(rec), nullptr, carry);
}

asio::awaitable<std::optional<store::WorkItem>> ExecutionService::process_run(store::WorkItem& item,
                                                                              std::map<std::string, std::string> rec,
                                                                              Carry* in, std::shared_ptr<Carry>& out,
                                                                              StartFold* fold) {
  const std::string& exec = item.exec;
  int64_t now = now_ms();
  store::Transition t;
  t.exec = exec;
  t.run = item.run;
  t.expected_version = item.version;
  t.ack_id = item.id;
  if (fold != nullptr) {
    t.create = std::move(fold->create);
  }

  bool timed = true;  // the execution may have a timeout timer (known once the definition is read)
  auto finish = [&](const std::string& status, const Json* output, const std::string& error, const std::string& cause) {
    t.set.emplace_back("status", status);
    t.set.emplace_back("stoppedAt", std::to_string(now_ms()));
    if (output != nullptr) {
      t.set.emplace_back("output", dump_json(*output));
    } else {
      t.set.emplace_back("error", error);
      t.set.emplace_back("cause", cause);
    }
    t.finished = true;
    t.retention = options_.retention;
    // An execution started without a name has its id as its name, and no name key (start()).
    if (std::string name = field(rec, "name"); !name.empty() && name != exec) {
      t.name_key = store::keys::execution_name(field(rec, "stateMachine"), name);
    }
    if (timed) {
      // The execution timeout timer has nothing left to time.
      t.cancel_timers.push_back(store::timer_member(exec, "0", "*", "timeout"));
    }
  };

  if (item.kind == "timeout") {
    finish("TIMED_OUT", nullptr, "States.Timeout", "The execution timed out (state machine TimeoutSeconds).");
    t.events.push_back(event_text(
        "ExecutionTimedOut", now,
        {{"executionTimedOutEventDetails", {{"error", "States.Timeout"}, {"cause", "The execution timed out."}}}}));
    if ((co_await commit_counted(executions_, t)).outcome == store::CommitOutcome::Committed) {
      notifier_.notify(exec);
    }
    co_return std::nullopt;
  }

  // (No co_await inside ?: here: GCC 12 miscompiles it.)
  std::shared_ptr<const asl::Definition> def;
  if (in != nullptr && in->def) {
    def = in->def;
  } else {
    def = co_await definitions_.get(field(rec, "stateMachine"), std::stoll(field(rec, "revision")));
  }
  timed = def->timeout_ms().has_value();  // (start() set the timer from this revision's TimeoutSeconds)
  Run run =
      in != nullptr && in->state ? std::move(*in->state) : Run::from_json(Json::parse(field(rec, "r:" + item.run)));
  int64_t version = item.version == "*" ? std::stoll(field(rec, "rv:" + item.run)) : std::stoll(item.version);
  std::string next_version = std::to_string(version + 1);

  asl::RunContext ctx;
  if (in != nullptr && !in->ctx_execution.is_null()) {
    ctx.execution = std::move(in->ctx_execution);
  } else {
    ctx.execution = Json{{"Id", exec},
                         {"Input", parse_or(field(rec, "input"), Json())},
                         {"Name", field(rec, "name")},
                         {"StartTime", rfc3339(std::stoll(field(rec, "startedAt")))},
                         {"RedriveCount", 0}};
  }
  if (in != nullptr && !in->ctx_state_machine.is_null()) {
    ctx.state_machine = std::move(in->ctx_state_machine);
  } else {
    ctx.state_machine = Json{{"Id", field(rec, "stateMachine")}, {"Name", field(rec, "stateMachine")}};
  }
  ctx.map_item = run.map_item;
  ctx.variables = run.variables;
  ctx.outer_variables = run.outer;

  asl::Env env;
  env.now_ms = now;
  env.random = [] { return random_u64(); };
  // "<execution>_<run>_<256-bit secret>": routable to its execution, unguessable.
  env.new_task_token = [&] { return exec + "_" + item.run + "_" + random_hex128() + random_hex128(); };
  env.max_payload_bytes = options_.max_payload_bytes;

  asl::Event event = asl::Enter{};
  if (item.kind == "timer") {
    event = asl::TimerFired{};
  } else if (item.kind == "invoke") {
    if (run.task.is_null()) {
      co_await drop_counted(executions_, item);
      co_return std::nullopt;
    }
    asl::InvokeTask task = task_from_json(run.task);
    CallMeta meta;
    meta.execution = exec;
    meta.state_machine = field(rec, "stateMachine");
    meta.state = run.cursor.state;
    meta.attempt = task.attempt;
    meta.idempotency_key = exec + "/" + item.run + "/" + run.cursor.state + "/" +
                           std::to_string(run.cursor.entered_ms) + "/" + std::to_string(task.attempt);
    auto started = asl::task_started_event(task);
    t.events.push_back(event_text(started.type, now_ms(), started.details_text));
    auto result = co_await call_timed(invoker_, task, meta);
    env.now_ms = now_ms();
    if (result && task.wait_for_token) {
      // The hand-off was acknowledged: park. Nothing of this step stays in the
      // router; the completion API, or a timeout timer, resumes it.
      t.set.emplace_back("r:" + item.run, run.to_text());
      t.set.emplace_back("rv:" + item.run, next_version);
      t.set.emplace_back("tw:" + item.run, next_version);
      if (task.timeout_ms) {
        // TimeoutSeconds bounds the whole step, the hand-off call included.
        t.timers.emplace_back(now + *task.timeout_ms, store::timer_member(exec, item.run, next_version, "ttimeout"));
      }
      if (task.heartbeat_ms) {
        t.timers.emplace_back(env.now_ms + *task.heartbeat_ms, store::timer_member(exec, item.run, next_version, "hb"));
      }
      t.park_version = next_version;
      co_await commit_counted(executions_, t);
      co_return std::nullopt;
    }
    if (result) {
      event = asl::TaskSucceeded{std::move(result).value()};
    } else {
      const auto& e = result.error();
      event = asl::TaskFailed{e.error, e.cause};
      if (task.wait_for_token) {
        end_token(t, item.run, task.task_token, "expired");
      }
    }
    run.task = nullptr;
  } else if (item.kind == "ttimeout" || item.kind == "hb") {
    // A waiting callback step ran out of time (the version guard proves it still waits).
    bool heartbeat = item.kind == "hb";
    event = asl::TaskFailed{heartbeat ? "States.HeartbeatTimeout" : "States.Timeout",
                            heartbeat ? "No heartbeat arrived within HeartbeatSeconds."
                                      : "The task did not complete within TimeoutSeconds."};
    if (!run.task.is_null()) {
      end_token(t, item.run, run.task.value("token", std::string()), "expired");
    }
    t.cancel_timers.push_back(store::timer_member(exec, item.run, item.version, heartbeat ? "ttimeout" : "hb"));
    run.task = nullptr;
  } else if (item.kind == "result") {
    Json d = parse_or(item.data, Json::object());
    if (d.contains("error")) {
      event = asl::TaskFailed{d.value("error", std::string()), d.value("cause", std::string())};
    } else {
      event = asl::TaskSucceeded{d.value("output", Json())};
    }
    t.del.push_back("tw:" + item.run);
    t.del.push_back("th:" + item.run);
    run.task = nullptr;
  } else if (item.kind == "children") {
    Json d = parse_or(item.data, Json::object());
    if (d.value("failed", false)) {
      const Json& detail = d["detail"];
      if (run.join.value("tol", false)) {
        // A Map fails as a whole once its failures pass the tolerance (AWS's error name).
        event = asl::ChildrenFailed{"States.ExceedToleratedFailureThreshold",
                                    "The specified tolerated failure threshold was exceeded"};
      } else {
        event = asl::ChildrenFailed{detail.value("error", std::string("States.Runtime")),
                                    detail.value("cause", std::string())};
      }
    } else {
      event = asl::ChildrenSucceeded{d.value("outputs", Json::array())};
    }
    run.join = nullptr;
  }

  if (item.kind == "enter" && version == 0 && !run.map_state.empty()) {
    // An iteration starts when its first work item runs (MaxConcurrency may delay it).
    t.events.push_back(
        event_text("MapIterationStarted", now, iteration_details("MapIterationStarted", run.map_state, run.map_item)));
  }
  // run.cursor is moved in: it is the decision's cursor from here on.
  asl::Decision decision = asl::step(*def, run.machine, ctx, std::move(run.cursor), std::move(event), env);
  const int64_t ev_before = std::stoll(field(rec, "ev").empty() ? "0" : field(rec, "ev"));
  auto add_events = [&](const asl::Decision& d) {
    for (const auto& e : d.events) {
      t.events.push_back(event_text(e.type, env.now_ms, e.details_text));
      if (e.type.size() > 12 && e.type.compare(e.type.size() - 12, 12, "StateEntered") == 0) {
        // Ids are assigned at commit; concurrent runs of one execution may shift them slightly.
        run.entered_event = ev_before + static_cast<int64_t>(t.events.size());
      }
    }
  };
  add_events(decision);
  // A Parallel/Map with no children finishes at once.
  while (std::holds_alternative<asl::RunChildren>(decision.next) &&
         std::get<asl::RunChildren>(decision.next).children.empty()) {
    ctx.variables = decision.variables;
    decision =
        asl::step(*def, run.machine, ctx, std::move(decision.cursor), asl::ChildrenSucceeded{Json::array()}, env);
    add_events(decision);
  }
  run.cursor = std::move(decision.cursor);
  run.variables = std::move(decision.variables);

  auto ends_run = [&](bool ok, const Json& output, const std::string& error, const std::string& cause) {
    if (run.parent.empty()) {
      if (ok) {
        t.events.push_back(event_text("ExecutionSucceeded", env.now_ms,
                                      {{"executionSucceededEventDetails",
                                        {{"output", dump_json(output)}, {"outputDetails", {{"truncated", false}}}}}}));
        finish("SUCCEEDED", &output, "", "");
      } else {
        t.events.push_back(event_text("ExecutionFailed", env.now_ms,
                                      {{"executionFailedEventDetails", {{"error", error}, {"cause", cause}}}}));
        finish("FAILED", nullptr, error, cause);
      }
      return;
    }
    // A child run: hand the result to the parent's durable join.
    store::Transition::Join j;
    j.parent = run.parent;
    j.prefix = run.prefix;
    j.ok = ok;
    j.result = ok ? output.dump() : error_object(error, cause).dump();
    j.count = run.limits.value("n", int64_t{0});
    j.max_concurrency = run.limits.value("maxc", int64_t{0});
    j.tolerated_count = run.limits.value("tolc", int64_t{0});
    j.tolerated_percentage = run.limits.value("tolp", 0.0);
    t.join = j;
    if (!run.map_item.is_null()) {
      std::string type = ok ? "MapIterationSucceeded" : "MapIterationFailed";
      t.events.push_back(event_text(type, env.now_ms, iteration_details(type, run.map_state, run.map_item)));
    }
  };

  std::visit(
      [&](auto& next) {
        using T = std::decay_t<decltype(next)>;
        if constexpr (std::is_same_v<T, asl::InvokeTask>) {
          run.task = task_json(next);
          if (next.wait_for_token) {
            t.set.emplace_back("tk:" + item.run, token_secret(next.task_token));
            if (next.heartbeat_ms) {
              t.set.emplace_back("th:" + item.run, std::to_string(*next.heartbeat_ms));
            }
          }
          t.work.push_back({"", exec, item.run, next_version, "invoke", "", 1});
        } else if constexpr (std::is_same_v<T, asl::Sleep>) {
          t.timers.emplace_back(next.until_ms, store::timer_member(exec, item.run, next_version, "timer"));
        } else if constexpr (std::is_same_v<T, asl::Yield>) {
          t.work.push_back({"", exec, item.run, next_version, "enter", "", 1});
        } else if constexpr (std::is_same_v<T, asl::RunChildren>) {
          std::string prefix = item.run + "." + next_version;
          int64_t n = static_cast<int64_t>(next.children.size());
          int64_t maxc = next.max_concurrency > 0 ? std::min<int64_t>(next.max_concurrency, n) : n;
          run.join = Json{{"n", n}, {"prefix", prefix}, {"map", next.is_map}, {"tol", has_tolerance(next)}};
          Json limits{{"n", n},
                      {"maxc", next.max_concurrency},
                      {"tolc", next.is_map ? next.tolerated_failure_count : 0},
                      {"tolp", next.is_map ? next.tolerated_failure_percentage : 0.0}};
          for (int64_t i = 0; i < n; ++i) {
            auto& c = next.children[static_cast<size_t>(i)];
            Run child;
            child.machine = c.machine;
            child.cursor = asl::start_cursor(*def, c.machine, c.input, env.now_ms);
            child.variables = run.variables;
            child.outer = asl::child_outer_variables(run.variables);
            child.map_item = c.map_item;
            child.parent = item.run;
            child.prefix = prefix;
            child.limits = limits;
            if (next.is_map) {
              child.map_state = run.cursor.state;
            }
            std::string rid = prefix + "." + std::to_string(i);
            t.set.emplace_back("r:" + rid, child.to_text());
            t.set.emplace_back("rv:" + rid, "0");
            if (i < maxc) {
              t.work.push_back({"", exec, rid, "0", "enter", "", 1});
            }
          }
          // Join bookkeeping (see commit.lua); the limits travel with each child's commit.
          t.set.emplace_back("jn:" + item.run, std::to_string(n));
          t.set.emplace_back("jd:" + item.run, "0");
          t.set.emplace_back("jf:" + item.run, "0");
          t.set.emplace_back("jl:" + item.run, std::to_string(maxc));
        } else if constexpr (std::is_same_v<T, asl::Succeeded>) {
          ends_run(true, next.output, "", "");
        } else if constexpr (std::is_same_v<T, asl::Failed>) {
          std::string cause = next.cause;
          if (next.error == "States.Runtime" && cause.rfind("An error occurred while executing the state", 0) != 0) {
            // As Step Functions words it, naming the state and its entered event.
            cause = "An error occurred while executing the state '" + run.cursor.state +
                    "' (entered at the event id #" + std::to_string(run.entered_event) + "). " + cause;
          }
          ends_run(false, Json(), next.error, cause);
        }
      },
      decision.next);

  if (t.join) {
    t.del.push_back("r:" + item.run);
    t.del.push_back("rv:" + item.run);
  } else if (!t.finished) {
    t.set.emplace_back("r:" + item.run, run.to_text());
    t.set.emplace_back("rv:" + item.run, next_version);
  }

  if (!t.finished && ev_before + static_cast<int64_t>(t.events.size()) > options_.max_history_events) {
    auto create = std::move(t.create);
    t = store::Transition{};
    t.create = std::move(create);
    t.exec = exec;
    t.run = item.run;
    t.expected_version = item.version;
    t.ack_id = item.id;
    std::string cause =
        "The execution reached the limit of " + std::to_string(options_.max_history_events) + " history events.";
    t.events.push_back(
        event_text("ExecutionFailed", env.now_ms,
                   {{"executionFailedEventDetails", {{"error", "States.DataLimitExceeded"}, {"cause", cause}}}}));
    finish("FAILED", nullptr, "States.DataLimitExceeded", cause);
  }

  std::optional<store::WorkItem> next;
  int64_t lease_due = 0;
  if (local_ != nullptr && (fold == nullptr || fold->lease) && !t.finished && !t.join && t.work.size() == 1 &&
      t.work.front().run == item.run && (t.work.front().kind == "enter" || t.work.front().kind == "invoke")) {
    // The same run's next step: this router goes on with it, holding it as a lease (see the top comment).
    next = std::move(t.work.front());
    t.work.clear();
    next->id = store::timer_member(exec, item.run, store::kLeaseVersion, next->kind);
    const int64_t at = now_ms();
    lease_due = in != nullptr ? in->lease_due_ms : 0;
    if (next->id == item.id && lease_due - at >= options_.lease.count() * 3 / 4) {
      t.keep_lease = true;  // still due far enough ahead: one Redis command less per step
    } else {
      lease_due = at + options_.lease.count();
      t.timers.emplace_back(lease_due, next->id);
    }
    t.report_events = true;
  }
  auto committed = co_await commit_counted(executions_, t);
  if (fold != nullptr) {
    fold->result = committed;
  }
  if (committed.outcome == store::CommitOutcome::Committed && t.finished && notifier_.waited(exec)) {
    // Waiters here get the record as describe() would read it back.
    std::map<std::string, std::string> fin = rec;
    for (const auto& [k, v] : t.set) {
      fin[k] = v;
    }
    Json record = execution_json(fin);
    notifier_.notify(exec, &record);
  }
  if (!next || committed.outcome != store::CommitOutcome::Committed) {
    co_return std::nullopt;
  }
  // Hand over the run as committed.
  out = std::make_shared<Carry>();
  out->exec = exec;
  out->run = item.run;
  out->version = next_version;
  out->lease_due_ms = lease_due;
  out->rec = std::move(rec);  // the record goes on with the run (it holds the execution's input)
  out->rec.erase("r:" + item.run);
  out->rec.erase("rv:" + item.run);
  if (committed.events >= 0) {
    out->rec["ev"] = std::to_string(committed.events);
  }
  out->state = std::move(run);
  out->def = std::move(def);
  out->ctx_execution = std::move(ctx.execution);
  out->ctx_state_machine = std::move(ctx.state_machine);
  co_return next;
}

// ---- EXPRESS ----------------------------------------------------------------------------

namespace {

// An EXPRESS execution (all in this process's memory) reached the history event limit.
struct HistoryLimitReached : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

asio::awaitable<asl::Decision> ExecutionService::express_machine(const asl::Definition& def, const std::string& machine,
                                                                 asl::RunContext ctx, asl::Cursor cursor,
                                                                 const std::string& id,
                                                                 std::vector<std::string>& events) {
  asl::Event event = asl::Enter{};
  auto ex = co_await asio::this_coro::executor;
  int64_t entered_event = 0;  // id of the current state's *StateEntered event (for States.Runtime causes)
  while (true) {
    asl::Env env;
    env.now_ms = now_ms();
    env.random = [] { return random_u64(); };
    env.new_task_token = [] { return std::string("express-has-no-callbacks"); };
    env.max_payload_bytes = options_.max_payload_bytes;
    asl::Decision d = asl::step(def, machine, ctx, cursor, event, env);
    // As for STANDARD, the step that would pass the limit fails the execution instead (and bounds
    // the memory a looping EXPRESS machine without TimeoutSeconds holds). +1: ExecutionStarted.
    if (static_cast<int64_t>(events.size() + d.events.size()) + 1 > options_.max_history_events) {
      throw HistoryLimitReached("The execution reached the limit of " + std::to_string(options_.max_history_events) +
                                " history events.");
    }
    for (auto& e : d.events) {
      events.push_back(event_text(e.type, env.now_ms, e.details_text));
      if (e.type.ends_with("StateEntered")) {
        entered_event = static_cast<int64_t>(events.size()) + 1;  // ExecutionStarted is event #1
      }
    }
    ctx.variables = d.variables;
    cursor = d.cursor;
    if (auto* task = std::get_if<asl::InvokeTask>(&d.next)) {
      if (task->wait_for_token) {
        event = asl::TaskFailed{"States.Runtime", "EXPRESS state machines do not support .waitForTaskToken"};
        continue;
      }
      CallMeta meta{
          id, ctx.state_machine.value("Name", std::string()), cursor.state,
          id + "/" + cursor.state + "/" + std::to_string(cursor.entered_ms) + "/" + std::to_string(task->attempt),
          task->attempt};
      auto started = asl::task_started_event(*task);
      events.push_back(event_text(started.type, now_ms(), started.details_text));
      auto r = co_await call_timed(invoker_, *task, meta);
      if (r) {
        event = asl::TaskSucceeded{std::move(r).value()};
      } else {
        event = asl::TaskFailed{r.error().error, r.error().cause};
      }
    } else if (auto* sleep = std::get_if<asl::Sleep>(&d.next)) {
      asio::steady_timer timer(ex, milliseconds{std::max<int64_t>(0, sleep->until_ms - now_ms())});
      co_await timer.async_wait(asio::use_awaitable);
      event = asl::TimerFired{};
    } else if (std::get_if<asl::Yield>(&d.next) != nullptr) {
      event = asl::Enter{};
    } else if (auto* children = std::get_if<asl::RunChildren>(&d.next)) {
      auto run_child = [&](const asl::Child& c) -> asio::awaitable<asl::Decision> {
        asl::RunContext cctx = ctx;
        cctx.map_item = c.map_item;
        cctx.outer_variables = asl::child_outer_variables(ctx.variables);
        co_return co_await express_machine(def, c.machine, cctx, asl::start_cursor(def, c.machine, c.input, now_ms()),
                                           id, events);
      };
      event = co_await run_express_children(*children, cursor.state, events, run_child);
    } else {
      auto* failed = std::get_if<asl::Failed>(&d.next);
      if (failed != nullptr && failed->error == "States.Runtime" &&
          !failed->cause.starts_with("An error occurred while executing the state")) {
        // Worded as for STANDARD executions (and as Step Functions words it).
        failed->cause = "An error occurred while executing the state '" + cursor.state +
                        "' (entered at the event id #" + std::to_string(entered_event) + "). " + failed->cause;
      }
      co_return d;  // Succeeded or Failed
    }
  }
}

asio::awaitable<Json> ExecutionService::run_express(const asl::Definition& def, const Json& ctx_execution,
                                                    const Json& state_machine, const std::string& id, Json input,
                                                    std::vector<std::string>& events) {
  asl::RunContext ctx;
  ctx.execution = ctx_execution;
  ctx.state_machine = state_machine;
  auto cursor = asl::start_cursor(def, "", std::move(input), now_ms());
  asl::Decision d;
  try {
    if (auto timeout = def.timeout_ms()) {
      using namespace asio::experimental::awaitable_operators;
      asio::steady_timer timer(ex_, milliseconds{*timeout});
      auto r = co_await (express_machine(def, "", ctx, cursor, id, events) || timer.async_wait(asio::use_awaitable));
      if (r.index() == 1) {
        events.push_back(event_text(
            "ExecutionTimedOut", now_ms(),
            {{"executionTimedOutEventDetails", {{"error", "States.Timeout"}, {"cause", "The execution timed out."}}}}));
        co_return Json{{"status", "TIMED_OUT"}, {"error", "States.Timeout"}, {"cause", "The execution timed out."}};
      }
      d = std::get<0>(std::move(r));
    } else {
      d = co_await express_machine(def, "", ctx, cursor, id, events);
    }
  } catch (const HistoryLimitReached& e) {
    events.push_back(
        event_text("ExecutionFailed", now_ms(),
                   {{"executionFailedEventDetails", {{"error", "States.DataLimitExceeded"}, {"cause", e.what()}}}}));
    co_return Json{{"status", "FAILED"}, {"error", "States.DataLimitExceeded"}, {"cause", e.what()}};
  } catch (const std::exception& e) {
    co_return Json{{"status", "FAILED"}, {"error", "States.Runtime"}, {"cause", e.what()}};
  }
  if (auto* s = std::get_if<asl::Succeeded>(&d.next)) {
    events.push_back(event_text("ExecutionSucceeded", now_ms(),
                                {{"executionSucceededEventDetails",
                                  {{"output", s->output.dump()}, {"outputDetails", {{"truncated", false}}}}}}));
    co_return Json{{"status", "SUCCEEDED"}, {"output", s->output}};
  }
  auto& f = std::get<asl::Failed>(d.next);
  events.push_back(event_text("ExecutionFailed", now_ms(),
                              {{"executionFailedEventDetails", {{"error", f.error}, {"cause", f.cause}}}}));
  co_return Json{{"status", "FAILED"}, {"error", f.error}, {"cause", f.cause}};
}

}  // namespace switchyard::router
