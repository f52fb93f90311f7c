#pragma once
/// Triggers of a state machine (DESIGN.md §3, the PUT body's "triggers"):
/// their validation at PUT time and typed views of a stored (valid) array.
///
///   {"type": "webhook", "name": "<hook>", "auth": {"scheme": "github" | "standard-webhooks" | "token",
///    "secretFrom": {"env": "NAME"} | {"file": "PATH"}}, "format": "raw" | "alertmanager"}
///   {"type": "cloudevent", "eventType": "<ce type>", "source": "<optional ce source>"}
///   {"type": "schedule", "cron": "<5 fields>", "timezone": "UTC" | "+02:00" | "Europe/Berlin", "input": {...}}
///
/// A webhook must have auth (an open endpoint that starts executions is a
/// hazard); "format" defaults to "raw", "timezone" to "UTC", "input" to {}.
/// Unknown fields are problems, so a typo ("secretfrom") is not silently ignored.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "switchyard/asl/json.hpp"
#include "switchyard/asl/problem.hpp"
#include "switchyard/router/cron.hpp"

namespace switchyard::router {

struct WebhookTrigger {
  std::string name;
  std::string scheme;      ///< github | standard-webhooks | token
  std::string secret_env;  ///< one of secret_env / secret_file is set
  std::string secret_file;
  std::string format = "raw";  ///< raw | alertmanager
};

struct ScheduleTrigger {
  size_t index = 0;  ///< position in the triggers array (part of its identity)
  std::string cron_text;
  CronSchedule cron;
  TimeZone zone = TimeZone::fixed(std::chrono::seconds{0});  ///< "timezone" (default UTC)
  Json input = Json::object();
};

/// Every problem of a "triggers" value, with JSON pointers like "/triggers/0/cron".
asl::Problems validate_triggers(const Json& triggers);

/// The webhook trigger named `name` in a stored triggers array; nullopt when none.
std::optional<WebhookTrigger> find_webhook(const Json& triggers, const std::string& name);
/// Whether a cloudevent trigger matches this event type and source.
bool matches_cloudevent(const Json& triggers, const std::string& type, const std::string& source);
/// The valid schedule triggers of a stored triggers array.
std::vector<ScheduleTrigger> schedules_of(const Json& triggers);

/// The execution name of a schedule's fire at `minute`: "schedule-20261122T1509Z"
/// (trigger 0) or "schedule-20261122T1509Z-<index>", the same on every router, so
/// routers that fire the same minute start one execution.
std::string schedule_execution_name(const ScheduleTrigger& s, std::chrono::sys_seconds minute);

}  // namespace switchyard::router
