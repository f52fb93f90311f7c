// ExecutionStore's batched commits (commit.lua) against a real redis-server:
// commits made in the same event-loop turn go as one script call, and each is
// applied, guarded and answered as if it were alone.
#include "switchyard/store/execution_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <future>

#include "switchyard/store/event_codec.hpp"
#include "switchyard/store/keys.hpp"
#include "switchyard/testing/process.hpp"
#include "switchyard/testing/run.hpp"

namespace switchyard::store {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using switchyard::testing::drive;
using switchyard::testing::run;
using Clock = std::chrono::steady_clock;

class ExecutionStoreTest : public ::testing::Test {
 protected:
  testing::RedisServer server;
  asio::io_context ioc;
  Redis redis{ioc.get_executor(), Address::parse(server.url()), options()};
  ExecutionStore store{redis};

  static RedisOptions options() {
    RedisOptions o;
    o.connect_timeout = 1000ms;
    o.command_timeout = 1500ms;  // the down-server case waits this long
    o.max_backoff = 200ms;
    return o;
  }

  Reply cmd(std::vector<std::string> args) {
    std::vector<std::future<Reply>> fs;
    fs.push_back(asio::co_spawn(ioc, redis.command(std::move(args)), asio::use_future));
    drive(ioc, fs);
    return fs.front().get();
  }

  // A running execution whose run "0" is at version 1 with one history event.
  void running(const std::string& exec) {
    cmd({"HSET", keys::execution(exec), "status", "RUNNING", "rv:0", "1", "ev", "1"}).check();
    cmd({"RPUSH", keys::history(exec), "{\"type\":\"ExecutionStarted\"}"}).check();
  }

  // The step that moves run "0" from `version` to the next one, with two events.
  static Transition step(const std::string& exec, const std::string& version) {
    Transition t;
    t.exec = exec;
    t.run = "0";
    t.expected_version = version;
    t.set = {{"rv:0", std::to_string(std::stoi(version) + 1)}, {"r:0", "{\"at\":\"" + exec + "\"}"}};
    t.events = {"{\"type\":\"TaskStarted\"}", "{\"type\":\"TaskSucceeded\"}"};
    t.report_events = true;
    return t;
  }

  // Commits all of `ts` from coroutines spawned before the loop runs, i.e. in one turn.
  std::vector<std::future<CommitResult>> commit_in_one_turn(const std::vector<Transition>& ts) {
    std::vector<std::future<CommitResult>> fs;
    for (const auto& t : ts) {
      fs.push_back(asio::co_spawn(ioc, store.commit_reporting(t), asio::use_future));
    }
    drive(ioc, fs);
    return fs;
  }

  int64_t script_calls() {
    auto stats = cmd({"INFO", "commandstats"}).str;
    int64_t calls = 0;
    for (const char* name : {"cmdstat_evalsha:calls=", "cmdstat_eval:calls="}) {
      if (auto at = stats.find(name); at != std::string::npos) {
        calls += std::stoll(stats.substr(at + std::string_view(name).size()));
      }
    }
    return calls;
  }
};

TEST_F(ExecutionStoreTest, CommitsOfOneTurnGoAsOneScriptCallAndEachIsApplied) {
  running("warm");
  commit_in_one_turn({step("warm", "1")});  // loads the script (NOSCRIPT, then EVAL) outside the count
  running("a");
  running("b");
  cmd({"CONFIG", "RESETSTAT"}).check();

  auto fs = commit_in_one_turn({step("a", "1"), step("b", "1")});
  for (auto& f : fs) {
    auto r = f.get();
    EXPECT_EQ(r.outcome, CommitOutcome::Committed);
    EXPECT_EQ(r.events, 3);  // ExecutionStarted + the two events of the step
  }
  EXPECT_EQ(script_calls(), 1);
  for (const std::string exec : {"a", "b"}) {
    SCOPED_TRACE(exec);
    EXPECT_EQ(cmd({"HGET", keys::execution(exec), "rv:0"}).str, "2");
    EXPECT_EQ(cmd({"HGET", keys::execution(exec), "r:0"}).str, "{\"at\":\"" + exec + "\"}");
    EXPECT_EQ(cmd({"HGET", keys::execution(exec), "ev"}).str, "3");
    EXPECT_EQ(cmd({"LLEN", keys::history(exec)}).integer, 3);
  }
}

TEST_F(ExecutionStoreTest, HistoryIsStoredEncodedAndReadsBackAsJsonWithIdsInBothForms) {
  running("h");  // its first event written plain, as before the encoding
  Transition t = step("h", "1");
  t.events = {R"({"type":"TaskSucceeded","timestamp":"2026-11-22T23:32:54.719Z","taskSucceededEventDetails":)"
              R"({"output":"{\"a\":1}","outputDetails":{"truncated":false},"resource":"echo","resourceType":"fn"}})"};
  ASSERT_EQ(commit_in_one_turn({t})[0].get().outcome, CommitOutcome::Committed);

  Reply raw = cmd({"LRANGE", keys::history("h"), "0", "-1"});
  ASSERT_EQ(raw.elements.size(), 2U);
  EXPECT_EQ(raw.elements[0].str, "{\"type\":\"ExecutionStarted\"}");
  EXPECT_TRUE(switchyard::store::is_encoded_event(raw.elements[1].str));
  EXPECT_LT(raw.elements[1].str.size() * 2, t.events[0].size());

  const std::string exec = "h";  // named: the coroutine holds a reference to it until it runs
  std::vector<std::future<std::vector<std::string>>> fs;
  fs.push_back(asio::co_spawn(ioc, store.history(exec, 0, 10), asio::use_future));
  drive(ioc, fs);
  auto events = fs.front().get();
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0], R"({"id":1,"previousEventId":0,"type":"ExecutionStarted"})");
  EXPECT_EQ(events[1], R"({"id":2,"previousEventId":1,)" + t.events[0].substr(1));
}

TEST_F(ExecutionStoreTest, TheFinishingCommitGivesTheRecordHistoryAndNameKeyTheRetention) {
  running("named");
  cmd({"SET", keys::execution_name("sm", "n-1"), "named"}).check();
  Transition t = step("named", "1");
  t.finished = true;
  t.retention = std::chrono::seconds{600};
  t.name_key = keys::execution_name("sm", "n-1");
  ASSERT_EQ(commit_in_one_turn({t})[0].get().outcome, CommitOutcome::Committed);
  for (const std::string& key : {keys::execution("named"), keys::history("named"), keys::execution_name("sm", "n-1")}) {
    SCOPED_TRACE(key);
    Reply ttl = cmd({"TTL", key});
    EXPECT_GT(ttl.integer, 590);
    EXPECT_LE(ttl.integer, 600);
  }
}

// The first step's transition creates its execution (Transition::create): record, ExecutionStarted
// first, indexes, name key and timeout timer with it; a name in use writes nothing.
TEST_F(ExecutionStoreTest, ACreatingCommitWritesTheExecutionWithItsFirstStepOrFindsTheNameTaken) {
  auto creating = [](const std::string& exec, const std::string& name, const std::string& input) {
    Transition t = step(exec, "0");
    Transition::Create c;
    c.state_machine = "sm";
    c.name = name;
    c.input = input;
    c.started_ms = 1000;
    c.first_event = "{\"type\":\"ExecutionStarted\"}";
    c.timeout_at_ms = 61000;
    c.fields = {{"id", exec}, {"input", input}, {"status", "RUNNING"}, {"rv:0", "0"}};
    t.create = std::move(c);
    return t;
  };
  auto first = commit_in_one_turn({creating("c1", "order-7", "{\"a\":1}"), creating("c2", "", "{}")});
  for (auto& f : first) {
    auto r = f.get();
    EXPECT_EQ(r.outcome, CommitOutcome::Committed);
    EXPECT_EQ(r.events, 3);  // ExecutionStarted + the step's two events
  }
  for (const std::string exec : {"c1", "c2"}) {
    SCOPED_TRACE(exec);
    EXPECT_EQ(cmd({"HGET", keys::execution(exec), "status"}).str, "RUNNING");
    EXPECT_EQ(cmd({"HGET", keys::execution(exec), "rv:0"}).str, "1");  // the step's set follows the record's
    EXPECT_EQ(cmd({"HGET", keys::execution(exec), "ev"}).str, "3");
    Reply h = cmd({"LRANGE", keys::history(exec), "0", "-1"});
    ASSERT_EQ(h.elements.size(), 3U);
    EXPECT_EQ(decode_event(h.elements[0].str), "{\"type\":\"ExecutionStarted\"}");
    EXPECT_EQ(cmd({"ZSCORE", std::string(keys::kExecutions), exec}).str, "1000");
    EXPECT_EQ(cmd({"ZSCORE", keys::executions_of("sm"), exec}).str, "1000");
    EXPECT_EQ(cmd({"ZSCORE", std::string(keys::kTimers), timer_member(exec, "0", "*", "timeout")}).str, "61000");
  }
  EXPECT_EQ(cmd({"GET", keys::execution_name("sm", "order-7")}).str, "c1");
  EXPECT_TRUE(cmd({"GET", keys::execution_name("sm", "")}).is_nil());

  auto again = commit_in_one_turn({creating("c3", "order-7", "{\"a\":1}"), creating("c4", "order-7", "{\"a\":2}")});
  auto same = again[0].get();
  EXPECT_EQ(same.outcome, CommitOutcome::Exists);
  EXPECT_EQ(same.existing, "c1");
  EXPECT_TRUE(same.same_input);
  auto conflict = again[1].get();
  EXPECT_EQ(conflict.outcome, CommitOutcome::Exists);
  EXPECT_EQ(conflict.existing, "c1");
  EXPECT_FALSE(conflict.same_input);
  for (const std::string exec : {"c3", "c4"}) {
    EXPECT_EQ(cmd({"EXISTS", keys::execution(exec), keys::history(exec)}).integer, 0) << exec;
    EXPECT_TRUE(cmd({"ZSCORE", std::string(keys::kExecutions), exec}).is_nil()) << exec;
  }
}

TEST_F(ExecutionStoreTest, AStaleOrGoneCommitIsRefusedWithoutAffectingItsBatch) {
  running("ok");
  running("stale");
  cmd({"HSET", keys::execution("done"), "status", "SUCCEEDED", "rv:0", "1"}).check();

  auto fs = commit_in_one_turn({step("stale", "0"), step("ok", "1"), step("done", "1")});
  EXPECT_EQ(fs[0].get().outcome, CommitOutcome::Stale);
  EXPECT_EQ(fs[1].get().outcome, CommitOutcome::Committed);
  EXPECT_EQ(fs[2].get().outcome, CommitOutcome::Gone);
  EXPECT_EQ(cmd({"HGET", keys::execution("stale"), "rv:0"}).str, "1");  // untouched
  EXPECT_EQ(cmd({"LLEN", keys::history("stale")}).integer, 1);
  EXPECT_EQ(cmd({"HGET", keys::execution("ok"), "rv:0"}).str, "2");
  EXPECT_EQ(cmd({"LLEN", keys::history("ok")}).integer, 3);
  EXPECT_EQ(cmd({"HGET", keys::execution("done"), "rv:0"}).str, "1");
}

TEST_F(ExecutionStoreTest, ACommitWhoseCommandFailsThrowsAloneAndLaterCommitsApply) {
  running("bad");
  running("after");
  cmd({"DEL", keys::history("bad")}).check();
  cmd({"SET", keys::history("bad"), "not a list"}).check();  // its RPUSH fails with WRONGTYPE

  auto fs = commit_in_one_turn({step("bad", "1"), step("after", "1")});
  EXPECT_THROW(fs[0].get(), RedisError);
  EXPECT_EQ(fs[1].get().outcome, CommitOutcome::Committed);
  EXPECT_EQ(cmd({"HGET", keys::execution("after"), "rv:0"}).str, "2");
  EXPECT_EQ(cmd({"LLEN", keys::history("after")}).integer, 3);
}

TEST_F(ExecutionStoreTest, MoreCommitsThanOneBatchTakesAreAllApplied) {
  std::vector<Transition> ts;
  for (int i = 0; i < 150; ++i) {  // over the 64 of one batch
    running("x" + std::to_string(i));
    ts.push_back(step("x" + std::to_string(i), "1"));
  }
  cmd({"CONFIG", "RESETSTAT"}).check();
  auto fs = commit_in_one_turn(ts);
  for (auto& f : fs) {
    EXPECT_EQ(f.get().outcome, CommitOutcome::Committed);
  }
  EXPECT_GE(script_calls(), 3);  // 150 commits do not fit in two batches
  for (int i = 0; i < 150; ++i) {
    ASSERT_EQ(cmd({"HGET", keys::execution("x" + std::to_string(i)), "rv:0"}).str, "2") << i;
  }
}

TEST_F(ExecutionStoreTest, ALostServerFailsEveryCommitOfTheBatch) {
  running("a");
  running("b");
  server.kill();
  auto t0 = Clock::now();
  std::vector<std::future<CommitResult>> fs;
  const std::vector<Transition> ts{step("a", "1"), step("b", "1")};  // alive until the commits are answered
  for (const auto& t : ts) {
    fs.push_back(asio::co_spawn(ioc, store.commit_reporting(t), asio::use_future));
  }
  drive(ioc, fs);
  for (auto& f : fs) {
    EXPECT_THROW(f.get(), RedisError);
  }
  EXPECT_LT(Clock::now() - t0, 5s);  // bounded by the command timeout
}

}  // namespace
}  // namespace switchyard::store
