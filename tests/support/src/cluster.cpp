#include "switchyard/testing/cluster.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "switchyard/testing/switchyard.hpp"

namespace switchyard::testing {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

// Calls fn(0..n-1) from `threads` threads; the first exception (its message) is rethrown after all joined.
void for_each_parallel(size_t n, int threads, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::string failure;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) {
        try {
          fn(i);
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lock(mu);
          failure = e.what();
        }
      }
    });
  }
  for (auto& th : pool) {
    th.join();
  }
  if (!failure.empty()) {
    throw std::runtime_error(failure);
  }
}

std::string tail_of(const std::string& s, size_t n) { return s.size() <= n ? s : "..." + s.substr(s.size() - n); }

}  // namespace

// ---- AofRedis ----------------------------------------------------------------------

AofRedis::AofRedis(std::string appendfsync) : appendfsync_(std::move(appendfsync)) {
  socket_ = (dir_.path() / "redis.sock").string();
  start();
}

AofRedis::~AofRedis() = default;

std::string AofRedis::cli(const std::string& args) const {
  return run_capture("redis-cli -s '" + socket_ + "' " + args + " 2>/dev/null");
}

int64_t AofRedis::command_calls(const std::string& command) const {
  std::string stats = cli("INFO commandstats");
  std::string key = "cmdstat_" + command + ":calls=";
  auto at = stats.find(key);
  return at == std::string::npos ? 0 : std::stoll(stats.substr(at + key.size()));
}

std::optional<int64_t> AofRedis::cli_int(const std::string& args) const {
  std::string out = cli(args);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) {
    out.pop_back();
  }
  if (out.empty()) {
    return std::nullopt;
  }
  try {
    size_t pos = 0;
    int64_t v = std::stoll(out, &pos);
    if (pos != out.size()) {
      return std::nullopt;
    }
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void AofRedis::kill() {
  if (process_ && process_->running()) {
    process_->signal(SIGKILL);
    process_->wait(milliseconds{10000});
  }
  process_.reset();
}

void AofRedis::terminate() {
  if (process_ && process_->running()) {
    process_->signal(SIGTERM);
    if (!process_->wait(milliseconds{20000})) {
      process_->signal(SIGKILL);
      process_->wait(milliseconds{5000});
    }
  }
  process_.reset();
}

void AofRedis::start() {
  process_.reset();
  std::error_code ec;
  fs::remove(socket_, ec);  // a crash leaves the socket file behind
  process_ = std::make_unique<Process>(
      std::vector<std::string>{"redis-server", "--port", "0", "--unixsocket", socket_, "--unixsocketperm", "700",
                               "--dir", dir_.path().string(), "--appendonly", "yes", "--appendfsync", appendfsync_,
                               "--save", "", "--maxclients", "1000"},
      std::map<std::string, std::string>{}, dir_.path() / "redis.log");
  // Loading a large AOF takes a while; PING answers LOADING until it is done.
  bool up = wait_until([&] { return cli("PING").find("PONG") != std::string::npos; }, milliseconds{20000});
  if (!up) {
    throw std::runtime_error("redis-server did not start: " + process_->log());
  }
}

bool AofRedis::running() { return process_ && process_->running(); }

pid_t AofRedis::pid() const { return process_ ? process_->pid() : -1; }

int64_t AofRedis::used_memory() const {
  std::string info = cli("INFO memory");
  auto pos = info.find("used_memory:");
  if (pos == std::string::npos) {
    return 0;
  }
  return std::stoll(info.substr(pos + 12));
}

// ---- ServeProcess --------------------------------------------------------------------

ServeProcess::ServeProcess(std::string name, fs::path dir, std::vector<std::string> args, int port, int metrics_port)
    : name_(std::move(name)), dir_(std::move(dir)), args_(std::move(args)), port_(port), metrics_port_(metrics_port) {
  start();
}

ServeProcess::~ServeProcess() {
  if (process_ && process_->running()) {
    // Resume first: a stopped process cannot handle SIGTERM.
    process_->signal(SIGCONT);
    terminate(milliseconds{5000});
  }
}

void ServeProcess::start() {
  ++incarnation_;
  std::vector<std::string> argv{SWITCHYARD_BINARY, "serve", "--data-dir", (dir_ / (name_ + "-data")).string()};
  argv.insert(argv.end(), args_.begin(), args_.end());
  if (port_ > 0) {
    consumer_.clear();
    argv.emplace_back("--listen");
    argv.push_back("127.0.0.1:" + std::to_string(port_));
  } else {
    consumer_ = name_ + "-" + std::to_string(incarnation_);
    argv.emplace_back("--consumer");
    argv.push_back(consumer_);
    if (metrics_port_ > 0) {
      argv.emplace_back("--metrics-listen");
      argv.push_back("127.0.0.1:" + std::to_string(metrics_port_));
    }
  }
  { std::ofstream(dir_ / (name_ + ".log"), std::ios::app) << "---- start #" << incarnation_ << "\n"; }
  process_ = std::make_unique<Process>(argv, std::map<std::string, std::string>{}, dir_ / (name_ + ".log"));
  if (port_ > 0) {
    bool ready = wait_until(
        [&] {
          return !process_->running() ||
                 http_request(port_, "GET", "/readyz", "", {}, milliseconds{2000}).status == 200;
        },
        std::chrono::seconds{30});
    if (!ready || !process_->running()) {
      throw std::runtime_error(name_ + " did not become ready:\n" + log());
    }
  }
}

void ServeProcess::kill9() {
  if (process_ && process_->running()) {
    process_->signal(SIGKILL);
    process_->wait(milliseconds{10000});
  }
}

void ServeProcess::terminate(milliseconds grace) {
  if (process_ && process_->running()) {
    process_->signal(SIGTERM);
    if (!process_->wait(grace)) {
      process_->signal(SIGKILL);
      process_->wait(milliseconds{5000});
    }
  }
}

void ServeProcess::pause() const { process_->signal(SIGSTOP); }
void ServeProcess::resume() const { process_->signal(SIGCONT); }
bool ServeProcess::running() { return process_ && process_->running(); }
pid_t ServeProcess::pid() const { return process_ ? process_->pid() : -1; }

std::string ServeProcess::log() const {
  std::ifstream in(dir_ / (name_ + ".log"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double ServeProcess::metric(const std::string& series) const {
  int port = metrics_port_ > 0 ? metrics_port_ : port_;  // a gateway's API port serves /metrics too
  if (port <= 0) {
    return 0;
  }
  auto r = http_request(port, "GET", "/metrics", "", {}, milliseconds{5000});
  // Prometheus text: "<series> <value>" per line.
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return 0;
}

int64_t ServeProcess::rss_bytes() const {
  if (!process_) {
    return 0;
  }
  std::ifstream in("/proc/" + std::to_string(process_->pid()) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoll(line.substr(6)) * 1024;
    }
  }
  return 0;
}

// ---- Cluster ----------------------------------------------------------------------------

Cluster::Cluster(ClusterOptions options) {
  redis_ = std::make_unique<AofRedis>(options.appendfsync);
  auto functions = dir_.path() / "functions.yaml";
  std::ofstream(functions) << example_functions_yaml();
  for (int i = 0; i < options.gateways; ++i) {
    std::vector<std::string> args{"--roles", "gateway", "--redis", redis_->url()};
    args.insert(args.end(), options.common_args.begin(), options.common_args.end());
    args.insert(args.end(), options.gateway_args.begin(), options.gateway_args.end());
    gateways_.push_back(std::make_unique<ServeProcess>("gateway" + std::to_string(i), dir_.path(), args, free_port()));
  }
  for (int i = 0; i < options.routers; ++i) {
    std::vector<std::string> args{"--roles",     "router",           "--redis",    redis_->url(),
                                  "--functions", functions.string(), "--lease-ms", std::to_string(options.lease_ms)};
    args.insert(args.end(), options.common_args.begin(), options.common_args.end());
    args.insert(args.end(), options.router_args.begin(), options.router_args.end());
    routers_.push_back(std::make_unique<ServeProcess>("router" + std::to_string(i), dir_.path(), args, 0,
                                                      options.router_metrics ? free_port() : 0));
  }
}

Cluster::~Cluster() {
  // Routers and gateways first (they hold connections), then Redis.
  routers_.clear();
  gateways_.clear();
  redis_.reset();
}

std::string Cluster::logs() const {
  std::string out;
  for (const auto& g : gateways_) {
    out += "== gateway log:\n" + tail_of(g->log(), 3000) + "\n";
  }
  for (const auto& r : routers_) {
    out += "== router log:\n" + tail_of(r->log(), 3000) + "\n";
  }
  return out;
}

std::string Cluster::health() {
  std::string out;
  auto check = [&](ServeProcess& p, const std::string& what) {
    if (!p.running()) {
      out += what + " is not running\n";
    }
    std::istringstream in(p.log());
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("Sanitizer") != std::string::npos || line.find("runtime error:") != std::string::npos) {
        out += what + ": " + line + "\n";
      }
    }
  };
  for (size_t i = 0; i < gateways_.size(); ++i) {
    check(*gateways_[i], "gateway " + std::to_string(i));
  }
  for (size_t i = 0; i < routers_.size(); ++i) {
    check(*routers_[i], "router " + std::to_string(i));
  }
  return out;
}

void Cluster::deploy(const std::string& name, const Json& definition, const std::string& type) {
  Json body{{"type", type}, {"definition", definition}};
  auto r = http_request(port(), "PUT", "/v1/state-machines/" + name, body.dump());
  if (r.status != 200 && r.status != 201) {
    throw std::runtime_error("deploy " + name + ": " + std::to_string(r.status) + " " + r.body);
  }
}

std::string Cluster::start(const std::string& state_machine, const Json& input, const std::string& name) {
  Json body{{"input", input}};
  if (!name.empty()) {
    body["name"] = name;
  }
  auto r = http_request(port(), "POST", "/v1/state-machines/" + state_machine + "/executions", body.dump());
  Json j = Json::parse(r.body, nullptr, false);
  if ((r.status != 201 && r.status != 200) || !j.is_object() || !j.contains("executionId")) {
    throw std::runtime_error("start " + state_machine + ": " + std::to_string(r.status) + " " + r.body);
  }
  return j["executionId"].get<std::string>();
}

std::vector<std::string> Cluster::start_many(const std::string& state_machine, const std::vector<Json>& inputs,
                                             int threads) {
  std::vector<std::string> ids(inputs.size());
  for_each_parallel(inputs.size(), threads, [&](size_t i) { ids[i] = start(state_machine, inputs[i]); });
  return ids;
}

Json Cluster::describe(const std::string& id) {
  auto r = http_request(port(), "GET", "/v1/executions/" + id);
  if (r.status != 200) {
    return Json();
  }
  return Json::parse(r.body, nullptr, false);
}

std::vector<Json> Cluster::history(const std::string& id) {
  std::vector<Json> events;
  // Bounded: 30 pages of 1000 is beyond the 25,000-event limit.
  for (int page = 0; page < 30; ++page) {
    auto r = http_request(port(), "GET",
                          "/v1/executions/" + id + "/history?limit=1000&after=" + std::to_string(events.size()));
    if (r.status != 200) {
      throw std::runtime_error("history " + id + ": " + std::to_string(r.status) + " " + r.body);
    }
    Json j = Json::parse(r.body);
    auto& evs = j.at("events");
    for (auto& e : evs) {
      events.push_back(std::move(e));
    }
    if (evs.size() < 1000) {
      break;
    }
  }
  return events;
}

std::vector<std::vector<Json>> Cluster::histories(const std::vector<std::string>& ids, int threads) {
  std::vector<std::vector<Json>> out(ids.size());
  for_each_parallel(ids.size(), threads, [&](size_t i) { out[i] = history(ids[i]); });
  return out;
}

std::optional<int64_t> Cluster::running_count(const std::string& state_machine) {
  // One script instead of one GET per execution; read-only and short.
  const char* script =
      "local n = 0 "
      "for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do "
      "if redis.call('HGET', 'sy:x:{' .. id .. '}', 'status') == 'RUNNING' then n = n + 1 end "
      "end "
      "return n";
  return redis_->cli_int(std::string("EVAL \"") + script + "\" 1 sy:xs:" + state_machine);
}

bool Cluster::wait_all_finished(const std::string& state_machine, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto n = running_count(state_machine);
    if (n && *n == 0) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds{200});
  }
  auto n = running_count(state_machine);
  return n && *n == 0;
}

// ---- helpers ------------------------------------------------------------------------------

std::optional<int64_t> parse_rfc3339_ms(const std::string& text) {
  std::tm tm{};
  int ms = 0;
  char frac[16] = {0};
  // "YYYY-MM-DDTHH:MM:SS[.fff]Z"
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%15[^Z]", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                      &tm.tm_min, &tm.tm_sec, frac);
  if (n < 6) {
    return std::nullopt;
  }
  if (n == 7 && frac[0] == '.') {
    std::string f = std::string(frac + 1) + "000";
    ms = std::stoi(f.substr(0, 3));
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  time_t secs = timegm(&tm);
  return static_cast<int64_t>(secs) * 1000 + ms;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int64_t quantile(std::vector<int64_t> values, double q) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  auto idx = static_cast<size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(idx, values.size() - 1)];
}

}  // namespace switchyard::testing
