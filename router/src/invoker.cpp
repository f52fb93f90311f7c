#include "switchyard/router/invoker.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <cctype>

#include "switchyard/router/clock.hpp"

namespace switchyard::router {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kWaitSuffix = ".waitForTaskToken";

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string_view strip_wait(std::string_view r) {
  if (r.size() > kWaitSuffix.size() && r.substr(r.size() - kWaitSuffix.size()) == kWaitSuffix) {
    r.remove_suffix(kWaitSuffix.size());
  }
  return r;
}

// "arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]" -> NAME
std::string lambda_name(std::string_view arn) {
  auto pos = arn.find(":function:");
  if (pos == std::string_view::npos) {
    return std::string(arn);
  }
  auto rest = arn.substr(pos + 10);
  return std::string(rest.substr(0, rest.find(':')));
}

std::string truncate(std::string s, size_t n = 2048) {
  if (s.size() > n) {
    s.resize(n);
  }
  return s;
}

bool cold_start_status(int status) { return status == 502 || status == 503 || status == 504; }

}  // namespace

ResourceTarget parse_resource(std::string_view resource) {
  auto r = strip_wait(resource);
  if (starts_with(r, "fn:")) {
    return {ResourceTarget::Kind::Function, std::string(r.substr(3))};
  }
  if (starts_with(r, "http://") || starts_with(r, "https://")) {
    return {ResourceTarget::Kind::Url, std::string(r)};
  }
  if (starts_with(r, "arn:aws:lambda:")) {
    return {ResourceTarget::Kind::LambdaFunction, lambda_name(r)};
  }
  if (r == "arn:aws:states:::lambda:invoke") {
    return {ResourceTarget::Kind::LambdaInvoke, ""};
  }
  if (r == "arn:aws:states:::http:invoke") {
    return {ResourceTarget::Kind::HttpInvoke, ""};
  }
  return {ResourceTarget::Kind::Unsupported, std::string(resource)};
}

asio::awaitable<Result<http::Response>> Invoker::send(const std::string& function, const std::string& url,
                                                      http::Request req, milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + timeout;
  // Cold starts (a scale-from-zero service answering 502/503/504 or refusing
  // connections) are retried inside this budget, never past the Task timeout.
  auto cold_deadline = std::min(deadline, start + options_.cold_start_budget);
  milliseconds backoff{25};
  while (true) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      co_return Error{"States.Timeout", "the function did not answer within the Task timeout"};
    }
    bool retryable = false;
    std::string why;
    try {
      http::Url target;
      std::optional<knative::Lease> lease;
      if (!function.empty() && host_ != nullptr && host_->has(function)) {
        lease.emplace(co_await host_->acquire(function, left));
        target = lease->url;
        left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      } else if (!function.empty()) {
        auto resolved = resolver_.resolve_function(function);
        if (!resolved) {
          co_return Error{"States.TaskFailed", resolved.error().cause};
        }
        target = resolved->url;
      } else {
        target = http::Url::parse(url);
      }
      auto resp = co_await client_.request(target, req, left);
      if (!cold_start_status(resp.status)) {
        co_return resp;
      }
      retryable = true;
      why = "HTTP " + std::to_string(resp.status);
      if (std::chrono::steady_clock::now() + backoff >= cold_deadline) {
        co_return resp;
      }
    } catch (const http::CallError& e) {
      using K = http::CallError::Kind;
      if (e.kind() == K::Timeout) {
        co_return Error{"States.Timeout", "the function did not answer within the Task timeout"};
      }
      if (e.kind() == K::TooLarge) {
        co_return Error{"States.DataLimitExceeded", e.what()};
      }
      retryable = e.kind() == K::Connect || e.kind() == K::Reset;
      why = e.what();
      if (!retryable || std::chrono::steady_clock::now() + backoff >= cold_deadline) {
        co_return Error{"States.TaskFailed", "calling the function failed: " + why};
      }
    } catch (const std::invalid_argument& e) {
      co_return Error{"States.TaskFailed", std::string("bad function URL: ") + e.what()};
    } catch (const std::runtime_error& e) {
      // The local function host could not start or reach the function.
      if (std::chrono::steady_clock::now() + backoff >= cold_deadline) {
        co_return Error{"States.TaskFailed", std::string("calling the function failed: ") + e.what()};
      }
    }
    asio::steady_timer t(ex, backoff);
    co_await t.async_wait(asio::use_awaitable);
    backoff = std::min(backoff * 2, milliseconds{1000});
  }
}

asio::awaitable<Result<Json>> Invoker::call(const asl::InvokeTask& task, const CallMeta& meta) {
  auto target = parse_resource(task.resource);
  milliseconds timeout = task.timeout_ms ? milliseconds{*task.timeout_ms} : options_.default_task_timeout;

  http::Request req;
  req.method = "POST";
  // Emplaced, not from an initializer list (which copies every string once more): once per Task call.
  req.headers.reserve(12);
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("Idempotency-Key", meta.idempotency_key);
  req.headers.emplace_back("Switchyard-Execution", meta.execution);
  req.headers.emplace_back("Switchyard-State", meta.state);
  req.headers.emplace_back("Switchyard-Attempt", std::to_string(meta.attempt));
  req.headers.emplace_back("Switchyard-Deadline", rfc3339(now_ms() + timeout.count()));
  req.headers.emplace_back("ce-specversion", "1.0");
  req.headers.emplace_back("ce-id", meta.idempotency_key);
  req.headers.emplace_back("ce-source", "switchyard/" + meta.state_machine);
  req.headers.emplace_back("ce-type", "dev.switchyard.task.invoke");
  {
    // W3C trace context: one trace per execution, one span per call.
    std::string trace;
    for (char c : meta.execution) {
      if (std::isxdigit(static_cast<unsigned char>(c)) != 0 && trace.size() < 32) {
        trace += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
    }
    trace.resize(32, '0');
    // The span id only has to be unique, not secret: a cheap generator, not the CSPRNG.
    uint64_t span = fast_random_u64() | 1;  // never all zeros (W3C)
    std::string header = "00-" + trace + "-";
    for (int shift = 60; shift >= 0; shift -= 4) {
      header += "0123456789abcdef"[(span >> shift) & 15];
    }
    header += "-01";
    req.headers.emplace_back("traceparent", std::move(header));
  }
  if (task.wait_for_token) {
    req.headers.emplace_back("Switchyard-Task-Token", task.task_token);
  }

  std::string function;
  std::string url;
  bool lambda = false;
  bool wrap_lambda_invoke = false;
  switch (target.kind) {
    case ResourceTarget::Kind::Function:
      function = target.name;
      req.body = dump_json(task.payload);
      break;
    case ResourceTarget::Kind::Url:
      url = target.name;
      req.body = dump_json(task.payload);
      break;
    case ResourceTarget::Kind::LambdaFunction:
      function = target.name;
      lambda = true;
      req.body = dump_json(task.payload);
      break;
    case ResourceTarget::Kind::LambdaInvoke: {
      if (!task.payload.is_object() || !task.payload.contains("FunctionName") ||
          !task.payload["FunctionName"].is_string()) {
        co_return Error{"States.Runtime", "lambda:invoke needs Parameters.FunctionName (a string)"};
      }
      std::string fname = task.payload["FunctionName"].get<std::string>();
      if (starts_with(fname, "http://") || starts_with(fname, "https://")) {
        url = fname;
      } else {
        function = lambda_name(fname);
      }
      lambda = true;
      wrap_lambda_invoke = !task.wait_for_token;
      req.body = task.payload.contains("Payload") ? task.payload["Payload"].dump() : std::string("{}");
      break;
    }
    case ResourceTarget::Kind::HttpInvoke: {
      const Json& p = task.payload;
      if (!p.is_object() || !p.contains("ApiEndpoint") || !p["ApiEndpoint"].is_string()) {
        co_return Error{"States.Runtime", "http:invoke needs Parameters.ApiEndpoint (a string)"};
      }
      url = p["ApiEndpoint"].get<std::string>();
      if (p.contains("QueryParameters") && p["QueryParameters"].is_object() && !p["QueryParameters"].empty()) {
        std::string q;
        for (const auto& [k, v] : p["QueryParameters"].items()) {
          // An array value repeats the parameter (Step Functions' default URL encoding).
          for (const auto& one : v.is_array() ? v : Json::array({v})) {
            q += (q.empty() ? "" : "&") + http::url_encode(k) + "=" +
                 http::url_encode(one.is_string() ? one.get<std::string>() : one.dump());
          }
        }
        url += (url.find('?') == std::string::npos ? "?" : "&") + q;
      }
      req.method = p.value("Method", std::string("GET"));
      if (p.contains("Headers") && p["Headers"].is_object()) {
        for (const auto& [k, v] : p["Headers"].items()) {
          // A header set in the state replaces Switchyard's (e.g. Content-Type).
          std::erase_if(req.headers, [&k](const auto& h) { return boost::beast::iequals(h.first, k); });
          req.headers.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
        }
      }
      req.body = p.contains("RequestBody")
                     ? (p["RequestBody"].is_string() ? p["RequestBody"].get<std::string>() : p["RequestBody"].dump())
                     : std::string();
      auto resp = co_await send("", url, std::move(req), timeout);
      if (!resp) {
        co_return std::move(resp).error();
      }
      Json headers = Json::object();
      for (const auto& [k, v] : resp->headers) {
        // Lower-case names (HTTP/2 style) give a stable path like $.Headers.content-type; values are lists.
        std::string name;
        for (char c : k) {
          name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        headers[name].push_back(v);
      }
      Json body = Json::parse(resp->body, nullptr, false);
      if (body.is_discarded()) {
        body = resp->body;
      }
      if (resp->status < 200 || resp->status > 299) {
        co_return Error{"States.Http.StatusCode." + std::to_string(resp->status), truncate(resp->body)};
      }
      co_return Json{
          {"Headers", headers},
          {"ResponseBody", body},
          {"StatusCode", resp->status},
          {"StatusText",
           std::string(boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(resp->status)))}};
    }
    case ResourceTarget::Kind::Unsupported:
      co_return Error{"States.TaskFailed",
                      "unsupported Resource '" + task.resource + "' (use fn:<name>, http(s)://..., or a Lambda ARN)"};
  }

  auto resp = co_await send(function, url, std::move(req), timeout);
  if (!resp) {
    co_return std::move(resp).error();
  }
  if (resp->status >= 200 && resp->status <= 299) {
    Json result = nullptr;
    if (!resp->body.empty()) {
      result = Json::parse(resp->body, nullptr, false);
      if (result.is_discarded()) {
        co_return Error{"States.TaskFailed", "the function's answer is not JSON: " + truncate(resp->body, 256)};
      }
      if (!within_depth(result)) {
        co_return Error{"States.TaskFailed",
                        "the function's answer nests deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
      }
    }
    if (wrap_lambda_invoke) {
      co_return Json{{"ExecutedVersion", "$LATEST"}, {"Payload", std::move(result)}, {"StatusCode", 200}};
    }
    co_return result;
  }
  Json err = Json::parse(resp->body, nullptr, false);
  if (!err.is_discarded() && err.is_object() && err.contains("errorType") && err["errorType"].is_string()) {
    std::string name = err["errorType"].get<std::string>();
    if (lambda) {
      // Lambda reports the whole error object as the cause.
      co_return Error{name, err.dump()};
    }
    std::string msg = err.contains("errorMessage") && err["errorMessage"].is_string()
                          ? err["errorMessage"].get<std::string>()
                          : std::string();
    co_return Error{name, msg};
  }
  co_return Error{"States.Http.StatusCode." + std::to_string(resp->status), truncate(resp->body)};
}

}  // namespace switchyard::router
