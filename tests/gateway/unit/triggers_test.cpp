// Webhook signatures against published vectors, Alertmanager mapping and CloudEvents parsing.
#include "switchyard/gateway/triggers.hpp"

#include <gtest/gtest.h>

namespace {

using switchyard::Json;
using namespace switchyard::gateway;
namespace http = switchyard::http;

TEST(WebhookAuth, GithubDocsVector) {
  // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
  const std::string secret = "It's a Secret to Everybody";
  const std::string good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  EXPECT_TRUE(verify_github(secret, "Hello, World!", good));
  EXPECT_TRUE(verify_github(secret, "Hello, World!",
                            "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17"));
  EXPECT_FALSE(verify_github(secret, "Hello, World?", good));
  EXPECT_FALSE(verify_github("another secret", "Hello, World!", good));
  EXPECT_FALSE(verify_github(secret, "Hello, World!", ""));
  EXPECT_FALSE(verify_github(secret, "Hello, World!", good.substr(7)));  // no "sha256="
  EXPECT_FALSE(verify_github(secret, "Hello, World!", good.substr(0, good.size() - 1)));
}

TEST(WebhookAuth, StandardWebhooksSpecVector) {
  // The Standard Webhooks reference libraries' test vector.
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  const std::string ts = "1614265330";
  const std::string body = R"({"test": 2432232314})";
  const std::string sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  const int64_t now = 1614265330;
  EXPECT_TRUE(verify_standard_webhook(secret, id, ts, sig, body, now));
  // Without the prefix the secret is the same key.
  EXPECT_TRUE(verify_standard_webhook("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id, ts, sig, body, now));
  // Any signature of a space-separated list may match (key rotation).
  EXPECT_TRUE(verify_standard_webhook(secret, id, ts, "v1,Zm9v " + sig, body, now));
  EXPECT_TRUE(verify_standard_webhook(secret, id, ts, sig, body, now + 300));
  EXPECT_TRUE(verify_standard_webhook(secret, id, ts, sig, body, now - 300));

  auto too_old = verify_standard_webhook(secret, id, ts, sig, body, now + 301);
  ASSERT_FALSE(too_old);
  EXPECT_NE(too_old.error().cause.find("5 minutes"), std::string::npos);
  EXPECT_FALSE(verify_standard_webhook(secret, id, ts, sig, body, now - 301));
  EXPECT_FALSE(verify_standard_webhook(secret, id, ts, sig, body + " ", now));
  EXPECT_FALSE(verify_standard_webhook(secret, "msg_other", ts, sig, body, now));
  EXPECT_FALSE(verify_standard_webhook(secret, id, ts, "v2," + sig.substr(3), body, now));
  EXPECT_FALSE(verify_standard_webhook(secret, id, "16142653x0", sig, body, now));
  EXPECT_FALSE(verify_standard_webhook(secret, id, ts, "", body, now));
  EXPECT_FALSE(verify_standard_webhook("whsec_AAAA", id, ts, sig, body, now));
  auto bad_secret = verify_standard_webhook("whsec_not base64!", id, ts, sig, body, now);
  ASSERT_FALSE(bad_secret);
  EXPECT_EQ(bad_secret.error().error, "SecretInvalid");
}

TEST(WebhookAuth, Token) {
  auto req = [](std::string name, std::string value) {
    http::Request r;
    r.headers.emplace_back(std::move(name), std::move(value));
    return r;
  };
  EXPECT_TRUE(verify_token("s3cret", req("Authorization", "Bearer s3cret")));
  EXPECT_TRUE(verify_token("s3cret", req("X-Switchyard-Token", "s3cret")));
  EXPECT_FALSE(verify_token("s3cret", req("Authorization", "Bearer s3cre")));
  EXPECT_FALSE(verify_token("s3cret", req("Authorization", "Basic s3cret")));
  EXPECT_FALSE(verify_token("s3cret", req("X-Switchyard-Token", "S3CRET")));
  EXPECT_FALSE(verify_token("s3cret", http::Request{}));
}

TEST(Encoding, Base64RoundTripAndRejects) {
  const std::string all = [] {
    std::string s;
    for (int i = 0; i < 256; ++i) {
      s += static_cast<char>(i);
    }
    return s;
  }();
  for (size_t n = 0; n < 8; ++n) {
    std::string s = all.substr(250 - n, n);
    auto back = base64_decode(base64_encode(s));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(*base64_decode("Zm8"), "fo");
  EXPECT_FALSE(base64_decode("Zm9v!"));
  EXPECT_FALSE(base64_decode("Z"));
  EXPECT_EQ(hex(hmac_sha256("key", "The quick brown fox jumps over the lazy dog")),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");  // the well-known HMAC example
}

TEST(Encoding, Utf8) {
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xff"));
  EXPECT_FALSE(valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(RawWebhook, JsonBodyOrText) {
  EXPECT_EQ(raw_webhook_input(R"({"a": 1})"), Json({{"a", 1}}));
  EXPECT_EQ(raw_webhook_input("[1,2]"), Json::array({1, 2}));
  EXPECT_EQ(raw_webhook_input("payload=x%20y"), Json({{"body", "payload=x%20y"}}));
  EXPECT_EQ(raw_webhook_input(""), Json({{"body", ""}}));
  EXPECT_EQ(raw_webhook_input(std::string("\xff\x00", 2)), Json({{"bodyBase64", "/wA="}}));
}

const char* kAlertmanager = R"({
  "version": "4", "groupKey": "{}:{alertname=\"DiskFull\"}", "truncatedAlerts": 0, "status": "firing",
  "receiver": "switchyard", "groupLabels": {"alertname": "DiskFull"},
  "commonLabels": {"alertname": "DiskFull", "severity": "page"}, "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093",
  "alerts": [
    {"status": "firing", "labels": {"alertname": "DiskFull", "instance": "a", "severity": "page"},
     "annotations": {"summary": "disk a"}, "startsAt": "2024-05-01T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "http://prom/graph", "fingerprint": "aaaa1111"},
    {"status": "resolved", "labels": {"alertname": "DiskFull", "instance": "b", "severity": "page"},
     "annotations": {}, "startsAt": "2024-05-01T09:00:00Z", "endsAt": "2024-05-01T10:01:00Z",
     "generatorURL": "http://prom/graph", "fingerprint": "bbbb2222"}
  ]})";

TEST(Alertmanager, OneStartPerAlertWithGroupFields) {
  auto starts = alertmanager_starts(Json::parse(kAlertmanager));
  ASSERT_TRUE(starts) << starts.error().cause;
  ASSERT_EQ(starts->size(), 2U);
  const Json& a = (*starts)[0].input;
  EXPECT_EQ(a["status"], "firing");
  EXPECT_EQ(a["labels"]["instance"], "a");
  EXPECT_EQ(a["annotations"]["summary"], "disk a");
  EXPECT_EQ(a["fingerprint"], "aaaa1111");
  EXPECT_EQ(a["receiver"], "switchyard");
  EXPECT_EQ(a["groupLabels"], Json({{"alertname", "DiskFull"}}));
  EXPECT_EQ(a["commonLabels"]["severity"], "page");
  EXPECT_EQ(a["externalURL"], "http://alertmanager:9093");
  EXPECT_EQ(a["groupStatus"], "firing");
  EXPECT_EQ((*starts)[1].input["status"], "resolved");
  EXPECT_EQ((*starts)[1].input["groupStatus"], "firing");

  // Names: distinct per alert, stable across redeliveries, new when the alert resolves.
  EXPECT_NE((*starts)[0].name, (*starts)[1].name);
  EXPECT_EQ((*starts)[0].name.substr(0, 3), "am-");
  EXPECT_LE((*starts)[0].name.size(), 80U);
  auto again = alertmanager_starts(Json::parse(kAlertmanager));
  EXPECT_EQ((*again)[0].name, (*starts)[0].name);
  Json resolved = Json::parse(kAlertmanager);
  resolved["alerts"][0]["status"] = "resolved";
  EXPECT_NE((*alertmanager_starts(resolved))[0].name, (*starts)[0].name);
  Json refired = Json::parse(kAlertmanager);
  refired["alerts"][0]["startsAt"] = "2024-05-02T10:00:00Z";
  EXPECT_NE((*alertmanager_starts(refired))[0].name, (*starts)[0].name);
}

TEST(Alertmanager, RejectsOtherPayloads) {
  const char* bad[] = {
      R"([])",
      R"({"alerts": []})",
      R"({"version": "3", "alerts": []})",
      R"({"version": "4"})",
      R"({"version": "4", "alerts": [1]})",
      R"({"version": "4", "alerts": [{"labels": {}, "startsAt": "x"}]})",
      R"({"version": "4", "alerts": [{"status": "firing", "startsAt": "x"}]})",
      R"({"version": "4", "alerts": [{"status": "firing", "labels": {}}]})",
  };
  for (const char* b : bad) {
    auto r = alertmanager_starts(Json::parse(b));
    ASSERT_FALSE(r) << b;
    EXPECT_EQ(r.error().error, "InvalidPayload");
  }
  auto empty = alertmanager_starts(Json::parse(R"({"version": "4", "alerts": []})"));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

http::Request request(std::vector<std::pair<std::string, std::string>> headers, std::string body) {
  http::Request r;
  r.method = "POST";
  r.target = "/v1/events";
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

TEST(CloudEvents, BinaryMode) {
  auto events = parse_cloudevents(request({{"ce-specversion", "1.0"},
                                           {"ce-id", "A234-1234-1234"},
                                           {"ce-source", "/mycontext"},
                                           {"ce-type", "com.example.someevent"},
                                           {"ce-time", "2018-04-05T17:31:00Z"},
                                           {"ce-comexampleextension1", "value%20with%20space"},
                                           {"Content-Type", "application/json"}},
                                          R"({"much": "wow"})"));
  ASSERT_TRUE(events) << events.error().cause;
  ASSERT_EQ(events->size(), 1U);
  Json want{{"specversion", "1.0"},
            {"id", "A234-1234-1234"},
            {"source", "/mycontext"},
            {"type", "com.example.someevent"},
            {"time", "2018-04-05T17:31:00Z"},
            {"comexampleextension1", "value with space"},
            {"datacontenttype", "application/json"},
            {"data", {{"much", "wow"}}}};
  EXPECT_EQ((*events)[0], want);

  auto text = parse_cloudevents(request(
      {{"Ce-Specversion", "1.0"}, {"Ce-Id", "1"}, {"Ce-Source", "s"}, {"Ce-Type", "t"}, {"Content-Type", "text/plain"}},
      "hello"));
  ASSERT_TRUE(text);
  EXPECT_EQ((*text)[0]["data"], "hello");
  auto binary = parse_cloudevents(request({{"ce-specversion", "1.0"},
                                           {"ce-id", "1"},
                                           {"ce-source", "s"},
                                           {"ce-type", "t"},
                                           {"Content-Type", "application/octet-stream"}},
                                          std::string("\xff\x01", 2)));
  ASSERT_TRUE(binary);
  EXPECT_EQ((*binary)[0]["data_base64"], "/wE=");
  auto no_data =
      parse_cloudevents(request({{"ce-specversion", "1.0"}, {"ce-id", "1"}, {"ce-source", "s"}, {"ce-type", "t"}}, ""));
  ASSERT_TRUE(no_data);
  EXPECT_FALSE((*no_data)[0].contains("data"));
}

TEST(CloudEvents, StructuredAndBatchedMode) {
  const char* event = R"({"specversion": "1.0", "id": "x1", "source": "urn:s", "type": "t.created",
                          "subject": "sub", "datacontenttype": "application/json", "data": {"n": 1}})";
  auto one = parse_cloudevents(request({{"Content-Type", "application/cloudevents+json; charset=utf-8"}}, event));
  ASSERT_TRUE(one) << one.error().cause;
  ASSERT_EQ(one->size(), 1U);
  EXPECT_EQ((*one)[0], Json::parse(event));

  auto batch = parse_cloudevents(
      request({{"Content-Type", "application/cloudevents-batch+json"}}, std::string("[") + event + "," + event + "]"));
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->size(), 2U);
}

TEST(CloudEvents, RejectsMalformedEvents) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  const std::pair<std::string, std::string> structured{"Content-Type", "application/cloudevents+json"};
  const Case cases[] = {
      {{{"ce-specversion", "1.0"}, {"ce-source", "s"}, {"ce-type", "t"}}, ""},                  // no id
      {{{"ce-specversion", "0.3"}, {"ce-id", "1"}, {"ce-source", "s"}, {"ce-type", "t"}}, ""},  // old version
      {{{"ce-specversion", "1.0"}, {"ce-id", "1"}, {"ce-source", "s"}, {"ce-type", ""}}, ""},   // empty type
      {{{"ce-specversion", "1.0"},
        {"ce-id", "1"},
        {"ce-source", "s"},
        {"ce-type", "t"},
        {"Content-Type", "application/json"}},
       "{not json"},
      {{{"ce-specversion", "1.0"}, {"ce-id", "1"}, {"ce-source", "s"}, {"ce-type", "t"}, {"ce-Bad_Name", "v"}}, ""},
      {{structured}, R"({"specversion": "1.0", "id": "1", "type": "t"})"},
      {{structured}, R"({"specversion": "1.0", "id": 1, "source": "s", "type": "t"})"},
      {{structured}, R"({"specversion": "1.0", "id": "1", "source": "s", "type": "t", "time": 5})"},
      {{structured}, "not json"},
      {{{"Content-Type", "application/cloudevents-batch+json"}}, R"({"specversion": "1.0"})"},
      {{{"Content-Type", "application/json"}}, R"({"specversion": "1.0", "id": "1", "source": "s", "type": "t"})"},
  };
  for (const auto& c : cases) {
    auto r = parse_cloudevents(request(c.headers, c.body));
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().error, "InvalidCloudEvent");
  }
}

TEST(CloudEvents, ExecutionNameFollowsSourceAndId) {
  Json a{{"id", "1"}, {"source", "s"}};
  Json b{{"id", "1"}, {"source", "other"}};
  Json c{{"id", "2"}, {"source", "s"}};
  EXPECT_EQ(cloudevent_execution_name(a), cloudevent_execution_name(Json{{"source", "s"}, {"id", "1"}, {"x", 1}}));
  EXPECT_NE(cloudevent_execution_name(a), cloudevent_execution_name(b));
  EXPECT_NE(cloudevent_execution_name(a), cloudevent_execution_name(c));
  EXPECT_EQ(cloudevent_execution_name(a).size(), 43U);
}

}  // namespace
