// ASL conformance through the real server: every feature of the language run
// with POST /v1/state-machines/{name}/executions?wait= against the real
// `switchyard serve` (embedded Redis, local function host with the example
// functions), for STANDARD and, where it applies, EXPRESS. Expectations come
// from the Step Functions documentation and from what Step Functions returns
// (the reference interpreter moto was used where the docs are silent).
//
// One server per suite keeps this fast; each test deploys its own state
// machines. The HTTP Task tests also run the echo function as a plain process
// on a known port and a small in-test HTTP server that reflects what it got.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "switchyard/http/server.hpp"
#include "switchyard/testing/switchyard.hpp"

namespace {

using Json = nlohmann::json;
using switchyard::testing::Process;
using switchyard::testing::SwitchyardServer;

namespace asio = boost::asio;

const std::vector<std::string> kBothTypes{"STANDARD", "EXPRESS"};

// "2026-11-22T15:35:30.961Z" -> epoch ms (UTC).
int64_t epoch_ms(const std::string& ts) {
  std::tm tm{};
  tm.tm_year = std::stoi(ts.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(ts.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(ts.substr(8, 2));
  tm.tm_hour = std::stoi(ts.substr(11, 2));
  tm.tm_min = std::stoi(ts.substr(14, 2));
  tm.tm_sec = std::stoi(ts.substr(17, 2));
  int ms = ts.size() > 20 && ts[19] == '.' ? std::stoi(ts.substr(20, 3)) : 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

// Now + offset as RFC 3339 UTC with milliseconds.
std::string rfc3339_from_now(std::chrono::milliseconds offset) {
  auto t = std::chrono::system_clock::now() + offset;
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

// An HTTP server inside the test process that answers every request with what
// it received: {"method","path","query":{...},"headers":{lower-case},"body"}.
// "/status/<n>" answers with status n instead.
class Reflector {
 public:
  Reflector() {
    server_ = std::make_unique<switchyard::http::Server>(
        io_.get_executor(), switchyard::http::ServerOptions{},
        [](switchyard::http::Request& req) -> asio::awaitable<switchyard::http::Response> {
          switchyard::http::Response res;
          std::string path(req.path());
          if (path.rfind("/status/", 0) == 0) {
            res.status = std::stoi(path.substr(8));
            res.body = R"({"message":"as asked"})";
            res.headers.emplace_back("Content-Type", "application/json");
            co_return res;
          }
          Json headers = Json::object();
          for (const auto& [k, v] : req.headers) {
            std::string lower;
            for (char c : k) {
              lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            headers[lower] = v;
          }
          Json query = Json::object();
          auto q = req.target.find('?');
          if (q != std::string::npos) {
            std::string rest = req.target.substr(q + 1);
            size_t start = 0;
            while (start <= rest.size()) {
              size_t amp = rest.find('&', start);
              std::string pair = rest.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
              auto eq = pair.find('=');
              if (!pair.empty()) {
                query[switchyard::http::url_decode(pair.substr(0, eq), true)] =
                    eq == std::string::npos ? "" : switchyard::http::url_decode(pair.substr(eq + 1), true);
              }
              if (amp == std::string::npos) {
                break;
              }
              start = amp + 1;
            }
          }
          Json body = Json::parse(req.body, nullptr, false);
          Json out{{"method", req.method},
                   {"path", path},
                   {"query", query},
                   {"headers", headers},
                   {"body", body.is_discarded() ? Json(req.body) : body}};
          res.body = out.dump();
          res.headers.emplace_back("Content-Type", "application/json");
          res.headers.emplace_back("X-Reflector", "yes");
          co_return res;
        });
    server_->listen({asio::ip::make_address("127.0.0.1"), 0});
    port_ = server_->local_endpoint().port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Reflector() {
    io_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  asio::io_context io_;
  std::unique_ptr<switchyard::http::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

class AslConformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    switchyard::testing::ServeOptions o;
    o.functions_yaml = switchyard::testing::example_functions_yaml();
    server_ = new SwitchyardServer(o);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static void deploy(const std::string& name, const std::string& definition, const std::string& type) {
    server_->deploy(name, definition, type);
  }

  /// Starts an execution and waits for its end; the response body (executionId, status, output, error, cause).
  static Json start(const std::string& name, const Json& input, const std::string& exec_name = "", int wait = 40) {
    Json body{{"input", input}};
    if (!exec_name.empty()) {
      body["name"] = exec_name;
    }
    auto r = server_->request("POST", "/v1/state-machines/" + name + "/executions?wait=" + std::to_string(wait),
                              body.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return Json::parse(r.body, nullptr, false);
  }

  /// Deploys `definition` as `name` (suffixed with the type) and runs it once.
  static Json run(const std::string& name, const std::string& definition, const Json& input,
                  const std::string& type = "STANDARD") {
    std::string sm = name + "-" + (type == "EXPRESS" ? "x" : "s");
    deploy(sm, definition, type);
    return start(sm, input);
  }

  static Json describe(const std::string& id) {
    return Json::parse(server_->request("GET", "/v1/executions/" + id).body, nullptr, false);
  }

  /// The whole history (paged by event id).
  static std::vector<Json> history(const std::string& id) {
    std::vector<Json> out;
    int64_t after = 0;
    for (int page = 0; page < 100; ++page) {
      auto r = server_->request("GET", "/v1/executions/" + id + "/history?limit=1000&after=" + std::to_string(after));
      EXPECT_EQ(r.status, 200) << r.body;
      Json events = Json::parse(r.body, nullptr, false)["events"];
      if (!events.is_array() || events.empty()) {
        break;
      }
      for (auto& e : events) {
        out.push_back(e);
      }
      after = out.back()["id"].get<int64_t>();
    }
    return out;
  }

  static std::vector<Json> of_type(const std::vector<Json>& events, const std::string& type) {
    std::vector<Json> out;
    for (const auto& e : events) {
      if (e["type"] == type) {
        out.push_back(e);
      }
    }
    return out;
  }

  /// Most iterations in flight at once, from MapIterationStarted / -Succeeded / -Failed events.
  static int peak_in_flight(const std::vector<Json>& events) {
    int in_flight = 0;
    int peak = 0;
    for (const auto& e : events) {
      if (e["type"] == "MapIterationStarted") {
        peak = std::max(peak, ++in_flight);
      } else if (e["type"] == "MapIterationSucceeded" || e["type"] == "MapIterationFailed") {
        --in_flight;
      }
    }
    return peak;
  }

  static SwitchyardServer* server_;
};

SwitchyardServer* AslConformance::server_ = nullptr;

// ---- context object -----------------------------------------------------------------------

TEST_F(AslConformance, ContextObjectHasExecutionStateAndStateMachineFields) {
  const char* def = R"({"StartAt":"Ctx","States":{"Ctx":{"Type":"Pass","Parameters":{
      "id.$":"$$.Execution.Id","name.$":"$$.Execution.Name","start.$":"$$.Execution.StartTime",
      "input.$":"$$.Execution.Input","redrive.$":"$$.Execution.RedriveCount",
      "state.$":"$$.State.Name","entered.$":"$$.State.EnteredTime","retries.$":"$$.State.RetryCount",
      "smId.$":"$$.StateMachine.Id","smName.$":"$$.StateMachine.Name"},"End":true}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    std::string sm = type == "EXPRESS" ? "ctx-x" : "ctx-s";
    deploy(sm, def, type);
    Json input{{"order", 42}, {"tags", {"a", "b"}}};
    Json out = start(sm, input, "run-" + type);
    ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
    const Json& o = out["output"];
    EXPECT_EQ(o["id"], out["executionId"]);
    EXPECT_EQ(o["name"], "run-" + type);
    EXPECT_EQ(o["input"], input);
    EXPECT_EQ(o["redrive"], 0);
    EXPECT_EQ(o["state"], "Ctx");
    EXPECT_EQ(o["retries"], 0);
    EXPECT_EQ(o["smName"], sm);
    EXPECT_EQ(o["smId"], sm);
    Json d = describe(out["executionId"]);
    EXPECT_EQ(o["start"], d["startedAt"]);
    ASSERT_TRUE(o["entered"].is_string());
    EXPECT_GE(epoch_ms(o["entered"]), epoch_ms(o["start"]));
    EXPECT_LE(epoch_ms(o["entered"]), epoch_ms(d["stoppedAt"]));
  }
}

TEST_F(AslConformance, StateRetryCountCountsTheRetriesOfTheState) {
  // flaky fails while Switchyard-Attempt < failTimes; it echoes the retry count it was given.
  const char* def = R"({"StartAt":"F","States":{"F":{"Type":"Task","Resource":"fn:flaky",
      "Parameters":{"failTimes":2,"rc.$":"$$.State.RetryCount","entered.$":"$$.State.EnteredTime"},
      "Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":1,"BackoffRate":1,"MaxAttempts":3}],"End":true}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("retrycount", def, Json::object(), type);
    ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
    EXPECT_EQ(out["output"]["attempt"], 2);
    EXPECT_EQ(out["output"]["input"]["rc"], 2);
    // A retry does not re-enter the state: EnteredTime is the first entry, before both backoffs.
    EXPECT_LE(epoch_ms(out["output"]["input"]["entered"]) + 2000, epoch_ms(describe(out["executionId"])["stoppedAt"]));
  }
}

TEST_F(AslConformance, MapItemIndexAndValueInItemSelectorAndLegacyParametersWithIterator) {
  const char* modern = R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
      "ItemSelector":{"index.$":"$$.Map.Item.Index","value.$":"$$.Map.Item.Value","k.$":"$.k"},
      "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},
      "End":true}}})";
  const char* legacy = R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
      "Parameters":{"index.$":"$$.Map.Item.Index","value.$":"$$.Map.Item.Value","k.$":"$.k"},
      "Iterator":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},
      "End":true}}})";
  Json input{{"items", {"a", {{"b", 1}}}}, {"k", 7}};
  Json want = Json::parse(R"([{"index":0,"value":"a","k":7},{"index":1,"value":{"b":1},"k":7}])");
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json a = run("mapitem", modern, input, type);
    ASSERT_EQ(a["status"], "SUCCEEDED") << a.dump();
    EXPECT_EQ(a["output"], want);
    Json b = run("mapitem-legacy", legacy, input, type);
    ASSERT_EQ(b["status"], "SUCCEEDED") << b.dump();
    EXPECT_EQ(b["output"], want);
  }
}

TEST_F(AslConformance, MapWithoutItemSelectorPassesEachItemAndSeesMapItemInIterations) {
  // Inside an iteration the context object still carries Map.Item.
  const char* def = R"({"StartAt":"M","States":{"M":{"Type":"Map",
      "ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass",
          "Parameters":{"v.$":"$","i.$":"$$.Map.Item.Index"},"End":true}}},"End":true}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("mapplain", def, Json::array({"x", "y"}), type);
    ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
    EXPECT_EQ(out["output"], Json::parse(R"([{"v":"x","i":0},{"v":"y","i":1}])"));
  }
}

// ---- variables ------------------------------------------------------------------------------

TEST_F(AslConformance, VariablesAssignedOnEveryStateKindAndReadInMapIterationsAndParallelBranches) {
  const char* def = R"J({"StartAt":"Init","States":{
    "Init":{"Type":"Pass","Assign":{"x":1,"label":"outer"},"Next":"Shadow"},
    "Shadow":{"Type":"Pass","Assign":{"x":2,"prev.$":"$x"},"Next":"T"},
    "T":{"Type":"Task","Resource":"fn:echo","Parameters":{"v.$":"$x"},"Assign":{"fromTask.$":"$.v"},
         "ResultPath":"$.t","Next":"C"},
    "C":{"Type":"Choice","Choices":[{"Variable":"$x","NumericEquals":2,"Assign":{"chosen":"two"},"Next":"W"}],
         "Default":"Bad"},
    "Bad":{"Type":"Fail","Error":"Bad"},
    "W":{"Type":"Wait","Seconds":0,"Assign":{"waited":true},"Next":"M"},
    "M":{"Type":"Map","ItemsPath":"$.items","ItemSelector":{"item.$":"$$.Map.Item.Value"},
         "ItemProcessor":{"StartAt":"I1","States":{
            "I1":{"Type":"Pass","Assign":{"inner.$":"$.item"},"Next":"I2"},
            "I2":{"Type":"Pass","Parameters":{"item.$":"$inner","x.$":"$x","label.$":"$label"},"End":true}}},
         "Assign":{"mapped.$":"$"},"ResultPath":"$.m","Next":"P"},
    "P":{"Type":"Parallel","Branches":[
          {"StartAt":"B1","States":{"B1":{"Type":"Pass","Assign":{"branchVar":"b1"},"Next":"B2"},
                                    "B2":{"Type":"Pass","Parameters":{"x.$":"$x","n.$":"States.ArrayLength($mapped)",
                                                                      "bv.$":"$branchVar"},"End":true}}},
          {"StartAt":"B3","States":{"B3":{"Type":"Pass","Result":"second","End":true}}}],
         "Assign":{"par.$":"$[1]"},"ResultPath":"$.p","Next":"Done"},
    "Done":{"Type":"Pass","Parameters":{"x.$":"$x","prev.$":"$prev","fromTask.$":"$fromTask","chosen.$":"$chosen",
            "waited.$":"$waited","mapped.$":"$mapped","par.$":"$par","t.$":"$.t","m.$":"$.m","p.$":"$.p"},
            "End":true}}})J";
  Json mapped = Json::parse(R"([{"item":10,"x":2,"label":"outer"},{"item":20,"x":2,"label":"outer"}])");
  Json want{{"x", 2},          {"prev", 1},
            {"fromTask", 2},   {"chosen", "two"},
            {"waited", true},  {"mapped", mapped},
            {"par", "second"}, {"t", {{"v", 2}}},
            {"m", mapped},     {"p", Json::parse(R"([{"x":2,"n":2,"bv":"b1"},"second"])")}};
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("vars", def, Json{{"items", {10, 20}}}, type);
    ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
    EXPECT_EQ(out["output"], want);
    if (type == "STANDARD") {
      // PassStateExited shows what was assigned, as JSON text per variable.
      auto exits = of_type(history(out["executionId"]), "PassStateExited");
      ASSERT_FALSE(exits.empty());
      const Json& d = exits[0]["stateExitedEventDetails"];
      EXPECT_EQ(d["name"], "Init");
      EXPECT_EQ(d["assignedVariables"], Json({{"x", "1"}, {"label", "\"outer\""}}));
    }
  }
}

TEST_F(AslConformance, VariablesOfAMapIterationOrParallelBranchStayInsideAndOuterOnesAreReadOnly) {
  const char* map = R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
      "ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","Assign":{"inner":1},"End":true}}},"Next":"After"},
      "After":{"Type":"Pass","Parameters":{"inner.$":"$inner"},"End":true}}})";
  const char* par = R"({"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
      {"StartAt":"I","States":{"I":{"Type":"Pass","Assign":{"inner":1},"End":true}}}],"Next":"After"},
      "After":{"Type":"Pass","Parameters":{"inner.$":"$inner"},"End":true}}})";
  // A branch or iteration can read the enclosing scope's variables but not assign them.
  const char* shadow = R"({"StartAt":"Set","States":{"Set":{"Type":"Pass","Assign":{"v":"outer"},"Next":"M"},
      "M":{"Type":"Map","ItemsPath":"$.items",
      "ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","Assign":{"v":"inner"},"Next":"J"},
                                               "J":{"Type":"Pass","Parameters":{"v.$":"$v"},"End":true}}},
      "ResultPath":"$.inside","Next":"After"},
      "After":{"Type":"Pass","Parameters":{"v.$":"$v","inside.$":"$.inside"},"End":true}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    for (const char* def : {map, par}) {
      Json out = run("noleak", def, Json{{"items", {1}}}, type);
      EXPECT_EQ(out["status"], "FAILED") << out.dump();
      EXPECT_EQ(out["error"], "States.Runtime") << out.dump();
    }
    // AWS's wording names the state and its *StateEntered event: ExecutionStarted, MapStateEntered,
    // MapStateStarted, MapIterationStarted, PassStateEntered, PassStateExited, MapIterationSucceeded,
    // MapStateSucceeded, MapStateExited, then After's PassStateEntered is event #10.
    Json worded = run("noleak", map, Json{{"items", {1}}}, type);
    EXPECT_EQ(worded["cause"].get<std::string>().rfind(
                  "An error occurred while executing the state 'After' (entered at the event id #10). ", 0),
              0U)
        << worded.dump();
    Json out = run("shadow", shadow, Json{{"items", {1, 2}}}, type);
    EXPECT_EQ(out["status"], "FAILED") << out.dump();
    EXPECT_EQ(out["error"], "States.Runtime");
    EXPECT_NE(out["cause"].get<std::string>().find("belongs to an outer scope"), std::string::npos) << out.dump();
  }
}

// ---- data flow on results ---------------------------------------------------------------------

TEST_F(AslConformance, ResultSelectorResultPathAndOutputPathApplyToTaskParallelAndMapResults) {
  const char* def = R"J({"StartAt":"T","States":{
    "T":{"Type":"Task","Resource":"fn:echo","Parameters":{"a":1,"b":{"c":2}},
         "ResultSelector":{"c.$":"$.b.c","all.$":"$"},"ResultPath":"$.r.deep","Next":"P"},
    "P":{"Type":"Parallel","Branches":[
           {"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}},
           {"StartAt":"B","States":{"B":{"Type":"Pass","Result":2,"End":true}}}],
         "ResultSelector":{"first.$":"$[0]","n.$":"States.ArrayLength($)"},"ResultPath":"$.par","Next":"M"},
    "M":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"E","States":{
           "E":{"Type":"Task","Resource":"fn:echo","End":true}}},
         "ResultSelector":{"sum.$":"States.MathAdd($[0], $[2])"},"ResultPath":"$.map","Next":"Drop"},
    "Drop":{"Type":"Task","Resource":"fn:echo","Parameters":{"ignored":true},"ResultPath":null,
            "OutputPath":"$.r","Next":"Last"},
    "Last":{"Type":"Pass","End":true}}})J";
  Json want = Json::parse(R"({"deep":{"c":2,"all":{"a":1,"b":{"c":2}}}})");
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("dataflow", def, Json{{"keep", true}, {"items", {5, 6, 7}}}, type);
    ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
    EXPECT_EQ(out["output"], want);
  }
  // The intermediate outputs, read from the states' exits.
  Json out = run("dataflow", def, Json{{"keep", true}, {"items", {5, 6, 7}}});
  auto events = history(out["executionId"]);
  Json outputs = Json::object();
  for (const auto& e : events) {
    if (e.contains("stateExitedEventDetails")) {
      outputs[e["stateExitedEventDetails"]["name"].get<std::string>()] =
          Json::parse(e["stateExitedEventDetails"]["output"].get<std::string>());
    }
  }
  EXPECT_EQ(outputs["P"]["par"], Json::parse(R"({"first":1,"n":2})"));
  EXPECT_EQ(outputs["M"]["map"], Json::parse(R"({"sum":12})"));
  EXPECT_EQ(outputs["M"]["keep"], true);
}

// ---- Map --------------------------------------------------------------------------------------

TEST_F(AslConformance, MaxConcurrencyPathBoundsTheIterationsInFlight) {
  const char* def = R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrencyPath":"$.mc",
      "ItemProcessor":{"StartAt":"E","States":{"E":{"Type":"Task","Resource":"fn:echo","OutputPath":"$.i","End":true}}},
      "End":true}}})";
  Json items = Json::array();
  for (int i = 0; i < 6; ++i) {
    items.push_back({{"i", i}, {"sleepMs", 60}});
  }
  Json out = run("mcpath", def, Json{{"items", items}, {"mc", 2}});
  ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
  EXPECT_EQ(out["output"], Json::parse("[0,1,2,3,4,5]"));
  EXPECT_EQ(peak_in_flight(history(out["executionId"])), 2);
  // A MaxConcurrencyPath that is not a non-negative integer is States.Runtime.
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json bad = run("mcpath", def, Json{{"items", items}, {"mc", "two"}}, type);
    EXPECT_EQ(bad["status"], "FAILED") << bad.dump();
    EXPECT_EQ(bad["error"], "States.Runtime");
  }
}

TEST_F(AslConformance, ToleratedFailuresAndTheirPathsDecideWhetherTheMapFails) {
  // greet fails (InvalidName) on non-string names: 2 of 4 items fail = 50 %.
  const char* fixed = R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.names",
      "ToleratedFailurePercentage":50,"ItemSelector":{"name.$":"$$.Map.Item.Value"},
      "ItemProcessor":{"StartAt":"G","States":{"G":{"Type":"Task","Resource":"fn:greet","End":true}}},"End":true}}})";
  const char* by_path = R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.names",
      "ToleratedFailurePercentagePath":"$.pct","ItemSelector":{"name.$":"$$.Map.Item.Value"},
      "ItemProcessor":{"StartAt":"G","States":{"G":{"Type":"Task","Resource":"fn:greet","End":true}}},"End":true}}})";
  Json names = Json::array({"Ada", 1, "Bob", 2});
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json ok = run("tolpct", fixed, Json{{"names", names}}, type);
    ASSERT_EQ(ok["status"], "SUCCEEDED") << ok.dump();
    ASSERT_EQ(ok["output"].size(), 4U);
    EXPECT_EQ(ok["output"][0]["greeting"], "Hello, Ada!");
    EXPECT_EQ(ok["output"][2]["greeting"], "Hello, Bob!");
    Json path_ok = run("tolpctpath", by_path, Json{{"names", names}, {"pct", 50}}, type);
    EXPECT_EQ(path_ok["status"], "SUCCEEDED") << path_ok.dump();
    Json path_bad = run("tolpctpath", by_path, Json{{"names", names}, {"pct", 49.5}}, type);
    EXPECT_EQ(path_bad["status"], "FAILED") << path_bad.dump();
    EXPECT_EQ(path_bad["error"], "States.ExceedToleratedFailureThreshold") << path_bad.dump();
    const char* by_count = R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.names",
        "ToleratedFailureCountPath":"$.n","ItemSelector":{"name.$":"$$.Map.Item.Value"},
        "ItemProcessor":{"StartAt":"G","States":{"G":{"Type":"Task","Resource":"fn:greet","End":true}}},"End":true}}})";
    EXPECT_EQ(run("tolcountpath", by_count, Json{{"names", names}, {"n", 2}}, type)["status"], "SUCCEEDED");
    Json count_bad = run("tolcountpath", by_count, Json{{"names", names}, {"n", 1}}, type);
    EXPECT_EQ(count_bad["status"], "FAILED") << count_bad.dump();
    EXPECT_EQ(count_bad["error"], "States.ExceedToleratedFailureThreshold");
    Json path_invalid = run("tolpctpath", by_path, Json{{"names", names}, {"pct", 101}}, type);
    EXPECT_EQ(path_invalid["status"], "FAILED") << path_invalid.dump();
    EXPECT_EQ(path_invalid["error"], "States.Runtime");
  }
}

TEST_F(AslConformance, MapOverAnEmptyArraySucceedsWithAnEmptyArray) {
  const char* def = R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
      "ItemProcessor":{"StartAt":"E","States":{"E":{"Type":"Task","Resource":"fn:echo","End":true}}},
      "ResultPath":"$.out","Next":"After"},"After":{"Type":"Pass","End":true}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("emptymap", def, Json{{"items", Json::array()}}, type);
    ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
    EXPECT_EQ(out["output"], Json::parse(R"({"items":[],"out":[]})"));
    auto events = history(out["executionId"]);
    std::vector<std::string> types;
    for (const auto& e : events) {
      types.push_back(e["type"]);
    }
    std::vector<std::string> want{"ExecutionStarted", "MapStateEntered",  "MapStateStarted", "MapStateSucceeded",
                                  "MapStateExited",   "PassStateEntered", "PassStateExited", "ExecutionSucceeded"};
    EXPECT_EQ(types, want);
    auto started = of_type(events, "MapStateStarted");
    ASSERT_EQ(started.size(), 1U);
    EXPECT_EQ(started[0]["mapStateStartedEventDetails"]["length"], 0);
  }
}

TEST_F(AslConformance, TwoHundredItemsWithMaxConcurrencyTenKeepOrderAndTheBound) {
  const char* def = R"({"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":10,
      "ItemSelector":{"i.$":"$$.Map.Item.Value","sleepMs":5},
      "ItemProcessor":{"StartAt":"E","States":{"E":{"Type":"Task","Resource":"fn:echo","OutputPath":"$.i","End":true}}},
      "End":true}}})";
  Json items = Json::array();
  for (int i = 0; i < 200; ++i) {
    items.push_back(i);
  }
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("bigmap", def, items, type);
    ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
    EXPECT_EQ(out["output"], items);
    auto events = history(out["executionId"]);
    EXPECT_EQ(of_type(events, "MapIterationStarted").size(), 200U);
    EXPECT_EQ(of_type(events, "MapIterationSucceeded").size(), 200U);
    EXPECT_LE(peak_in_flight(events), 10);
    EXPECT_GE(peak_in_flight(events), 2);  // iterations do run side by side
    if (type == "STANDARD") {
      EXPECT_EQ(peak_in_flight(events), 10);
    }
  }
}

TEST_F(AslConformance, MapNestedInsideAParallelBranchReadsOuterVariables) {
  const char* def = R"({"StartAt":"Set","States":{"Set":{"Type":"Pass","Assign":{"factor":10},"Next":"P"},
    "P":{"Type":"Parallel","End":true,"Branches":[
      {"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":2,
        "ItemSelector":{"v.$":"$$.Map.Item.Value","f.$":"$factor"},
        "ItemProcessor":{"StartAt":"E","States":{"E":{"Type":"Task","Resource":"fn:echo","End":true}}},"End":true}}},
      {"StartAt":"Q","States":{"Q":{"Type":"Pass","Parameters":{"f.$":"$factor"},"End":true}}}]}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("nested", def, Json{{"items", {1, 2, 3}}}, type);
    ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
    EXPECT_EQ(out["output"], Json::parse(R"([[{"v":1,"f":10},{"v":2,"f":10},{"v":3,"f":10}],{"f":10}])"));
  }
}

// ---- Retry / Catch on Parallel and Map ---------------------------------------------------------

TEST_F(AslConformance, RetryOnAParallelOrMapRunsItsChildrenAgain) {
  // The children fail while the Parallel/Map state's own RetryCount is 0.
  const char* par = R"({"StartAt":"P","States":{"P":{"Type":"Parallel",
      "Parameters":{"rc.$":"$$.State.RetryCount"},
      "Retry":[{"ErrorEquals":["Boom"],"IntervalSeconds":1,"MaxAttempts":2}],"End":true,"Branches":[
      {"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.rc","NumericLessThan":1,"Next":"F"}],
                                    "Default":"Ok"},
                              "F":{"Type":"Fail","Error":"Boom","Cause":"first try"},
                              "Ok":{"Type":"Pass","End":true}}}]}}})";
  const char* map = R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
      "ItemSelector":{"rc.$":"$$.State.RetryCount","v.$":"$$.Map.Item.Value"},
      "Retry":[{"ErrorEquals":["Boom"],"IntervalSeconds":1,"MaxAttempts":2}],"End":true,
      "ItemProcessor":{"StartAt":"C","States":{
          "C":{"Type":"Choice","Choices":[{"Variable":"$.rc","NumericLessThan":1,"Next":"F"}],"Default":"Ok"},
          "F":{"Type":"Fail","Error":"Boom","Cause":"first try"},
          "Ok":{"Type":"Pass","OutputPath":"$.v","End":true}}}}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json p = run("retrypar", par, Json::object(), type);
    ASSERT_EQ(p["status"], "SUCCEEDED") << p.dump();
    EXPECT_EQ(p["output"], Json::parse(R"([{"rc":1}])"));
    auto pe = history(p["executionId"]);
    EXPECT_EQ(of_type(pe, "ParallelStateEntered").size(), 1U);
    EXPECT_EQ(of_type(pe, "ParallelStateStarted").size(), 2U);
    EXPECT_EQ(of_type(pe, "ParallelStateSucceeded").size(), 1U);
    EXPECT_EQ(of_type(pe, "FailStateEntered").size(), 1U);

    Json m = run("retrymap", map, Json{{"items", {"a", "b"}}}, type);
    ASSERT_EQ(m["status"], "SUCCEEDED") << m.dump();
    EXPECT_EQ(m["output"], Json::parse(R"(["a","b"])"));
    auto me = history(m["executionId"]);
    EXPECT_EQ(of_type(me, "MapStateStarted").size(), 2U);
    EXPECT_GE(of_type(me, "MapIterationFailed").size(), 1U);  // the other may be abandoned first
    EXPECT_EQ(of_type(me, "MapIterationSucceeded").size(), 2U);
  }
}

TEST_F(AslConformance, CatchOnAMapGetsTheIterationsErrorAndCause) {
  // A Map without tolerated failures fails with the failing iteration's own error (Catch matches it).
  const char* def = R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.names",
      "ItemSelector":{"name.$":"$$.Map.Item.Value"},
      "ItemProcessor":{"StartAt":"G","States":{"G":{"Type":"Task","Resource":"fn:greet","End":true}}},
      "Catch":[{"ErrorEquals":["InvalidName"],"ResultPath":"$.error","Assign":{"caught.$":"$.Error"},"Next":"H"}],
      "End":true},
      "H":{"Type":"Pass","Parameters":{"caught.$":"$caught","error.$":"$.error.Error","names.$":"$.names"},
           "End":true}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("catchmap", def, Json{{"names", {"Ada", 7}}}, type);
    ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
    EXPECT_EQ(out["output"], Json::parse(R"({"caught":"InvalidName","error":"InvalidName","names":["Ada",7]})"));
    Json uncaught = run("catchmap", def, Json{{"names", Json::array({"Ada", "Bob"})}}, type);
    EXPECT_EQ(uncaught["status"], "SUCCEEDED") << uncaught.dump();
  }
  // Uncaught, the execution fails with that error too.
  const char* bare = R"({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.names",
      "ItemSelector":{"name.$":"$$.Map.Item.Value"},
      "ItemProcessor":{"StartAt":"G","States":{"G":{"Type":"Task","Resource":"fn:greet","End":true}}},"End":true}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("failmap", bare, Json{{"names", {7}}}, type);
    EXPECT_EQ(out["status"], "FAILED") << out.dump();
    EXPECT_EQ(out["error"], "InvalidName");
    if (type == "STANDARD") {
      auto events = history(out["executionId"]);
      EXPECT_EQ(of_type(events, "MapIterationFailed").size(), 1U);
      EXPECT_EQ(of_type(events, "MapStateFailed").size(), 1U);
    }
  }
}

// ---- Wait, Fail, Choice -------------------------------------------------------------------------

TEST_F(AslConformance, WaitWithTimestampTimestampPathAndSecondsPath) {
  const char* def = R"({"StartAt":"Past","States":{
    "Past":{"Type":"Wait","Timestamp":"2020-01-01T00:00:00Z","Next":"ByPath"},
    "ByPath":{"Type":"Wait","TimestampPath":"$.until","Next":"BySeconds"},
    "BySeconds":{"Type":"Wait","SecondsPath":"$.s","End":true}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    std::string until = rfc3339_from_now(std::chrono::milliseconds{1200});
    Json input{{"until", until}, {"s", 1}};
    Json out = run("waits", def, input, type);
    ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
    EXPECT_EQ(out["output"], input);
    auto events = history(out["executionId"]);
    auto exits = of_type(events, "WaitStateExited");
    auto enters = of_type(events, "WaitStateEntered");
    ASSERT_EQ(exits.size(), 3U);
    ASSERT_EQ(enters.size(), 3U);
    EXPECT_LT(epoch_ms(exits[0]["timestamp"]) - epoch_ms(enters[0]["timestamp"]), 1000);
    EXPECT_GE(epoch_ms(exits[1]["timestamp"]), epoch_ms(until));
    EXPECT_GE(epoch_ms(exits[2]["timestamp"]) - epoch_ms(enters[2]["timestamp"]), 1000);
    // A bad SecondsPath / TimestampPath value is States.Runtime.
    Json bad_s = run("waits", def, Json{{"until", until}, {"s", -1}}, type);
    EXPECT_EQ(bad_s["status"], "FAILED") << bad_s.dump();
    EXPECT_EQ(bad_s["error"], "States.Runtime");
    Json bad_t = run("waits", def, Json{{"until", "tomorrow"}, {"s", 1}}, type);
    EXPECT_EQ(bad_t["status"], "FAILED") << bad_t.dump();
    EXPECT_EQ(bad_t["error"], "States.Runtime");
  }
}

TEST_F(AslConformance, FailTakesErrorAndCauseFromPathsAndIntrinsics) {
  const char* def = R"J({"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e",
      "CausePath":"States.Format('order {} failed', $.n)"}}})J";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("failpath", def, Json{{"e", "OrderFailed"}, {"n", 17}}, type);
    EXPECT_EQ(out["status"], "FAILED") << out.dump();
    EXPECT_EQ(out["error"], "OrderFailed");
    EXPECT_EQ(out["cause"], "order 17 failed");
  }
  Json out = run("failpath", def, Json{{"e", "OrderFailed"}, {"n", 17}});
  auto events = history(out["executionId"]);
  ASSERT_GE(events.size(), 3U);
  EXPECT_EQ(events[1]["type"], "FailStateEntered");
  EXPECT_EQ(events.back()["type"], "ExecutionFailed");
  EXPECT_EQ(events.back()["executionFailedEventDetails"],
            Json({{"error", "OrderFailed"}, {"cause", "order 17 failed"}}));
}

TEST_F(AslConformance, ChoiceWithoutAMatchAndWithoutDefaultFailsWithNoChoiceMatched) {
  const char* def = R"({"StartAt":"C","States":{"C":{"Type":"Choice",
      "Choices":[{"Variable":"$.n","NumericGreaterThan":10,"Next":"Big"}]},
      "Big":{"Type":"Succeed"}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("nochoice", def, Json{{"n", 3}}, type);
    EXPECT_EQ(out["status"], "FAILED") << out.dump();
    EXPECT_EQ(out["error"], "States.NoChoiceMatched");
    Json big = run("nochoice", def, Json{{"n", 30}}, type);
    EXPECT_EQ(big["status"], "SUCCEEDED") << big.dump();
  }
}

// ---- Task timeouts ------------------------------------------------------------------------------

TEST_F(AslConformance, TaskTimeoutSecondsEndsASlowCallWithStatesTimeoutThatRetryAndCatchSee) {
  const char* plain = R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"fn:echo","TimeoutSeconds":1,
      "Parameters":{"sleepMs":3000},"End":true}}})";
  // The first attempt sleeps past the timeout, the retry does not.
  const char* retried = R"J({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"fn:echo","TimeoutSeconds":1,
      "Parameters":{"sleepMs.$":"States.ArrayGetItem(States.Array(3000, 10), $$.State.RetryCount)"},
      "Retry":[{"ErrorEquals":["States.Timeout"],"IntervalSeconds":1,"MaxAttempts":1}],"End":true}}})J";
  // States.TaskFailed does not match States.Timeout; States.ALL does.
  const char* caught = R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"fn:echo","TimeoutSecondsPath":"$.t",
      "Parameters":{"sleepMs":3000},"Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"Wrong"},
                                             {"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"H"}],"End":true},
      "Wrong":{"Type":"Fail","Error":"Wrong"},"H":{"Type":"Pass","End":true}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("tto", plain, Json::object(), type);
    EXPECT_EQ(out["status"], "FAILED") << out.dump();
    EXPECT_EQ(out["error"], "States.Timeout");
    auto events = history(out["executionId"]);
    auto timed_out = of_type(events, "TaskTimedOut");
    ASSERT_EQ(timed_out.size(), 1U);
    const Json& d = timed_out[0]["taskTimedOutEventDetails"];
    EXPECT_EQ(d["error"], "States.Timeout");
    EXPECT_EQ(d["resourceType"], "fn");
    EXPECT_EQ(d["resource"], "echo");
    EXPECT_EQ(of_type(events, "TaskScheduled")[0]["taskScheduledEventDetails"]["timeoutInSeconds"], 1);

    Json r = run("tto-retry", retried, Json::object(), type);
    ASSERT_EQ(r["status"], "SUCCEEDED") << r.dump();
    EXPECT_EQ(r["output"], Json({{"sleepMs", 10}}));

    Json c = run("tto-catch", caught, Json{{"t", 1}}, type);
    ASSERT_EQ(c["status"], "SUCCEEDED") << c.dump();
    EXPECT_EQ(c["output"]["err"]["Error"], "States.Timeout");
    Json bad = run("tto-catch", caught, Json{{"t", 0}}, type);
    EXPECT_EQ(bad["status"], "FAILED") << bad.dump();
    EXPECT_EQ(bad["error"], "States.Runtime");
  }
}

// ---- limits ---------------------------------------------------------------------------------------

TEST_F(AslConformance, DataOver256KiBFailsTheStateWithDataLimitExceeded) {
  std::string big(100 * 1024, 'x');  // 100 KiB: three copies pass the 256 KiB limit
  const char* pass = R"({"StartAt":"P","States":{"P":{"Type":"Pass",
      "Parameters":{"a.$":"$.s","b.$":"$.s","c.$":"$.s"},"End":true}}})";
  const char* task_input = R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"fn:echo",
      "Parameters":{"a.$":"$.s","b.$":"$.s","c.$":"$.s"},"End":true}}})";
  // Every iteration returns 100 KiB: the Map's result is 300 KiB.
  const char* map_result = R"J({"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
      "ItemSelector":{"s.$":"$.s"},
      "ItemProcessor":{"StartAt":"E","States":{"E":{"Type":"Task","Resource":"fn:echo","End":true}}},
      "ResultSelector":{"n.$":"States.ArrayLength($)"},"End":true}}})J";
  // Even when caught by States.ALL, the limit is terminal.
  const char* caught = R"({"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
      {"StartAt":"Q","States":{"Q":{"Type":"Pass","Parameters":{"a.$":"$.s","b.$":"$.s","c.$":"$.s"},"End":true}}}],
      "Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},"H":{"Type":"Pass","End":true}}})";
  Json input{{"s", big}, {"items", {1, 2, 3}}};
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    for (const char* def : {pass, task_input, map_result}) {
      Json out = run("limit", def, input, type);
      EXPECT_EQ(out["status"], "FAILED") << out["error"] << " " << out["cause"];
      EXPECT_EQ(out["error"], "States.DataLimitExceeded");
    }
    Json out = run("limit-caught", caught, input, type);
    EXPECT_EQ(out["status"], "FAILED") << out["error"] << " " << out["cause"];
    EXPECT_EQ(out["error"], "States.DataLimitExceeded");
  }
  // The execution input itself is refused up front.
  deploy("limit-start", pass, "STANDARD");
  auto r = server_->request("POST", "/v1/state-machines/limit-start/executions",
                            Json{{"input", {{"s", std::string(257 * 1024, 'y')}}}}.dump());
  EXPECT_EQ(r.status, 413) << r.body;
}

// ---- resources --------------------------------------------------------------------------------------

TEST_F(AslConformance, HttpTaskSendsMethodHeadersQueryAndBodyAndReturnsTheResponse) {
  Reflector reflector;
  std::string base = "http://127.0.0.1:" + std::to_string(reflector.port());
  std::string def = R"({"StartAt":"H","States":{"H":{"Type":"Task","Resource":"arn:aws:states:::http:invoke",
      "Parameters":{"ApiEndpoint":")" +
                    base + R"J(/orders","Method":"PUT",
        "Authentication":{"ConnectionArn":"arn:aws:events:us-east-1:123456789012:connection/x/y"},
        "Headers":{"X-Order.$":"$.id","X-Fixed":"yes"},
        "QueryParameters":{"q":"a b&c","n.$":"States.Format('{}', $.id)"},
        "RequestBody":{"hello.$":"$.who"}},
      "ResultSelector":{"status.$":"$.StatusCode","text.$":"$.StatusText","got.$":"$.ResponseBody",
                        "ctype.$":"$.Headers.content-type"},
      "End":true}}})J";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("httptask", def, Json{{"id", 7}, {"who", "world"}}, type);
    ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
    const Json& o = out["output"];
    EXPECT_EQ(o["status"], 200);
    EXPECT_EQ(o["text"], "OK");
    EXPECT_EQ(o["ctype"], Json::array({"application/json"}));
    const Json& got = o["got"];
    EXPECT_EQ(got["method"], "PUT");
    EXPECT_EQ(got["path"], "/orders");
    EXPECT_EQ(got["query"], Json({{"q", "a b&c"}, {"n", "7"}}));
    EXPECT_EQ(got["headers"]["x-order"], "7");
    EXPECT_EQ(got["headers"]["x-fixed"], "yes");
    EXPECT_EQ(got["body"], Json({{"hello", "world"}}));
  }
  // Non-2xx answers fail the state with States.Http.StatusCode.<code>.
  std::string failing = R"({"StartAt":"H","States":{"H":{"Type":"Task","Resource":"arn:aws:states:::http:invoke",
      "Parameters":{"ApiEndpoint.$":"$.url","Method":"GET"},
      "Catch":[{"ErrorEquals":["States.Http.StatusCode.418"],"ResultPath":"$.err","Next":"Teapot"}],"End":true},
      "Teapot":{"Type":"Pass","End":true}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("httpfail", failing, Json{{"url", base + "/status/404"}}, type);
    EXPECT_EQ(out["status"], "FAILED") << out.dump();
    EXPECT_EQ(out["error"], "States.Http.StatusCode.404");
    Json caught = run("httpfail", failing, Json{{"url", base + "/status/418"}}, type);
    ASSERT_EQ(caught["status"], "SUCCEEDED") << caught.dump();
    EXPECT_EQ(caught["output"]["err"]["Error"], "States.Http.StatusCode.418");
  }
}

TEST_F(AslConformance, HttpTaskAndLambdaInvokeCallAFunctionProcessByUrl) {
  // The echo function as a plain process on a known port (not through the function host).
  int port = switchyard::testing::free_port();
  Process echo({std::string(SWITCHYARD_BUILD_DIR) + "/examples/functions/echo"},
               {{"PORT", std::to_string(port)}, {"SWITCHYARD_FUNCTION_HOST", "127.0.0.1"}});
  ASSERT_TRUE(switchyard::testing::wait_until(
      [&] { return switchyard::testing::http_request(port, "GET", "/healthz").status == 200; },
      std::chrono::seconds{10}));
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  std::string http = R"({"StartAt":"H","States":{"H":{"Type":"Task","Resource":"arn:aws:states:::http:invoke",
      "Parameters":{"ApiEndpoint":")" +
                     url + R"(/","Method":"POST","RequestBody.$":"$"},
      "OutputPath":"$.ResponseBody","Next":"L"},
    "L":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
      "Parameters":{"FunctionName":")" +
                     url + R"(/","Payload":{"wrapped.$":"$"}},"Next":"G"},
    "G":{"Type":"Task","Resource":"arn:aws:states:::http:invoke",
      "Parameters":{"ApiEndpoint":")" +
                     url + R"(/missing","Method":"GET"},
      "Catch":[{"ErrorEquals":["States.Http.StatusCode.404"],"ResultPath":"$.notFound","Next":"Done"}],"End":true},
    "Done":{"Type":"Pass","End":true}}})";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("byurl", http, Json{{"k", "v"}}, type);
    ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
    const Json& o = out["output"];
    EXPECT_EQ(o["Payload"], Json({{"wrapped", {{"k", "v"}}}}));
    EXPECT_EQ(o["StatusCode"], 200);
    EXPECT_EQ(o["ExecutedVersion"], "$LATEST");
    EXPECT_EQ(o["notFound"]["Error"], "States.Http.StatusCode.404");
  }
}

TEST_F(AslConformance, LambdaResourcesRunFunctionsAndKeepLambdasShapes) {
  const char* def = R"J({"StartAt":"Legacy","States":{
    "Legacy":{"Type":"Task","Resource":"arn:aws:lambda:eu-west-1:123456789012:function:greet:$LATEST","Next":"Invoke"},
    "Invoke":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
              "Parameters":{"FunctionName":"arn:aws:lambda:eu-west-1:123456789012:function:greet",
                            "Payload":{"name.$":"States.Format('{}!', $.greeting)"}},
              "ResultSelector":{"p.$":"$.Payload","code.$":"$.StatusCode"},"End":true}}})J";
  for (const auto& type : kBothTypes) {
    SCOPED_TRACE(type);
    Json out = run("lambdas", def, Json{{"name", "Ada"}}, type);
    ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
    EXPECT_EQ(out["output"]["p"]["greeting"], "Hello, Hello, Ada!!!");
    EXPECT_EQ(out["output"]["code"], 200);
    // lambda:invoke failures keep Lambda's error name; the cause is the error object as JSON text.
    Json bad = run("lambdas", def, Json{{"nope", 1}}, type);
    EXPECT_EQ(bad["status"], "FAILED") << bad.dump();
    EXPECT_EQ(bad["error"], "InvalidName");
    Json cause = Json::parse(bad["cause"].get<std::string>(), nullptr, false);
    EXPECT_EQ(cause["errorType"], "InvalidName");
    EXPECT_TRUE(cause["errorMessage"].is_string());
  }
}

TEST_F(AslConformance, ExpressStateMachinesRefuseCallbacksAtDeployTime) {
  const char* def =
      R"({"StartAt":"T","States":{"T":{"Type":"Task","Resource":"fn:echo.waitForTaskToken","End":true}}})";
  auto r =
      server_->request("PUT", "/v1/state-machines/cb-x", std::string(R"({"type":"EXPRESS","definition":)") + def + "}");
  EXPECT_EQ(r.status, 400) << r.body;
  Json body = Json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body["problems"].is_array()) << r.body;
  EXPECT_EQ(body["problems"][0]["path"], "/States/T/Resource");
  deploy("cb-s", def, "STANDARD");  // fine for STANDARD
}

// ---- history ----------------------------------------------------------------------------------------

TEST_F(AslConformance, HistoryEventsAreNamedAndShapedAsStepFunctionsDoes) {
  const char* def = R"({"StartAt":"Pass","States":{
    "Pass":{"Type":"Pass","Parameters":{"name":"Ada","items.$":"$.items"},"Next":"Task"},
    "Task":{"Type":"Task","Resource":"fn:greet","TimeoutSeconds":5,"ResultPath":"$.g","Next":"Lambda"},
    "Lambda":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","Next":"Invoke"},
    "Invoke":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
              "Parameters":{"FunctionName":"echo","Payload.$":"$"},"OutputPath":"$.Payload","Next":"Choice"},
    "Choice":{"Type":"Choice","Choices":[{"Variable":"$.name","StringEquals":"Ada","Next":"Wait"}],"Default":"Fail"},
    "Wait":{"Type":"Wait","Seconds":0,"Next":"Parallel"},
    "Parallel":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","End":true}}}],
                "ResultPath":null,"Next":"Map"},
    "Map":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},
           "ResultPath":null,"Next":"Done"},
    "Fail":{"Type":"Fail","Error":"E"},
    "Done":{"Type":"Succeed"}}})";
  deploy("shapes", def, "STANDARD");
  Json out = start("shapes", Json{{"items", {1, 2}}});
  ASSERT_EQ(out["status"], "SUCCEEDED") << out.dump();
  auto events = history(out["executionId"]);
  std::vector<std::string> types;
  for (size_t i = 0; i < events.size(); ++i) {
    types.push_back(events[i]["type"]);
    EXPECT_EQ(events[i]["id"], static_cast<int64_t>(i + 1));
    EXPECT_TRUE(events[i]["timestamp"].is_string());
  }
  std::vector<std::string> want{"ExecutionStarted",       "PassStateEntered",
                                "PassStateExited",        "TaskStateEntered",
                                "TaskScheduled",          "TaskStarted",
                                "TaskSucceeded",          "TaskStateExited",
                                "TaskStateEntered",       "LambdaFunctionScheduled",
                                "LambdaFunctionStarted",  "LambdaFunctionSucceeded",
                                "TaskStateExited",        "TaskStateEntered",
                                "TaskScheduled",          "TaskStarted",
                                "TaskSucceeded",          "TaskStateExited",
                                "ChoiceStateEntered",     "ChoiceStateExited",
                                "WaitStateEntered",       "WaitStateExited",
                                "ParallelStateEntered",   "ParallelStateStarted",
                                "PassStateEntered",       "PassStateExited",
                                "ParallelStateSucceeded", "ParallelStateExited",
                                "MapStateEntered",        "MapStateStarted",
                                "MapIterationStarted",    "PassStateEntered",
                                "PassStateExited",        "MapIterationSucceeded",
                                "MapIterationStarted",    "PassStateEntered",
                                "PassStateExited",        "MapIterationSucceeded",
                                "MapStateSucceeded",      "MapStateExited",
                                "SucceedStateEntered",    "SucceedStateExited",
                                "ExecutionSucceeded"};
  // Map iterations may interleave; compare the multiset there and the order elsewhere.
  ASSERT_EQ(types.size(), want.size()) << ::testing::PrintToString(types);
  EXPECT_EQ(std::vector<std::string>(types.begin(), types.begin() + 30),
            std::vector<std::string>(want.begin(), want.begin() + 30));
  EXPECT_EQ(std::vector<std::string>(types.end() - 5, types.end()),
            std::vector<std::string>(want.end() - 5, want.end()));

  auto first = [&](const std::string& type) { return of_type(events, type).at(0); };
  Json started = first("ExecutionStarted")["executionStartedEventDetails"];
  EXPECT_EQ(Json::parse(started["input"].get<std::string>()), Json({{"items", {1, 2}}}));
  EXPECT_EQ(started["inputDetails"], Json({{"truncated", false}}));

  Json entered = first("PassStateEntered")["stateEnteredEventDetails"];
  EXPECT_EQ(entered["name"], "Pass");
  EXPECT_EQ(Json::parse(entered["input"].get<std::string>()), Json({{"items", {1, 2}}}));
  Json exited = first("PassStateExited")["stateExitedEventDetails"];
  EXPECT_EQ(exited["name"], "Pass");
  EXPECT_EQ(Json::parse(exited["output"].get<std::string>()), Json({{"name", "Ada"}, {"items", {1, 2}}}));

  Json scheduled = first("TaskScheduled")["taskScheduledEventDetails"];
  EXPECT_EQ(scheduled["resourceType"], "fn");
  EXPECT_EQ(scheduled["resource"], "greet");
  EXPECT_EQ(scheduled["region"], "us-east-1");
  EXPECT_EQ(Json::parse(scheduled["parameters"].get<std::string>()), Json({{"name", "Ada"}, {"items", {1, 2}}}));
  EXPECT_EQ(scheduled["timeoutInSeconds"], 5);
  Json task_started = first("TaskStarted")["taskStartedEventDetails"];
  EXPECT_EQ(task_started, Json({{"resourceType", "fn"}, {"resource", "greet"}}));
  Json succeeded = first("TaskSucceeded")["taskSucceededEventDetails"];
  EXPECT_EQ(succeeded["resourceType"], "fn");
  EXPECT_EQ(Json::parse(succeeded["output"].get<std::string>())["greeting"], "Hello, Ada!");

  Json lambda = first("LambdaFunctionScheduled")["lambdaFunctionScheduledEventDetails"];
  EXPECT_EQ(lambda["resource"], "arn:aws:lambda:us-east-1:123456789012:function:echo");
  EXPECT_TRUE(lambda["input"].is_string());
  EXPECT_TRUE(first("LambdaFunctionSucceeded")["lambdaFunctionSucceededEventDetails"]["output"].is_string());

  Json invoke = of_type(events, "TaskScheduled").at(1)["taskScheduledEventDetails"];
  EXPECT_EQ(invoke["resourceType"], "lambda");
  EXPECT_EQ(invoke["resource"], "invoke");
  EXPECT_EQ(Json::parse(invoke["parameters"].get<std::string>())["FunctionName"], "echo");

  EXPECT_EQ(first("MapStateStarted")["mapStateStartedEventDetails"], Json({{"length", 2}}));
  std::set<int64_t> started_indexes;
  for (const auto& e : of_type(events, "MapIterationStarted")) {
    EXPECT_EQ(e["mapIterationStartedEventDetails"]["name"], "Map");
    started_indexes.insert(e["mapIterationStartedEventDetails"]["index"].get<int64_t>());
  }
  EXPECT_EQ(started_indexes, (std::set<int64_t>{0, 1}));
  for (const auto& e : of_type(events, "MapIterationSucceeded")) {
    EXPECT_EQ(e["mapIterationSucceededEventDetails"]["name"], "Map");
  }
  Json done = events.back()["executionSucceededEventDetails"];
  EXPECT_TRUE(done["output"].is_string());
  EXPECT_EQ(done["outputDetails"], Json({{"truncated", false}}));

  // EXPRESS writes the same events once it ends.
  deploy("shapes-x", def, "EXPRESS");
  Json x = start("shapes-x", Json{{"items", {1, 2}}});
  ASSERT_EQ(x["status"], "SUCCEEDED") << x.dump();
  auto xevents = history(x["executionId"]);
  std::vector<std::string> xtypes;
  for (const auto& e : xevents) {
    xtypes.push_back(e["type"]);
  }
  std::vector<std::string> sorted_x = xtypes;
  std::vector<std::string> sorted_s = types;
  std::sort(sorted_x.begin(), sorted_x.end());
  std::sort(sorted_s.begin(), sorted_s.end());
  EXPECT_EQ(sorted_x, sorted_s) << ::testing::PrintToString(xtypes);
}

TEST_F(AslConformance, FailedStatesWriteFailureEventsWithErrorAndCause) {
  const char* def = R"({"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
      {"StartAt":"T","States":{"T":{"Type":"Task","Resource":"fn:greet","End":true}}}],"End":true}}})";
  Json out = run("failshapes", def, Json::object());
  ASSERT_EQ(out["status"], "FAILED") << out.dump();
  EXPECT_EQ(out["error"], "InvalidName");
  auto events = history(out["executionId"]);
  auto failed = of_type(events, "TaskFailed");
  ASSERT_EQ(failed.size(), 1U);
  const Json& d = failed[0]["taskFailedEventDetails"];
  EXPECT_EQ(d["resourceType"], "fn");
  EXPECT_EQ(d["resource"], "greet");
  EXPECT_EQ(d["error"], "InvalidName");
  EXPECT_TRUE(d["cause"].is_string());
  EXPECT_EQ(of_type(events, "ParallelStateFailed").size(), 1U);
  EXPECT_EQ(events.back()["type"], "ExecutionFailed");
  EXPECT_EQ(events.back()["executionFailedEventDetails"]["error"], "InvalidName");
}

}  // namespace
