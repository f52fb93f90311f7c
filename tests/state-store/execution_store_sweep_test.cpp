// ExecutionStore::sweep_index (sweep_index.lua) against a real redis-server: ids whose
// execution record is gone leave the execution indexes, window by window with wrap-around,
// while ids of existing executions never do; deleted state machines' indexes are emptied
// and then forgotten, never recreated.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <set>

#include "store_fixture.hpp"
#include "switchyard/store/execution_store.hpp"
#include "switchyard/store/keys.hpp"
#include "switchyard/store/redis.hpp"
#include "switchyard/store/state_machine_store.hpp"
#include "switchyard/testing/process.hpp"
#include "switchyard/testing/run.hpp"

namespace switchyard::store {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using switchyard::testing::run;

class SweepFixture : public StoreTest {
 protected:
  /// Adds `id` to `index` at `score`, with an execution record when `exists`.
  void add(const std::string& index, const std::string& id, int64_t score, bool exists) {
    cmd({"ZADD", index, std::to_string(score), id});
    if (exists) {
      cmd({"HSET", keys::execution(id), "id", id, "status", "RUNNING"});
    }
  }
  std::set<std::string> members(const std::string& index) {
    std::set<std::string> out;
    for (const auto& e : cmd({"ZRANGE", index, "0", "-1"}).elements) {
      out.insert(e.str);
    }
    return out;
  }
  SweepResult sweep(const std::string& index, int64_t start, int64_t count, std::optional<int64_t> max = {},
                    const std::string& deleted = "") {
    return run(ioc, store.sweep_index(index, start, count, max, deleted));
  }
};

class SweepIndex : public SweepFixture, public ::testing::WithParamInterface<std::string> {};

// Both kinds of index: all executions, and one state machine's.
INSTANTIATE_TEST_SUITE_P(BothIndexes, SweepIndex,
                         ::testing::Values(std::string(keys::kExecutions), keys::executions_of("orders")));

TEST_P(SweepIndex, WindowsMoveForwardRemovingOnlyIdsWhoseRecordIsGoneAndWrapAround) {
  const std::string index = GetParam();
  // x1..x10 by start time; odd ones exist, even ones expired.
  for (int i = 1; i <= 10; ++i) {
    add(index, "x" + std::to_string(i), i, i % 2 == 1);
  }
  SweepResult a = sweep(index, 0, 4);  // x1 x2 x3 x4
  EXPECT_EQ(a.removed, 2);
  EXPECT_EQ(a.next, 2);                     // x5 moved down to rank 2
  SweepResult b = sweep(index, a.next, 4);  // x5 x6 x7 x8
  EXPECT_EQ(b.removed, 2);
  EXPECT_EQ(b.next, 4);
  SweepResult c = sweep(index, b.next, 4);  // x9 x10: the end
  EXPECT_EQ(c.removed, 1);
  EXPECT_EQ(c.next, 0) << "the end wraps around to the start";
  std::set<std::string> kept{"x1", "x3", "x5", "x7", "x9"};
  EXPECT_EQ(members(index), kept);
  // The next pass finds nothing more to remove and never touches the existing ones.
  SweepResult d = sweep(index, 0, 4);
  EXPECT_EQ(d.removed, 0);
  EXPECT_EQ(d.next, 4);
  SweepResult e = sweep(index, d.next, 4);
  EXPECT_EQ(e.removed, 0);
  EXPECT_EQ(e.next, 0);
  EXPECT_EQ(members(index), kept);
  for (const auto& id : kept) {
    EXPECT_EQ(cmd({"EXISTS", keys::execution(id)}).integer, 1);
  }
}

TEST_P(SweepIndex, LongRunningExecutionsAtTheOldEndDoNotHoldTheSweepBack) {
  const std::string index = GetParam();
  for (int i = 0; i < 5; ++i) {
    add(index, "old" + std::to_string(i), i, true);  // still running, the oldest
  }
  for (int i = 0; i < 5; ++i) {
    add(index, "gone" + std::to_string(i), 100 + i, false);
  }
  SweepResult a = sweep(index, 0, 5);
  EXPECT_EQ(a.removed, 0);
  EXPECT_EQ(a.next, 5);
  SweepResult b = sweep(index, a.next, 5);
  EXPECT_EQ(b.removed, 5);
  SweepResult c = sweep(index, b.next, 5);
  EXPECT_EQ(c.removed, 0);
  EXPECT_EQ(c.next, 0);
  EXPECT_EQ(members(index), (std::set<std::string>{"old0", "old1", "old2", "old3", "old4"}));
}

TEST_P(SweepIndex, IdsStartedAfterTheHorizonAreNotLookedAt) {
  const std::string index = GetParam();
  add(index, "a", 100, false);
  add(index, "b", 200, false);
  add(index, "c", 300, false);  // younger than the horizon: left for a later sweep
  SweepResult r = sweep(index, 0, 10, 200);
  EXPECT_EQ(r.removed, 2);
  EXPECT_EQ(r.next, 0);
  EXPECT_EQ(members(index), std::set<std::string>{"c"});
  EXPECT_EQ(sweep(index, 0, 10).removed, 1);  // no horizon: everything is looked at
  EXPECT_EQ(cmd({"EXISTS", index}).integer, 0) << "an emptied index is deleted, as Redis does";
}

TEST_P(SweepIndex, AnEmptyOrMissingIndexIsNotCreated) {
  const std::string index = GetParam();
  SweepResult r = sweep(index, 0, 10);
  EXPECT_EQ(r.removed, 0);
  EXPECT_EQ(r.next, 0);
  SweepResult beyond = sweep(index, 50, 10);
  EXPECT_EQ(beyond.next, 0);
  EXPECT_EQ(cmd({"EXISTS", index}).integer, 0);
}

class SweepDeleted : public SweepFixture {};

TEST_F(SweepDeleted, ADeletedStateMachinesIndexIsEmptiedThenForgottenAndNeverRecreated) {
  StateMachineStore machines{redis};
  const std::string def = R"({"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}})";
  run(ioc, machines.put("gone", def, "STANDARD", "[]", "2026-01-01T00:00:00.000Z"));
  const std::string index = keys::executions_of("gone");
  add(index, "r1", 1, true);   // still running after the delete
  add(index, "e1", 2, false);  // expired
  ASSERT_TRUE(run(ioc, machines.remove("gone")));
  EXPECT_EQ(run(ioc, store.deleted_state_machines()), std::vector<std::string>{"gone"});

  SweepResult a = sweep(index, 0, 10, {}, "gone");
  EXPECT_EQ(a.removed, 1);
  EXPECT_EQ(members(index), std::set<std::string>{"r1"});
  EXPECT_EQ(run(ioc, store.deleted_state_machines()), std::vector<std::string>{"gone"}) << "still holds an id";

  cmd({"DEL", keys::execution("r1")});  // it finished and expired
  SweepResult b = sweep(index, 0, 10, {}, "gone");
  EXPECT_EQ(b.removed, 1);
  EXPECT_EQ(cmd({"EXISTS", index}).integer, 0);
  EXPECT_TRUE(run(ioc, store.deleted_state_machines()).empty()) << "an empty index is forgotten";
  sweep(index, 0, 10, {}, "gone");  // a router that still had the name: nothing comes back
  EXPECT_EQ(cmd({"EXISTS", index}).integer, 0);
  EXPECT_TRUE(run(ioc, store.deleted_state_machines()).empty());
}

TEST_F(SweepDeleted, AStateMachineCreatedAgainIsNoLongerTreatedAsDeleted) {
  StateMachineStore machines{redis};
  const std::string def = R"({"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}})";
  run(ioc, machines.put("back", def, "STANDARD", "[]", "2026-01-01T00:00:00.000Z"));
  const std::string index = keys::executions_of("back");
  add(index, "r1", 1, true);
  ASSERT_TRUE(run(ioc, machines.remove("back")));
  run(ioc, machines.put("back", def, "STANDARD", "[]", "2026-01-01T00:00:01.000Z"));
  sweep(index, 0, 10, {}, "back");
  EXPECT_TRUE(run(ioc, store.deleted_state_machines()).empty());
  EXPECT_EQ(members(index), std::set<std::string>{"r1"});
  // Deleting an unknown state machine records nothing.
  EXPECT_FALSE(run(ioc, machines.remove("never-existed")));
  EXPECT_TRUE(run(ioc, store.deleted_state_machines()).empty());
}

}  // namespace
}  // namespace switchyard::store
