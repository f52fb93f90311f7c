#include "switchyard/gateway/api.hpp"

#include <iostream>

#include "switchyard/common/metrics.hpp"
#include "switchyard/gateway/triggers.hpp"
#include "switchyard/gateway/yaml.hpp"
#include "switchyard/store/keys.hpp"

namespace switchyard::gateway {

namespace asio = boost::asio;
using std::chrono::milliseconds;

http::Response json_response(int status, const Json& body) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = body.dump();
  return r;
}

http::Response error_response(int status, const std::string& code, const std::string& message) {
  return json_response(status, Json{{"error", code}, {"message", message}});
}

namespace {

// Names appear in keys and URLs: keep them to a safe alphabet (Step Functions' rule).
bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 80) {
    return false;
  }
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') {
      ++i;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) {
      j = path.size();
    }
    if (j > i) {
      parts.push_back(http::url_decode(path.substr(i, j - i)));
    }
    i = j;
  }
  return parts;
}

int64_t int_param(const http::Request& req, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  auto v = req.query(name);
  if (!v || v->empty()) {
    return fallback;
  }
  try {
    return std::clamp<int64_t>(std::stoll(*v), lo, hi);
  } catch (const std::exception&) {
    return fallback;
  }
}

// The route template of a path, for metrics labels: names, ids and tokens are
// left out so that the number of series stays bounded whatever clients send.
std::string_view route_label(std::string_view path) {
  std::string_view p[5];
  size_t n = 0;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') {
      ++i;
    }
    size_t j = std::min(path.find('/', i), path.size());
    if (j > i) {
      if (n == 5) {
        return "other";
      }
      p[n++] = path.substr(i, j - i);
    }
    i = j;
  }
  if (n == 1 && (p[0] == "healthz" || p[0] == "readyz" || p[0] == "metrics")) {
    return p[0] == "healthz" ? "/healthz" : p[0] == "readyz" ? "/readyz" : "/metrics";
  }
  if (n < 2 || p[0] != "v1") {
    return "other";
  }
  if (p[1] == "state-machines") {
    return n == 2                           ? "/v1/state-machines"
           : n == 3                         ? "/v1/state-machines/{name}"
           : n == 4 && p[3] == "executions" ? "/v1/state-machines/{name}/executions"
                                            : "other";
  }
  if (p[1] == "executions") {
    return n == 2                        ? "/v1/executions"
           : n == 3                      ? "/v1/executions/{id}"
           : n == 4 && p[3] == "history" ? "/v1/executions/{id}/history"
           : n == 4 && p[3] == "stop"    ? "/v1/executions/{id}/stop"
                                         : "other";
  }
  if (p[1] == "tasks" && n == 4) {
    return p[3] == "success"     ? "/v1/tasks/{token}/success"
           : p[3] == "failure"   ? "/v1/tasks/{token}/failure"
           : p[3] == "heartbeat" ? "/v1/tasks/{token}/heartbeat"
                                 : "other";
  }
  if (p[1] == "hooks" && n == 3) {
    return "/v1/hooks/{hook}";
  }
  if (p[1] == "events" && n == 2) {
    return "/v1/events";
  }
  return "other";
}

std::string_view method_label(const std::string& m) {
  for (std::string_view known : {"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS"}) {
    if (m == known) {
      return known;
    }
  }
  return "other";  // methods are client-chosen tokens: keep the label set bounded
}

struct HttpMetrics {
  metrics::CounterFamily& requests;
  metrics::HistogramFamily& seconds;
  static HttpMetrics& get() {
    auto& r = metrics::default_registry();
    static HttpMetrics m{r.counter("switchyard_http_requests_total", "HTTP requests answered by the gateway.",
                                   {"method", "route", "status"}),
                         r.histogram("switchyard_http_request_duration_seconds",
                                     "HTTP request handling time (a ?wait= request includes its wait).", {"route"})};
    return m;
  }
};

bool needs_api_token(std::string_view path) {
  for (std::string_view open : {"/v1/hooks/", "/v1/tasks/", "/v1/events"}) {
    if (path.substr(0, open.size()) == open) {
      return false;
    }
  }
  return path.substr(0, 4) == "/v1/" || path == "/v1";
}

// A request body as JSON: empty is {}, unparsable or too deeply nested is discarded (callers answer 400).
Json parse_body(const std::string& text) {
  if (text.empty()) {
    return Json::object();
  }
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_discarded() && !within_depth(j)) {
    return Json(Json::value_t::discarded);
  }
  return j;
}

}  // namespace

bool Api::authorized(const http::Request& req) const {
  if (options_.api_token.empty() || !needs_api_token(req.path())) {
    return true;
  }
  std::string_view auth = req.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  return auth.substr(0, kBearer.size()) == kBearer &&
         constant_time_equal(auth.substr(kBearer.size()), options_.api_token);
}

asio::awaitable<http::Response> Api::handle(http::Request& req) {
  auto started = std::chrono::steady_clock::now();
  http::Response resp;
  try {
    if (!authorized(req)) {
      resp = error_response(401, "Unauthorized", "this server needs \"Authorization: Bearer <SWITCHYARD_TOKEN>\"");
      resp.headers.emplace_back("WWW-Authenticate", "Bearer");
    } else {
      resp = co_await route(req);
    }
  } catch (const store::RedisError& e) {
    // Redis unreachable: nothing was lost, the client can retry.
    resp = error_response(503, "Unavailable", std::string("state store unavailable: ") + e.what());
  } catch (const std::exception& e) {
    std::cerr << "switchyard: " << req.method << " " << req.target << " failed: " << e.what() << "\n";
    resp = error_response(500, "InternalError", e.what());
  }
  auto& m = HttpMetrics::get();
  auto label = route_label(req.path());
  m.requests.with({method_label(req.method), label, std::to_string(resp.status)}).inc();
  m.seconds.with({label}).observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  co_return resp;
}

asio::awaitable<http::Response> Api::route(http::Request& req) {
  auto parts = split_path(req.path());
  const std::string& m = req.method;
  if (parts.size() == 1 && (parts[0] == "healthz" || parts[0] == "readyz")) {
    if (parts[0] == "readyz" && !ready_) {
      co_return error_response(503, "NotReady", "starting");
    }
    co_return json_response(200, Json{{"status", "ok"}});
  }
  if (parts.size() == 1 && parts[0] == "metrics" && m == "GET") {
    http::Response r;
    r.status = 200;
    r.headers.emplace_back("Content-Type", std::string(metrics::kContentType));
    r.body = metrics::default_registry().render();
    co_return r;
  }
  if (parts.empty() || parts[0] != "v1") {
    co_return error_response(404, "NotFound", "no route for " + std::string(req.path()));
  }
  if (parts.size() >= 2 && parts[1] == "state-machines") {
    if (parts.size() == 2 && m == "GET") {
      co_return co_await list_state_machines(req);
    }
    if (parts.size() >= 3 && !valid_name(parts[2])) {
      co_return error_response(400, "InvalidName", "names are 1-80 characters of letters, digits, '-', '_' and '.'");
    }
    if (parts.size() == 3) {
      if (m == "PUT") {
        co_return co_await put_state_machine(parts[2], req);
      }
      if (m == "GET") {
        co_return co_await get_state_machine(parts[2]);
      }
      if (m == "DELETE") {
        if (!co_await state_machines_.remove(parts[2])) {
          co_return error_response(404, "NotFound", "state machine '" + parts[2] + "' does not exist");
        }
        co_return json_response(200, Json{{"name", parts[2]}, {"deleted", true}});
      }
      co_return error_response(405, "MethodNotAllowed", m + " is not allowed here");
    }
    if (parts.size() == 4 && parts[3] == "executions") {
      if (m == "POST") {
        co_return co_await start_execution(parts[2], req);
      }
      co_return error_response(405, "MethodNotAllowed", m + " is not allowed here");
    }
  }
  if (parts.size() >= 2 && parts[1] == "executions") {
    if (parts.size() == 2 && m == "GET") {
      co_return co_await list_executions(req);
    }
    if (parts.size() == 3 && m == "GET") {
      auto rec = co_await service_.describe(parts[2]);
      if (!rec) {
        co_return error_response(404, "NotFound", "execution '" + parts[2] + "' does not exist");
      }
      co_return json_response(200, *rec);
    }
    if (parts.size() == 4 && parts[3] == "history" && m == "GET") {
      co_return co_await history(parts[2], req);
    }
    if (parts.size() == 4 && parts[3] == "stop" && m == "POST") {
      Json body = parse_body(req.body);
      if (body.is_discarded() || !body.is_object()) {
        co_return error_response(400, "InvalidJson", "the body must be a JSON object");
      }
      for (const char* field : {"error", "cause"}) {
        if (body.contains(field) && !body[field].is_string()) {
          co_return error_response(400, "InvalidParameter", std::string(field) + " must be a string");
        }
      }
      auto r =
          co_await service_.stop(parts[2], body.value("error", std::string("")), body.value("cause", std::string("")));
      if (!r) {
        int status = r.error().error == "InvalidOperation" ? 400 : 404;
        co_return error_response(status, status == 400 ? r.error().error : "NotFound", r.error().cause);
      }
      co_return json_response(200, *r);
    }
  }
  if (parts.size() == 4 && parts[1] == "tasks" && m == "POST" &&
      (parts[3] == "success" || parts[3] == "failure" || parts[3] == "heartbeat")) {
    Json body = parse_body(req.body);
    if (body.is_discarded() || !body.is_object()) {
      co_return error_response(400, "InvalidJson", "the body must be a JSON object");
    }
    auto r = co_await service_.complete_task(parts[2], parts[3], body);
    if (!r) {
      const auto& code = r.error().error;
      int status = code == "TaskAlreadyCompleted" ? 409
                   : code == "TaskGone"           ? 410
                   : code == "PayloadTooLarge"    ? 413
                                                  : 404;
      co_return error_response(status, code, r.error().cause);
    }
    co_return json_response(200, Json{{"accepted", true}});
  }
  if (parts.size() == 3 && parts[1] == "hooks" && m == "POST") {
    co_return co_await triggers_.webhook(parts[2], req);
  }
  if (parts.size() == 2 && parts[1] == "events" && m == "POST") {
    co_return co_await triggers_.events(req);
  }
  co_return error_response(404, "NotFound", "no route for " + m + " " + std::string(req.path()));
}

asio::awaitable<http::Response> Api::put_state_machine(const std::string& name, http::Request& req) {
  auto doc = parse_json_or_yaml(req.body);
  if (!doc) {
    co_return error_response(400, doc.error().error, doc.error().cause);
  }
  if (!within_depth(*doc)) {
    co_return error_response(400, "InvalidJson", "the document nests deeper than " + std::to_string(kMaxJsonDepth));
  }
  Json definition;
  std::string type = "STANDARD";
  Json triggers = Json::array();
  bool wrapped = doc->is_object() && doc->contains("definition");
  if (wrapped) {
    const Json& d = (*doc)["definition"];
    if (d.is_string()) {
      auto inner = parse_json_or_yaml(d.get<std::string>());
      if (!inner) {
        co_return error_response(400, inner.error().error, "definition: " + inner.error().cause);
      }
      definition = std::move(*inner);
    } else {
      definition = d;
    }
    if (doc->contains("type")) {
      if (!(*doc)["type"].is_string() || ((*doc)["type"] != "STANDARD" && (*doc)["type"] != "EXPRESS")) {
        co_return error_response(400, "InvalidType", "type must be \"STANDARD\" or \"EXPRESS\"");
      }
      type = (*doc)["type"].get<std::string>();
    }
    if (doc->contains("triggers")) {
      if (!(*doc)["triggers"].is_array()) {
        co_return error_response(400, "InvalidTriggers", "triggers must be an array");
      }
      triggers = (*doc)["triggers"];
    }
  } else {
    definition = std::move(*doc);
  }
  if (!definition.is_object()) {
    co_return error_response(400, "InvalidDefinition", "the definition must be a JSON/YAML object");
  }
  auto r = co_await service_.put_state_machine(name, definition, type, triggers);
  if (!r.problems.empty()) {
    Json problems = Json::array();
    for (const auto& p : r.problems) {
      problems.push_back({{"path", p.path}, {"message", p.message}});
    }
    Json body{{"error", "InvalidDefinition"},
              {"message", std::to_string(r.problems.size()) + " problem(s): " + r.problems.front().path + ": " +
                              r.problems.front().message},
              {"problems", problems}};
    co_return json_response(400, body);
  }
  if (r.outcome.kind == store::PutOutcome::Kind::Conflict) {
    co_return error_response(409, "Conflict", r.outcome.conflict);
  }
  int status = r.outcome.kind == store::PutOutcome::Kind::Created ? 201 : 200;
  co_return json_response(status, Json{{"name", name},
                                       {"revision", r.outcome.revision},
                                       {"type", type},
                                       {"triggers", triggers},
                                       {"changed", r.outcome.kind != store::PutOutcome::Kind::Unchanged}});
}

asio::awaitable<http::Response> Api::get_state_machine(const std::string& name) {
  auto rec = co_await state_machines_.get(name);
  if (!rec) {
    co_return error_response(404, "NotFound", "state machine '" + name + "' does not exist");
  }
  co_return json_response(200, Json{{"name", rec->name},
                                    {"revision", rec->revision},
                                    {"type", rec->type},
                                    {"definition", Json::parse(rec->definition, nullptr, false)},
                                    {"triggers", Json::parse(rec->triggers, nullptr, false)},
                                    {"createdAt", rec->created_at},
                                    {"updatedAt", rec->updated_at}});
}

asio::awaitable<http::Response> Api::list_state_machines(http::Request& req) {
  int64_t limit = int_param(req, "limit", 100, 1, options_.max_page);
  std::string after = req.query("nextToken").value_or("");
  auto names = co_await state_machines_.list(after, limit + 1);
  Json out = Json::array();
  Json next = nullptr;
  for (size_t i = 0; i < names.size() && static_cast<int64_t>(i) < limit; ++i) {
    auto rec = co_await state_machines_.get(names[i]);
    if (rec) {
      out.push_back(
          {{"name", rec->name}, {"revision", rec->revision}, {"type", rec->type}, {"updatedAt", rec->updated_at}});
    }
  }
  if (static_cast<int64_t>(names.size()) > limit) {
    next = names[static_cast<size_t>(limit - 1)];
  }
  co_return json_response(200, Json{{"stateMachines", out}, {"nextToken", next}});
}

asio::awaitable<http::Response> Api::start_execution(const std::string& name, http::Request& req) {
  Json body = parse_body(req.body);
  if (body.is_discarded()) {
    co_return error_response(400, "InvalidJson", "the body is not valid JSON");
  }
  if (!body.is_object()) {
    co_return error_response(400, "InvalidJson", "the body must be an object {\"input\": ..., \"name\": ...}");
  }
  Json input = body.contains("input") ? body["input"] : Json::object();
  std::string exec_name;
  if (body.contains("name") && !body["name"].is_null()) {
    if (!body["name"].is_string() || !valid_name(body["name"].get<std::string>())) {
      co_return error_response(400, "InvalidName",
                               "execution names are 1-80 characters of letters, digits, '-', '_' and '.'");
    }
    exec_name = body["name"].get<std::string>();
  }
  std::optional<milliseconds> wait;
  if (auto w = req.query("wait")) {
    if (*w == "true" || w->empty()) {
      wait = options_.max_wait;
    } else {
      try {
        double secs = std::stod(*w);
        if (secs < 0) {
          throw std::invalid_argument("negative");
        }
        wait = std::min<milliseconds>(milliseconds{static_cast<int64_t>(secs * 1000)}, options_.max_wait);
      } catch (const std::exception&) {
        co_return error_response(400, "InvalidParameter", "wait must be a number of seconds or true");
      }
    }
  }
  auto r = co_await service_.start(name, input, exec_name);
  if (!r) {
    int status = r.error().error == "NotFound" ? 404 : r.error().error == "PayloadTooLarge" ? 413 : 400;
    co_return error_response(status, r.error().error, r.error().cause);
  }
  if (r->kind == router::StartResult::Kind::Conflict) {
    co_return error_response(409, "ExecutionAlreadyExists",
                             "an execution named '" + exec_name + "' exists with a different input");
  }
  std::optional<Json> rec = r->record;
  if (!rec && wait) {
    rec = co_await service_.wait(r->id, *wait);
  } else if (!rec && r->kind == router::StartResult::Kind::Existing) {
    rec = co_await service_.describe(r->id);
  }
  if (!rec) {
    co_return json_response(201, Json{{"executionId", r->id}, {"status", "RUNNING"}});
  }
  bool running = (*rec)["status"] == "RUNNING";
  int status = 201;
  if (r->kind == router::StartResult::Kind::Existing) {
    status = wait && running ? 202 : 200;  // the same execution; under ?wait= as a new one would answer
  } else if (wait || r->record) {
    status = running ? 202 : 200;
  }
  co_return json_response(status, *rec);
}

asio::awaitable<http::Response> Api::list_executions(http::Request& req) {
  int64_t limit = int_param(req, "limit", 100, 1, options_.max_page);
  int64_t offset = int_param(req, "nextToken", 0, 0, INT64_MAX);
  std::string sm = req.query("stateMachine").value_or("");
  std::string status = req.query("status").value_or("");
  std::string index = sm.empty() ? std::string(store::keys::kExecutions) : store::keys::executions_of(sm);
  Json out = Json::array();
  // With a status filter, scan ahead in bounded batches (never more than 10 pages).
  int64_t scanned = 0;
  int64_t pos = offset;
  while (static_cast<int64_t>(out.size()) < limit && scanned < limit * 10) {
    auto ids = co_await service_.executions().list(index, pos, limit);
    if (ids.empty()) {
      pos = -1;
      break;
    }
    for (const auto& id : ids) {
      ++pos;
      ++scanned;
      auto rec = co_await service_.describe(id);
      if (!rec) {
        continue;  // expired by retention
      }
      if (!status.empty() && (*rec)["status"] != status) {
        continue;
      }
      rec->erase("input");
      rec->erase("output");
      out.push_back(std::move(*rec));
      if (static_cast<int64_t>(out.size()) >= limit) {
        break;
      }
    }
  }
  Json next = pos < 0 ? Json() : Json(std::to_string(pos));
  co_return json_response(200, Json{{"executions", out}, {"nextToken", next}});
}

asio::awaitable<http::Response> Api::history(const std::string& id, http::Request& req) {
  int64_t limit = int_param(req, "limit", 1000, 1, options_.max_page);
  int64_t after = int_param(req, "after", 0, 0, INT64_MAX);
  auto rec = co_await service_.describe(id);
  if (!rec) {
    co_return error_response(404, "NotFound", "execution '" + id + "' does not exist");
  }
  auto events = co_await service_.executions().history(id, after, limit);
  // Events are stored as JSON text; splice them without re-parsing.
  std::string body = "{\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) {
      body += ",";
    }
    body += events[i];
  }
  body += "]}";
  http::Response r;
  r.status = 200;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  co_return r;
}

}  // namespace switchyard::gateway
