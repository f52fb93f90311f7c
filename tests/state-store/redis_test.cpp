// The hiredis <-> Asio adapter against a real redis-server.
#include "switchyard/store/redis.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <numeric>

#include "switchyard/testing/process.hpp"
#include "switchyard/testing/run.hpp"

namespace switchyard::store {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using switchyard::testing::drive;
using switchyard::testing::run;
using Clock = std::chrono::steady_clock;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

RedisOptions fast_options() {
  RedisOptions o;
  o.connect_timeout = 1000ms;
  o.command_timeout = 3000ms;
  o.max_backoff = 200ms;  // tests restart servers: reconnect quickly
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// Address

TEST(RedisAddress, ParsesTheSupportedForms) {
  struct Case {
    std::string url;
    std::string host;
    int port;
    std::string unix_path;
    int db;
  };
  const std::vector<Case> cases = {
      {"redis://127.0.0.1:6380/2", "127.0.0.1", 6380, "", 2},
      {"redis://redis.example", "redis.example", 6379, "", 0},
      {"redis://localhost:7000", "localhost", 7000, "", 0},
      {"redis://localhost/", "localhost", 6379, "", 0},
      {"redis://[::1]:6390/1", "::1", 6390, "", 1},
      {"unix:///tmp/redis.sock", "", 6379, "/tmp/redis.sock", 0},
      {"unix:///tmp/redis.sock?db=4", "", 6379, "/tmp/redis.sock", 4},
      {"/var/run/redis.sock", "", 6379, "/var/run/redis.sock", 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    Address a = Address::parse(c.url);
    EXPECT_EQ(a.host, c.host);
    EXPECT_EQ(a.port, c.port);
    EXPECT_EQ(a.unix_path, c.unix_path);
    EXPECT_EQ(a.db, c.db);
    // to_string is canonical and parses back to the same address.
    Address b = Address::parse(a.to_string());
    EXPECT_EQ(b.host, a.host);
    EXPECT_EQ(b.port, a.port);
    EXPECT_EQ(b.unix_path, a.unix_path);
    EXPECT_EQ(b.db, a.db);
  }
  EXPECT_EQ(Address::parse("redis://h").to_string(), "redis://h:6379");
  EXPECT_EQ(Address::parse("/s").to_string(), "unix:///s");
}

TEST(RedisAddress, RejectsBadInput) {
  for (const char* bad : {"", "localhost:6379", "http://h", "rediss://h", "redis://", "redis://:6379",
                          "redis://h:", "redis://h:0", "redis://h:70000", "redis://h:x", "redis://h/db",
                          "redis://u:p@h", "redis://[::1", "unix://relative", "unix:///s?x=1", "unix:///s?db=-1"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(Address::parse(bad), std::invalid_argument);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Commands

class RedisTest : public ::testing::Test {
 protected:
  testing::RedisServer server;
  asio::io_context ioc;
  std::unique_ptr<Redis> redis =
      std::make_unique<Redis>(ioc.get_executor(), Address::parse(server.url()), fast_options());

  Reply cmd(std::vector<std::string> args, std::chrono::milliseconds timeout = 0ms) {
    return run(ioc, redis->command(std::move(args), timeout));
  }
};

TEST_F(RedisTest, SetGetAndNil) {
  run(ioc, redis->connect(2000ms));
  EXPECT_TRUE(redis->connected());
  Reply set = cmd({"SET", "k", "v"});
  EXPECT_EQ(set.type, Reply::Type::Status);
  EXPECT_EQ(set.str, "OK");
  Reply get = cmd({"GET", "k"});
  EXPECT_EQ(get.type, Reply::Type::String);
  EXPECT_EQ(get.str, "v");
  EXPECT_TRUE(cmd({"GET", "missing"}).is_nil());
  Reply n = cmd({"STRLEN", "k"});
  EXPECT_EQ(n.type, Reply::Type::Integer);
  EXPECT_EQ(n.integer, 1);
}

TEST_F(RedisTest, ArgumentsAndValuesAreBinarySafe) {
  const std::string key("k\0ey", 4);
  const std::string value("a\0b\r\n\xff\0", 7);
  cmd({"SET", key, value}).check();
  Reply get = cmd({"GET", key});
  EXPECT_EQ(get.str, value);
  EXPECT_EQ(cmd({"STRLEN", key}).integer, 7);
  EXPECT_TRUE(cmd({"GET", "k"}).is_nil());  // the key was not cut at its NUL byte
}

TEST_F(RedisTest, ManyConcurrentCoroutinesPipelineOnOneConnection) {
  constexpr int kCoroutines = 50;
  constexpr int kEach = 20;
  std::vector<int64_t> seen;
  int in_flight = 0;
  int max_in_flight = 0;
  std::vector<std::future<void>> fs;
  for (int i = 0; i < kCoroutines; ++i) {
    fs.push_back(asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          for (int j = 0; j < kEach; ++j) {
            ++in_flight;
            max_in_flight = std::max(max_in_flight, in_flight);
            std::vector<std::string> incr{"INCR", "counter"};  // (g++ 12 rejects a braced list in co_await)
            Reply r = co_await redis->command(std::move(incr));
            --in_flight;
            seen.push_back(r.integer);
          }
        },
        asio::use_future));
  }
  drive(ioc, fs);
  for (auto& f : fs) {
    f.get();
  }
  std::sort(seen.begin(), seen.end());
  std::vector<int64_t> expected(kCoroutines * kEach);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(seen, expected);                  // every INCR got its own reply, none lost or duplicated
  EXPECT_GT(max_in_flight, kCoroutines / 2);  // commands really were in flight together
  EXPECT_EQ(cmd({"GET", "counter"}).str, "1000");
}

TEST_F(RedisTest, ArrayRepliesKeepTheirStructure) {
  cmd({"RPUSH", "l", "a", "b", "c"}).check();
  Reply list = cmd({"LRANGE", "l", "0", "-1"});
  ASSERT_EQ(list.type, Reply::Type::Array);
  ASSERT_EQ(list.elements.size(), 3u);
  EXPECT_EQ(list.elements[2].str, "c");

  cmd({"XADD", "s", "1-1", "f", "v"}).check();
  Reply range = cmd({"XRANGE", "s", "-", "+"});
  ASSERT_EQ(range.type, Reply::Type::Array);
  ASSERT_EQ(range.elements.size(), 1u);
  const Reply& entry = range.elements[0];
  ASSERT_EQ(entry.type, Reply::Type::Array);
  ASSERT_EQ(entry.elements.size(), 2u);
  EXPECT_EQ(entry.elements[0].str, "1-1");
  ASSERT_EQ(entry.elements[1].elements.size(), 2u);
  EXPECT_EQ(entry.elements[1].elements[0].str, "f");
  EXPECT_EQ(entry.elements[1].elements[1].str, "v");

  Reply empty = cmd({"LRANGE", "none", "0", "-1"});
  EXPECT_EQ(empty.type, Reply::Type::Array);
  EXPECT_TRUE(empty.elements.empty());
}

TEST_F(RedisTest, ErrorRepliesAreReturnedNotThrown) {
  cmd({"SET", "k", "not-a-number"}).check();
  Reply r = cmd({"INCR", "k"});
  EXPECT_TRUE(r.is_error());
  EXPECT_NE(r.str.find("not an integer"), std::string::npos) << r.str;
  EXPECT_THROW(r.check(), RedisError);
  EXPECT_TRUE(cmd({"NO-SUCH-COMMAND"}).is_error());
  EXPECT_EQ(cmd({"PING"}).str, "PONG");  // the connection is still fine
}

TEST_F(RedisTest, EvalLoadsTheScriptOnNoscript) {
  const std::string src(lua_source("ping"));
  ASSERT_FALSE(src.empty());
  // Redis computes the SHA1 itself, so this checks our EVALSHA names the same script.
  Reply sha = cmd({"EVAL", "return redis.sha1hex(ARGV[1])", "0", src});
  ASSERT_EQ(sha.type, Reply::Type::String);
  cmd({"SCRIPT", "FLUSH"}).check();
  ASSERT_EQ(cmd({"SCRIPT", "EXISTS", sha.str}).elements.at(0).integer, 0);

  Reply first = run(ioc, redis->eval("ping", {"key"}, {std::string("he\0llo", 6)}));
  EXPECT_EQ(first.type, Reply::Type::String);
  EXPECT_EQ(first.str, std::string("he\0llo", 6));
  EXPECT_EQ(cmd({"SCRIPT", "EXISTS", sha.str}).elements.at(0).integer, 1);  // EVAL cached it

  Reply second = run(ioc, redis->eval("ping", {}, {"again"}));  // EVALSHA hits now
  EXPECT_EQ(second.str, "again");
}

TEST_F(RedisTest, EvalOfAnUnknownScriptThrows) {
  EXPECT_THROW(run(ioc, redis->eval("no-such-script", {}, {})), std::invalid_argument);
}

TEST_F(RedisTest, TimeoutFailsTheCommandResetsTheConnectionAndRecovers) {
  run(ioc, redis->connect());
  auto t0 = Clock::now();
  // BLPOP blocks the connection for 5 s server-side; the client gives up after 200 ms.
  auto blocked = asio::co_spawn(ioc, redis->command({"BLPOP", "q", "5"}, 200ms), asio::use_future);
  // Pipelined behind it: cannot be answered before BLPOP, so the reset fails it too.
  auto behind = asio::co_spawn(ioc, redis->command({"PING"}, 3000ms), asio::use_future);
  std::vector<std::future<Reply>> fs;
  fs.push_back(std::move(blocked));
  fs.push_back(std::move(behind));
  drive(ioc, fs);
  auto elapsed = Clock::now() - t0;
  EXPECT_THROW(fs[0].get(), RedisError);
  EXPECT_THROW(fs[1].get(), RedisError);
  EXPECT_GE(elapsed, 190ms);
  EXPECT_LT(elapsed, 2000ms);
  EXPECT_EQ(cmd({"PING"}).str, "PONG");  // reconnected; BLPOP's late reply (if any) went nowhere
  cmd({"RPUSH", "q", "x"}).check();
  EXPECT_EQ(cmd({"LLEN", "q"}).integer, 1);  // the abandoned BLPOP did not consume it
}

TEST_F(RedisTest, ServerDeathFailsPendingCommandsAndRestartRecovers) {
  run(ioc, redis->connect());
  auto t0 = Clock::now();
  std::vector<std::future<Reply>> fs;
  for (int i = 0; i < 5; ++i) {
    fs.push_back(
        asio::co_spawn(ioc, redis->command({"BLPOP", "q" + std::to_string(i), "30"}, 20000ms), asio::use_future));
  }
  fs.push_back(asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<Reply> {
        co_await sleep_for(200ms);
        server.kill();
        co_return Reply{};
      },
      asio::use_future));
  drive(ioc, fs);
  for (int i = 0; i < 5; ++i) {
    EXPECT_THROW(fs[static_cast<size_t>(i)].get(), RedisError);
  }
  EXPECT_LT(Clock::now() - t0, 3000ms);  // failed on the loss, not at their 20 s timeout
  EXPECT_FALSE(redis->connected());

  // While the server is down, a command waits for the reconnect, bounded by its own timeout.
  t0 = Clock::now();
  EXPECT_THROW(cmd({"PING"}, 300ms), RedisError);
  EXPECT_GE(Clock::now() - t0, 290ms);
  EXPECT_LT(Clock::now() - t0, 2000ms);

  // A command issued while down succeeds once the server is back on the same socket.
  auto pending = asio::co_spawn(ioc, redis->command({"PING"}, 5000ms), asio::use_future);
  auto restart = asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await sleep_for(300ms);
        server.start();
      },
      asio::use_future);
  std::vector<std::future<Reply>> p1;
  p1.push_back(std::move(pending));
  drive(ioc, p1);
  restart.get();
  EXPECT_EQ(p1[0].get().str, "PONG");
  EXPECT_TRUE(redis->connected());
}

TEST_F(RedisTest, ReconnectsInTheBackgroundWithoutCommands) {
  run(ioc, redis->connect());
  server.kill();
  ioc.restart();
  ioc.run_for(300ms);
  EXPECT_FALSE(redis->connected());
  server.start();
  ioc.restart();
  auto deadline = Clock::now() + 3s;
  while (!redis->connected() && Clock::now() < deadline) {
    ioc.run_one_for(20ms);
  }
  EXPECT_TRUE(redis->connected());
}

TEST_F(RedisTest, DestructionWithPendingCommandsFailsThem) {
  run(ioc, redis->connect());
  std::vector<std::future<Reply>> fs;
  for (int i = 0; i < 5; ++i) {
    fs.push_back(asio::co_spawn(ioc, redis->command({"BLPOP", "q", "30"}, 20000ms), asio::use_future));
  }
  ioc.restart();
  ioc.run_for(100ms);  // the commands are sent and blocked
  // co_spawn posts the start: this one begins only after the client is gone.
  fs.push_back(asio::co_spawn(ioc, redis->command({"PING"}), asio::use_future));
  redis.reset();
  drive(ioc, fs);
  for (auto& f : fs) {
    EXPECT_THROW(f.get(), RedisError);
  }
  ioc.restart();
  ioc.run_for(1000ms);
  EXPECT_TRUE(ioc.stopped());  // no reconnect loop outlives the client
}

TEST_F(RedisTest, DestructionDuringReconnectStopsIt) {
  run(ioc, redis->connect());
  server.kill();
  ioc.restart();
  ioc.run_for(300ms);  // the reconnect loop is backing off
  EXPECT_FALSE(redis->connected());
  redis.reset();
  ioc.restart();
  auto t0 = Clock::now();
  ioc.run_for(2000ms);
  EXPECT_TRUE(ioc.stopped());
  EXPECT_LT(Clock::now() - t0, 1000ms);
}

TEST_F(RedisTest, CloseFailsPendingAndLaterCommandsAndStopsReconnecting) {
  run(ioc, redis->connect());
  std::vector<std::future<Reply>> fs;
  fs.push_back(asio::co_spawn(ioc, redis->command({"BLPOP", "q", "30"}, 20000ms), asio::use_future));
  ioc.restart();
  ioc.run_for(100ms);
  redis->close();
  drive(ioc, fs);
  EXPECT_THROW(fs[0].get(), RedisError);
  EXPECT_FALSE(redis->connected());
  EXPECT_THROW(cmd({"PING"}), RedisError);
  ioc.restart();
  ioc.run_for(1000ms);
  EXPECT_TRUE(ioc.stopped());
}

TEST(RedisConnect, FailsAfterTheDeadlineWhenNothingListens) {
  testing::TempDir dir;
  asio::io_context ioc;
  Redis redis(ioc.get_executor(), Address::parse("unix://" + (dir.path() / "nobody.sock").string()), fast_options());
  auto t0 = Clock::now();
  try {
    run(ioc, redis.connect(300ms));
    ADD_FAILURE() << "connect succeeded";
  } catch (const RedisError& e) {
    EXPECT_NE(std::string(e.what()).find("nobody.sock"), std::string::npos) << e.what();
  }
  EXPECT_GE(Clock::now() - t0, 290ms);
  EXPECT_LT(Clock::now() - t0, 2000ms);
}

TEST(RedisConnect, SelectsTheDatabaseAgainAfterReconnect) {
  testing::RedisServer server;
  asio::io_context ioc;
  Redis redis(ioc.get_executor(), Address::parse(server.url() + "?db=3"), fast_options());
  run(ioc, redis.command({"SET", "k", "one"})).check();
  EXPECT_EQ(server.cli("-n 3 GET k"), "one\n");
  EXPECT_EQ(server.cli("-n 0 EXISTS k"), "0\n");
  server.kill();
  // Let the client see the loss first: a command sent on the dead connection would fail (by contract).
  ioc.restart();
  auto deadline = Clock::now() + 3s;
  while (redis.connected() && Clock::now() < deadline) {
    ioc.run_one_for(20ms);
  }
  ASSERT_FALSE(redis.connected());
  server.start();
  run(ioc, redis.command({"SET", "k2", "two"}, 5000ms)).check();
  EXPECT_EQ(server.cli("-n 3 GET k2"), "two\n");
  EXPECT_EQ(server.cli("-n 0 EXISTS k2"), "0\n");
}

TEST(RedisConnect, OverTcpByAddressAndByName) {
  testing::TempDir dir;
  const int port = testing::free_port();
  testing::Process server({"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no", "--dir", dir.path().string()},
                          {}, dir.path() / "redis.log");
  asio::io_context ioc;
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    SCOPED_TRACE(host);
    Redis redis(ioc.get_executor(), Address::parse("redis://" + host + ":" + std::to_string(port) + "/1"),
                fast_options());
    // The server may still be starting: connect retries until its deadline.
    run(ioc, redis.connect(5000ms));
    EXPECT_EQ(run(ioc, redis.command({"PING"})).str, "PONG");
    EXPECT_NE(run(ioc, redis.command({"CLIENT", "INFO"})).str.find(" db=1 "), std::string::npos);
  }
}

}  // namespace
}  // namespace switchyard::store
