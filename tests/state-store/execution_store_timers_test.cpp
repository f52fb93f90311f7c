// ExecutionStore::fire_timers against a real redis-server: due timers become leases
// of the caller, as many as it asks for, and each fires once.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <optional>

#include "store_fixture.hpp"
#include "switchyard/store/execution_store.hpp"
#include "switchyard/store/keys.hpp"
#include "switchyard/store/redis.hpp"
#include "switchyard/testing/process.hpp"
#include "switchyard/testing/run.hpp"

namespace switchyard::store {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using switchyard::testing::run;

class FireTimers : public StoreTest {
 protected:
  void add_timer(int64_t due, const std::string& member) {
    cmd({"ZADD", std::string(keys::kTimers), std::to_string(due), member});
  }
  std::optional<std::string> score(const std::string& member) {
    Reply r = cmd({"ZSCORE", std::string(keys::kTimers), member});
    return r.is_nil() ? std::nullopt : std::optional<std::string>(r.str);
  }
};

TEST_F(FireTimers, DueTimersBecomeLeasesOfTheCallerAndNothingGoesToTheStream) {
  add_timer(100, "x1|0|3|timer");
  add_timer(200, "x2|0.1|7|hb");
  add_timer(5000, "x4|0|1|timer");  // not due yet
  std::vector<WorkItem> f = run(ioc, store.fire_timers(1000, 10, 16000));
  ASSERT_EQ(f.size(), 2u);
  // Earliest first, parsed from the member; the lease is the member itself.
  EXPECT_EQ(f[0].id, "x1|0|3|timer");
  EXPECT_EQ(f[0].exec, "x1");
  EXPECT_EQ(f[0].run, "0");
  EXPECT_EQ(f[0].version, "3");
  EXPECT_EQ(f[0].kind, "timer");
  EXPECT_EQ(f[0].data, "");
  EXPECT_EQ(f[1].run, "0.1");
  EXPECT_EQ(f[1].kind, "hb");
  // Each carries the time it fell due, so the router can tell how late it is.
  EXPECT_EQ(f[0].due_ms, 100);
  EXPECT_EQ(f[1].due_ms, 200);
  // Leases stay in the zset until their end; nothing was queued.
  EXPECT_EQ(score("x1|0|3|timer"), "16000");
  EXPECT_EQ(score("x2|0.1|7|hb"), "16000");
  EXPECT_EQ(score("x4|0|1|timer"), "5000");
  EXPECT_EQ(cmd({"XLEN", std::string(keys::kWork)}).integer, 0);
  // Nothing fires twice: the leases are not due again before their end.
  EXPECT_TRUE(run(ioc, store.fire_timers(1000, 10, 17000)).empty());
  // A lease whose holder died (not committed, not renewed) falls due again after its end.
  std::vector<WorkItem> later = run(ioc, store.fire_timers(16000, 10, 31000));
  ASSERT_EQ(later.size(), 3u);  // x4, then x1 and x2 again
  EXPECT_EQ(later[0].exec, "x4");
  EXPECT_EQ(later[0].due_ms, 5000);
  EXPECT_EQ(later[1].due_ms, 16000);  // a lease falls due at its end
}

TEST_F(FireTimers, AMalformedMemberIsDroppedNotFired) {
  add_timer(100, "x1|0|3|timer");
  add_timer(100, "garbage");
  std::vector<WorkItem> f = run(ioc, store.fire_timers(1000, 10, 16000));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].exec, "x1");
  EXPECT_EQ(score("garbage"), std::nullopt);
}

TEST_F(FireTimers, TheLimitLeavesTheRestDueForTheNextCall) {
  for (int i = 0; i < 5; ++i) {
    add_timer(100 + i, "x" + std::to_string(i) + "|0|1|timer");
  }
  EXPECT_EQ(run(ioc, store.fire_timers(1000, 3, 16000)).size(), 3u);
  EXPECT_EQ(score("x3|0|1|timer"), "103");  // still due, untouched
  std::vector<WorkItem> g = run(ioc, store.fire_timers(1000, 3, 16000));
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].exec, "x3");
  EXPECT_EQ(g[1].exec, "x4");
}

TEST_F(FireTimers, ALeaseOnTheCurrentVersionFiresAtTheRunsVersionAndIsDroppedWhenTheRunIsGone) {
  cmd({"HSET", keys::execution("x1"), "status", "RUNNING", "rv:0", "7", "rv:0.1", "2"});
  add_timer(100, timer_member("x1", "0", kLeaseVersion, "invoke"));
  add_timer(101, timer_member("x1", "0.1", kLeaseVersion, "enter"));
  add_timer(102, timer_member("x1", "0.2", kLeaseVersion, "invoke"));  // a run that ended (no rv:0.2)
  add_timer(103, timer_member("gone", "0", kLeaseVersion, "invoke"));  // an execution that expired
  std::vector<WorkItem> f = run(ioc, store.fire_timers(1000, 10, 16000));
  ASSERT_EQ(f.size(), 2u);
  // The item is guarded by the version read when it fired; its id (the ack) is the member.
  EXPECT_EQ(f[0].id, "x1|0|@|invoke");
  EXPECT_EQ(f[0].version, "7");
  EXPECT_EQ(f[0].kind, "invoke");
  EXPECT_EQ(f[1].run, "0.1");
  EXPECT_EQ(f[1].version, "2");
  EXPECT_EQ(score("x1|0|@|invoke"), "16000");
  EXPECT_EQ(score("x1|0.2|@|invoke"), std::nullopt);
  EXPECT_EQ(score("gone|0|@|invoke"), std::nullopt);
}

class LeaseCommits : public FireTimers {
 protected:
  const std::string lease = timer_member("x", "0", kLeaseVersion, "invoke");

  void SetUp() override { cmd({"HSET", keys::execution("x"), "status", "RUNNING", "rv:0", "3"}); }

  // Commits the step at `version` that this router held under `lease`; with `releases`, it
  // leases the next step under the same member (the fast path), due at `until`.
  // With `keep`, it goes on with the next step under the lease as it is.
  CommitOutcome commit_step(const std::string& version, bool releases, int64_t until = 99000, bool keep = false) {
    Transition t;
    t.exec = "x";
    t.run = "0";
    t.expected_version = version;
    t.ack_id = lease;
    t.keep_lease = keep;
    t.set = {{"rv:0", std::to_string(std::stoi(version) + 1)}};
    if (releases) {
      t.timers.emplace_back(until, lease);
    }
    return run(ioc, store.commit(t));
  }
};

TEST_F(LeaseCommits, TheNextStepReScoresTheSameMemberInsteadOfRemovingIt) {
  add_timer(16000, lease);
  EXPECT_EQ(commit_step("3", true, 31000), CommitOutcome::Committed);
  EXPECT_EQ(score(lease), "31000");
  EXPECT_EQ(cmd({"ZCARD", std::string(keys::kTimers)}).integer, 1);
  // The last step of the chain (the run goes on elsewhere, or ends) removes it.
  EXPECT_EQ(commit_step("4", false), CommitOutcome::Committed);
  EXPECT_EQ(score(lease), std::nullopt);
}

TEST_F(LeaseCommits, AStepThatKeepsTheLeaseLeavesItsMemberAndDueTimeAsTheyAre) {
  add_timer(16000, lease);
  EXPECT_EQ(commit_step("3", false, 0, true), CommitOutcome::Committed);
  EXPECT_EQ(score(lease), "16000");
  EXPECT_EQ(cmd({"HGET", keys::execution("x"), "rv:0"}).str, "4");
  // It still fires at the run's version of then, as a re-scored one would.
  std::vector<WorkItem> fired = run(ioc, store.fire_timers(20000, 10, 35000));
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].version, "4");
}

TEST_F(LeaseCommits, AKeptLeaseIsStillRemovedByTheCommitThatFindsTheExecutionGone) {
  add_timer(16000, lease);
  cmd({"HSET", keys::execution("x"), "status", "ABORTED"});
  EXPECT_EQ(commit_step("3", false, 0, true), CommitOutcome::Gone);
  EXPECT_EQ(score(lease), std::nullopt);
}

TEST_F(LeaseCommits, AStaleCommitLeavesTheRunsLeaseToTheRouterThatMovedTheVersionOn) {
  // Router A held step 3; its lease ran out and router B fired it (at version 3), committed step 3
  // and leased step 4 under the same member. A's late commit of step 3 must not take B's lease:
  // if it did and B then died, step 4 would never run.
  add_timer(16000, lease);
  ASSERT_EQ(run(ioc, store.fire_timers(20000, 10, 35000)).size(), 1u);  // B fires it
  EXPECT_EQ(commit_step("3", true, 50000), CommitOutcome::Committed);   // B
  EXPECT_EQ(commit_step("3", true, 60000), CommitOutcome::Stale);       // A, late
  EXPECT_EQ(score(lease), "50000");
  EXPECT_EQ(commit_step("3", false), CommitOutcome::Stale);  // A, had it been its last step
  EXPECT_EQ(score(lease), "50000");
  // A stale commit still removes its own lease on a fixed version (nobody else re-scores that one).
  std::string old = timer_member("x", "0", "3", "invoke");
  add_timer(16000, old);
  Transition t;
  t.exec = "x";
  t.run = "0";
  t.expected_version = "3";
  t.ack_id = old;
  EXPECT_EQ(run(ioc, store.commit(t)), CommitOutcome::Stale);
  EXPECT_EQ(score(old), std::nullopt);
}

TEST_F(LeaseCommits, AnOutdatedFiringIsDroppedWithoutTakingTheLeaseOfTheRouterThatMovedOn) {
  // Router A holds step 3 past its lease; router B fires the lease (at version 3). A then commits
  // step 3 and leases step 4 under the same member. B finds the run moved on and drops its item:
  // that must not remove A's lease, or step 4 would be nobody's if A died.
  add_timer(16000, lease);
  std::vector<WorkItem> fired = run(ioc, store.fire_timers(20000, 10, 35000));
  ASSERT_EQ(fired.size(), 1u);
  ASSERT_EQ(fired[0].version, "3");
  EXPECT_EQ(commit_step("3", true, 50000), CommitOutcome::Committed);  // A
  run(ioc, store.drop(fired[0]));                                      // B
  EXPECT_EQ(score(lease), "50000");
}

TEST_F(LeaseCommits, AFiredLeaseWhoseStepWillNotRunIsRemoved) {
  // At its own version (nothing moved: the step itself is dropped), its run gone, or its
  // execution not running: nobody else can hold the member.
  add_timer(16000, lease);
  std::vector<WorkItem> fired = run(ioc, store.fire_timers(20000, 10, 35000));
  ASSERT_EQ(fired.size(), 1u);
  run(ioc, store.drop(fired[0]));
  EXPECT_EQ(score(lease), std::nullopt);

  add_timer(16000, lease);
  fired = run(ioc, store.fire_timers(20000, 10, 35000));
  ASSERT_EQ(fired.size(), 1u);
  cmd({"HDEL", keys::execution("x"), "rv:0"});
  run(ioc, store.drop(fired[0]));
  EXPECT_EQ(score(lease), std::nullopt);

  cmd({"HSET", keys::execution("x"), "rv:0", "5", "status", "SUCCEEDED"});
  add_timer(36000, lease);
  WorkItem outdated = fired[0];  // fired at version 3; the run is at 5 but no longer running
  run(ioc, store.drop(outdated));
  EXPECT_EQ(score(lease), std::nullopt);
}

TEST_F(LeaseCommits, AStoppedExecutionsLeaseIsRemovedByTheCommitThatFindsItGone) {
  add_timer(16000, lease);
  cmd({"HSET", keys::execution("x"), "status", "ABORTED"});
  EXPECT_EQ(commit_step("3", true), CommitOutcome::Gone);
  EXPECT_EQ(score(lease), std::nullopt);
}

}  // namespace
}  // namespace switchyard::store
