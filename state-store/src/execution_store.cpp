#include "switchyard/store/execution_store.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>
#include <exception>
#include <iterator>

#include "switchyard/store/event_codec.hpp"
#include "switchyard/store/keys.hpp"

namespace switchyard::store {

namespace asio = boost::asio;

namespace {

std::string str(std::string_view s) { return std::string(s); }

// Events arrive as JSON object texts and are stored encoded (event_codec.hpp); an
// event's id is its position in the history list, added (with previousEventId) when read.
// Writes into `buffer` (a commit reuses one for all its events) and returns it.
const std::string& stored_event(const std::string& event, std::string& buffer) {
  assert(!event.empty() && event.front() == '{');
  encode_event(event, buffer);
  return buffer;
}

std::vector<WorkItem> parse_entries(const Reply& entries) {
  std::vector<WorkItem> out;
  for (const auto& e : entries.elements) {
    if (e.elements.size() < 2) {
      continue;
    }
    WorkItem w;
    w.id = e.elements[0].str;
    const auto& f = e.elements[1].elements;
    for (size_t i = 0; i + 1 < f.size(); i += 2) {
      const auto& k = f[i].str;
      const auto& v = f[i + 1].str;
      if (k == "x") {
        w.exec = v;
      } else if (k == "r") {
        w.run = v;
      } else if (k == "v") {
        w.version = v;
      } else if (k == "k") {
        w.kind = v;
      } else if (k == "d") {
        w.data = v;
      }
    }
    if (!e.elements[1].is_nil()) {
      out.push_back(std::move(w));
    } else {
      // Deleted entry still pending (claimed after XDEL): hand back id only so it gets acked.
      w.kind = "";
      out.push_back(std::move(w));
    }
  }
  return out;
}

}  // namespace

std::string timer_member(const std::string& exec, const std::string& run, const std::string& version,
                         const std::string& kind) {
  return exec + "|" + run + "|" + version + "|" + kind;
}

asio::awaitable<CommitOutcome> ExecutionStore::commit(const Transition& t) {
  co_return (co_await commit_reporting(t)).outcome;
}

// Batched commits. The first commit of a turn leads a batch: it yields once
// (asio::post puts it behind every handler already queued, i.e. the rest of
// this turn), so the coroutines resumed in the same turn append their
// transitions to its batch; then it sends the batch as one EVALSHA of
// commit.lua and hands each commit its own element of the reply. A lone commit
// costs one extra handler dispatch, no waiting. Batches are sent in the order
// they were opened, so commits reach Redis in the order they were made, as
// when each was its own pipelined command.
struct ExecutionStore::PendingCommit {
  explicit PendingCommit(const asio::any_io_executor& ex) : signal(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer signal;  ///< cancelled when the result is in
  bool done = false;
  Reply reply;               ///< this transition's element of the script's reply
  std::exception_ptr error;  ///< the batch's I/O failure
};

struct ExecutionStore::CommitBatch {
  RespArgs keys;  ///< work stream, timers, then per transition: execution hash, history list
  RespArgs args;  ///< group, then per transition: its argument count, its arguments
  std::vector<std::shared_ptr<PendingCommit>> commits;
};

namespace {

// A batch stops taking commits at 64 transitions or 1 MiB of arguments: it bounds
// one script run (Redis serves nothing else meanwhile) and one command's size.
constexpr size_t kMaxBatchCommits = 64;
constexpr size_t kMaxBatchBytes = 1 << 20;

}  // namespace

void ExecutionStore::encode(const Transition& t, CommitBatch& batch) {
  batch.keys.add(keys::execution(t.exec));
  batch.keys.add(keys::history(t.exec));
  auto& a = batch.args;
  // The optional sections present, in commit.lua's order (a section left out costs no arguments).
  char flags[10];
  size_t nf = 0;
  const size_t nset = t.set.size() + (t.create ? t.create->fields.size() : 0);
  const size_t nev = t.events.size() + (t.create ? 1 : 0);
  size_t n = 4 + (1 + 2 * nset) + (1 + nev);
  auto section = [&](bool present, char letter, size_t args) {
    if (present) {
      flags[nf++] = letter;
      n += args;
    }
  };
  section(t.create.has_value(), 'c', 8);
  section(!t.del.empty(), 'd', 1 + t.del.size());
  section(!t.work.empty(), 'w', 1 + 5 * t.work.size());
  section(!t.timers.empty(), 't', 1 + 2 * t.timers.size());
  section(!t.cancel_timers.empty(), 'u', 1 + t.cancel_timers.size());
  section(t.join.has_value(), 'j', 9);
  section(!t.park_version.empty(), 'p', 1);
  section(t.finished, 'f', 4);
  section(t.keep_lease, 'k', 0);
  section(t.report_events, 'r', 0);
  a.add_int(static_cast<int64_t>(n));
  const size_t before = a.count();
  a.add(t.run);
  a.add(t.expected_version);
  a.add(t.ack_id);
  a.add(std::string_view(flags, nf));
  if (t.create) {
    const auto& c = *t.create;
    a.add(t.exec);
    a.add(c.name.empty() ? std::string() : keys::execution_name(c.state_machine, c.name));
    a.add(keys::kExecutions);
    a.add(keys::executions_of(c.state_machine));
    a.add(c.input);
    a.add_int(c.started_ms);
    a.add(c.timeout_at_ms ? std::to_string(*c.timeout_at_ms) : std::string());
    a.add(timer_member(t.exec, "0", "*", "timeout"));
  }
  a.add_int(static_cast<int64_t>(nset));
  if (t.create) {
    for (const auto& [k, v] : t.create->fields) {
      a.add(k);
      a.add(v);
    }
  }
  for (const auto& [k, v] : t.set) {
    a.add(k);
    a.add(v);
  }
  a.add_int(static_cast<int64_t>(nev));
  std::string stored;  // one buffer for all of the transition's events
  if (t.create) {
    a.add(stored_event(t.create->first_event, stored));
  }
  for (const auto& e : t.events) {
    a.add(stored_event(e, stored));
  }
  if (!t.del.empty()) {
    a.add_int(static_cast<int64_t>(t.del.size()));
    for (const auto& k : t.del) {
      a.add(k);
    }
  }
  if (!t.work.empty()) {
    a.add_int(static_cast<int64_t>(t.work.size()));
    for (const auto& w : t.work) {
      a.add(w.exec);
      a.add(w.run);
      a.add(w.version);
      a.add(w.kind);
      a.add(w.data);
    }
  }
  if (!t.timers.empty()) {
    a.add_int(static_cast<int64_t>(t.timers.size()));
    for (const auto& [due, member] : t.timers) {
      a.add_int(due);
      a.add(member);
    }
  }
  if (!t.cancel_timers.empty()) {
    a.add_int(static_cast<int64_t>(t.cancel_timers.size()));
    for (const auto& m : t.cancel_timers) {
      a.add(m);
    }
  }
  if (t.join) {
    const auto& j = *t.join;
    a.add(j.parent);
    a.add(t.run);
    a.add(j.ok ? "1" : "0");
    a.add(j.result);
    a.add(j.prefix);
    a.add_int(j.count);
    a.add_int(j.max_concurrency);
    a.add_int(j.tolerated_count);
    a.add(std::to_string(j.tolerated_percentage));
  }
  if (!t.park_version.empty()) {
    a.add(t.park_version);
  }
  if (t.finished) {
    a.add_int(t.retention.count());
    a.add(keys::kDoneChannel);
    a.add(t.exec);
    a.add(t.name_key);
  }
  assert(a.count() - before == n);
  (void)before;
}

asio::awaitable<CommitResult> ExecutionStore::commit_reporting(const Transition& t) {
  auto ex = co_await asio::this_coro::executor;
  auto pending = std::make_shared<PendingCommit>(ex);
  std::shared_ptr<CommitBatch> batch = open_batch_;
  const bool lead = !batch || batch->commits.size() >= kMaxBatchCommits || batch->args.bytes() >= kMaxBatchBytes;
  if (lead) {
    batch = std::make_shared<CommitBatch>();
    batch->keys.add(keys::kWork);
    batch->keys.add(keys::kTimers);
    batch->args.add(keys::kWorkGroup);
    open_batch_ = batch;
  }
  batch->commits.push_back(pending);
  encode(t, *batch);
  if (lead) {
    co_await asio::post(ex, asio::use_awaitable);  // the rest of this turn joins the batch
    if (open_batch_ == batch) {
      open_batch_.reset();
    }
    std::exception_ptr error;
    Reply r;
    try {
      r = co_await redis_.eval_encoded("commit", std::move(batch->keys), std::move(batch->args));
    } catch (...) {
      error = std::current_exception();
    }
    const auto& commits = batch->commits;
    bool shaped = r.type == Reply::Type::Array && r.elements.size() == commits.size();
    for (size_t k = 0; k < commits.size(); ++k) {
      auto& p = *commits[k];
      if (error) {
        p.error = error;
      } else if (shaped) {
        p.reply = std::move(r.elements[k]);
      } else if (r.is_error()) {
        p.reply = r;  // the script failed as a whole (each commit throws it below)
      } else {
        p.error = std::make_exception_ptr(RedisError("commit: unexpected reply"));
      }
      p.done = true;
      p.signal.cancel();
    }
  }
  if (!pending->done) {
    boost::system::error_code ec;
    co_await pending->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!pending->done) {
    throw RedisError("commit interrupted before its batch was answered");  // cancelled from outside
  }
  if (pending->error) {
    std::rethrow_exception(pending->error);
  }
  const Reply& r = pending->reply;
  r.check();
  CommitResult out;
  if (r.type == Reply::Type::Array) {
    // {'ok', history length}, or a create's {'same' | 'conflict', existing execution}
    if (r.elements.size() == 2 && (r.elements[0].str == "same" || r.elements[0].str == "conflict")) {
      out.outcome = CommitOutcome::Exists;
      out.existing = r.elements[1].str;
      out.same_input = r.elements[0].str == "same";
      co_return out;
    }
    if (r.elements.size() < 2 || r.elements[0].str != "ok") {
      throw RedisError("commit: unexpected reply");
    }
    out.events = r.elements[1].str.empty() ? -1 : std::stoll(r.elements[1].str);
    co_return out;
  }
  out.outcome = r.str == "ok"      ? CommitOutcome::Committed
                : r.str == "stale" ? CommitOutcome::Stale
                                   : CommitOutcome::Gone;
  co_return out;
}

asio::awaitable<std::optional<std::string>> ExecutionStore::stop(const std::string& exec, const std::string& status,
                                                                 const std::string& error, const std::string& cause,
                                                                 int64_t now_ms, const std::string& event,
                                                                 std::chrono::seconds retention) {
  std::vector<std::string> keys{keys::execution(exec), keys::history(exec), str(keys::kTimers)};
  std::string stored;
  std::vector<std::string> args{status,
                                error,
                                cause,
                                std::to_string(now_ms),
                                stored_event(event, stored),
                                str(keys::kDoneChannel),
                                std::to_string(retention.count())};
  Reply r = co_await redis_.eval("stop", keys, args);
  r.check();
  if (r.str == "missing") {
    co_return std::nullopt;
  }
  co_return r.str == "ok" ? std::string("RUNNING") : r.str;
}

asio::awaitable<std::optional<std::string>> ExecutionStore::named(const std::string& state_machine,
                                                                  const std::string& name) {
  std::vector<std::string> args;
  args.push_back("GET");
  args.push_back(keys::execution_name(state_machine, name));
  Reply r = co_await redis_.command(std::move(args));
  r.check();
  if (r.is_nil()) {
    co_return std::nullopt;
  }
  co_return std::move(r.str);
}

asio::awaitable<std::optional<std::vector<std::optional<std::string>>>> ExecutionStore::read(
    const std::string& exec, const std::vector<std::string>& fields) {
  std::vector<std::string> args{"HMGET", keys::execution(exec)};
  args.insert(args.end(), fields.begin(), fields.end());
  Reply r = co_await redis_.command(std::move(args));
  r.check();
  std::vector<std::optional<std::string>> out;
  bool any = false;
  for (auto& e : r.elements) {
    if (e.is_nil()) {
      out.emplace_back();
    } else {
      any = true;
      out.emplace_back(std::move(e.str));
    }
  }
  if (!any) {
    co_return std::nullopt;
  }
  co_return out;
}

asio::awaitable<std::map<std::string, std::string>> ExecutionStore::read_all(const std::string& exec) {
  std::vector<std::string> args1{"HGETALL", keys::execution(exec)};
  Reply r = co_await redis_.command(std::move(args1));
  r.check();
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    out.emplace(std::move(r.elements[i].str), std::move(r.elements[i + 1].str));
  }
  co_return out;
}

asio::awaitable<std::vector<std::string>> ExecutionStore::history(const std::string& exec, int64_t offset,
                                                                  int64_t limit) {
  std::vector<std::string> cmd1{"LRANGE", keys::history(exec), std::to_string(offset),
                                std::to_string(offset + limit - 1)};
  Reply r = co_await redis_.command(std::move(cmd1));
  r.check();
  std::vector<std::string> out;
  out.reserve(r.elements.size());
  int64_t id = offset;
  for (auto& e : r.elements) {
    ++id;
    if (is_encoded_event(e.str)) {
      e.str = decode_event(e.str);
    }
    if (e.str.rfind("{\"id\":", 0) == 0) {
      out.push_back(std::move(e.str));  // written with its id (EXPRESS, and data from before ids were positions)
      continue;
    }
    std::string text = "{\"id\":" + std::to_string(id) + ",\"previousEventId\":" + std::to_string(id - 1);
    if (e.str.size() > 2) {
      text += ',';
    }
    text.append(e.str, 1, std::string::npos);
    out.push_back(std::move(text));
  }
  co_return out;
}

asio::awaitable<std::vector<std::string>> ExecutionStore::list(const std::string& index_key, int64_t offset,
                                                               int64_t limit) {
  std::vector<std::string> cmd2{"ZREVRANGE", index_key, std::to_string(offset), std::to_string(offset + limit - 1)};
  Reply r = co_await redis_.command(std::move(cmd2));
  r.check();
  co_return r.take_strings();
}

asio::awaitable<SweepResult> ExecutionStore::sweep_index(const std::string& index_key, int64_t start, int64_t count,
                                                         std::optional<int64_t> max_started_ms,
                                                         const std::string& deleted_state_machine) {
  assert(start >= 0 && count > 0);
  std::vector<std::string> keys{index_key};
  std::vector<std::string> args{std::to_string(start), std::to_string(count),
                                max_started_ms ? std::to_string(*max_started_ms) : "+inf"};
  if (!deleted_state_machine.empty()) {
    keys.push_back(str(keys::kDeletedStateMachines));
    keys.push_back(str(keys::kStateMachines));
    args.push_back(deleted_state_machine);
  }
  Reply r = co_await redis_.eval("sweep_index", keys, args);
  r.check();
  if (r.type != Reply::Type::Array || r.elements.size() != 2) {
    throw RedisError("sweep_index: unexpected reply");
  }
  co_return SweepResult{r.elements[0].integer, r.elements[1].integer};
}

asio::awaitable<std::vector<std::string>> ExecutionStore::deleted_state_machines() {
  std::vector<std::string> cmd{"SMEMBERS", str(keys::kDeletedStateMachines)};
  Reply r = co_await redis_.command(std::move(cmd));
  r.check();
  co_return r.take_strings();
}

asio::awaitable<void> ExecutionStore::ensure_group() {
  std::vector<std::string> args2{"XGROUP", "CREATE", str(keys::kWork), str(keys::kWorkGroup), "0", "MKSTREAM"};
  Reply r = co_await redis_.command(std::move(args2));
  if (r.is_error() && r.str.find("BUSYGROUP") == std::string::npos) {
    throw RedisError("XGROUP CREATE: " + r.str);
  }
}

asio::awaitable<std::vector<WorkItem>> ExecutionStore::read_work(Redis& conn, const std::string& consumer, int count,
                                                                 std::chrono::milliseconds block) {
  // The command's own timeout must outlast the server-side BLOCK.
  std::vector<std::string> args3{"XREADGROUP",
                                 "GROUP",
                                 str(keys::kWorkGroup),
                                 consumer,
                                 "COUNT",
                                 std::to_string(count),
                                 "BLOCK",
                                 std::to_string(block.count()),
                                 "STREAMS",
                                 str(keys::kWork),
                                 ">"};
  Reply r = co_await conn.command(std::move(args3), block + std::chrono::milliseconds{5000});
  r.check();
  if (r.is_nil() || r.elements.empty()) {
    co_return std::vector<WorkItem>{};
  }
  co_return parse_entries(r.elements[0].elements.size() > 1 ? r.elements[0].elements[1] : Reply{});
}

asio::awaitable<std::vector<WorkItem>> ExecutionStore::reclaim(const std::string& consumer,
                                                               std::chrono::milliseconds lease, int count) {
  // XAUTOCLAIM examines at most 10 x COUNT pending entries per call, and items that
  // running routers hold and renew (long calls) are never idle: starting at the head
  // every time, a reclaim would never reach a dead router's items behind more than
  // that many live ones. So follow the cursor through the pending list, bounded per pass.
  constexpr int kRounds = 16;  // up to 16 x 10 x COUNT entries examined per pass
  std::vector<WorkItem> items;
  std::string cursor = "0-0";
  for (int round = 0; round < kRounds && static_cast<int>(items.size()) < count; ++round) {
    std::vector<std::string> args4{
        "XAUTOCLAIM", str(keys::kWork), str(keys::kWorkGroup), consumer, std::to_string(lease.count()),
        cursor,       "COUNT",          std::to_string(count)};
    Reply r = co_await redis_.command(std::move(args4));
    r.check();
    if (r.elements.size() < 2) {
      break;
    }
    auto found = parse_entries(r.elements[1]);
    std::move(found.begin(), found.end(), std::back_inserter(items));
    // Redis 7 reports entries deleted while pending in the third element; ack them away.
    if (r.elements.size() >= 3) {
      for (const auto& gone : r.elements[2].elements) {
        WorkItem w;
        w.id = gone.str;
        items.push_back(std::move(w));
      }
    }
    cursor = r.elements[0].str;
    if (cursor.empty() || cursor == "0-0") {
      break;  // the whole pending list was examined
    }
  }
  for (auto& w : items) {
    w.deliveries = 2;
  }
  co_return items;
}

asio::awaitable<void> ExecutionStore::renew(const std::string& consumer, const std::vector<std::string>& ids) {
  if (ids.empty()) {
    co_return;
  }
  std::vector<std::string> args{"XCLAIM", str(keys::kWork), str(keys::kWorkGroup), consumer, "0"};
  args.insert(args.end(), ids.begin(), ids.end());
  args.emplace_back("JUSTID");
  (co_await redis_.command(std::move(args))).check();
}

asio::awaitable<void> ExecutionStore::renew_leases(const std::vector<std::string>& members, int64_t until_ms) {
  if (members.empty()) {
    co_return;
  }
  // XX: a lease that fired (or whose step committed) meanwhile is not brought back.
  std::vector<std::string> args{"ZADD", str(keys::kTimers), "XX"};
  std::string score = std::to_string(until_ms);
  for (const auto& m : members) {
    args.push_back(score);
    args.push_back(m);
  }
  (co_await redis_.command(std::move(args))).check();
}

asio::awaitable<void> ExecutionStore::drop(const WorkItem& item) {
  const std::string& id = item.id;
  if (id.find('|') != std::string::npos) {
    std::vector<std::string> ks{str(keys::kTimers), keys::execution(item.exec)};
    std::vector<std::string> as{id, item.run, item.version};
    (co_await redis_.eval("drop_lease", ks, as)).check();
    co_return;
  }
  // Delete first: a router killed between the two leaves a pending entry that no longer
  // exists, which XAUTOCLAIM clears; acked first, it would leave an entry nobody reads.
  std::vector<std::string> args6{"XDEL", str(keys::kWork), id};
  (co_await redis_.command(std::move(args6))).check();
  std::vector<std::string> args5{"XACK", str(keys::kWork), str(keys::kWorkGroup), id};
  (co_await redis_.command(std::move(args5))).check();
}

asio::awaitable<void> ExecutionStore::set_timers_behind(bool behind, std::chrono::milliseconds ttl) {
  // (Built by push_back: g++ 12 miscompiles a braced list of literals in a coroutine.)
  std::vector<std::string> args;
  args.push_back(behind ? "SET" : "DEL");
  args.push_back(str(keys::kTimersBehind));
  if (behind) {
    args.push_back("1");
    args.push_back("PX");
    args.push_back(std::to_string(ttl.count()));
  }
  (co_await redis_.command(std::move(args))).check();
}

asio::awaitable<bool> ExecutionStore::timers_behind() {
  std::vector<std::string> args;
  args.push_back("EXISTS");
  args.push_back(str(keys::kTimersBehind));
  Reply r = co_await redis_.command(std::move(args));
  r.check();
  co_return r.integer > 0;
}

asio::awaitable<std::vector<WorkItem>> ExecutionStore::fire_timers(int64_t now_ms, int limit, int64_t lease_until_ms) {
  std::vector<std::string> keys{str(keys::kTimers)};
  std::vector<std::string> args{std::to_string(now_ms), std::to_string(limit), std::to_string(lease_until_ms)};
  Reply r = co_await redis_.eval("fire_timers", keys, args);
  r.check();
  std::vector<WorkItem> out;
  assert(r.elements.size() % 3 == 0);  // member, due time, version
  for (size_t k = 0; k + 2 < r.elements.size(); k += 3) {
    const std::string& m = r.elements[k].str;
    // "exec|run|version|kind": the script only leases members of that shape, and resolves the
    // version "@" (a lease on the run's current version) to the version itself.
    size_t a = m.find('|');
    size_t b = m.find('|', a + 1);
    size_t c = m.find('|', b + 1);
    assert(a != std::string::npos && b != std::string::npos && c != std::string::npos);
    // Scores are whole milliseconds written by us; strtod copes with the "1e+15" form Redis may print.
    auto due = static_cast<int64_t>(std::strtod(r.elements[k + 1].str.c_str(), nullptr));
    out.push_back(WorkItem{m, m.substr(0, a), m.substr(a + 1, b - a - 1), std::move(r.elements[k + 2].str),
                           m.substr(c + 1), "", 1, due});
  }
  co_return out;
}

}  // namespace switchyard::store

namespace switchyard::store {

boost::asio::awaitable<std::string> ExecutionStore::complete_task(const std::string& exec, const std::string& run,
                                                                  const std::string& secret, const std::string& kind,
                                                                  const std::string& data, int64_t now_ms) {
  std::vector<std::string> ks{keys::execution(exec), std::string(keys::kWork), std::string(keys::kTimers)};
  std::vector<std::string> as{run, secret, kind, data, std::to_string(now_ms)};
  Reply r = co_await redis_.eval("complete_task", ks, as);
  r.check();
  co_return r.str;
}

}  // namespace switchyard::store
