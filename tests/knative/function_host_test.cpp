// The local function host with real processes: a tiny Python HTTP echo server we control.
#include "switchyard/knative/function_host.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <cerrno>
#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include "switchyard/testing/process.hpp"

namespace switchyard::knative {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// POST echoes the body; GET answers {"pid": ..., "greeting": $GREETING}.
constexpr const char* kEchoPy = R"(import http.server, json, os
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.reply(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
    def do_GET(self):
        self.reply(json.dumps({"pid": os.getpid(), "greeting": os.environ.get("GREETING", "")}).encode())
    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
print("echo listening on", os.environ["PORT"], flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
)";

bool process_gone(int pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

int port_of(const Lease& lease) { return std::stoi(lease.url.port); }

class FunctionHostTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
  asio::io_context ioc;
  std::unique_ptr<LocalFunctionHost> host;

  fs::path script() {
    fs::path p = dir.path() / "echo.py";
    if (!fs::exists(p)) {
      std::ofstream(p) << kEchoPy;
    }
    return p;
  }

  FunctionSpec echo(int concurrency = 8, int idle = 60, int max_processes = 4) {
    return FunctionSpec{{"python3", script().string()}, {{"GREETING", "hi"}}, concurrency, idle, max_processes};
  }

  void make_host(std::map<std::string, FunctionSpec> specs) {
    HostOptions o;
    o.check_interval = 50ms;
    o.stop_grace = 2000ms;
    host = std::make_unique<LocalFunctionHost>(ioc.get_executor(), std::move(specs), dir.path() / "logs", o);
  }

  // Runs the io_context until all futures are ready (bounded).
  template <typename Future>
  void drive(std::vector<Future>& fs, std::chrono::milliseconds limit = 10s) {
    ioc.restart();
    auto deadline = Clock::now() + limit;
    auto ready = [&] {
      return std::all_of(fs.begin(), fs.end(), [](auto& f) { return f.wait_for(0s) == std::future_status::ready; });
    };
    while (!ready() && Clock::now() < deadline) {
      ioc.run_one_for(20ms);
    }
    if (!ready()) {
      throw std::runtime_error("test coroutines did not finish in time");
    }
  }

  Lease acquire(const std::string& name, std::chrono::milliseconds timeout = 5000ms) {
    std::vector<std::future<Lease>> fs;
    fs.push_back(asio::co_spawn(ioc, host->acquire(name, timeout), asio::use_future));
    drive(fs);
    return fs.front().get();
  }

  // Runs the io_context until pred() or the limit.
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
    ioc.restart();
    auto deadline = Clock::now() + limit;
    while (!pred() && Clock::now() < deadline) {
      ioc.run_one_for(20ms);
    }
    return pred();
  }
};

TEST_F(FunctionHostTest, FirstCallStartsTheProcessWithPortEnvAndLog) {
  make_host({{"echo", echo()}});
  EXPECT_TRUE(host->has("echo"));
  EXPECT_FALSE(host->has("other"));
  EXPECT_TRUE(host->status().empty());  // nothing runs before the first call

  Lease lease = acquire("echo");
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease.url.host, "127.0.0.1");
  EXPECT_EQ(lease.url.target, "/");
  auto r = testing::http_request(port_of(lease), "POST", "/", R"({"x":1})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"x":1})");
  auto info = testing::http_request(port_of(lease), "GET", "/");
  EXPECT_NE(info.body.find("\"greeting\": \"hi\""), std::string::npos) << info.body;
  EXPECT_NE(info.body.find("\"pid\": " + std::to_string(lease.pid())), std::string::npos) << info.body;

  auto st = host->status();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].function, "echo");
  EXPECT_EQ(st[0].pid, lease.pid());
  EXPECT_EQ(st[0].port, port_of(lease));
  EXPECT_EQ(st[0].in_flight, 1);
  EXPECT_EQ(st[0].state, "ready");
  EXPECT_EQ(st[0].log_file, dir.path() / "logs" / "echo-1.log");
  std::stringstream log;
  log << std::ifstream(st[0].log_file).rdbuf();
  EXPECT_NE(log.str().find("echo listening on " + lease.url.port), std::string::npos) << log.str();

  lease.release();
  EXPECT_EQ(host->status()[0].in_flight, 0);
}

TEST_F(FunctionHostTest, ABurstOnAColdFunctionSharesOneProcess) {
  make_host({{"echo", echo(8)}});
  std::vector<std::future<Lease>> fs;
  for (int i = 0; i < 5; ++i) {
    fs.push_back(asio::co_spawn(ioc, host->acquire("echo", 5000ms), asio::use_future));
  }
  drive(fs);
  std::set<int> pids;
  std::vector<Lease> leases;
  for (auto& f : fs) {
    leases.push_back(f.get());
    pids.insert(leases.back().pid());
  }
  EXPECT_EQ(pids.size(), 1u);
  ASSERT_EQ(host->status().size(), 1u);
  EXPECT_EQ(host->status()[0].in_flight, 5);
}

TEST_F(FunctionHostTest, ScalesOutWhenBusyThenWaitsForASlot) {
  make_host({{"echo", echo(/*concurrency=*/2, 60, /*max_processes=*/2)}});
  Lease a1 = acquire("echo");
  Lease a2 = acquire("echo");
  EXPECT_EQ(a1.pid(), a2.pid());  // reused while under its concurrency
  Lease b1 = acquire("echo");
  EXPECT_NE(b1.pid(), a1.pid());  // all busy: a second process
  EXPECT_NE(b1.url.port, a1.url.port);
  Lease b2 = acquire("echo");
  EXPECT_EQ(b2.pid(), b1.pid());
  EXPECT_EQ(testing::http_request(port_of(b2), "POST", "/", "2").body, "2");

  // At max_processes with every slot taken: bounded wait, then an error.
  auto t0 = Clock::now();
  EXPECT_THROW(acquire("echo", 300ms), FunctionHostError);
  EXPECT_GE(Clock::now() - t0, 290ms);
  EXPECT_EQ(host->status().size(), 2u);

  // A slot released while waiting is taken.
  std::vector<std::future<Lease>> fs;
  fs.push_back(asio::co_spawn(ioc, host->acquire("echo", 5000ms), asio::use_future));
  auto releaser = asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor, 200ms);
        co_await t.async_wait(asio::use_awaitable);
        a1.release();
      },
      asio::use_future);
  t0 = Clock::now();
  drive(fs);
  releaser.get();
  Lease c = fs.front().get();
  EXPECT_EQ(c.pid(), a2.pid());
  EXPECT_GE(Clock::now() - t0, 190ms);
}

// A freed slot goes to one waiting call, the one that waited longest; the others stay asleep
// (waking them all made every release cost O(waiting calls)).
TEST_F(FunctionHostTest, AFreedSlotWakesOnlyTheLongestWaitingCall) {
  make_host({{"echo", echo(/*concurrency=*/1, 60, /*max_processes=*/1)}});
  Lease held = acquire("echo");
  const uint64_t woken_before = host->stats().wakeups;  // the first call waited for the process to start
  constexpr size_t kWaiting = 20;
  std::vector<std::future<Lease>> fs;
  for (size_t i = 0; i < kWaiting; ++i) {
    fs.push_back(asio::co_spawn(ioc, host->acquire("echo", 10000ms), asio::use_future));
  }
  ASSERT_TRUE(run_until([&] { return host->stats().waiting == kWaiting; }, 5s));
  EXPECT_EQ(host->stats().wakeups, woken_before);
  for (size_t i = 0; i < kWaiting; ++i) {
    held.release();
    ASSERT_TRUE(run_until([&] { return fs[i].wait_for(0s) == std::future_status::ready; }, 5s)) << i;
    held = fs[i].get();
    EXPECT_TRUE(held);
    // Everyone behind it still waits, and nobody else was woken.
    ioc.restart();
    ioc.poll();
    EXPECT_EQ(host->stats().waiting, kWaiting - i - 1);
    EXPECT_EQ(host->stats().wakeups - woken_before, i + 1);
  }
}

TEST_F(FunctionHostTest, IdleProcessIsStoppedAndRestartedOnTheNextCall) {
  make_host({{"echo", echo(8, /*idle=*/1)}});
  int first_pid = 0;
  {
    Lease lease = acquire("echo");
    first_pid = lease.pid();
    EXPECT_EQ(testing::http_request(port_of(lease), "POST", "/", "1").status, 200);
  }
  auto t0 = Clock::now();
  ASSERT_TRUE(run_until([&] { return host->status().empty(); }, 5s));
  EXPECT_GE(Clock::now() - t0, 900ms);   // not before the idle timeout
  EXPECT_TRUE(process_gone(first_pid));  // stopped and reaped: scaled to zero

  Lease again = acquire("echo");
  EXPECT_NE(again.pid(), first_pid);
  EXPECT_EQ(testing::http_request(port_of(again), "POST", "/", "2").body, "2");
  EXPECT_TRUE(fs::exists(dir.path() / "logs" / "echo-2.log"));
}

TEST_F(FunctionHostTest, ABusyProcessIsNotStoppedForIdleness) {
  make_host({{"echo", echo(8, /*idle=*/1)}});
  Lease lease = acquire("echo");
  run_until([] { return false; }, 1500ms);
  ASSERT_EQ(host->status().size(), 1u);
  EXPECT_EQ(host->status()[0].state, "ready");
  EXPECT_EQ(testing::http_request(port_of(lease), "POST", "/", "3").body, "3");
}

TEST_F(FunctionHostTest, ACrashedProcessIsReplacedOnTheNextCall) {
  make_host({{"echo", echo()}});
  int pid = 0;
  {
    Lease lease = acquire("echo");
    pid = lease.pid();
  }
  ::kill(pid, SIGKILL);
  ASSERT_TRUE(run_until([&] { return host->status().empty(); }, 3s));  // noticed and reaped
  EXPECT_TRUE(process_gone(pid));
  Lease lease = acquire("echo");
  EXPECT_NE(lease.pid(), pid);
  EXPECT_EQ(testing::http_request(port_of(lease), "POST", "/", "ok").body, "ok");
}

TEST_F(FunctionHostTest, ShutdownLeavesNoChildren) {
  make_host({{"echo", echo(1)}, {"other", echo(1)}});
  std::vector<int> pids;
  {
    Lease a = acquire("echo");
    Lease b = acquire("echo");
    Lease c = acquire("other");
    pids = {a.pid(), b.pid(), c.pid()};
    host->shutdown();  // with leases still held
  }
  for (int pid : pids) {
    EXPECT_TRUE(process_gone(pid)) << pid;
  }
  EXPECT_TRUE(host->status().empty());
  EXPECT_THROW(acquire("echo"), FunctionHostError);
}

TEST_F(FunctionHostTest, DestroyingTheHostStopsItsChildren) {
  make_host({{"echo", echo()}});
  int pid = acquire("echo").pid();
  ASSERT_FALSE(process_gone(pid));
  auto t0 = Clock::now();
  host.reset();
  EXPECT_TRUE(process_gone(pid));
  EXPECT_LT(Clock::now() - t0, 1500ms);  // SIGTERM was enough, no waiting for the grace period
}

TEST_F(FunctionHostTest, AProcessThatExitsAtStartupIsReportedWithItsStatus) {
  make_host({{"bad", FunctionSpec{{"python3", "-c", "import sys; print('boom'); sys.exit(3)"}, {}, 8, 60, 4}}});
  auto t0 = Clock::now();
  try {
    acquire("bad", 5000ms);
    ADD_FAILURE() << "acquire succeeded";
  } catch (const FunctionHostError& e) {
    EXPECT_NE(std::string(e.what()).find("exited with status 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad-1.log"), std::string::npos) << e.what();
  }
  EXPECT_LT(Clock::now() - t0, 3000ms);  // noticed at once, not at the timeout
}

TEST_F(FunctionHostTest, AMissingProgramIsReported) {
  make_host({{"gone", FunctionSpec{{"/nonexistent/bin/fn"}, {}, 8, 60, 4}},
             {"nopath", FunctionSpec{{"switchyard-no-such-program"}, {}, 8, 60, 4}}});
  EXPECT_THROW(acquire("gone"), FunctionHostError);
  EXPECT_THROW(acquire("nopath"), FunctionHostError);
  EXPECT_THROW(acquire("unknown"), FunctionHostError);
}

TEST_F(FunctionHostTest, AColdStartIsBoundedByTheTimeout) {
  make_host({{"mute", FunctionSpec{{"python3", "-c", "import time; time.sleep(30)"}, {}, 8, 60, 4}}});
  auto t0 = Clock::now();
  EXPECT_THROW(acquire("mute", 300ms), FunctionHostError);
  EXPECT_GE(Clock::now() - t0, 290ms);
  EXPECT_LT(Clock::now() - t0, 2000ms);
  auto st = host->status();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].state, "starting");  // keeps starting for later calls
  int pid = st[0].pid;
  host->shutdown();
  EXPECT_TRUE(process_gone(pid));
}

TEST_F(FunctionHostTest, RunsTheExampleEchoFunction) {
  fs::path echo_bin = fs::path(SWITCHYARD_BUILD_DIR) / "examples" / "functions" / "echo";
  if (!fs::exists(echo_bin)) {
    GTEST_SKIP() << echo_bin << " is not built";
  }
  make_host({{"echo", FunctionSpec{{echo_bin.string()}, {}, 8, 60, 4}}});
  Lease lease = acquire("echo");
  auto r = testing::http_request(port_of(lease), "POST", "/", R"({"hello":"world"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("world"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace switchyard::knative
