// Triggers end to end on the real `switchyard serve`: webhooks with each auth
// scheme (and their 401s and redeliveries), Alertmanager payloads, CloudEvents
// in binary and structured mode, and a cron schedule.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "switchyard/testing/switchyard.hpp"

namespace {

using Json = nlohmann::json;
using switchyard::testing::HttpResult;
using switchyard::testing::ServeOptions;
using switchyard::testing::SwitchyardServer;
using switchyard::testing::TempDir;
using namespace std::chrono_literals;

const Json kPass = Json::parse(R"({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}})");
const char* kGithubSecret = "gh-test-secret";
const char* kStandardSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::string hmac(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string to_hex(const std::string& bytes) {
  std::string out;
  char buf[3];
  for (unsigned char c : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

std::string b64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string b64_decode(const std::string& text) {
  std::string out(text.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  out.resize(static_cast<size_t>(n));
  return out;  // the test secret is a multiple of 3 bytes: no padding to trim
}

Json body(const HttpResult& r) { return Json::parse(r.body, nullptr, false); }

class Triggers : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    secrets_ = new TempDir();
    token_file_ = (secrets_->path() / "token").string();
    std::ofstream(token_file_) << "first-token\n";
    ServeOptions o;
    o.env = {{"GH_SECRET", kGithubSecret}, {"SW_SECRET", kStandardSecret}};
    o.extra_args = {"--schedule-poll-ms", "200"};
    server_ = new SwitchyardServer(o);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete secrets_;
  }

  static SwitchyardServer& s() { return *server_; }

  static void deploy(const std::string& name, const Json& triggers) {
    auto r =
        s().request("PUT", "/v1/state-machines/" + name, Json{{"definition", kPass}, {"triggers", triggers}}.dump());
    ASSERT_TRUE(r.status == 201 || r.status == 200) << r.body;
  }

  static Json executions_of(const std::string& sm) {
    auto r = s().request("GET", "/v1/executions?stateMachine=" + sm);
    EXPECT_EQ(r.status, 200) << r.body;
    return body(r)["executions"];
  }

  static Json input_of(const std::string& id) {
    auto r = s().request("GET", "/v1/executions/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    return body(r)["input"];
  }

  static SwitchyardServer* server_;
  static TempDir* secrets_;
  static std::string token_file_;
};

SwitchyardServer* Triggers::server_ = nullptr;
TempDir* Triggers::secrets_ = nullptr;
std::string Triggers::token_file_;

TEST_F(Triggers, GithubWebhookVerifiesTheSignatureAndDedupesRedeliveries) {
  deploy("on-push", Json::parse(R"([{"type": "webhook", "name": "gh",
                                     "auth": {"scheme": "github", "secretFrom": {"env": "GH_SECRET"}}}])"));
  std::string payload = R"({"ref": "refs/heads/main", "commits": [1, 2]})";
  std::map<std::string, std::string> h{{"X-Hub-Signature-256", "sha256=" + to_hex(hmac(kGithubSecret, payload))},
                                       {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
                                       {"Content-Type", "application/json"}};
  auto r = s().request("POST", "/v1/hooks/gh", payload, h);
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_EQ(body(r)["executions"].size(), 1U);
  std::string id = body(r)["executions"][0];
  EXPECT_EQ(input_of(id), Json::parse(payload));

  // GitHub's "Redeliver" sends the same delivery id: the same execution, none started.
  auto again = s().request("POST", "/v1/hooks/gh", payload, h);
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(body(again)["executions"][0], id);

  auto forged = h;
  forged["X-Hub-Signature-256"] = "sha256=" + to_hex(hmac("wrong secret", payload));
  forged["X-GitHub-Delivery"] = "other-delivery";
  EXPECT_EQ(s().request("POST", "/v1/hooks/gh", payload, forged).status, 401);
  auto unsigned_h = h;
  unsigned_h.erase("X-Hub-Signature-256");
  unsigned_h["X-GitHub-Delivery"] = "third-delivery";
  EXPECT_EQ(s().request("POST", "/v1/hooks/gh", payload, unsigned_h).status, 401);
  auto tampered = s().request("POST", "/v1/hooks/gh", payload + " ", forged);
  EXPECT_EQ(tampered.status, 401);
  EXPECT_EQ(executions_of("on-push").size(), 1U) << "a refused delivery must start nothing";

  EXPECT_EQ(s().request("POST", "/v1/hooks/no-such-hook", payload, h).status, 404);
}

TEST_F(Triggers, StandardWebhooksChecksSignatureAndTimestamp) {
  deploy("on-sw", Json::parse(R"([{"type": "webhook", "name": "sw",
                                   "auth": {"scheme": "standard-webhooks", "secretFrom": {"env": "SW_SECRET"}}}])"));
  std::string key = b64_decode(std::string(kStandardSecret).substr(6));
  auto signed_headers = [&](const std::string& id, int64_t ts, const std::string& payload) {
    std::string sig = b64(hmac(key, id + "." + std::to_string(ts) + "." + payload));
    return std::map<std::string, std::string>{{"webhook-id", id},
                                              {"webhook-timestamp", std::to_string(ts)},
                                              {"webhook-signature", "v1,bm90IHRoaXMgb25l v1," + sig}};
  };
  int64_t now = std::time(nullptr);
  std::string payload = R"({"type": "invoice.paid", "amount": 42})";
  auto r = s().request("POST", "/v1/hooks/sw", payload, signed_headers("msg_1", now, payload));
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = body(r)["executions"][0];
  EXPECT_EQ(input_of(id)["amount"], 42);
  auto again = s().request("POST", "/v1/hooks/sw", payload, signed_headers("msg_1", now + 1, payload));
  ASSERT_EQ(again.status, 202);
  EXPECT_EQ(body(again)["executions"][0], id) << "webhook-id is the delivery id";

  auto stale = s().request("POST", "/v1/hooks/sw", payload, signed_headers("msg_2", now - 600, payload));
  EXPECT_EQ(stale.status, 401) << stale.body;
  auto wrong_body = signed_headers("msg_3", now, payload);
  EXPECT_EQ(s().request("POST", "/v1/hooks/sw", payload + "x", wrong_body).status, 401);
  EXPECT_EQ(executions_of("on-sw").size(), 1U);
}

TEST_F(Triggers, TokenWebhookReadsTheSecretFileOnEveryRequest) {
  deploy("on-token", Json{{{"type", "webhook"},
                           {"name", "tok"},
                           {"auth", {{"scheme", "token"}, {"secretFrom", {{"file", token_file_}}}}}}});
  auto r = s().request("POST", "/v1/hooks/tok", "plain text, not JSON", {{"Authorization", "Bearer first-token"}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(input_of(body(r)["executions"][0]), Json({{"body", "plain text, not JSON"}}));
  EXPECT_EQ(s().request("POST", "/v1/hooks/tok", "{}", {{"X-Switchyard-Token", "first-token"}}).status, 202);
  EXPECT_EQ(s().request("POST", "/v1/hooks/tok", "{}", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(s().request("POST", "/v1/hooks/tok", "{}").status, 401);

  // Rotation without a restart: the new token works at once, the old one no longer.
  std::ofstream(token_file_) << "second-token";
  EXPECT_EQ(s().request("POST", "/v1/hooks/tok", "{}", {{"Authorization", "Bearer first-token"}}).status, 401);
  EXPECT_EQ(s().request("POST", "/v1/hooks/tok", "{}", {{"Authorization", "Bearer second-token"}}).status, 202);
  EXPECT_EQ(executions_of("on-token").size(), 3U);
}

TEST_F(Triggers, AlertmanagerStartsOneExecutionPerAlert) {
  deploy("on-alert", Json{{{"type", "webhook"},
                           {"name", "alerts"},
                           {"format", "alertmanager"},
                           {"auth", {{"scheme", "token"}, {"secretFrom", {{"env", "GH_SECRET"}}}}}}});
  std::string payload = R"({
    "version": "4", "groupKey": "{}:{alertname=\"DiskFull\"}", "status": "firing", "receiver": "switchyard",
    "groupLabels": {"alertname": "DiskFull"}, "commonLabels": {"alertname": "DiskFull"},
    "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0,
    "alerts": [
      {"status": "firing", "labels": {"alertname": "DiskFull", "instance": "a"}, "annotations": {},
       "startsAt": "2024-05-01T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "f1"},
      {"status": "firing", "labels": {"alertname": "DiskFull", "instance": "b"}, "annotations": {},
       "startsAt": "2024-05-01T10:00:05Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "f2"}
    ]})";
  std::map<std::string, std::string> h{{"Authorization", std::string("Bearer ") + kGithubSecret}};
  auto r = s().request("POST", "/v1/hooks/alerts", payload, h);
  ASSERT_EQ(r.status, 202) << r.body;
  Json ids = body(r)["executions"];
  ASSERT_EQ(ids.size(), 2U);
  EXPECT_NE(ids[0], ids[1]);
  Json first = input_of(ids[0]);
  EXPECT_EQ(first["labels"]["instance"], "a");
  EXPECT_EQ(first["receiver"], "switchyard");
  EXPECT_EQ(first["groupLabels"]["alertname"], "DiskFull");
  EXPECT_EQ(first["externalURL"], "http://alertmanager:9093");
  EXPECT_EQ(input_of(ids[1])["labels"]["instance"], "b");

  // Alertmanager resends the group on every group_interval: no new executions.
  auto resent = s().request("POST", "/v1/hooks/alerts", payload, h);
  ASSERT_EQ(resent.status, 202);
  EXPECT_EQ(body(resent)["executions"], ids);
  EXPECT_EQ(executions_of("on-alert").size(), 2U);

  EXPECT_EQ(s().request("POST", "/v1/hooks/alerts", R"({"version": "3", "alerts": []})", h).status, 400);
}

TEST_F(Triggers, PutValidatesTriggersAndHookNamesBelongToOneStateMachine) {
  auto bad = s().request("PUT", "/v1/state-machines/bad-triggers",
                         Json{{"definition", kPass}, {"triggers", Json::parse(R"([{"type": "schedule", "cron": "* * *"},
                                                           {"type": "webhook", "name": "x"}])")}}
                             .dump());
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(body(bad)["error"], "InvalidDefinition");
  std::vector<std::string> paths;
  const Json doc = body(bad);
  for (const auto& p : doc["problems"]) {
    paths.push_back(p["path"]);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"/triggers/0/cron", "/triggers/1/auth"}));

  Json hook = Json::parse(R"([{"type": "webhook", "name": "shared",
                               "auth": {"scheme": "token", "secretFrom": {"env": "GH_SECRET"}}}])");
  deploy("owner", hook);
  auto taken =
      s().request("PUT", "/v1/state-machines/intruder", Json{{"definition", kPass}, {"triggers", hook}}.dump());
  EXPECT_EQ(taken.status, 409) << taken.body;
  EXPECT_EQ(s().request("GET", "/v1/state-machines/intruder").status, 404);

  // DELETE frees the name: the hook answers 404, and another state machine can take it.
  EXPECT_EQ(s().request("DELETE", "/v1/state-machines/owner").status, 200);
  std::map<std::string, std::string> h{{"Authorization", std::string("Bearer ") + kGithubSecret}};
  EXPECT_EQ(s().request("POST", "/v1/hooks/shared", "{}", h).status, 404);
  deploy("intruder", hook);
  auto r = s().request("POST", "/v1/hooks/shared", "{}", h);
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(executions_of("intruder").size(), 1U);
}

TEST_F(Triggers, CloudEventsInBinaryAndStructuredModeStartExecutionsWithTheEvent) {
  deploy("on-order", Json::parse(R"([{"type": "cloudevent", "eventType": "com.example.order.created"}])"));
  deploy("on-order-from-shop", Json::parse(R"([{"type": "cloudevent", "eventType": "com.example.order.created",
                                               "source": "/shop"}])"));
  std::map<std::string, std::string> binary{{"ce-specversion", "1.0"},  {"ce-id", "order-1"},
                                            {"ce-source", "/shop"},     {"ce-type", "com.example.order.created"},
                                            {"ce-subject", "orders/1"}, {"Content-Type", "application/json"}};
  auto r = s().request("POST", "/v1/events", R"({"order": 1})", binary);
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_EQ(body(r)["executions"].size(), 2U) << "both state machines match";
  Json event = input_of(body(r)["executions"][0]);
  EXPECT_EQ(event, Json({{"specversion", "1.0"},
                         {"id", "order-1"},
                         {"source", "/shop"},
                         {"type", "com.example.order.created"},
                         {"subject", "orders/1"},
                         {"datacontenttype", "application/json"},
                         {"data", {{"order", 1}}}}));
  // Redelivery (same source and id): the same executions.
  auto again = s().request("POST", "/v1/events", R"({"order": 1})", binary);
  EXPECT_EQ(body(again)["executions"], body(r)["executions"]);

  // Structured mode, from another source: only the unfiltered trigger matches.
  Json structured{{"specversion", "1.0"},
                  {"id", "order-2"},
                  {"source", "/pos"},
                  {"type", "com.example.order.created"},
                  {"data", {{"order", 2}}}};
  auto st = s().request("POST", "/v1/events", structured.dump(), {{"Content-Type", "application/cloudevents+json"}});
  ASSERT_EQ(st.status, 202) << st.body;
  ASSERT_EQ(body(st)["executions"].size(), 1U);
  EXPECT_EQ(input_of(body(st)["executions"][0]), structured);
  EXPECT_EQ(executions_of("on-order").size(), 2U);
  EXPECT_EQ(executions_of("on-order-from-shop").size(), 1U);

  // No subscriber: 202 with nothing started (Knative would retry a non-2xx forever).
  structured["type"] = "com.example.nobody.cares";
  auto none = s().request("POST", "/v1/events", structured.dump(), {{"Content-Type", "application/cloudevents+json"}});
  EXPECT_EQ(none.status, 202);
  EXPECT_EQ(body(none)["executions"], Json::array());

  binary.erase("ce-id");
  EXPECT_EQ(s().request("POST", "/v1/events", "{}", binary).status, 400);
  EXPECT_EQ(s().request("POST", "/v1/events", "{}", {{"Content-Type", "application/json"}}).status, 400);
}

TEST_F(Triggers, EveryMinuteScheduleStartsWithinAMinute) {
  deploy("cron", Json::parse(R"([{"type": "schedule", "cron": "* * * * *", "input": {"from": "cron"}}])"));
  Json runs;
  // A new "* * * * *" trigger fires for the current minute on the next poll (200 ms here);
  // 65 s bounds the worst case of a minute boundary.
  bool started = switchyard::testing::wait_until(
      [&] {
        runs = executions_of("cron");
        return !runs.empty();
      },
      65s);
  ASSERT_TRUE(started) << s().log();
  std::string name = runs[0]["name"];
  EXPECT_EQ(name.rfind("schedule-", 0), 0U) << name;
  EXPECT_EQ(input_of(runs[0]["executionId"]), Json({{"from", "cron"}}));
  // Five more polls within the minute start nothing more (one more only if a minute boundary passed).
  std::this_thread::sleep_for(1s);
  EXPECT_LE(executions_of("cron").size(), 2U);
}

}  // namespace

namespace {

std::string read_example(const std::string& rel) {
  std::ifstream in(std::string(SWITCHYARD_EXAMPLES_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Waits (bounded) until the execution has ended and returns its record.
Json finished(SwitchyardServer& s, const std::string& id) {
  Json rec;
  switchyard::testing::wait_until(
      [&] {
        rec = body(s.request("GET", "/v1/executions/" + id));
        return rec.value("status", "") != "RUNNING";
      },
      20s);
  return rec;
}

// The example files users copy from deploy as they are and do what examples/triggers.md says.
TEST(TriggerExamples, AlertTriageAndOnPushRunFromTheirTriggers) {
  ServeOptions o;
  o.functions_yaml = switchyard::testing::example_functions_yaml();
  o.env = {{"ALERTMANAGER_TOKEN", "am-token"}, {"GITHUB_WEBHOOK_SECRET", "gh-secret"}};
  SwitchyardServer s(o);
  for (const char* name : {"alert-triage", "on-push"}) {
    auto r = s.request("PUT", std::string("/v1/state-machines/") + name,
                       read_example(std::string("state-machines/") + name + ".yaml"),
                       {{"Content-Type", "application/yaml"}});
    ASSERT_EQ(r.status, 201) << name << ": " << r.body;
  }

  std::string alerts = R"({"version": "4", "status": "firing", "receiver": "switchyard", "groupLabels": {},
    "commonLabels": {"alertname": "DiskFull"}, "externalURL": "http://am", "alerts": [
      {"status": "firing", "labels": {"alertname": "DiskFull", "instance": "db-1", "severity": "critical"},
       "annotations": {"summary": "disk full"}, "startsAt": "2024-05-01T10:00:00Z", "fingerprint": "1"},
      {"status": "resolved", "labels": {"alertname": "DiskFull", "instance": "db-2"}, "annotations": {},
       "startsAt": "2024-05-01T09:00:00Z", "endsAt": "2024-05-01T10:00:00Z", "fingerprint": "2"}]})";
  auto r = s.request("POST", "/v1/hooks/alertmanager", alerts, {{"Authorization", "Bearer am-token"}});
  ASSERT_EQ(r.status, 202) << r.body;
  Json paged = finished(s, body(r)["executions"][0]);
  EXPECT_EQ(paged["status"], "SUCCEEDED") << paged.dump() << "\n" << s.log();
  EXPECT_EQ(paged["output"]["paged"]["page"], "DiskFull on db-1");
  Json resolved = finished(s, body(r)["executions"][1]);
  EXPECT_EQ(resolved["output"], Json({{"resolved", "DiskFull"}, {"at", "2024-05-01T10:00:00Z"}}));

  std::string push = R"({"ref": "refs/heads/main", "repository": {"full_name": "acme/app"}})";
  auto p = s.request("POST", "/v1/hooks/github-push", push,
                     {{"X-Hub-Signature-256", "sha256=" + to_hex(hmac("gh-secret", push))}});
  ASSERT_EQ(p.status, 202) << p.body;
  Json built = finished(s, body(p)["executions"][0]);
  EXPECT_EQ(built["output"], Json({{"build", "refs/heads/main"}, {"repository", "acme/app"}})) << built.dump();
}

}  // namespace
