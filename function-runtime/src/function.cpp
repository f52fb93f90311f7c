/*
 * The function SDK: an http::Server on one io thread in front of a thread pool.
 * Health checks are answered on the io thread; each POST is handed to the pool
 * (the handler is user code that may block or burn CPU) and its finished
 * response comes back to the io thread, which writes it. SIGTERM/SIGINT start a
 * drain: no new connections, in-flight calls finish (up to 10 s), then exit 0.
 */
#include "switchyard/function/function.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "switchyard/http/server.hpp"

namespace switchyard::function {

namespace asio = boost::asio;

namespace {

// A SIGTERM'd pod gets terminationGracePeriodSeconds (30 s by default); finish well inside it.
constexpr std::chrono::seconds kDrainGrace{10};

http::Response json_response(int status, const Json& body) {
  http::Response res;
  res.status = status;
  res.headers.emplace_back("Content-Type", "application/json");
  // Invalid UTF-8 in a handler's strings must not turn a result into an exception here.
  res.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return res;
}

http::Response error_envelope(int status, std::string_view type, std::string_view message) {
  return json_response(status, Json{{"errorType", type}, {"errorMessage", message}});
}

int parse_int(std::string_view s, int fallback) {
  int value = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), value);
  return (r.ec == std::errc{} && r.ptr == s.data() + s.size()) ? value : fallback;
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : std::move(fallback);
}

// Runs invoke() on the pool and resumes the caller (on the io thread) with the response.
asio::awaitable<http::Response> invoke_on(asio::thread_pool& pool, std::atomic<int>& busy, const Handler& handler,
                                          const http::Request& req) {
  co_return co_await asio::co_spawn(
      pool,
      [&]() -> asio::awaitable<http::Response> {
        ++busy;
        http::Response res = invoke(handler, req);
        --busy;
        co_return res;
      },
      asio::use_awaitable);
}

}  // namespace

http::Response invoke(const Handler& handler, const http::Request& req) {
  std::string_view path = req.path();
  if (req.method == "GET" || req.method == "HEAD") {
    if (path == "/" || path == "/healthz") {
      return json_response(200, Json{{"status", "ok"}});
    }
    return error_envelope(404, "NotFound", "no such path: " + std::string(path));
  }
  if (req.method != "POST") {
    auto res = error_envelope(405, "MethodNotAllowed", "functions are called with POST");
    res.headers.emplace_back("Allow", "GET, HEAD, POST");
    return res;
  }

  Call call;
  if (!blank(req.body)) {
    call.input = Json::parse(req.body, nullptr, false);
    if (call.input.is_discarded()) {
      return error_envelope(400, "InvalidInput", "the request body is not valid JSON");
    }
  }
  call.idempotency_key = req.header("Idempotency-Key");
  call.execution = req.header("Switchyard-Execution");
  call.state = req.header("Switchyard-State");
  call.attempt = parse_int(req.header("Switchyard-Attempt"), 0);
  call.task_token = req.header("Switchyard-Task-Token");
  call.request = &req;

  try {
    return json_response(200, handler(call));
  } catch (const Failure& f) {
    return error_envelope(500, f.name().empty() ? "Error" : f.name(), f.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "function: handler threw: %s\n", e.what());
    return error_envelope(500, "Error", e.what());
  } catch (...) {
    std::fprintf(stderr, "function: handler threw a non-exception\n");
    return error_envelope(500, "Error", "unknown error");
  }
}

int serve(Handler handler) {
  std::string host = env_or("SWITCHYARD_FUNCTION_HOST", env_or("LISTEN_HOST", "0.0.0.0"));
  int port = parse_int(env_or("PORT", "8080"), -1);
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "function: PORT must be a number from 0 to 65535\n");
    return 2;
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    std::fprintf(stderr, "function: listen host must be an IP address: %s\n", host.c_str());
    return 2;
  }

  asio::io_context io(1);  // one thread: lets Asio skip its locks
  asio::thread_pool pool(std::max(2U, std::thread::hardware_concurrency()));
  std::atomic<int> busy{0};
  http::Server server(io.get_executor(), http::ServerOptions{},
                      [&](http::Request& req) -> asio::awaitable<http::Response> {
                        if (req.method != "POST") {
                          co_return invoke(handler, req);  // health checks: cheap, stay on the io thread
                        }
                        co_return co_await invoke_on(pool, busy, handler, req);
                      });
  try {
    server.listen({address, static_cast<unsigned short>(port)});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "function: cannot listen on %s:%d: %s\n", host.c_str(), port, e.what());
    return 1;
  }

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& sec, int sig) {
    if (sec) {
      return;
    }
    std::fprintf(stderr, "function: signal %d, draining\n", sig);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await server.drain(kDrainGrace);
          io.stop();
        },
        asio::detached);
  });

  std::fprintf(stderr, "listening on %u\n", static_cast<unsigned>(server.local_endpoint().port()));
  io.run();

  if (busy.load() > 0) {
    // A handler outlived the grace period; joining the pool would hang the exit.
    std::fprintf(stderr, "function: exiting with %d handler(s) still running\n", busy.load());
    std::fflush(stderr);
    std::_Exit(0);
  }
  pool.join();
  return 0;
}

}  // namespace switchyard::function
