#pragma once
/// Typed access to executions in Redis: start, commit a transition, stop,
/// read records and history, work queue and timers. Every write to a running
/// execution goes through commit() (commit.lua): the commits made in one
/// event-loop turn go to Redis as one call, each applied and answered as if alone.
///
/// The execution hash holds: id, stateMachine, revision, type, name, status,
/// input, output, error, cause, startedAt, stoppedAt (ms), ev (event count),
/// and per run <r> of the execution (the top level is run "0", Parallel/Map
/// children have their own): "r:<r>" (the router's run state, JSON) and
/// "rv:<r>" (the run's version, the guard of every commit).
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/store/redis.hpp"

namespace switchyard::store {

/// One unit of router work, as stored in the work stream.
struct WorkItem {
  std::string id;          ///< stream entry id ("" for items not yet added)
  std::string exec;        ///< execution id
  std::string run;         ///< run id within the execution
  std::string version;     ///< the run version this item expects ("*": any)
  std::string kind;        ///< what to do: enter, invoke, timer, result, children, timeout, ...
  std::string data;        ///< kind-specific payload (JSON text or empty)
  int64_t deliveries = 1;  ///< how often the stream delivered it (from XAUTOCLAIM/XPENDING)
  int64_t due_ms = 0;      ///< a fired timer's due time (epoch ms; its lateness), else 0
};

/// Everything one transition writes.
struct Transition {
  std::string exec;
  std::string run;
  std::string expected_version;  ///< "*" skips the version check (status is still checked)
  std::string ack_id;            ///< the work item this transition consumes (a stream id or a lease)
  /// The ack is a lease member ("exec|run|@|kind") that goes on, as it is, for the run's next
  /// step: not removed, not re-scored (its due time is still far enough; see commit.lua).
  bool keep_lease = false;
  std::vector<std::pair<std::string, std::string>> set;  ///< hash fields to set
  std::vector<std::string> del;                          ///< hash fields to delete
  std::vector<std::string>
      events;                  ///< history events as JSON object text, stored encoded (event_codec.hpp; see history())
  std::vector<WorkItem> work;  ///< next work
  std::vector<std::pair<int64_t, std::string>> timers;  ///< (due ms, member)
  std::vector<std::string> cancel_timers;
  /// Set when this run is a Parallel branch / Map iteration that just ended.
  struct Join {
    std::string parent;  ///< the parent run
    std::string prefix;  ///< children are "<prefix>.<index>"
    bool ok = true;
    std::string result;  ///< output JSON text, or {"error","cause"} JSON text
    int64_t count = 0;
    int64_t max_concurrency = 0;
    int64_t tolerated_count = 0;
    double tolerated_percentage = 0;
  };
  std::optional<Join> join;
  /// A callback step parks at this run version: deliver an early completion (see complete_task.lua).
  std::string park_version;
  bool finished = false;              ///< the execution ended: notify waiters, apply retention
  std::chrono::seconds retention{0};  ///< with finished: expire the record after this long (0 = keep)
  /// With finished and retention: the execution's name key (keys::execution_name), which expires
  /// with the record; "" when it was started without a name (it has none).
  std::string name_key;
  /// With commit_reporting(): reply with the history length after the commit.
  bool report_events = false;
  /// Set on the transition that creates its execution (a STANDARD one's first step,
  /// decided at start, or an EXPRESS one, ended already): the record, the
  /// ExecutionStarted event, index entries, the name key and the execution's timeout
  /// timer go in with it, and it has no guard. When an execution
  /// of that name exists already, nothing is written (CommitOutcome::Exists).
  struct Create {
    std::string state_machine;
    std::string name;   ///< "" when started without a name (no name key)
    std::string input;  ///< JSON text: an execution of the same name and input is the same start
    int64_t started_ms = 0;
    std::string first_event;  ///< ExecutionStarted, stored before the transition's events
    std::optional<int64_t> timeout_at_ms;
    std::vector<std::pair<std::string, std::string>> fields;  ///< the record, set before Transition::set
  };
  std::optional<Create> create;
};

/// What one sweep_index() window did.
struct SweepResult {
  int64_t removed = 0;  ///< ids removed because their execution record is gone
  int64_t next = 0;     ///< the rank the next window starts at; 0: this one reached the end (wrap around)
};

enum class CommitOutcome { Committed, Stale, Gone, Exists };

struct CommitResult {
  CommitOutcome outcome = CommitOutcome::Committed;
  int64_t events = -1;  ///< the history length after the commit (-1: not reported)
  /// Exists: the execution of that name, and whether it was started with the same input.
  std::string existing;
  bool same_input = false;
};

/// The version of a router's lease on a run's next step: "the run's current version",
/// resolved when the lease fires (fire_timers.lua), so one member serves all the run's
/// steps of a kind and a commit re-scores it instead of replacing it (commit.lua).
inline constexpr const char* kLeaseVersion = "@";

/// A timer member for the timers zset: "exec|run|version|kind".
std::string timer_member(const std::string& exec, const std::string& run, const std::string& version,
                         const std::string& kind);

class ExecutionStore {
 public:
  explicit ExecutionStore(Redis& redis) : redis_(redis) {}

  /// Applies `t` unless its guard refuses it. Commits from coroutines that run in the
  /// same event-loop turn (up to a bound) are sent together as one script call at the
  /// end of the turn: nothing waits for a batch to fill. An I/O failure fails every
  /// commit of its batch with RedisError (outcome unknown, as for any lost command).
  boost::asio::awaitable<CommitOutcome> commit(const Transition& t);
  /// commit() that also reports the history length when t.report_events.
  boost::asio::awaitable<CommitResult> commit_reporting(const Transition& t);
  /// Ends a RUNNING execution with `status` (ABORTED). Returns the status the execution
  /// had: "RUNNING" when this call stopped it, nullopt when unknown.
  boost::asio::awaitable<std::optional<std::string>> stop(const std::string& exec, const std::string& status,
                                                          const std::string& error, const std::string& cause,
                                                          int64_t now_ms, const std::string& event,
                                                          std::chrono::seconds retention);

  /// HMGET of the given fields; nullopt when the execution does not exist.
  boost::asio::awaitable<std::optional<std::vector<std::optional<std::string>>>> read(
      const std::string& exec, const std::vector<std::string>& fields);
  /// The id of the execution of `state_machine` named `name`, if there is one (its name key).
  boost::asio::awaitable<std::optional<std::string>> named(const std::string& state_machine, const std::string& name);
  /// The whole record (HGETALL); empty map when absent.
  boost::asio::awaitable<std::map<std::string, std::string>> read_all(const std::string& exec);
  /// History events [offset, offset+limit) as JSON texts. An event's id is its
  /// 1-based position in the list; it is added here with previousEventId (id - 1).
  boost::asio::awaitable<std::vector<std::string>> history(const std::string& exec, int64_t offset, int64_t limit);
  /// Execution ids, newest first, from the given index zset, starting after rank `offset`.
  boost::asio::awaitable<std::vector<std::string>> list(const std::string& index_key, int64_t offset, int64_t limit);

  /// Removes from the index zset `index_key` (sy:xs or sy:xs:<name>) the ids, among the
  /// members of rank [start, start + count) with a start time up to `max_started_ms`
  /// (oldest first), whose execution record is gone (expired by retention). Idempotent.
  /// `deleted_state_machine`: the index is that of a state machine in sy:xsd (deleted);
  /// the name is forgotten there once the index is empty or the state machine exists again.
  boost::asio::awaitable<SweepResult> sweep_index(const std::string& index_key, int64_t start, int64_t count,
                                                  std::optional<int64_t> max_started_ms,
                                                  const std::string& deleted_state_machine = "");
  /// Names of deleted state machines whose executions index may still hold ids (sy:xsd).
  boost::asio::awaitable<std::vector<std::string>> deleted_state_machines();

  /// Creates the consumer group if missing.
  boost::asio::awaitable<void> ensure_group();
  /// Blocking read of new work for `consumer` (use a dedicated connection: it blocks it).
  static boost::asio::awaitable<std::vector<WorkItem>> read_work(Redis& conn, const std::string& consumer, int count,
                                                                 std::chrono::milliseconds block);
  /// Claims work idle longer than `lease` (its router died or hangs).
  boost::asio::awaitable<std::vector<WorkItem>> reclaim(const std::string& consumer, std::chrono::milliseconds lease,
                                                        int count);
  /// Resets the idle time of work this router still holds (lease renewal).
  boost::asio::awaitable<void> renew(const std::string& consumer, const std::vector<std::string>& ids);
  /// Moves the due time of held leases (timer members, see ExecutionService)
  /// to `until_ms`; leases that fired or were committed meanwhile are left alone.
  boost::asio::awaitable<void> renew_leases(const std::vector<std::string>& members, int64_t until_ms);
  /// Acks and deletes a work item without a transition (stale or poison work); a lease
  /// (an id that is a timer member) is removed from the timers (drop_lease.lua), unless it
  /// is a run's lease "exec|run|@|kind" whose run has moved past item.version: that member
  /// may be the lease of the router that moved it.
  boost::asio::awaitable<void> drop(const WorkItem& item);
  /// Takes up to `limit` due timers as leases of the caller until `lease_until_ms`: work
  /// items whose id is the lease (the timer member), to process at once.
  boost::asio::awaitable<std::vector<WorkItem>> fire_timers(int64_t now_ms, int limit, int64_t lease_until_ms);
  /// Raises (for `ttl`, unless raised again) or lowers the "routers are behind on timers" flag.
  boost::asio::awaitable<void> set_timers_behind(bool behind, std::chrono::milliseconds ttl);
  /// Whether some router raised that flag and it has not expired or been lowered.
  boost::asio::awaitable<bool> timers_behind();

  /// Completes/fails/heartbeats a callback step (complete_task.lua). Returns
  /// "ok", "unknown", "used", "expired" or "finished".
  boost::asio::awaitable<std::string> complete_task(const std::string& exec, const std::string& run,
                                                    const std::string& secret, const std::string& kind,
                                                    const std::string& data, int64_t now_ms);

  Redis& redis() { return redis_; }

 private:
  struct PendingCommit;
  struct CommitBatch;
  static void encode(const Transition& t, CommitBatch& batch);

  Redis& redis_;
  std::shared_ptr<CommitBatch> open_batch_;  ///< the batch taking commits until the end of this turn
};

}  // namespace switchyard::store
