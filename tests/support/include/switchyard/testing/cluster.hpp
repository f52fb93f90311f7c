#pragma once
/// A multi-process Switchyard deployment for fault-injection tests: one
/// redis-server with AOF on (that the test can crash and restart on the same
/// data), gateway processes and router processes (`switchyard serve --roles
/// ...`) that the test can SIGKILL, SIGSTOP/SIGCONT and restart, all on
/// 127.0.0.1 and in one temp dir. Also the bulk helpers the durability tests
/// and load tests share: parallel starts, waiting for everything to finish
/// (one Lua call instead of thousands of GETs), and RFC 3339 parsing.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "switchyard/testing/process.hpp"

namespace switchyard::testing {

/// redis-server with AOF on, on a unix socket in its own temp dir. Unlike
/// RedisServer, kill() + start() keeps the data (the AOF in the same dir).
class AofRedis {
 public:
  /// `appendfsync`: "everysec" (Switchyard's default) or "always".
  explicit AofRedis(std::string appendfsync = "everysec");
  ~AofRedis();
  AofRedis(const AofRedis&) = delete;
  AofRedis& operator=(const AofRedis&) = delete;

  std::string url() const { return "unix://" + socket_; }
  const std::string& socket() const { return socket_; }
  /// Runs redis-cli against it; stdout (empty when the server is down).
  std::string cli(const std::string& args) const;
  /// One integer reply of redis-cli (nullopt when down or not an integer).
  std::optional<int64_t> cli_int(const std::string& args) const;
  /// How many times `command` (lower case, e.g. "zadd") ran since the start or CONFIG RESETSTAT,
  /// also inside scripts (INFO commandstats; 0 when it never ran).
  int64_t command_calls(const std::string& command) const;
  /// SIGKILL + reap: a crash; the AOF stays.
  void kill();
  /// SIGTERM + reap: a clean shutdown (the AOF is flushed and fsynced).
  void terminate();
  /// Starts (again) on the same socket and dir; throws if it does not answer PING within 20 s.
  void start();
  bool running();
  pid_t pid() const;
  /// INFO memory's used_memory in bytes (0 when down).
  int64_t used_memory() const;

 private:
  TempDir dir_;
  std::string socket_;
  std::string appendfsync_;
  std::unique_ptr<Process> process_;
};

/// One `switchyard serve` process that can be crashed, paused and restarted.
/// Its output goes to a log file in `dir` (appended across restarts, so a
/// failure message shows every incarnation).
class ServeProcess {
 public:
  /// `args` follow `serve`, e.g. {"--roles", "router", "--redis", url}.
  /// A gateway (port > 0) gets --listen and is waited for on /readyz. A router with
  /// metrics_port > 0 gets --metrics-listen (GET /metrics) on it.
  ServeProcess(std::string name, std::filesystem::path dir, std::vector<std::string> args, int port = 0,
               int metrics_port = 0);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  /// Starts (again); a router gets a new consumer name per incarnation (as a new pod would).
  void start();
  /// SIGKILL + reap (its function processes die with it through PR_SET_PDEATHSIG).
  void kill9();
  /// SIGTERM, wait up to `grace` for a clean exit, then SIGKILL.
  void terminate(std::chrono::milliseconds grace = std::chrono::seconds{15});
  void pause() const;   ///< SIGSTOP
  void resume() const;  ///< SIGCONT
  bool running();
  pid_t pid() const;
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  /// One sample of its GET /metrics (a router's --metrics-listen, else a gateway's API port),
  /// e.g. metric("switchyard_commits_rejected_total{reason=\"stale\"}"); 0 when absent.
  /// 0 when absent or unreachable.
  double metric(const std::string& series) const;
  /// The consumer name of the current incarnation ("" for a gateway).
  const std::string& consumer() const { return consumer_; }
  std::string log() const;
  /// VmRSS of the process in bytes (0 when not running).
  int64_t rss_bytes() const;

 private:
  std::string name_;
  std::filesystem::path dir_;
  std::vector<std::string> args_;
  int port_ = 0;
  int metrics_port_ = 0;
  int incarnation_ = 0;
  std::string consumer_;
  std::unique_ptr<Process> process_;
};

struct ClusterOptions {
  int routers = 3;
  int gateways = 1;
  int64_t lease_ms = 1000;
  std::string appendfsync = "everysec";
  std::vector<std::string> router_args;   ///< extra args for every router
  std::vector<std::string> gateway_args;  ///< extra args for every gateway
  std::vector<std::string> common_args;   ///< extra args for both (e.g. --retention-seconds 1)
  bool router_metrics = false;            ///< each router serves GET /metrics (ServeProcess::metric)
};

/// Redis (AOF) + gateways + routers with the example functions, on 127.0.0.1.
class Cluster {
 public:
  explicit Cluster(ClusterOptions options = {});
  ~Cluster();

  AofRedis& redis() { return *redis_; }
  ServeProcess& router(size_t i) { return *routers_.at(i); }
  ServeProcess& gateway(size_t i = 0) { return *gateways_.at(i); }
  size_t router_count() const { return routers_.size(); }
  int port(size_t gateway_index = 0) const { return gateways_.at(gateway_index)->port(); }
  /// Every process's log (for failure messages; the tail of each).
  std::string logs() const;
  /// What went wrong on its own, one line each ("" when nothing): a gateway or router that is
  /// not running (the tests restart what they kill), and sanitizer or UBSan reports in any log.
  std::string health();

  /// PUT /v1/state-machines/<name>; throws unless 200/201.
  void deploy(const std::string& name, const nlohmann::json& definition, const std::string& type = "STANDARD");
  /// POST .../executions without waiting; the execution id (throws on failure).
  std::string start(const std::string& state_machine, const nlohmann::json& input, const std::string& name = "");
  /// Starts one execution per input over `threads` connections in parallel; ids in input order.
  std::vector<std::string> start_many(const std::string& state_machine, const std::vector<nlohmann::json>& inputs,
                                      int threads = 8);
  /// GET /v1/executions/<id> (null json when not 200).
  nlohmann::json describe(const std::string& id);
  /// All history events of an execution (paged through the API).
  std::vector<nlohmann::json> history(const std::string& id);
  /// Histories of many executions, fetched over `threads` connections.
  std::vector<std::vector<nlohmann::json>> histories(const std::vector<std::string>& ids, int threads = 8);

  /// How many executions of `state_machine` are RUNNING (one Lua call; nullopt when Redis is down).
  std::optional<int64_t> running_count(const std::string& state_machine);
  /// Polls running_count until 0 or `timeout`; true when all finished.
  bool wait_all_finished(const std::string& state_machine, std::chrono::milliseconds timeout);

 private:
  TempDir dir_;
  std::unique_ptr<AofRedis> redis_;
  std::vector<std::unique_ptr<ServeProcess>> gateways_;
  std::vector<std::unique_ptr<ServeProcess>> routers_;
};

/// Load sizes for the fault-injection tests: `fast` in an optimised build, `slow` when the
/// binaries are built with sanitizers or without optimisation (several times slower), so the
/// suite stays within its time bounds everywhere.
constexpr int scaled(int fast, int slow) {
#if defined(__SANITIZE_ADDRESS__) || !defined(__OPTIMIZE__)
  (void)fast;
  return slow;
#else
  (void)slow;
  return fast;
#endif
}

/// "2026-01-02T03:04:05.678Z" -> ms since the epoch (nullopt when malformed).
std::optional<int64_t> parse_rfc3339_ms(const std::string& text);
/// Milliseconds since the epoch now (the clock history timestamps use).
int64_t wall_ms();
/// The q-quantile (0..1) of `values` (sorts a copy; 0 when empty).
int64_t quantile(std::vector<int64_t> values, double q);

}  // namespace switchyard::testing
