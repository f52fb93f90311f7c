// Webhooks and CloudEvents in: authenticate, map the payload to inputs, start
// executions with names that make redeliveries idempotent (see the header).
#include "switchyard/gateway/triggers.hpp"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "switchyard/gateway/api.hpp"
#include "switchyard/router/clock.hpp"

namespace switchyard::gateway {

namespace asio = boost::asio;

// ---- crypto and encoding ------------------------------------------------------------

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string sha256_hex(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return hex(std::string_view(reinterpret_cast<const char*>(out), sizeof out));
}

std::string hex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

namespace {
const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                 (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (i + 1 < bytes.size()) {
      v |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    }
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = c == '\0' ? nullptr : std::strchr(kB64, c);
    if (p == nullptr) {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;  // continuation bytes
    if (c >= 0x80) {
      if ((c >> 5) == 6) {
        n = 1;
      } else if ((c >> 4) == 14) {
        n = 2;
      } else if ((c >> 3) == 30) {
        n = 3;
      } else {
        return false;
      }
    }
    if (i + n >= s.size()) {
      return false;
    }
    uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1f) : n == 2 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 2) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// ---- webhook authentication ---------------------------------------------------------------

Result<void> verify_github(std::string_view secret, std::string_view body, std::string_view signature_header) {
  constexpr std::string_view kPrefix = "sha256=";
  if (signature_header.substr(0, kPrefix.size()) != kPrefix) {
    return Error{"Unauthorized", "X-Hub-Signature-256 is missing or is not \"sha256=<hex>\""};
  }
  std::string given(signature_header.substr(kPrefix.size()));
  std::transform(given.begin(), given.end(), given.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  if (!constant_time_equal(given, hex(hmac_sha256(secret, body)))) {
    return Error{"Unauthorized", "X-Hub-Signature-256 does not match the body"};
  }
  return {};
}

Result<void> verify_standard_webhook(std::string_view secret, std::string_view id, std::string_view timestamp,
                                     std::string_view signatures, std::string_view body, int64_t now_seconds) {
  if (id.empty() || timestamp.empty() || signatures.empty()) {
    return Error{"Unauthorized", "webhook-id, webhook-timestamp and webhook-signature are required"};
  }
  int64_t ts = 0;
  if (timestamp.size() > 12) {
    return Error{"Unauthorized", "webhook-timestamp is not a Unix time in seconds"};
  }
  for (char c : timestamp) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
      return Error{"Unauthorized", "webhook-timestamp is not a Unix time in seconds"};
    }
    ts = ts * 10 + (c - '0');
  }
  if (ts < now_seconds - kWebhookToleranceSeconds || ts > now_seconds + kWebhookToleranceSeconds) {
    return Error{"Unauthorized", "webhook-timestamp is more than 5 minutes away from now (replay or clock skew)"};
  }
  std::string_view key_text = secret;
  if (key_text.substr(0, 6) == "whsec_") {
    key_text.remove_prefix(6);
  }
  auto key = base64_decode(key_text);
  if (!key) {
    return Error{"SecretInvalid", "the standard-webhooks secret is not base64 (after an optional \"whsec_\")"};
  }
  std::string signed_text;
  signed_text.reserve(id.size() + timestamp.size() + body.size() + 2);
  signed_text.append(id).append(".").append(timestamp).append(".").append(body);
  std::string expected = base64_encode(hmac_sha256(*key, signed_text));
  size_t i = 0;
  while (i < signatures.size()) {
    size_t j = std::min(signatures.find(' ', i), signatures.size());
    std::string_view sig = signatures.substr(i, j - i);
    if (sig.substr(0, 3) == "v1," && constant_time_equal(sig.substr(3), expected)) {
      return {};
    }
    i = j + 1;
  }
  return Error{"Unauthorized", "no webhook-signature matches the body"};
}

Result<void> verify_token(std::string_view secret, const http::Request& req) {
  std::string_view given = req.header("X-Switchyard-Token");
  std::string_view auth = req.header("Authorization");
  if (given.empty() && auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer ")) {
    given = auth.substr(7);
  }
  if (given.empty()) {
    return Error{"Unauthorized", "send the token as \"Authorization: Bearer <token>\" or \"X-Switchyard-Token\""};
  }
  // Compare digests: equal lengths, so not even the token's length leaks through timing.
  if (secret.empty() || !constant_time_equal(sha256_hex(given), sha256_hex(secret))) {
    return Error{"Unauthorized", "the token is wrong"};
  }
  return {};
}

Result<std::string> read_secret(const router::WebhookTrigger& hook) {
  std::string secret;
  if (!hook.secret_env.empty()) {
    const char* v = std::getenv(hook.secret_env.c_str());
    if (v == nullptr || *v == '\0') {
      return Error{"SecretUnavailable", "environment variable " + hook.secret_env + " is not set"};
    }
    secret = v;
  } else {
    std::ifstream in(hook.secret_file, std::ios::binary);
    if (!in) {
      return Error{"SecretUnavailable", "cannot read secret file " + hook.secret_file};
    }
    // A secret is short: read at most 64 KiB so a wrong path (a log file) cannot take memory.
    secret.resize(64 * 1024);
    in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
    secret.resize(static_cast<size_t>(in.gcount()));
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
      secret.pop_back();
    }
  }
  if (secret.empty()) {
    return Error{"SecretUnavailable", "the webhook secret is empty"};
  }
  return secret;
}

// ---- payload mapping ----------------------------------------------------------------------

Json raw_webhook_input(std::string_view body) {
  Json j = Json::parse(body, nullptr, false);
  if (!j.is_discarded() && within_depth(j)) {
    return j;
  }
  if (valid_utf8(body)) {
    return Json{{"body", std::string(body)}};
  }
  return Json{{"bodyBase64", base64_encode(body)}};
}

Result<std::vector<TriggeredStart>> alertmanager_starts(const Json& payload) {
  auto bad = [](const std::string& why) { return Error{"InvalidPayload", "not an Alertmanager webhook: " + why}; };
  if (!payload.is_object()) {
    return bad("the body must be a JSON object");
  }
  if (!payload.contains("version") || payload["version"] != "4") {
    return bad("\"version\" must be \"4\"");
  }
  if (!payload.contains("alerts") || !payload["alerts"].is_array()) {
    return bad("\"alerts\" must be an array");
  }
  Json group = Json::object();
  for (const char* k : {"receiver", "groupKey", "groupLabels", "commonLabels", "commonAnnotations", "externalURL"}) {
    if (payload.contains(k)) {
      group[k] = payload[k];
    }
  }
  if (payload.contains("status")) {
    group["groupStatus"] = payload["status"];
  }
  std::vector<TriggeredStart> out;
  for (size_t i = 0; i < payload["alerts"].size(); ++i) {
    const Json& a = payload["alerts"][i];
    std::string at = "alerts[" + std::to_string(i) + "]";
    if (!a.is_object()) {
      return bad(at + " must be an object");
    }
    if (!a.contains("status") || !a["status"].is_string()) {
      return bad(at + ".status must be \"firing\" or \"resolved\"");
    }
    if (!a.contains("labels") || !a["labels"].is_object()) {
      return bad(at + ".labels must be an object");
    }
    if (!a.contains("startsAt") || !a["startsAt"].is_string()) {
      return bad(at + ".startsAt must be a timestamp");
    }
    // Alertmanager's fingerprint identifies the label set; older senders lack it, so hash the labels.
    std::string fingerprint = a.contains("fingerprint") && a["fingerprint"].is_string()
                                  ? a["fingerprint"].get<std::string>()
                                  : sha256_hex(a["labels"].dump());
    TriggeredStart s;
    s.input = a;
    for (const auto& [k, v] : group.items()) {
      s.input[k] = v;
    }
    s.name = "am-" +
             sha256_hex(fingerprint + "\n" + a["startsAt"].get<std::string>() + "\n" + a["status"].get<std::string>())
                 .substr(0, 40);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// "application/cloudevents+json; charset=utf-8" -> "application/cloudevents+json"
std::string media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && t.back() == ' ') {
    t.remove_suffix(1);
  }
  return lower(t);
}

bool json_media(const std::string& m) {
  return m == "application/json" || m == "text/json" || (m.size() > 5 && m.substr(m.size() - 5) == "+json");
}

// Context attribute names: lower-case letters and digits (CloudEvents 1.0 §2.3).
bool valid_attribute_name(std::string_view n) {
  if (n.empty() || n.size() > 64) {
    return false;
  }
  return std::all_of(n.begin(), n.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

Result<Json> check_event(Json e) {
  auto bad = [](const std::string& why) { return Error{"InvalidCloudEvent", why}; };
  if (!e.is_object()) {
    return bad("an event must be a JSON object");
  }
  if (!e.contains("specversion") || e["specversion"] != "1.0") {
    return bad("specversion must be \"1.0\"");
  }
  for (const char* k : {"id", "source", "type"}) {
    if (!e.contains(k) || !e[k].is_string() || e[k].get<std::string>().empty()) {
      return bad(std::string("the required attribute \"") + k + "\" is missing or empty");
    }
  }
  for (const char* k : {"time", "subject", "datacontenttype", "dataschema"}) {
    if (e.contains(k) && !e[k].is_string()) {
      return bad(std::string("\"") + k + "\" must be a string");
    }
  }
  if (e.contains("data") && e.contains("data_base64")) {
    return bad("an event has \"data\" or \"data_base64\", not both");
  }
  return e;
}

}  // namespace

Result<std::vector<Json>> parse_cloudevents(const http::Request& req) {
  std::string media = media_type(req.header("Content-Type"));
  std::vector<Json> out;
  if (!req.header("ce-specversion").empty()) {
    // Binary mode: attributes in ce-* headers (percent-encoded values), the body is the data.
    Json e = Json::object();
    for (const auto& [name, value] : req.headers) {
      if (name.size() > 3 && lower(name.substr(0, 3)) == "ce-") {
        std::string attr = lower(name.substr(3));
        if (!valid_attribute_name(attr)) {
          return Error{"InvalidCloudEvent", "header " + name + " is not a valid attribute name"};
        }
        std::string v = http::url_decode(value);
        if (!valid_utf8(v)) {
          return Error{"InvalidCloudEvent", "header " + name + " is not UTF-8"};
        }
        e[attr] = std::move(v);
      }
    }
    std::string_view ct = req.header("Content-Type");
    if (!ct.empty()) {
      e["datacontenttype"] = std::string(ct);
    }
    if (!req.body.empty()) {
      if (json_media(media) || media.empty()) {
        Json data = Json::parse(req.body, nullptr, false);
        if (data.is_discarded() || !within_depth(data)) {
          if (!media.empty()) {
            return Error{"InvalidCloudEvent", "the body is not the JSON its Content-Type says"};
          }
          data = valid_utf8(req.body) ? Json(req.body) : Json();
        }
        if (!data.is_null() || req.body == "null") {
          e["data"] = std::move(data);
        } else {
          e["data_base64"] = base64_encode(req.body);
        }
      } else if (valid_utf8(req.body)) {
        e["data"] = req.body;
      } else {
        e["data_base64"] = base64_encode(req.body);
      }
    }
    auto checked = check_event(std::move(e));
    if (!checked) {
      return checked.error();
    }
    out.push_back(std::move(*checked));
    return out;
  }
  bool batch = media == "application/cloudevents-batch+json";
  if (media != "application/cloudevents+json" && !batch) {
    return Error{"InvalidCloudEvent",
                 "not a CloudEvent: send ce-specversion/ce-id/ce-source/ce-type headers (binary mode) or a "
                 "Content-Type of application/cloudevents+json (structured) or application/cloudevents-batch+json"};
  }
  Json doc = Json::parse(req.body, nullptr, false);
  if (doc.is_discarded() || !within_depth(doc)) {
    return Error{"InvalidCloudEvent", "the body is not valid JSON"};
  }
  if (batch && !doc.is_array()) {
    return Error{"InvalidCloudEvent", "a batch must be a JSON array of events"};
  }
  if (!batch) {
    doc = Json::array({std::move(doc)});
  }
  for (auto& e : doc) {
    auto checked = check_event(std::move(e));
    if (!checked) {
      return checked.error();
    }
    out.push_back(std::move(*checked));
  }
  return out;
}

std::string cloudevent_execution_name(const Json& event) {
  return "ce-" + sha256_hex(event["source"].get<std::string>() + "\n" + event["id"].get<std::string>()).substr(0, 40);
}

// ---- endpoints -----------------------------------------------------------------------

namespace {

// Execution names are 1-80 of [A-Za-z0-9._-] (the REST API's rule): a delivery id
// outside that is hashed instead.
std::string delivery_name(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 80 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
  return ok ? std::string(id) : "d-" + sha256_hex(id).substr(0, 40);
}

int start_error_status(const std::string& code) {
  return code == "NotFound" ? 404 : code == "PayloadTooLarge" ? 413 : 400;
}

}  // namespace

asio::awaitable<http::Response> TriggerEndpoints::webhook(const std::string& hook, const http::Request& req) {
  auto owner = co_await index_.hook_owner(hook);
  std::optional<store::StateMachineRecord> rec;
  if (owner) {
    rec = co_await state_machines_.get(*owner);
  }
  std::optional<router::WebhookTrigger> trigger;
  if (rec) {
    trigger = router::find_webhook(Json::parse(rec->triggers, nullptr, false), hook);
  }
  if (!trigger) {
    co_return error_response(404, "NotFound", "no webhook named '" + hook + "'");
  }
  auto secret = read_secret(*trigger);
  if (!secret) {
    // The operator's mistake, not the sender's: 503 so that senders that retry do so once it is fixed.
    std::cerr << "switchyard: webhook " << hook << ": " << secret.error().cause << "\n";
    co_return error_response(503, secret.error().error, "the webhook's secret is not available");
  }
  Result<void> auth;
  std::string delivery;
  if (trigger->scheme == "github") {
    auth = verify_github(*secret, req.body, req.header("X-Hub-Signature-256"));
    delivery = std::string(req.header("X-GitHub-Delivery"));
  } else if (trigger->scheme == "standard-webhooks") {
    auth = verify_standard_webhook(*secret, req.header("webhook-id"), req.header("webhook-timestamp"),
                                   req.header("webhook-signature"), req.body, router::now_ms() / 1000);
    delivery = std::string(req.header("webhook-id"));
  } else {
    auth = verify_token(*secret, req);
  }
  if (!auth) {
    if (auth.error().error == "SecretInvalid") {
      std::cerr << "switchyard: webhook " << hook << ": " << auth.error().cause << "\n";
      co_return error_response(503, "SecretUnavailable", "the webhook's secret is not usable");
    }
    co_return error_response(401, "Unauthorized", auth.error().cause);
  }
  if (delivery.empty()) {
    delivery = std::string(req.header("Idempotency-Key"));
  }

  std::vector<TriggeredStart> starts;
  bool strict_names = trigger->format != "alertmanager";
  if (trigger->format == "alertmanager") {
    Json payload = Json::parse(req.body, nullptr, false);
    if (payload.is_discarded() || !within_depth(payload)) {
      co_return error_response(400, "InvalidPayload", "not an Alertmanager webhook: the body is not JSON");
    }
    auto mapped = alertmanager_starts(payload);
    if (!mapped) {
      co_return error_response(400, mapped.error().error, mapped.error().cause);
    }
    starts = std::move(*mapped);
  } else {
    starts.push_back({delivery.empty() ? "" : delivery_name(delivery), raw_webhook_input(req.body)});
  }

  Json ids = Json::array();
  co_await service_.admit();  // once for the request (an Alertmanager batch starts many)
  for (auto& s : starts) {
    auto r = co_await service_.start(*owner, s.input, s.name, router::ExecutionService::Hold::Admitted);
    if (!r) {
      co_return error_response(start_error_status(r.error().error), r.error().error, r.error().cause);
    }
    if (r->kind == router::StartResult::Kind::Conflict && strict_names) {
      co_return error_response(409, "ExecutionAlreadyExists",
                               "delivery '" + delivery + "' was already received with a different body");
    }
    ids.push_back(r->id);
  }
  co_return json_response(202, Json{{"executions", ids}});
}

asio::awaitable<http::Response> TriggerEndpoints::events(const http::Request& req) {
  auto events = parse_cloudevents(req);
  if (!events) {
    co_return error_response(400, events.error().error, events.error().cause);
  }
  Json ids = Json::array();
  co_await service_.admit();  // once for the request (a batch, several subscribers)
  for (const auto& e : *events) {
    const std::string type = e["type"].get<std::string>();
    const std::string source = e["source"].get<std::string>();
    for (const auto& sm : co_await index_.event_subscribers(type)) {
      auto rec = co_await state_machines_.get(sm);
      if (!rec || !router::matches_cloudevent(Json::parse(rec->triggers, nullptr, false), type, source)) {
        continue;
      }
      auto r = co_await service_.start(sm, e, cloudevent_execution_name(e), router::ExecutionService::Hold::Admitted);
      if (!r) {
        if (r.error().error == "NotFound") {
          continue;  // deleted since the index was read
        }
        co_return error_response(start_error_status(r.error().error), r.error().error, r.error().cause);
      }
      ids.push_back(r->id);
    }
  }
  co_return json_response(202, Json{{"executions", ids}});
}

}  // namespace switchyard::gateway
