// The task completion client: one blocking POST per call, on its own
// io_context, so any thread (or a program without an event loop) can use it.
// Retries only what a restarting or overloaded server answers (refused
// connections, timeouts, resets, 502/503/504), inside a time budget.
#include "switchyard/function/task_client.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cctype>
#include <cstdlib>
#include <thread>

#include "switchyard/http/client.hpp"

namespace switchyard::function {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using Json = nlohmann::json;

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// The server's {"message"} when it sent one, else the raw body (shortened).
std::string server_message(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    return j["message"].get<std::string>();
  }
  return body.substr(0, 200);
}

http::Response exchange(const http::Url& url, const http::Request& req, milliseconds timeout) {
  asio::io_context io(1);
  http::Client client(io.get_executor());
  auto fut = asio::co_spawn(io, client.request(url, req, timeout), asio::use_future);
  io.run();
  return fut.get();  // rethrows http::CallError
}

}  // namespace

TaskClient::TaskClient(std::string server_url, TaskClientOptions options)
    : base_(std::move(server_url)), options_(std::move(options)) {
  while (!base_.empty() && base_.back() == '/') {
    base_.pop_back();
  }
  http::Url::parse(base_ + "/");  // validates now rather than on the first completion
}

TaskClient TaskClient::from_env(TaskClientOptions options) {
  std::string url = env_or_empty("SWITCHYARD_CALLBACK_URL");
  if (url.empty()) {
    throw std::invalid_argument("SWITCHYARD_CALLBACK_URL is not set (the gateway's URL, e.g. http://127.0.0.1:8080)");
  }
  if (options.bearer_token.empty()) {
    options.bearer_token = env_or_empty("SWITCHYARD_TOKEN");
  }
  return TaskClient(std::move(url), std::move(options));
}

void TaskClient::success(const std::string& token, const Json& output) const {
  // replace: invalid UTF-8 in an agent's strings must not become an exception here.
  post(token, "success", Json{{"output", output}}.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void TaskClient::failure(const std::string& token, const std::string& error, const std::string& cause) const {
  post(token, "failure", Json{{"error", error}, {"cause", cause}}.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void TaskClient::heartbeat(const std::string& token) const { post(token, "heartbeat", "{}"); }

void TaskClient::post(const std::string& token, const std::string& kind, const std::string& body) const {
  if (token.empty()) {
    throw TaskError(TaskError::Kind::Unknown, 0, "empty task token");
  }
  // Tokens are "<execution>_<run>_<hex>" today; encoded anyway so a token always stays one path segment.
  http::Url url = http::Url::parse(base_ + "/v1/tasks/" + http::url_encode(token) + "/" + kind);
  http::Request req;
  req.method = "POST";
  req.body = body;
  req.headers.emplace_back("Content-Type", "application/json");
  if (!options_.bearer_token.empty()) {
    req.headers.emplace_back("Authorization", "Bearer " + options_.bearer_token);
  }

  auto start = std::chrono::steady_clock::now();
  milliseconds backoff{100};
  bool maybe_arrived = false;  // an earlier attempt may have reached the server
  std::string last;
  while (true) {
    int status = 0;
    try {
      http::Response res = exchange(url, req, options_.request_timeout);
      status = res.status;
      if (status >= 200 && status <= 299) {
        return;
      }
      std::string msg = "task " + kind + ": " + std::to_string(status) + " " + server_message(res.body);
      switch (status) {
        case 404:
          throw TaskError(TaskError::Kind::Unknown, status, msg);
        case 409:
          if (maybe_arrived) {
            msg += " (an earlier attempt of this call, whose answer was lost, may have completed it)";
          }
          throw TaskError(TaskError::Kind::AlreadyCompleted, status, msg);
        case 410:
          throw TaskError(TaskError::Kind::Gone, status, msg);
        case 413:
          throw TaskError(TaskError::Kind::TooLarge, status, msg);
        case 502:
        case 503:
        case 504:
          break;  // retried below
        default:
          throw TaskError(status < 500 ? TaskError::Kind::Rejected : TaskError::Kind::Unavailable, status, msg);
      }
      maybe_arrived = true;
      last = msg;
    } catch (const http::CallError& e) {
      maybe_arrived = maybe_arrived || e.kind() != http::CallError::Kind::Connect;
      last = std::string("task ") + kind + ": " + e.what();
    }
    auto elapsed = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    if (elapsed + backoff >= options_.retry_budget) {
      throw TaskError(TaskError::Kind::Unavailable, status,
                      last + " (gave up after " + std::to_string(elapsed.count()) + " ms)");
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, milliseconds{2000});
  }
}

}  // namespace switchyard::function
