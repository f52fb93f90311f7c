// switchyard: one executable for every role (gateway, router) and the CLI verbs.
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "config.hpp"
#include "embedded_redis.hpp"
#include "switchyard/gateway/api.hpp"
#include "switchyard/http/client.hpp"
#include "switchyard/http/server.hpp"
#include "switchyard/knative/function_host.hpp"
#include "switchyard/router/clock.hpp"
#include "switchyard/router/scheduler.hpp"
#include "switchyard/router/worker.hpp"
#include "switchyard/store/redis.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace switchyard;

namespace {

const char* kUsage = R"(usage:
  switchyard serve [--roles gateway,router] [--listen HOST:PORT] [--redis URL]
                   [--data-dir DIR] [--functions FILE] [--config FILE]
                   [--function-url-template URL] [--appendfsync everysec|always]
                   [--metrics-listen HOST:PORT]  (only /metrics, /healthz, /readyz: for router-only processes)
                   [--schedule-poll-ms N]  (how often a router checks schedule triggers; 1000)
                   [--callback-url URL]  (given to local functions as SWITCHYARD_CALLBACK_URL;
                                          default: this server's --listen address)
  switchyard validate FILE...          exit 1 and every problem listed when invalid
  switchyard apply FILE...             deploy state machines (JSON or YAML, with triggers)
  switchyard start NAME [--input JSON|@FILE] [--name EXEC_NAME] [--wait [SECONDS]]
  switchyard describe EXECUTION_ID
  switchyard history EXECUTION_ID
  switchyard stop EXECUTION_ID [--error E] [--cause C]
  switchyard task success TOKEN [--output JSON]
  switchyard task failure TOKEN [--error E] [--cause C]
  switchyard task heartbeat TOKEN
client verbs take --server URL (default http://127.0.0.1:8080; env SWITCHYARD_SERVER)
auth: serve --token T (or SWITCHYARD_TOKEN) makes /v1 need "Authorization: Bearer T";
      client verbs send SWITCHYARD_TOKEN (or --token)
)";

// "HOST:PORT", "[v6]:PORT" or ":PORT" -> host (brackets removed) and port; throws std::invalid_argument.
std::pair<std::string, unsigned short> split_host_port(const std::string& s, const std::string& flag = "--listen") {
  auto colon = s.rfind(':');
  std::string port = colon == std::string::npos ? "" : s.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (colon == std::string::npos || port.empty() || ec != std::errc{} || end != port.data() + port.size() ||
      value > 65535) {
    throw std::invalid_argument(flag + " wants HOST:PORT (port 0-65535), got '" + s + "'");
  }
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return {host, static_cast<unsigned short>(value)};
}

// Where to listen for --listen / --metrics-listen: an address, or a name resolved once at start
// ("localhost"), its first address. Throws std::invalid_argument with the flag and why.
asio::ip::tcp::endpoint listen_endpoint(asio::io_context& ioc, const std::string& s, const std::string& flag) {
  auto [host, port] = split_host_port(s, flag);
  if (host.empty()) {
    host = "0.0.0.0";
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    return {address, port};
  }
  asio::ip::tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty()) {
    throw std::invalid_argument(flag + ": cannot resolve '" + host + "': " + (ec ? ec.message() : "no address"));
  }
  return results.begin()->endpoint();
}

// Where local functions reach this server's /v1/tasks API: --listen, with a wildcard host made loopback.
// "" when unknown (port 0 is only known after listening; pass --callback-url then).
std::string callback_url_for(const std::string& listen) {
  auto [host, port] = split_host_port(listen);
  if (port == 0) {
    return "";
  }
  if (host == "0.0.0.0" || host.empty()) {
    host = "127.0.0.1";
  } else if (host == "::" || host == "[::]") {
    host = "::1";
  }
  if (host.find(':') != std::string::npos && host.front() != '[') {
    host = "[" + host + "]";
  }
  return "http://" + host + ":" + std::to_string(port);
}

asio::awaitable<http::Response> metrics_port_not_found() {
  co_return gateway::error_response(404, "NotFound", "this port serves only /metrics, /healthz and /readyz");
}

int serve(const app::Settings& settings) {
  std::string roles = settings.get("roles", "gateway,router");
  bool gateway_role = roles.find("gateway") != std::string::npos;
  bool router_role = roles.find("router") != std::string::npos;
  std::string redis_url = settings.get("redis");
  std::unique_ptr<app::EmbeddedRedis> embedded;
  if (redis_url.empty()) {
    fs::path data_dir = settings.get("data-dir", ".switchyard");
    embedded = std::make_unique<app::EmbeddedRedis>(data_dir, settings.get("appendfsync", "everysec"));
    redis_url = embedded->url();
    std::cerr << "switchyard: embedded redis-server on " << redis_url << "\n";
  }

  asio::io_context ioc{1};
  auto ex = ioc.get_executor();
  store::Address address = store::Address::parse(redis_url);
  store::Redis redis(ex, address);
  store::ExecutionStore executions(redis);
  store::StateMachineStore state_machines(redis);

  // Functions: functions.yaml beside the config (or --functions), else none.
  std::map<std::string, knative::FunctionSpec> specs;
  std::string functions_file = settings.get("functions");
  if (functions_file.empty()) {
    fs::path beside = fs::path(settings.config_dir().empty() ? "." : settings.config_dir()) / "functions.yaml";
    if (fs::exists(beside)) {
      functions_file = beside.string();
    }
  }
  if (!functions_file.empty()) {
    specs = knative::load_functions_file(functions_file);
    std::cerr << "switchyard: " << specs.size() << " local function(s) from " << functions_file << "\n";
  }
  // Callback steps: a local function completes its token through the gateway (function::TaskClient::from_env).
  // A functions.yaml env entry wins over this default.
  std::string callback_url = settings.get("callback-url");
  if (callback_url.empty() && gateway_role) {
    callback_url = callback_url_for(settings.get("listen", "127.0.0.1:8080"));
  }
  if (!callback_url.empty()) {
    for (auto& [fn_name, spec] : specs) {
      spec.env.try_emplace("SWITCHYARD_CALLBACK_URL", callback_url);
    }
  }
  fs::path log_dir = fs::path(settings.get("data-dir", ".switchyard")) / "functions";
  fs::create_directories(log_dir);
  knative::LocalFunctionHost host(ex, specs, log_dir);
  knative::Resolver resolver(&host,
                             settings.get("function-url-template", "http://{name}.{namespace}.svc.cluster.local"),
                             settings.get("namespace", "default"));
  http::Client client(ex);

  router::RouterOptions options;
  options.consumer =
      settings.get("consumer", "router-" + std::to_string(getpid()) + "-" + router::random_hex128().substr(0, 6));
  // A number setting within [lo, hi], else an error naming it (std::stoll's "stoll" says nothing).
  auto number = [&settings](const std::string& name, int64_t fallback, int64_t lo, int64_t hi) {
    if (!settings.has(name)) {
      return fallback;
    }
    std::string text = settings.get(name);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v < lo || v > hi) {
      throw std::invalid_argument(name + " must be a whole number from " + std::to_string(lo) + " to " +
                                  std::to_string(hi) + ", got '" + text + "'");
    }
    return v;
  };
  constexpr int64_t kDay = 24 * 3600 * 1000;
  options.lease = std::chrono::milliseconds{number("lease-ms", options.lease.count(), 100, kDay)};
  options.schedule_poll =
      std::chrono::milliseconds{number("schedule-poll-ms", options.schedule_poll.count(), 10, kDay)};
  options.retention = std::chrono::seconds{number("retention-seconds", options.retention.count(), 1, 10 * 365 * 86400)};
  options.start_hold = std::chrono::milliseconds{number("start-hold-ms", options.start_hold.count(), 0, 60000)};
  options.index_sweep = std::chrono::milliseconds{number("index-sweep-ms", options.index_sweep.count(), 100, kDay)};
  // Limits (DESIGN §2: configurable, AWS's defaults). A payload travels in one request body, so it
  // stays under the gateway's 1 MiB body limit; a history is bounded to keep one execution's keys small.
  options.max_payload_bytes = static_cast<size_t>(
      number("max-payload-bytes", static_cast<int64_t>(options.max_payload_bytes), 1024, 1000 * 1024));
  options.max_history_events = number("max-history-events", options.max_history_events, 100, 1000000);
  router::DefinitionCache definitions(state_machines);
  router::Invoker invoker(client, resolver, &host, options);
  router::ExecutionService service(ex, executions, state_machines, definitions, invoker, options);
  std::unique_ptr<router::Worker> worker;
  std::unique_ptr<router::Scheduler> scheduler;
  gateway::GatewayOptions gateway_options;
  gateway_options.api_token = settings.get("token");
  gateway::Api api(service, state_machines, gateway_options);
  std::unique_ptr<http::Server> server;

  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await redis.connect();
        if (router_role) {
          worker = std::make_unique<router::Worker>(ex, address, service, options);
          worker->start();
          scheduler = std::make_unique<router::Scheduler>(ex, service, state_machines, redis, options);
          scheduler->start();
        }
        api.set_ready(true);
      },
      [&](const std::exception_ptr& e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex2) {
            std::cerr << "switchyard: start failed: " << ex2.what() << "\n";
          }
          ioc.stop();
        }
      });

  if (gateway_role) {
    http::ServerOptions so;
    server = std::make_unique<http::Server>(ex, so, [&](http::Request& req) { return api.handle(req); });
    auto endpoint = listen_endpoint(ioc, settings.get("listen", "127.0.0.1:8080"), "--listen");
    server->listen(endpoint);
    std::string shown =
        endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]" : endpoint.address().to_string();
    std::cerr << "switchyard: listening on http://" << shown << ":" << server->local_endpoint().port() << " (roles "
              << roles << ")\n";
  }

  // Routers have no API port: --metrics-listen gives them (or any process) one
  // for Prometheus and Kubernetes probes, without the REST API.
  std::unique_ptr<http::Server> metrics_server;
  if (settings.has("metrics-listen")) {
    metrics_server = std::make_unique<http::Server>(ex, http::ServerOptions{}, [&](http::Request& req) {
      auto p = req.path();
      return p == "/metrics" || p == "/healthz" || p == "/readyz" ? api.handle(req) : metrics_port_not_found();
    });
    auto endpoint = listen_endpoint(ioc, settings.get("metrics-listen"), "--metrics-listen");
    metrics_server->listen(endpoint);
    std::cerr << "switchyard: metrics on http://" << endpoint.address().to_string() << ":"
              << metrics_server->local_endpoint().port() << "/metrics\n";
  }

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) {
      return;
    }
    std::cerr << "switchyard: shutting down\n";
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          // Stop accepting, finish in-flight requests and work, then close.
          if (server) {
            co_await server->drain(std::chrono::seconds{10});
          }
          if (metrics_server) {
            co_await metrics_server->drain(std::chrono::seconds{1});
          }
          if (scheduler) {
            scheduler->stop();
          }
          if (worker) {
            co_await worker->stop(std::chrono::seconds{10});
          }
          host.shutdown();
          redis.close();
          ioc.stop();
        },
        asio::detached);
  });
  ioc.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    auto args = app::parse_args(argc, argv, {"wait", "help"});
    if (args.verb.empty() || args.verb == "help" || args.has("help")) {
      std::cout << kUsage;
      return args.verb.empty() ? 2 : 0;
    }
    // A mistyped option (--port for --listen) must not be silently ignored.
    static const std::vector<std::string> kServeFlags{"roles",
                                                      "listen",
                                                      "redis",
                                                      "data-dir",
                                                      "functions",
                                                      "config",
                                                      "appendfsync",
                                                      "metrics-listen",
                                                      "schedule-poll-ms",
                                                      "callback-url",
                                                      "consumer",
                                                      "lease-ms",
                                                      "start-hold-ms",
                                                      "namespace",
                                                      "retention-seconds",
                                                      "index-sweep-ms",
                                                      "max-payload-bytes",
                                                      "max-history-events",
                                                      "function-url-template",
                                                      "token",
                                                      "help"};
    static const std::vector<std::string> kClientFlags{"server", "token", "config", "input",  "name",
                                                       "wait",   "error", "cause",  "output", "help"};
    const auto& known = args.verb == "serve" ? kServeFlags : kClientFlags;
    for (const auto& [flag, value] : args.flags) {
      if (std::find(known.begin(), known.end(), flag) == known.end()) {
        std::cerr << "switchyard: unknown option --" << flag << " for '" << args.verb << "'\n" << kUsage;
        return 2;
      }
    }
    // One config file may hold both the server's settings and the clients' (server, token).
    std::vector<std::string> config_keys{"server"};
    for (const auto& k : kServeFlags) {
      if (k != "help" && k != "config") {
        config_keys.push_back(k);
      }
    }
    app::Settings settings(args, config_keys);
    if (args.verb == "serve") {
      return serve(settings);
    }
    return app::run_client_verb(args, settings);
  } catch (const std::exception& e) {
    std::cerr << "switchyard: " << e.what() << "\n";
    return 1;
  }
}
