#include "cli.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "switchyard/asl/definition.hpp"
#include "switchyard/gateway/yaml.hpp"
#include "switchyard/http/client.hpp"
#include "switchyard/router/triggers.hpp"

namespace switchyard::app {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A deployable document: a bare ASL definition (named after the file) or the
/// wrapper {name, type, definition, triggers}.
struct Deployable {
  std::string name;
  Json body;        // the PUT body: {"definition", "type", "triggers"}
  Json definition;  // the ASL object
};

Result<Deployable> load_deployable(const std::string& path) {
  auto doc = gateway::parse_json_or_yaml(read_file(path));
  if (!doc) {
    return Error{doc.error().error, doc.error().cause};
  }
  Deployable d;
  d.name = fs::path(path).stem().string();
  if (doc->is_object() && doc->contains("definition")) {
    if (doc->contains("name") && (*doc)["name"].is_string()) {
      d.name = (*doc)["name"].get<std::string>();
    }
    d.definition = (*doc)["definition"];
    if (d.definition.is_string()) {
      auto inner = gateway::parse_json_or_yaml(d.definition.get<std::string>());
      if (!inner) {
        return Error{inner.error().error, "definition: " + inner.error().cause};
      }
      d.definition = *inner;
    }
    d.body = Json{{"definition", d.definition}};
    for (const char* k : {"type", "triggers"}) {
      if (doc->contains(k)) {
        d.body[k] = (*doc)[k];
      }
    }
  } else {
    d.definition = *doc;
    d.body = Json{{"definition", d.definition}};
  }
  return d;
}

struct Client {
  explicit Client(const Settings& s) : server(s.get("server", "http://127.0.0.1:8080")), token(s.get("token")) {}

  http::Response call(const std::string& method, const std::string& target, const std::string& body,
                      std::chrono::milliseconds timeout = std::chrono::seconds{60}) {
    asio::io_context ioc;
    http::Client client(ioc.get_executor());
    http::Url url = http::Url::parse(server + target);
    http::Request req;
    req.method = method;
    req.body = body;
    req.headers.emplace_back("Content-Type", "application/json");
    if (!token.empty()) {
      req.headers.emplace_back("Authorization", "Bearer " + token);
    }
    auto fut = asio::co_spawn(ioc, client.request(url, std::move(req), timeout), asio::use_future);
    ioc.run();
    return fut.get();
  }

  std::string server;
  std::string token;
};

int print_response(const http::Response& r) {
  Json j = Json::parse(r.body, nullptr, false);
  std::cout << (j.is_discarded() ? r.body : j.dump(2)) << "\n";
  return r.status >= 200 && r.status < 300 ? 0 : 1;
}

// The whole history, page by page (the API answers at most 1,000 events a call; a history may
// have 25,000), printed as one {"events": [...]} document.
int history(Client& client, const std::string& id) {
  constexpr int kPage = 1000;
  constexpr int kMaxPages = 1000;  // bounds the loop against a server that never ends a history
  Json all = Json::array();
  int64_t after = 0;
  for (int page = 0; page < kMaxPages; ++page) {
    auto r = client.call(
        "GET", "/v1/executions/" + id + "/history?limit=" + std::to_string(kPage) + "&after=" + std::to_string(after),
        "");
    Json doc = Json::parse(r.body, nullptr, false);
    if (r.status != 200 || doc.is_discarded() || !doc.contains("events") || !doc["events"].is_array()) {
      return print_response(r);
    }
    auto& events = doc["events"];
    for (auto& e : events) {
      all.push_back(std::move(e));
    }
    if (events.size() < static_cast<size_t>(kPage) || !all.back().contains("id")) {
      break;
    }
    after = all.back()["id"].get<int64_t>();
  }
  std::cout << Json{{"events", std::move(all)}}.dump(2) << "\n";
  return 0;
}

int validate(const Args& args) {
  if (args.positional.empty()) {
    std::cerr << "usage: switchyard validate FILE...\n";
    return 2;
  }
  int rc = 0;
  for (const auto& f : args.positional) {
    auto d = load_deployable(f);
    if (!d) {
      std::cout << f << ": " << d.error().error << ": " << d.error().cause << "\n";
      rc = 1;
      continue;
    }
    auto parsed = asl::parse_definition(d->definition);
    asl::Problems problems = parsed.ok() ? asl::Problems{} : parsed.problems;
    if (parsed.ok() && d->body.contains("type") && d->body["type"] == "EXPRESS") {
      problems = asl::express_problems(*parsed.definition);  // the same rule as PUT
    }
    if (d->body.contains("triggers")) {
      auto tp = router::validate_triggers(d->body["triggers"]);  // the same rules as PUT
      problems.insert(problems.end(), tp.begin(), tp.end());
    }
    if (problems.empty()) {
      std::cout << f << ": ok (" << d->name << ")\n";
      continue;
    }
    rc = 1;
    std::cout << f << ": " << problems.size() << " problem(s)\n";
    for (const auto& p : problems) {
      std::cout << "  " << (p.path.empty() ? "/" : p.path) << ": " << p.message << "\n";
    }
  }
  return rc;
}

int apply(const Args& args, Client& client) {
  if (args.positional.empty()) {
    std::cerr << "usage: switchyard apply FILE...\n";
    return 2;
  }
  int rc = 0;
  for (const auto& f : args.positional) {
    auto d = load_deployable(f);
    if (!d) {
      std::cerr << f << ": " << d.error().error << ": " << d.error().cause << "\n";
      rc = 1;
      continue;
    }
    auto r = client.call("PUT", "/v1/state-machines/" + d->name, d->body.dump());
    Json j = Json::parse(r.body, nullptr, false);
    if (r.status == 200 || r.status == 201) {
      std::cout << f << ": " << d->name << " revision " << j.value("revision", 0)
                << (r.status == 201            ? " (created)"
                    : j.value("changed", true) ? " (updated)"
                                               : " (unchanged)")
                << "\n";
    } else {
      rc = 1;
      std::cerr << f << ": " << r.status << " " << (j.is_discarded() ? r.body : j.value("message", r.body)) << "\n";
      if (!j.is_discarded() && j.contains("problems")) {
        for (const auto& p : j["problems"]) {
          std::cerr << "  " << p.value("path", "") << ": " << p.value("message", "") << "\n";
        }
      }
    }
  }
  return rc;
}

int start(const Args& args, Client& client) {
  if (args.positional.size() != 1) {
    std::cerr << "usage: switchyard start NAME [--input JSON|@FILE] [--name EXEC_NAME] [--wait [SECONDS]]\n";
    return 2;
  }
  Json body = Json::object();
  if (args.has("input")) {
    std::string in = args.flags.at("input");
    if (!in.empty() && in[0] == '@') {
      in = read_file(in.substr(1));
    }
    Json input = Json::parse(in, nullptr, false);
    if (input.is_discarded()) {
      std::cerr << "--input is not valid JSON\n";
      return 2;
    }
    body["input"] = input;
  }
  if (args.has("name")) {
    body["name"] = args.flags.at("name");
  }
  std::string target = "/v1/state-machines/" + args.positional[0] + "/executions";
  auto timeout = std::chrono::milliseconds{60000};
  if (args.has("wait")) {
    std::string w = args.flags.at("wait").empty() ? "true" : args.flags.at("wait");
    target += "?wait=" + w;
    timeout = w == "true" ? std::chrono::milliseconds{310000}
                          : std::chrono::milliseconds{static_cast<int64_t>(std::stod(w) * 1000) + 10000};
  }
  return print_response(client.call("POST", target, body.dump(), timeout));
}

}  // namespace

int run_client_verb(const Args& args, const Settings& settings) {
  if (args.verb == "validate") {
    return validate(args);
  }
  Client client(settings);
  if (args.verb == "apply") {
    return apply(args, client);
  }
  if (args.verb == "start") {
    return start(args, client);
  }
  if ((args.verb == "describe" || args.verb == "history" || args.verb == "stop") && args.positional.size() == 1) {
    const auto& id = args.positional[0];
    if (args.verb == "describe") {
      return print_response(client.call("GET", "/v1/executions/" + id, ""));
    }
    if (args.verb == "history") {
      return history(client, id);
    }
    Json body{{"error", settings.get("error", "")}, {"cause", settings.get("cause", "")}};
    return print_response(client.call("POST", "/v1/executions/" + id + "/stop", body.dump()));
  }
  if (args.verb == "task" && args.positional.size() == 2) {
    const auto& kind = args.positional[0];
    const auto& token = args.positional[1];
    Json body = Json::object();
    if (kind == "success") {
      Json output = Json::parse(settings.get("output", "null"), nullptr, false);
      if (output.is_discarded()) {
        std::cerr << "--output is not valid JSON\n";
        return 2;
      }
      body["output"] = output;
    } else if (kind == "failure") {
      body["error"] = settings.get("error", "");
      body["cause"] = settings.get("cause", "");
    } else if (kind != "heartbeat") {
      std::cerr << "usage: switchyard task success|failure|heartbeat TOKEN [--output JSON] [--error E --cause C]\n";
      return 2;
    }
    return print_response(client.call("POST", "/v1/tasks/" + token + "/" + kind, body.dump()));
  }
  std::cerr << "switchyard: unknown verb or wrong arguments: " << args.verb << " (see switchyard help)\n";
  return 2;
}

}  // namespace switchyard::app
