#pragma once
/// Webhook and CloudEvents triggers (DESIGN.md §3): POST /v1/hooks/{hook} and POST /v1/events.
///
/// Every start a trigger makes carries an execution name derived from what
/// the sender considers one delivery, so a redelivery returns the execution
/// of the first delivery instead of starting another (idempotent start):
///   - webhook, raw: the delivery id (X-GitHub-Delivery, webhook-id, or
///     Idempotency-Key), as is when it is a valid name, else "d-<sha256 prefix>";
///     without one, every delivery starts an execution;
///   - webhook, alertmanager: one execution per alert, "am-<sha256 of
///     fingerprint, startsAt, status>", so a resent notification does not
///     restart its alerts while a resolved alert starts its own execution;
///   - CloudEvents: "ce-<sha256 of source and id>" (the spec's uniqueness rule).
/// When a name already exists with another input (Alertmanager resends a group
/// whose common labels changed; a CloudEvent resent with other data), the
/// existing execution is reported; only a raw webhook answers 409 then (one
/// delivery id with two different bodies is the sender's bug).
///
/// Pure helpers are public for unit tests.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/asl/json.hpp"
#include "switchyard/common/result.hpp"
#include "switchyard/http/message.hpp"
#include "switchyard/router/execution_service.hpp"
#include "switchyard/router/triggers.hpp"
#include "switchyard/store/state_machine_store.hpp"
#include "switchyard/store/trigger_index.hpp"

namespace switchyard::gateway {

// ---- crypto and encoding ------------------------------------------------------

/// HMAC-SHA256(key, data), 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);
/// Lowercase hex of SHA-256(data).
std::string sha256_hex(std::string_view data);
std::string hex(std::string_view bytes);
std::string base64_encode(std::string_view bytes);
/// Standard alphabet, padding optional; nullopt when not base64.
std::optional<std::string> base64_decode(std::string_view text);
/// Compares in time independent of where the inputs differ (lengths may leak).
bool constant_time_equal(std::string_view a, std::string_view b);
bool valid_utf8(std::string_view s);

// ---- webhook authentication -------------------------------------------------------

/// Signatures older or newer than this are refused (Standard Webhooks' replay window).
inline constexpr int64_t kWebhookToleranceSeconds = 300;

/// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`.
Result<void> verify_github(std::string_view secret, std::string_view body, std::string_view signature_header);
/// Standard Webhooks: HMAC-SHA256 keyed with base64-decoded secret (after an optional "whsec_")
/// over "<id>.<timestamp>.<body>"; `signatures` is a space-separated list of "v1,<base64>".
Result<void> verify_standard_webhook(std::string_view secret, std::string_view id, std::string_view timestamp,
                                     std::string_view signatures, std::string_view body, int64_t now_seconds);
/// Token: `Authorization: Bearer <secret>` or `X-Switchyard-Token: <secret>`.
Result<void> verify_token(std::string_view secret, const http::Request& req);

/// The secret of a webhook trigger, read now (so a rotated file or a new env takes
/// effect without a restart); trailing newlines of a file are dropped.
Result<std::string> read_secret(const router::WebhookTrigger& hook);

// ---- payload mapping ------------------------------------------------------------------

struct TriggeredStart {
  std::string name;  ///< execution name ("" = none)
  Json input;
};

/// A raw webhook's input: the JSON body, or {"body": "<text>"} when it is not JSON
/// ({"bodyBase64": ...} when not even UTF-8).
Json raw_webhook_input(std::string_view body);
/// Alertmanager's webhook payload (version "4") as one start per alert: the alert's
/// fields (status, labels, annotations, startsAt, endsAt, generatorURL, fingerprint)
/// plus the notification's receiver, groupKey, groupLabels, commonLabels,
/// commonAnnotations, externalURL and its status as "groupStatus".
/// Error{"InvalidPayload", why} when it is not such a payload.
Result<std::vector<TriggeredStart>> alertmanager_starts(const Json& payload);

/// The CloudEvents of a request, each in structured form ({"specversion","id","source",
/// "type",..., "data"}): binary mode (ce-* headers, the body is the data), structured
/// mode (application/cloudevents+json) or batched mode (application/cloudevents-batch+json).
/// Error{"InvalidCloudEvent", why} when one is malformed (the whole request is refused).
Result<std::vector<Json>> parse_cloudevents(const http::Request& req);
/// "ce-<first 40 hex of SHA-256(source "\n" id)>".
std::string cloudevent_execution_name(const Json& event);

// ---- endpoints ----------------------------------------------------------------------------

class TriggerEndpoints {
 public:
  TriggerEndpoints(router::ExecutionService& service, store::StateMachineStore& state_machines, store::Redis& redis)
      : service_(service), state_machines_(state_machines), index_(redis) {}

  /// POST /v1/hooks/{hook}: 404 unknown hook, 401 bad auth (nothing started), 202 {"executions": [ids]}.
  boost::asio::awaitable<http::Response> webhook(const std::string& hook, const http::Request& req);
  /// POST /v1/events: 400 malformed, 202 {"executions": [ids]} (empty when nothing matches).
  boost::asio::awaitable<http::Response> events(const http::Request& req);

 private:
  router::ExecutionService& service_;
  store::StateMachineStore& state_machines_;
  store::TriggerIndex index_;
};

}  // namespace switchyard::gateway
