#include "switchyard/router/triggers.hpp"

#include <cctype>
#include <set>

namespace switchyard::router {

namespace {

// Hook names appear in URLs: the execution-name alphabet, 1-80 characters.
bool valid_hook_name(const std::string& s) {
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

bool non_empty_string(const Json& j) { return j.is_string() && !j.get<std::string>().empty(); }

// A string member or "" (stored triggers are validated, but never throw on old data).
std::string str_of(const Json& o, const char* k) {
  if (!o.is_object()) {
    return "";
  }
  auto it = o.find(k);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

void unknown_fields(const Json& t, std::initializer_list<const char*> known, const std::string& at,
                    asl::Problems& out) {
  for (const auto& [k, v] : t.items()) {
    bool ok = false;
    for (const char* name : known) {
      ok = ok || k == name;
    }
    if (!ok) {
      out.push_back({at + "/" + k, "unknown field '" + k + "'"});
    }
  }
}

void validate_webhook(const Json& t, const std::string& at, std::set<std::string>& hooks, asl::Problems& out) {
  unknown_fields(t, {"type", "name", "auth", "format"}, at, out);
  if (!t.contains("name") || !t["name"].is_string() || !valid_hook_name(t["name"].get<std::string>())) {
    out.push_back({at + "/name",
                   "a webhook needs a name of 1-80 letters, digits, '-', '_' and '.' (it is the "
                   "last part of POST /v1/hooks/<name>)"});
  } else if (!hooks.insert(t["name"].get<std::string>()).second) {
    out.push_back({at + "/name", "the webhook name '" + t["name"].get<std::string>() + "' is used twice"});
  }
  if (t.contains("format")) {
    if (!t["format"].is_string() || (t["format"] != "raw" && t["format"] != "alertmanager")) {
      out.push_back({at + "/format", "format must be \"raw\" or \"alertmanager\""});
    }
  }
  if (!t.contains("auth")) {
    out.push_back({at + "/auth",
                   "a webhook needs auth: {\"scheme\": \"github\" | \"standard-webhooks\" | "
                   "\"token\", \"secretFrom\": {\"env\": NAME} | {\"file\": PATH}}"});
    return;
  }
  const Json& auth = t["auth"];
  if (!auth.is_object()) {
    out.push_back({at + "/auth", "auth must be an object {\"scheme\", \"secretFrom\"}"});
    return;
  }
  unknown_fields(auth, {"scheme", "secretFrom"}, at + "/auth", out);
  if (!auth.contains("scheme") || !auth["scheme"].is_string() ||
      (auth["scheme"] != "github" && auth["scheme"] != "standard-webhooks" && auth["scheme"] != "token")) {
    out.push_back({at + "/auth/scheme", "scheme must be \"github\", \"standard-webhooks\" or \"token\""});
  }
  const std::string sf = at + "/auth/secretFrom";
  if (!auth.contains("secretFrom") || !auth["secretFrom"].is_object()) {
    out.push_back({sf, "secretFrom must be {\"env\": \"NAME\"} or {\"file\": \"PATH\"}"});
    return;
  }
  const Json& from = auth["secretFrom"];
  unknown_fields(from, {"env", "file"}, sf, out);
  bool env = from.contains("env");
  bool file = from.contains("file");
  if (env == file) {
    out.push_back({sf, "secretFrom needs exactly one of \"env\" and \"file\""});
  } else if (env && !non_empty_string(from["env"])) {
    out.push_back({sf + "/env", "env must be the name of an environment variable"});
  } else if (file && !non_empty_string(from["file"])) {
    out.push_back({sf + "/file", "file must be a path"});
  }
}

void validate_cloudevent(const Json& t, const std::string& at, asl::Problems& out) {
  unknown_fields(t, {"type", "eventType", "source"}, at, out);
  if (!t.contains("eventType") || !non_empty_string(t["eventType"])) {
    out.push_back({at + "/eventType", "a cloudevent trigger needs eventType, the CloudEvents type to match"});
  } else if (t["eventType"].get<std::string>().size() > 256) {
    out.push_back({at + "/eventType", "eventType is longer than 256 characters"});
  }
  if (t.contains("source") && !non_empty_string(t["source"])) {
    out.push_back({at + "/source", "source must be a non-empty string (or left out to match any source)"});
  }
}

void validate_schedule(const Json& t, const std::string& at, asl::Problems& out) {
  unknown_fields(t, {"type", "cron", "timezone", "input"}, at, out);
  if (!t.contains("cron") || !t["cron"].is_string()) {
    out.push_back({at + "/cron", "a schedule needs cron, 5 fields \"minute hour day-of-month month day-of-week\""});
  } else if (auto c = CronSchedule::parse(t["cron"].get<std::string>()); !c) {
    out.push_back({at + "/cron", c.error().cause});
  }
  if (t.contains("timezone")) {
    if (!t["timezone"].is_string()) {
      out.push_back({at + "/timezone", "timezone must be a string such as \"UTC\" or \"Europe/Berlin\""});
    } else if (auto z = TimeZone::named(t["timezone"].get<std::string>()); !z) {
      out.push_back({at + "/timezone", z.error().cause});
    }
  }
}

}  // namespace

asl::Problems validate_triggers(const Json& triggers) {
  asl::Problems out;
  if (!triggers.is_array()) {
    out.push_back({"/triggers", "triggers must be an array"});
    return out;
  }
  if (triggers.size() > 100) {
    out.push_back({"/triggers", "at most 100 triggers per state machine"});
    return out;
  }
  std::set<std::string> hooks;
  for (size_t i = 0; i < triggers.size(); ++i) {
    const Json& t = triggers[i];
    std::string at = "/triggers/" + std::to_string(i);
    if (!t.is_object()) {
      out.push_back({at, "a trigger must be an object with a \"type\""});
      continue;
    }
    std::string type = t.contains("type") && t["type"].is_string() ? t["type"].get<std::string>() : "";
    if (type == "webhook") {
      validate_webhook(t, at, hooks, out);
    } else if (type == "cloudevent") {
      validate_cloudevent(t, at, out);
    } else if (type == "schedule") {
      validate_schedule(t, at, out);
    } else {
      out.push_back({at + "/type", "type must be \"webhook\", \"cloudevent\" or \"schedule\""});
    }
  }
  return out;
}

std::optional<WebhookTrigger> find_webhook(const Json& triggers, const std::string& name) {
  if (!triggers.is_array()) {
    return std::nullopt;
  }
  for (const auto& t : triggers) {
    if (!t.is_object() || str_of(t, "type") != "webhook" || str_of(t, "name") != name) {
      continue;
    }
    WebhookTrigger w;
    w.name = name;
    w.format = str_of(t, "format").empty() ? "raw" : str_of(t, "format");
    const Json& auth = t.contains("auth") ? t["auth"] : t;
    w.scheme = str_of(auth, "scheme");
    const Json& from = auth.contains("secretFrom") ? auth["secretFrom"] : auth;
    w.secret_env = str_of(from, "env");
    w.secret_file = str_of(from, "file");
    return w;
  }
  return std::nullopt;
}

bool matches_cloudevent(const Json& triggers, const std::string& type, const std::string& source) {
  if (!triggers.is_array()) {
    return false;
  }
  for (const auto& t : triggers) {
    if (t.is_object() && str_of(t, "type") == "cloudevent" && str_of(t, "eventType") == type &&
        (!t.contains("source") || str_of(t, "source") == source)) {
      return true;
    }
  }
  return false;
}

std::vector<ScheduleTrigger> schedules_of(const Json& triggers) {
  std::vector<ScheduleTrigger> out;
  if (!triggers.is_array()) {
    return out;
  }
  for (size_t i = 0; i < triggers.size(); ++i) {
    const Json& t = triggers[i];
    if (!t.is_object() || str_of(t, "type") != "schedule" || !t.contains("cron") || !t["cron"].is_string()) {
      continue;
    }
    auto cron = CronSchedule::parse(t["cron"].get<std::string>());
    auto zone = TimeZone::named(str_of(t, "timezone").empty() ? "UTC" : str_of(t, "timezone"));
    if (!cron || !zone) {
      continue;  // stored before a validation rule existed: skip rather than guess
    }
    ScheduleTrigger s;
    s.index = i;
    s.cron_text = t["cron"].get<std::string>();
    s.cron = *cron;
    s.zone = *zone;
    s.input = t.contains("input") ? t["input"] : Json::object();
    out.push_back(std::move(s));
  }
  return out;
}

std::string schedule_execution_name(const ScheduleTrigger& s, std::chrono::sys_seconds minute) {
  std::string name = "schedule-" + iso_minute(minute);
  if (s.index > 0) {
    name += "-" + std::to_string(s.index);
  }
  return name;
}

}  // namespace switchyard::router
