#pragma once
/// The execution service: the only code path that writes executions.
///
/// start() creates an execution (STANDARD: record + ExecutionStarted + first
/// work item in one script; EXPRESS: runs it in memory here and writes only
/// the final record). process() performs one work item: it reads the run,
/// asks the pure interpreter for a decision, does the I/O the decision needs
/// (at most one function call), and commits the outcome with one guarded Lua
/// script (state + history + next work + timers + ack). stop() aborts.
///
/// Runs: the top level of an execution is run "0"; each Parallel branch and
/// Map iteration is a child run "<parent>.<entry>.<index>" scheduled as its own
/// work, so children spread over routers and are joined durably (the parent
/// keeps counters and results in the execution hash).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "switchyard/asl/interpreter.hpp"
#include "switchyard/asl/problem.hpp"
#include "switchyard/common/result.hpp"
#include "switchyard/router/admission.hpp"
#include "switchyard/router/definitions.hpp"
#include "switchyard/router/invoker.hpp"
#include "switchyard/router/options.hpp"
#include "switchyard/store/execution_store.hpp"
#include "switchyard/store/state_machine_store.hpp"

namespace switchyard::router {

struct StartResult {
  enum class Kind { Created, Existing, Conflict } kind = Kind::Created;
  std::string id;
  /// For EXPRESS executions: the finished record (they end before start returns).
  std::optional<Json> record;
};

/// Wakes coroutines waiting for an execution to finish. Finishes committed by
/// this process are signalled at once; others are found by polling (another
/// router may finish it), so waiting works across processes.
class FinishNotifier {
 public:
  explicit FinishNotifier(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}
  /// Wakes the waiters of `id`; with `record` (the finished execution as describe()
  /// shows it), they need not read it back.
  void notify(const std::string& id, const Json* record = nullptr);
  /// Whether anyone waits for `id` here (so that a record is worth building).
  bool waited(const std::string& id) const { return waiters_.count(id) != 0U; }
  /// Waits until notify(id) or `poll` elapses; returns true when notified, and sets
  /// `*record` when the notifier passed one.
  boost::asio::awaitable<bool> wait(const std::string& id, std::chrono::milliseconds poll,
                                    std::optional<Json>* record = nullptr);

 private:
  struct Waiter {
    boost::asio::steady_timer* timer;
    std::optional<Json>* record;
  };
  boost::asio::any_io_executor ex_;
  std::multimap<std::string, Waiter> waiters_;
};

class ExecutionService {
 public:
  ExecutionService(boost::asio::any_io_executor ex, store::ExecutionStore& executions,
                   store::StateMachineStore& state_machines, DefinitionCache& definitions, Invoker& invoker,
                   const RouterOptions& options);

  // ---- state machines ----------------------------------------------------
  struct PutResult {
    store::PutOutcome outcome;
    asl::Problems problems;  ///< non-empty: invalid, nothing stored
  };
  /// Validates and stores a state machine (new revision when it changed).
  boost::asio::awaitable<PutResult> put_state_machine(const std::string& name, const Json& definition,
                                                      const std::string& type, const Json& triggers);

  // ---- executions ----------------------------------------------------------
  /// Whether start() first waits while routers are behind on due timers (admission.hpp). A
  /// request or tick that starts several executions calls admit() once and starts them Admitted.
  enum class Hold { Wait, Admitted };
  /// Starts an execution. Errors: NotFound (state machine), InvalidInput (too large).
  boost::asio::awaitable<Result<StartResult>> start(const std::string& state_machine, const Json& input,
                                                    const std::string& name, Hold hold = Hold::Wait);
  /// Waits (bounded) while routers are behind on due timers; see StartAdmission::admit().
  boost::asio::awaitable<std::chrono::milliseconds> admit() { return admission_.admit(); }
  /// The execution record as the REST API shows it; nullopt when unknown.
  boost::asio::awaitable<std::optional<Json>> describe(const std::string& id);
  /// Waits up to `timeout` for the end; returns the record (finished or not).
  boost::asio::awaitable<std::optional<Json>> wait(const std::string& id, std::chrono::milliseconds timeout);
  /// Aborts a running execution. Errors: NotFound; a finished one is left as it is.
  boost::asio::awaitable<Result<Json>> stop(const std::string& id, const std::string& error, const std::string& cause);

  /// Completes ("success", body {"output"}), fails ("failure", body {"error","cause"})
  /// or heartbeats ("heartbeat") a waiting callback step. Errors: NotFound (404),
  /// TaskAlreadyCompleted (409), TaskGone (410: step or execution ended), PayloadTooLarge.
  boost::asio::awaitable<Result<void>> complete_task(const std::string& token, const std::string& kind,
                                                     const Json& body);

  /// The run state a commit leaves in memory for the next step (opaque).
  struct Carry;

  /// The Worker of this process, when one runs (set_local_worker): the next step
  /// of a run (also the step an execution's first commit leads to, for an
  /// execution started here), then run here at once, held as a lease (a timer
  /// member as WorkItem::id, in the timers zset until the step commits) instead
  /// of going through the stream; a lease that is not committed or renewed in
  /// time fires and puts the item in the stream.
  class LocalWorker {
   public:
    virtual ~LocalWorker() = default;
    /// Whether it takes more work now (back-pressure, stopping).
    virtual bool has_room() const = 0;
    /// Processes (and holds) the step start()'s commit leased, with the state it left.
    virtual void dispatch(store::WorkItem item, std::shared_ptr<Carry> carry) = 0;
  };
  /// nullptr: no leases are taken (no router here, or it is stopping).
  void set_local_worker(LocalWorker* worker) { local_ = worker; }

  /// Performs one work item (see the header comment). I/O failures throw. Returns
  /// the run's next step when its commit leased it to this router (the caller holds
  /// it, renews its lease, and passes it back here with `carry`, the state the
  /// commit left for it; an item `carry` does not match is read from Redis).
  boost::asio::awaitable<std::optional<store::WorkItem>> process(store::WorkItem item, std::shared_ptr<Carry>& carry);
  /// process() and then every step it leases, until none is.
  boost::asio::awaitable<void> process(store::WorkItem item);

  FinishNotifier& notifier() { return notifier_; }
  store::ExecutionStore& executions() { return executions_; }
  store::StateMachineStore& state_machines() { return state_machines_; }

 private:
  struct Run;
  /// start()'s part in process_run(): the first step's transition creates the execution.
  struct StartFold {
    store::Transition::Create create;
    bool lease = false;          ///< the next step may be leased to this router (it has room)
    store::CommitResult result;  ///< out: Exists when the name is taken
  };
  boost::asio::awaitable<std::optional<store::WorkItem>> process_run(store::WorkItem& item,
                                                                     std::map<std::string, std::string> rec, Carry* in,
                                                                     std::shared_ptr<Carry>& out,
                                                                     StartFold* fold = nullptr);
  boost::asio::awaitable<Json> run_express(const asl::Definition& def, const Json& ctx_execution,
                                           const Json& state_machine, const std::string& id, Json input,
                                           std::vector<std::string>& events);
  boost::asio::awaitable<asl::Decision> express_machine(const asl::Definition& def, const std::string& machine,
                                                        asl::RunContext ctx, asl::Cursor cursor, const std::string& id,
                                                        std::vector<std::string>& events);
  /// An EXPRESS execution from its start to its one creating commit (spawned by start()).
  struct ExpressStart;
  boost::asio::awaitable<void> express_execution(std::shared_ptr<const asl::Definition> def,
                                                 std::unique_ptr<ExpressStart> x);

  boost::asio::any_io_executor ex_;
  store::ExecutionStore& executions_;
  store::StateMachineStore& state_machines_;
  DefinitionCache& definitions_;
  Invoker& invoker_;
  const RouterOptions& options_;
  FinishNotifier notifier_;
  StartAdmission admission_;  // new starts wait while routers are behind on timers
  LocalWorker* local_ = nullptr;
  /// EXPRESS executions running in this process (their record is written when they end), owned by
  /// their express_execution() coroutines: describe(), wait() and stop() see them here meanwhile.
  std::map<std::string, const ExpressStart*> express_running_;
  std::map<std::pair<std::string, std::string>, std::string> express_names_;  ///< (state machine, name) -> id
};

/// Renders a record (from the execution hash) as the REST API's execution JSON.
Json execution_json(const std::map<std::string, std::string>& rec);

/// A history event as JSON object text: {"type","timestamp",<details>}.
std::string event_text(const std::string& type, int64_t ms, const Json& details);
/// The same from details already rendered as text (asl::HistoryEvent::details_text; "" = none).
std::string event_text(const std::string& type, int64_t ms, const std::string& details_text);

}  // namespace switchyard::router
