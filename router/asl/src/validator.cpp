/*
 * Validation and pre-parsing of an ASL document (JSONPath flavour).
 *
 * One walk over the document both checks every rule of the States Language
 * (plus Step Functions' own limits) and fills the DefinitionImpl the
 * interpreter runs from. Every problem is collected, each with the JSON
 * pointer of the offending field; nothing stops at the first one. Checks that
 * need the whole machine (Next targets, reachability, a terminal state) run
 * after its states are read. Paths, payload templates, intrinsics and Choice
 * rules are checked by their own modules (paths/payload/intrinsics/choice).
 */
#include <algorithm>
#include <cmath>
#include <deque>
#include <set>

#include "model.hpp"
#include "switchyard/asl/choice.hpp"
#include "switchyard/asl/intrinsics.hpp"
#include "switchyard/asl/paths.hpp"
#include "switchyard/asl/payload.hpp"

namespace switchyard::asl {
namespace {

using Keys = std::set<std::string, std::less<>>;

constexpr int64_t kMaxSeconds = 99999999;       // AWS's upper bound for *Seconds fields
constexpr int64_t kMaxDelaySeconds = 31622400;  // MaxDelaySeconds must be < 31622401
constexpr size_t kMaxNameLength = 80;

size_t utf8_length(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string join(const std::string& ptr, std::string_view key) { return ptr + "/" + pointer_token(key); }

std::optional<StateType> parse_type(std::string_view s) {
  static const std::pair<std::string_view, StateType> kTypes[] = {
      {"Pass", StateType::Pass},         {"Task", StateType::Task},       {"Choice", StateType::Choice},
      {"Wait", StateType::Wait},         {"Succeed", StateType::Succeed}, {"Fail", StateType::Fail},
      {"Parallel", StateType::Parallel}, {"Map", StateType::Map}};
  for (const auto& [name, t] : kTypes) {
    if (name == s) {
      return t;
    }
  }
  return std::nullopt;
}

Keys allowed_fields(StateType t) {
  Keys k = {"Type", "Comment", "QueryLanguage"};
  auto add = [&](std::initializer_list<const char*> more) { k.insert(more.begin(), more.end()); };
  switch (t) {
    case StateType::Pass:
      add({"InputPath", "OutputPath", "Next", "End", "ResultPath", "Parameters", "Result", "Assign"});
      break;
    case StateType::Task:
      add({"InputPath", "OutputPath", "Next", "End", "Resource", "Parameters", "ResultSelector", "ResultPath", "Retry",
           "Catch", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials",
           "Assign"});
      break;
    case StateType::Choice:
      add({"InputPath", "OutputPath", "Choices", "Default", "Assign"});
      break;
    case StateType::Wait:
      add({"InputPath", "OutputPath", "Next", "End", "Seconds", "Timestamp", "SecondsPath", "TimestampPath", "Assign"});
      break;
    case StateType::Succeed:
      add({"InputPath", "OutputPath"});
      break;
    case StateType::Fail:
      add({"Error", "ErrorPath", "Cause", "CausePath"});
      break;
    case StateType::Parallel:
      add({"InputPath", "OutputPath", "Next", "End", "Branches", "Parameters", "ResultSelector", "ResultPath", "Retry",
           "Catch", "Assign"});
      break;
    case StateType::Map:
      add({"InputPath",
           "OutputPath",
           "Next",
           "End",
           "ItemProcessor",
           "Iterator",
           "ItemsPath",
           "ItemSelector",
           "Parameters",
           "MaxConcurrency",
           "MaxConcurrencyPath",
           "ResultPath",
           "ResultSelector",
           "Retry",
           "Catch",
           "Assign",
           "ToleratedFailureCount",
           "ToleratedFailureCountPath",
           "ToleratedFailurePercentage",
           "ToleratedFailurePercentagePath"});
      break;
  }
  return k;
}

bool is_jsonata_only(std::string_view key) { return key == "Arguments" || key == "Output" || key == "Items"; }

bool is_distributed_only(std::string_view key) {
  return key == "ItemReader" || key == "ItemBatcher" || key == "ResultWriter" || key == "Label";
}

bool valid_variable_name(std::string_view name) {
  if (name.empty() || utf8_length(name) > kMaxNameLength) {
    return false;
  }
  auto letter = [](unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; };
  if (!letter(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return letter(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c));
  });
}

enum class MachineKind { Top, Branch, Processor, Iterator };

struct Edge {
  std::string target;
  std::string pointer;
};

class Builder {
 public:
  Builder(DefinitionImpl& impl, Problems& out) : impl_(impl), out_(out) {}

  void run() {
    const Json& doc = impl_.document;
    if (!doc.is_object()) {
      add("", "The state machine definition must be a JSON object.");
      return;
    }
    std::string ql = "JSONPath";
    if (auto it = doc.find("QueryLanguage"); it != doc.end()) {
      ql = query_language(*it, "/QueryLanguage", "JSONPath");
    }
    if (auto it = doc.find("TimeoutSeconds"); it != doc.end()) {
      if (auto v = integer(*it, "/TimeoutSeconds", "TimeoutSeconds", 1, kMaxSeconds)) {
        impl_.timeout_ms = *v * 1000;
      }
    }
    if (auto it = doc.find("Version"); it != doc.end() && !it->is_string()) {
      add("/Version", "Version must be a string.");
    }
    machine(doc, "", MachineKind::Top, ql);
  }

 private:
  void add(std::string path, std::string message) { out_.push_back(Problem{std::move(path), std::move(message)}); }

  // ---- scalar helpers -------------------------------------------------------

  std::optional<int64_t> integer(const Json& v, const std::string& ptr, std::string_view field, int64_t min,
                                 int64_t max) {
    if (!v.is_number_integer()) {
      add(ptr, std::string(field) + " must be an integer.");
      return std::nullopt;
    }
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max)) {
      add(ptr, std::string(field) + " must be at most " + std::to_string(max) + ".");
      return std::nullopt;
    }
    auto n = v.get<int64_t>();
    if (n < min || n > max) {
      add(ptr, std::string(field) + " must be between " + std::to_string(min) + " and " + std::to_string(max) + ".");
      return std::nullopt;
    }
    return n;
  }

  std::optional<std::string> string(const Json& s, std::string_view key, const std::string& ptr) {
    auto it = s.find(key);
    if (it == s.end()) {
      return std::nullopt;
    }
    if (!it->is_string()) {
      add(join(ptr, key), std::string(key) + " must be a string.");
      return std::nullopt;
    }
    return it->get<std::string>();
  }

  std::string query_language(const Json& v, const std::string& ptr, const std::string& inherited) {
    if (!v.is_string()) {
      add(ptr, "QueryLanguage must be the string \"JSONPath\" or \"JSONata\".");
      return inherited;
    }
    auto ql = v.get<std::string>();
    if (ql == "JSONata") {
      add(ptr, "QueryLanguage \"JSONata\" is not supported yet; use \"JSONPath\".");
    } else if (ql != "JSONPath") {
      add(ptr, "QueryLanguage must be \"JSONPath\" or \"JSONata\", not \"" + ql + "\".");
      return inherited;
    }
    return ql;
  }

  /// A path field: absent, null (when allowed) or a valid path of `kind`.
  PathField path(const Json& s, std::string_view key, const std::string& ptr, PathKind kind, bool allow_null) {
    PathField f;
    auto it = s.find(key);
    if (it == s.end()) {
      return f;
    }
    std::string p = join(ptr, key);
    if (it->is_null()) {
      if (allow_null) {
        f.kind = PathField::Kind::Null;
      } else {
        add(p, std::string(key) + " must be a path, not null.");
      }
      return f;
    }
    if (!it->is_string()) {
      add(p, std::string(key) + " must be a string holding a " +
                 (kind == PathKind::Reference ? "Reference Path." : "JSONPath."));
      return f;
    }
    auto text = it->get<std::string>();
    std::string why;
    if (!is_valid_path(text, kind, &why)) {
      add(p, std::string(key) + " '" + text + "' is not a valid " +
                 (kind == PathKind::Reference ? "Reference Path" : "JSONPath") + (why.empty() ? "." : ": " + why));
      return f;
    }
    f.kind = PathField::Kind::Value;
    f.path = std::move(text);
    return f;
  }

  std::string reference_path(const Json& s, std::string_view key, const std::string& ptr) {
    return path(s, key, ptr, PathKind::Reference, false).path;
  }

  /// ResultPath: null or a Reference Path into the state input ("$...").
  PathField result_path(const Json& s, const std::string& ptr) {
    PathField f = path(s, "ResultPath", ptr, PathKind::Reference, true);
    if (f.kind == PathField::Kind::Value) {
      const std::string& p = f.path;
      bool on_input = p == "$" || (p.size() > 1 && p[0] == '$' && (p[1] == '.' || p[1] == '['));
      if (!on_input) {
        add(join(ptr, "ResultPath"),
            "ResultPath '" + p + "' must refer to the state input (start with \"$.\" or \"$[\").");
        f.kind = PathField::Kind::Absent;
      }
    }
    return f;
  }

  /// A Reference Path or an intrinsic function call (ErrorPath, CausePath).
  std::string path_or_intrinsic(const Json& s, std::string_view key, const std::string& ptr) {
    auto it = s.find(key);
    if (it == s.end()) {
      return {};
    }
    std::string p = join(ptr, key);
    if (!it->is_string()) {
      add(p, std::string(key) + " must be a string holding a Reference Path or an intrinsic function.");
      return {};
    }
    auto text = it->get<std::string>();
    std::string why;
    if (is_intrinsic(text)) {
      if (!validate_intrinsic(text, &why)) {
        add(p,
            std::string(key) + " '" + text + "' is not a valid intrinsic function" + (why.empty() ? "." : ": " + why));
        return {};
      }
      return text;
    }
    if (!is_valid_path(text, PathKind::Reference, &why)) {
      add(p, std::string(key) + " '" + text + "' is not a valid Reference Path" + (why.empty() ? "." : ": " + why));
      return {};
    }
    return text;
  }

  const Json* payload(const Json& s, std::string_view key, const std::string& ptr, bool require_object) {
    auto it = s.find(key);
    if (it == s.end()) {
      return nullptr;
    }
    std::string p = join(ptr, key);
    if (require_object && !it->is_object()) {
      add(p, std::string(key) + " must be a JSON object.");
      return nullptr;
    }
    validate_payload(*it, p, out_);
    return &*it;
  }

  const Json* assign(const Json& s, const std::string& ptr) {
    auto it = s.find("Assign");
    if (it == s.end()) {
      return nullptr;
    }
    std::string p = join(ptr, "Assign");
    if (!it->is_object()) {
      add(p, "Assign must be a JSON object of variable names to values.");
      return nullptr;
    }
    for (const auto& [key, value] : it->items()) {
      std::string_view name = key;
      if (name.size() >= 2 && name.substr(name.size() - 2) == ".$") {
        name.remove_suffix(2);
      }
      if (!valid_variable_name(name)) {
        add(join(p, key), "'" + std::string(name) +
                              "' is not a valid variable name: it must start with a letter or '_', contain only "
                              "letters, digits and '_', and be at most 80 characters long.");
      }
    }
    validate_payload(*it, p, out_);
    return &*it;
  }

  std::vector<std::string> error_equals(const Json& obj, const std::string& ptr) {
    std::vector<std::string> names;
    auto it = obj.find("ErrorEquals");
    std::string p = join(ptr, "ErrorEquals");
    if (it == obj.end()) {
      add(ptr, "ErrorEquals is required.");
      return names;
    }
    if (!it->is_array() || it->empty()) {
      add(p, "ErrorEquals must be a non-empty array of error names.");
      return names;
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& e = (*it)[i];
      if (!e.is_string()) {
        add(p + "/" + std::to_string(i), "Each ErrorEquals entry must be a string.");
        continue;
      }
      names.push_back(e.get<std::string>());
    }
    if (std::find(names.begin(), names.end(), "States.ALL") != names.end() && it->size() > 1) {
      add(p, "States.ALL must appear alone in ErrorEquals.");
    }
    return names;
  }

  void unknown_fields(const Json& obj, const std::string& ptr, const Keys& allowed, std::string_view what) {
    for (const auto& [key, value] : obj.items()) {
      if (allowed.contains(key)) {
        continue;
      }
      if (is_jsonata_only(key)) {
        add(join(ptr, key), "Field '" + key + "' belongs to the JSONata query language, which is not supported yet.");
      } else if (is_distributed_only(key)) {
        add(join(ptr, key), "Field '" + key + "' needs a DISTRIBUTED Map, which is not supported yet.");
      } else {
        add(join(ptr, key), "Field '" + key + "' is not supported in " + std::string(what) + ".");
      }
    }
  }

  // ---- retry / catch --------------------------------------------------------

  void retry(const Json& s, const std::string& ptr, StateDef& st) {
    auto it = s.find("Retry");
    if (it == s.end()) {
      return;
    }
    std::string p = join(ptr, "Retry");
    if (!it->is_array()) {
      add(p, "Retry must be an array of Retriers.");
      return;
    }
    static const Keys kRetrierKeys = {"ErrorEquals",     "IntervalSeconds", "MaxAttempts", "BackoffRate",
                                      "MaxDelaySeconds", "JitterStrategy",  "Comment"};
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& r = (*it)[i];
      std::string rp = p + "/" + std::to_string(i);
      if (!r.is_object()) {
        add(rp, "Each Retrier must be a JSON object.");
        continue;
      }
      unknown_fields(r, rp, kRetrierKeys, "a Retrier");
      Retrier out;
      out.error_equals = error_equals(r, rp);
      if (std::find(out.error_equals.begin(), out.error_equals.end(), "States.ALL") != out.error_equals.end() &&
          i + 1 != it->size()) {
        add(join(rp, "ErrorEquals"), "A Retrier with States.ALL must be the last Retrier.");
      }
      if (auto v = r.find("IntervalSeconds"); v != r.end()) {
        out.interval_seconds = integer(*v, join(rp, "IntervalSeconds"), "IntervalSeconds", 1, kMaxSeconds).value_or(1);
      }
      if (auto v = r.find("MaxAttempts"); v != r.end()) {
        out.max_attempts = integer(*v, join(rp, "MaxAttempts"), "MaxAttempts", 0, kMaxSeconds).value_or(3);
      }
      if (auto v = r.find("BackoffRate"); v != r.end()) {
        if (!v->is_number() || v->get<double>() < 1.0 || !std::isfinite(v->get<double>())) {
          add(join(rp, "BackoffRate"), "BackoffRate must be a number greater than or equal to 1.0.");
        } else {
          out.backoff_rate = v->get<double>();
        }
      }
      if (auto v = r.find("MaxDelaySeconds"); v != r.end()) {
        out.max_delay_seconds = integer(*v, join(rp, "MaxDelaySeconds"), "MaxDelaySeconds", 1, kMaxDelaySeconds);
      }
      if (auto v = r.find("JitterStrategy"); v != r.end()) {
        if (!v->is_string() || (*v != "FULL" && *v != "NONE")) {
          add(join(rp, "JitterStrategy"), "JitterStrategy must be \"FULL\" or \"NONE\".");
        } else {
          out.full_jitter = *v == "FULL";
        }
      }
      if (auto v = r.find("Comment"); v != r.end() && !v->is_string()) {
        add(join(rp, "Comment"), "Comment must be a string.");
      }
      st.retry.push_back(std::move(out));
    }
  }

  void catchers(const Json& s, const std::string& ptr, StateDef& st, std::vector<Edge>& edges) {
    auto it = s.find("Catch");
    if (it == s.end()) {
      return;
    }
    std::string p = join(ptr, "Catch");
    if (!it->is_array()) {
      add(p, "Catch must be an array of Catchers.");
      return;
    }
    static const Keys kCatcherKeys = {"ErrorEquals", "Next", "ResultPath", "Assign", "Comment"};
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& c = (*it)[i];
      std::string cp = p + "/" + std::to_string(i);
      if (!c.is_object()) {
        add(cp, "Each Catcher must be a JSON object.");
        continue;
      }
      unknown_fields(c, cp, kCatcherKeys, "a Catcher");
      Catcher out;
      out.error_equals = error_equals(c, cp);
      if (std::find(out.error_equals.begin(), out.error_equals.end(), "States.ALL") != out.error_equals.end() &&
          i + 1 != it->size()) {
        add(join(cp, "ErrorEquals"), "A Catcher with States.ALL must be the last Catcher.");
      }
      if (auto next = c.find("Next"); next == c.end()) {
        add(cp, "A Catcher must have a Next field.");
      } else if (!next->is_string()) {
        add(join(cp, "Next"), "Next must be a string naming a state.");
      } else {
        out.next = next->get<std::string>();
        edges.push_back({out.next, join(cp, "Next")});
      }
      out.result_path = result_path(c, cp);
      out.assign = assign(c, cp);
      if (auto v = c.find("Comment"); v != c.end() && !v->is_string()) {
        add(join(cp, "Comment"), "Comment must be a string.");
      }
      st.catchers.push_back(std::move(out));
    }
  }

  // ---- Task resource --------------------------------------------------------

  void resource(const Json& s, const std::string& ptr, StateDef& st) {
    auto it = s.find("Resource");
    std::string p = join(ptr, "Resource");
    if (it == s.end()) {
      add(ptr, "A Task state must have a Resource field.");
      return;
    }
    if (!it->is_string() || it->get<std::string>().empty()) {
      add(p, "Resource must be a non-empty string (an ARN, \"fn:<name>\" or an http(s) URL).");
      return;
    }
    st.resource = it->get<std::string>();
    std::vector<std::string> problems;
    st.resource_info = describe_resource(st.resource, &problems);
    st.wait_for_token = st.resource_info.wait_for_token;
    for (auto& message : problems) {
      add(p, std::move(message));
    }
    if (!st.resource_info.integration.empty()) {
      check_integration_parameters(s, ptr, st.resource_info.integration, st.resource_info.action);
    }
  }

  /// Required Parameters of the integrations Switchyard maps itself.
  void check_integration_parameters(const Json& s, const std::string& ptr, const std::string& service,
                                    const std::string& action) {
    std::vector<std::string> required;
    if (service == "lambda" && action.starts_with("invoke")) {
      required = {"FunctionName"};
    } else if (service == "http" && action.starts_with("invoke")) {
      required = {"ApiEndpoint", "Method"};
    } else {
      return;
    }
    auto it = s.find("Parameters");
    for (const auto& field : required) {
      bool present = it != s.end() && it->is_object() && (it->contains(field) || it->contains(field + ".$"));
      if (!present) {
        add(it == s.end() ? ptr : join(ptr, "Parameters"),
            "Parameters must set '" + field + "' for Resource '" + s["Resource"].get<std::string>() + "'.");
      }
    }
  }

  // ---- states ---------------------------------------------------------------

  void flow(const Json& s, const std::string& ptr, StateDef& st, std::vector<Edge>& edges) {
    auto next = s.find("Next");
    auto end = s.find("End");
    bool has_next = next != s.end();
    bool has_end = false;
    if (end != s.end()) {
      if (!end->is_boolean()) {
        add(join(ptr, "End"), "End must be a boolean.");
      } else {
        has_end = end->get<bool>();
        if (!has_end && !has_next) {
          add(join(ptr, "End"), "End must be true when there is no Next field.");
          return;
        }
      }
    }
    if (has_next && has_end) {
      add(ptr, "A state must have exactly one of Next and End, not both.");
      if (next->is_string()) {
        edges.push_back({next->get<std::string>(), join(ptr, "Next")});  // keeps reachability accurate
      }
      return;
    }
    if (!has_next && end == s.end()) {
      add(ptr, "A " + std::string(type_name(st.type)) + " state must have either Next or \"End\": true.");
      return;
    }
    st.end = has_end;
    if (has_next) {
      if (!next->is_string()) {
        add(join(ptr, "Next"), "Next must be a string naming a state.");
      } else {
        st.next = next->get<std::string>();
        edges.push_back({st.next, join(ptr, "Next")});
      }
    }
  }

  void state(const std::string& name, const Json& s, const std::string& ptr, Machine& m, const std::string& ql,
             std::vector<Edge>& edges) {
    StateDef st;
    st.name = name;
    st.pointer = ptr;
    if (name.empty()) {
      add(ptr, "State names must not be empty.");
    } else if (utf8_length(name) > kMaxNameLength) {
      add(ptr, "State name '" + name + "' is longer than 80 characters.");
    }
    if (auto [it, inserted] = names_.emplace(name, ptr); !inserted) {
      add(ptr, "State name '" + name + "' is already used at " + it->second +
                   "; state names must be unique in the whole state machine.");
    }
    if (!s.is_object()) {
      add(ptr, "State '" + name + "' must be a JSON object.");
      return;
    }
    auto type_it = s.find("Type");
    if (type_it == s.end()) {
      add(ptr, "State '" + name + "' must have a Type field.");
      return;
    }
    std::optional<StateType> type = type_it->is_string() ? parse_type(type_it->get<std::string>()) : std::nullopt;
    if (!type) {
      add(join(ptr, "Type"), "Type must be one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map.");
      return;
    }
    st.type = *type;
    std::string state_ql = ql;
    if (auto it = s.find("QueryLanguage"); it != s.end()) {
      state_ql = query_language(*it, join(ptr, "QueryLanguage"), ql);
    }
    if (state_ql == "JSONata") {
      // Not supported (already reported): keep only the transitions so that
      // reachability problems elsewhere stay accurate.
      jsonata_edges(s, ptr, edges);
      m.states.emplace(name, std::move(st));
      return;
    }
    unknown_fields(s, ptr, allowed_fields(st.type), "a " + std::string(type_name(st.type)) + " state");
    st.uses_context = s.dump().find("$$") != std::string::npos;
    (void)string(s, "Comment", ptr);

    bool io = st.type != StateType::Fail;
    if (io) {
      st.input_path = path(s, "InputPath", ptr, PathKind::Path, true);
      st.output_path = path(s, "OutputPath", ptr, PathKind::Path, true);
    }
    switch (st.type) {
      case StateType::Pass:
        flow(s, ptr, st, edges);
        st.result_path = result_path(s, ptr);
        st.parameters = payload(s, "Parameters", ptr, false);
        if (auto it = s.find("Result"); it != s.end()) {
          st.result = &*it;
        }
        st.assign = assign(s, ptr);
        break;
      case StateType::Task:
        flow(s, ptr, st, edges);
        resource(s, ptr, st);
        st.parameters = payload(s, "Parameters", ptr, false);
        st.result_selector = payload(s, "ResultSelector", ptr, true);
        st.result_path = result_path(s, ptr);
        retry(s, ptr, st);
        catchers(s, ptr, st, edges);
        task_timeouts(s, ptr, st);
        if (auto it = s.find("Credentials"); it != s.end() && !it->is_object()) {
          add(join(ptr, "Credentials"), "Credentials must be a JSON object.");
        }
        st.assign = assign(s, ptr);
        break;
      case StateType::Choice:
        choice(s, ptr, st, edges);
        st.assign = assign(s, ptr);
        break;
      case StateType::Wait:
        flow(s, ptr, st, edges);
        wait(s, ptr, st);
        st.assign = assign(s, ptr);
        break;
      case StateType::Succeed:
        break;
      case StateType::Fail:
        fail(s, ptr, st);
        break;
      case StateType::Parallel:
        flow(s, ptr, st, edges);
        st.parameters = payload(s, "Parameters", ptr, false);
        st.result_selector = payload(s, "ResultSelector", ptr, true);
        st.result_path = result_path(s, ptr);
        retry(s, ptr, st);
        catchers(s, ptr, st, edges);
        st.assign = assign(s, ptr);
        parallel(s, ptr, st, ql);
        break;
      case StateType::Map:
        flow(s, ptr, st, edges);
        st.result_selector = payload(s, "ResultSelector", ptr, true);
        st.result_path = result_path(s, ptr);
        retry(s, ptr, st);
        catchers(s, ptr, st, edges);
        st.assign = assign(s, ptr);
        map(s, ptr, st, ql);
        break;
    }
    m.states.emplace(name, std::move(st));
  }

  void jsonata_edges(const Json& s, const std::string& ptr, std::vector<Edge>& edges) {
    if (auto it = s.find("Next"); it != s.end() && it->is_string()) {
      edges.push_back({it->get<std::string>(), join(ptr, "Next")});
    }
    if (auto it = s.find("Default"); it != s.end() && it->is_string()) {
      edges.push_back({it->get<std::string>(), join(ptr, "Default")});
    }
    for (const char* list : {"Choices", "Catch"}) {
      auto it = s.find(list);
      if (it == s.end() || !it->is_array()) {
        continue;
      }
      for (size_t i = 0; i < it->size(); ++i) {
        const Json& e = (*it)[i];
        if (e.is_object() && e.contains("Next") && e["Next"].is_string()) {
          edges.push_back({e["Next"].get<std::string>(), join(ptr, list) + "/" + std::to_string(i) + "/Next"});
        }
      }
    }
  }

  void task_timeouts(const Json& s, const std::string& ptr, StateDef& st) {
    if (auto it = s.find("TimeoutSeconds"); it != s.end()) {
      st.timeout_seconds = integer(*it, join(ptr, "TimeoutSeconds"), "TimeoutSeconds", 1, kMaxSeconds);
    }
    st.timeout_seconds_path = reference_path(s, "TimeoutSecondsPath", ptr);
    if (s.contains("TimeoutSeconds") && s.contains("TimeoutSecondsPath")) {
      add(join(ptr, "TimeoutSecondsPath"), "TimeoutSeconds and TimeoutSecondsPath cannot both be set.");
    }
    if (auto it = s.find("HeartbeatSeconds"); it != s.end()) {
      st.heartbeat_seconds = integer(*it, join(ptr, "HeartbeatSeconds"), "HeartbeatSeconds", 1, kMaxSeconds);
    }
    st.heartbeat_seconds_path = reference_path(s, "HeartbeatSecondsPath", ptr);
    if (s.contains("HeartbeatSeconds") && s.contains("HeartbeatSecondsPath")) {
      add(join(ptr, "HeartbeatSecondsPath"), "HeartbeatSeconds and HeartbeatSecondsPath cannot both be set.");
    }
    if (st.timeout_seconds && st.heartbeat_seconds && *st.heartbeat_seconds >= *st.timeout_seconds) {
      add(join(ptr, "HeartbeatSeconds"), "HeartbeatSeconds must be smaller than TimeoutSeconds.");
    }
  }

  void choice(const Json& s, const std::string& ptr, StateDef& st, std::vector<Edge>& edges) {
    auto it = s.find("Choices");
    std::string p = join(ptr, "Choices");
    if (it == s.end()) {
      add(ptr, "A Choice state must have a Choices field.");
    } else if (!it->is_array() || it->empty()) {
      add(p, "Choices must be a non-empty array of Choice Rules.");
    } else {
      st.choices = &*it;
      for (size_t i = 0; i < it->size(); ++i) {
        const Json& rule = (*it)[i];
        std::string rp = p + "/" + std::to_string(i);
        validate_choice_rule(rule, rp, true, out_);
        if (!rule.is_object()) {
          continue;
        }
        if (auto next = rule.find("Next"); next != rule.end() && next->is_string()) {
          edges.push_back({next->get<std::string>(), join(rp, "Next")});
        }
        (void)assign(rule, rp);
      }
    }
    if (auto d = s.find("Default"); d != s.end()) {
      if (!d->is_string()) {
        add(join(ptr, "Default"), "Default must be a string naming a state.");
      } else {
        st.default_next = d->get<std::string>();
        edges.push_back({st.default_next, join(ptr, "Default")});
      }
    }
  }

  void wait(const Json& s, const std::string& ptr, StateDef& st) {
    int count = 0;
    for (const char* k : {"Seconds", "Timestamp", "SecondsPath", "TimestampPath"}) {
      count += s.contains(k) ? 1 : 0;
    }
    if (count != 1) {
      add(ptr, "A Wait state must have exactly one of Seconds, Timestamp, SecondsPath and TimestampPath.");
    }
    if (auto it = s.find("Seconds"); it != s.end()) {
      st.seconds = integer(*it, join(ptr, "Seconds"), "Seconds", 0, kMaxSeconds);
    }
    if (auto ts = string(s, "Timestamp", ptr)) {
      st.timestamp_ms = parse_rfc3339_ms(*ts);
      if (!st.timestamp_ms) {
        add(join(ptr, "Timestamp"),
            "Timestamp '" + *ts + "' is not an RFC 3339 timestamp like \"2016-03-14T01:59:00Z\".");
      }
    }
    st.seconds_path = reference_path(s, "SecondsPath", ptr);
    st.timestamp_path = reference_path(s, "TimestampPath", ptr);
  }

  void fail(const Json& s, const std::string& ptr, StateDef& st) {
    st.error = string(s, "Error", ptr);
    st.cause = string(s, "Cause", ptr);
    st.error_path = path_or_intrinsic(s, "ErrorPath", ptr);
    st.cause_path = path_or_intrinsic(s, "CausePath", ptr);
    if (s.contains("Error") && s.contains("ErrorPath")) {
      add(join(ptr, "ErrorPath"), "Error and ErrorPath cannot both be set.");
    }
    if (s.contains("Cause") && s.contains("CausePath")) {
      add(join(ptr, "CausePath"), "Cause and CausePath cannot both be set.");
    }
  }

  void parallel(const Json& s, const std::string& ptr, StateDef& st, const std::string& ql) {
    auto it = s.find("Branches");
    std::string p = join(ptr, "Branches");
    if (it == s.end()) {
      add(ptr, "A Parallel state must have a Branches field.");
      return;
    }
    if (!it->is_array() || it->empty()) {
      add(p, "Branches must be a non-empty array of state machines.");
      return;
    }
    for (size_t i = 0; i < it->size(); ++i) {
      std::string bp = p + "/" + std::to_string(i);
      st.branches.push_back(bp);
      machine((*it)[i], bp, MachineKind::Branch, ql);
    }
  }

  void map(const Json& s, const std::string& ptr, StateDef& st, const std::string& ql) {
    bool has_processor = s.contains("ItemProcessor");
    bool has_iterator = s.contains("Iterator");
    if (has_processor && has_iterator) {
      add(join(ptr, "Iterator"), "A Map state cannot have both ItemProcessor and Iterator.");
    } else if (!has_processor && !has_iterator) {
      add(ptr, "A Map state must have an ItemProcessor (or the legacy Iterator) field.");
    }
    if (has_processor) {
      st.processor = join(ptr, "ItemProcessor");
      machine(s["ItemProcessor"], st.processor, MachineKind::Processor, ql);
    } else if (has_iterator) {
      st.processor = join(ptr, "Iterator");
      machine(s["Iterator"], st.processor, MachineKind::Iterator, ql);
    }
    st.items_path = path(s, "ItemsPath", ptr, PathKind::Reference, false);
    if (s.contains("ItemSelector") && s.contains("Parameters")) {
      add(join(ptr, "Parameters"), "A Map state cannot have both ItemSelector and the legacy Parameters.");
    }
    st.item_selector = payload(s, "ItemSelector", ptr, true);
    if (const Json* legacy = payload(s, "Parameters", ptr, false); legacy != nullptr && st.item_selector == nullptr) {
      st.item_selector = legacy;
    }
    if (auto it = s.find("MaxConcurrency"); it != s.end()) {
      st.max_concurrency = integer(*it, join(ptr, "MaxConcurrency"), "MaxConcurrency", 0, kMaxSeconds);
    }
    st.max_concurrency_path = reference_path(s, "MaxConcurrencyPath", ptr);
    if (s.contains("MaxConcurrency") && s.contains("MaxConcurrencyPath")) {
      add(join(ptr, "MaxConcurrencyPath"), "MaxConcurrency and MaxConcurrencyPath cannot both be set.");
    }
    if (auto it = s.find("ToleratedFailureCount"); it != s.end()) {
      st.tolerated_failure_count =
          integer(*it, join(ptr, "ToleratedFailureCount"), "ToleratedFailureCount", 0, kMaxSeconds);
    }
    st.tolerated_failure_count_path = reference_path(s, "ToleratedFailureCountPath", ptr);
    if (s.contains("ToleratedFailureCount") && s.contains("ToleratedFailureCountPath")) {
      add(join(ptr, "ToleratedFailureCountPath"),
          "ToleratedFailureCount and ToleratedFailureCountPath cannot both be set.");
    }
    if (auto it = s.find("ToleratedFailurePercentage"); it != s.end()) {
      if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 100) {
        add(join(ptr, "ToleratedFailurePercentage"), "ToleratedFailurePercentage must be a number from 0 to 100.");
      } else {
        st.tolerated_failure_percentage = it->get<double>();
      }
    }
    st.tolerated_failure_percentage_path = reference_path(s, "ToleratedFailurePercentagePath", ptr);
    if (s.contains("ToleratedFailurePercentage") && s.contains("ToleratedFailurePercentagePath")) {
      add(join(ptr, "ToleratedFailurePercentagePath"),
          "ToleratedFailurePercentage and ToleratedFailurePercentagePath cannot both be set.");
    }
  }

  void processor_config(const Json& m, const std::string& ptr) {
    auto it = m.find("ProcessorConfig");
    if (it == m.end()) {
      return;
    }
    std::string p = join(ptr, "ProcessorConfig");
    if (!it->is_object()) {
      add(p, "ProcessorConfig must be a JSON object.");
      return;
    }
    unknown_fields(*it, p, {"Mode", "ExecutionType"}, "ProcessorConfig");
    std::string mode = "INLINE";
    if (auto mit = it->find("Mode"); mit != it->end()) {
      if (!mit->is_string() || (*mit != "INLINE" && *mit != "DISTRIBUTED")) {
        add(join(p, "Mode"), "Mode must be \"INLINE\" or \"DISTRIBUTED\".");
      } else {
        mode = mit->get<std::string>();
      }
    }
    if (mode == "DISTRIBUTED") {
      add(join(p, "Mode"), "Map Mode \"DISTRIBUTED\" is not supported yet; use \"INLINE\".");
    }
    if (auto eit = it->find("ExecutionType"); eit != it->end()) {
      if (!eit->is_string() || (*eit != "STANDARD" && *eit != "EXPRESS")) {
        add(join(p, "ExecutionType"), "ExecutionType must be \"STANDARD\" or \"EXPRESS\".");
      } else if (mode == "INLINE") {
        add(join(p, "ExecutionType"), "ExecutionType is only allowed with Mode \"DISTRIBUTED\".");
      }
    }
  }

  // ---- machines -------------------------------------------------------------

  void machine(const Json& m, const std::string& ptr, MachineKind kind, const std::string& ql) {
    if (!m.is_object()) {
      add(ptr, "A state machine must be a JSON object with StartAt and States.");
      return;
    }
    switch (kind) {
      case MachineKind::Top:
        unknown_fields(m, ptr, {"Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"},
                       "a state machine");
        break;
      case MachineKind::Branch:
        unknown_fields(m, ptr, {"Comment", "StartAt", "States"}, "a Parallel branch");
        break;
      case MachineKind::Processor:
        unknown_fields(m, ptr, {"Comment", "StartAt", "States", "ProcessorConfig"}, "an ItemProcessor");
        processor_config(m, ptr);
        break;
      case MachineKind::Iterator:
        unknown_fields(m, ptr, {"Comment", "StartAt", "States"}, "an Iterator");
        break;
    }
    (void)string(m, "Comment", ptr);
    Machine out;
    out.pointer = ptr;
    auto start = m.find("StartAt");
    if (start == m.end()) {
      add(ptr, "StartAt is required.");
    } else if (!start->is_string()) {
      add(join(ptr, "StartAt"), "StartAt must be a string naming a state.");
    } else {
      out.start_at = start->get<std::string>();
    }
    auto states = m.find("States");
    std::string sp = join(ptr, "States");
    std::vector<Edge> edges;
    if (states == m.end()) {
      add(ptr, "States is required.");
    } else if (!states->is_object() || states->empty()) {
      add(sp, "States must be a non-empty JSON object of states.");
    } else {
      for (const auto& [name, s] : states->items()) {
        state(name, s, join(sp, name), out, ql, edges);
      }
    }
    bool nested = kind != MachineKind::Top;
    std::string where = nested ? " in this nested state machine" : "";
    if (start != m.end() && start->is_string() && states != m.end() && states->is_object() && !states->empty() &&
        !states->contains(out.start_at)) {
      add(join(ptr, "StartAt"), "StartAt names state '" + out.start_at + "', which does not exist" + where + ".");
    }
    if (states != m.end() && states->is_object()) {
      for (const auto& e : edges) {
        if (!states->contains(e.target)) {
          add(e.pointer, "Next state '" + e.target + "' does not exist" + where + ".");
        }
      }
      check_graph(*states, out, sp, edges);
    }
    impl_.machines.emplace(ptr, std::move(out));
  }

  void check_graph(const Json& states, const Machine& m, const std::string& sp, const std::vector<Edge>& edges) {
    if (!states.contains(m.start_at)) {
      return;  // already reported; reachability would only repeat it
    }
    std::map<std::string, std::vector<std::string>> graph;
    for (const auto& e : edges) {
      // An edge's pointer is "<sp>/<state>/...": recover the source state from it.
      std::string rest = e.pointer.substr(sp.size() + 1);
      std::string token = rest.substr(0, rest.find('/'));
      graph[token].push_back(e.target);
    }
    std::set<std::string> seen = {m.start_at};
    std::deque<std::string> todo = {m.start_at};
    while (!todo.empty()) {
      std::string cur = todo.front();
      todo.pop_front();
      for (const auto& t : graph[pointer_token(cur)]) {
        if (seen.insert(t).second) {
          todo.push_back(t);
        }
      }
    }
    bool terminal = false;
    bool unknown_type = false;  // a state of unknown type might be terminal: do not guess
    for (const auto& [name, s] : states.items()) {
      if (!seen.contains(name)) {
        add(join(sp, name), "State '" + name + "' is not reachable from StartAt.");
      }
      if (s.is_object()) {
        auto type = s.find("Type");
        auto end = s.find("End");
        if (type == s.end() || !type->is_string() || !parse_type(type->get<std::string>())) {
          unknown_type = true;
        }
        if ((type != s.end() && (*type == "Succeed" || *type == "Fail")) ||
            (end != s.end() && end->is_boolean() && end->get<bool>())) {
          terminal = true;
        }
      }
    }
    if (!terminal && !unknown_type) {
      add(sp, "The state machine has no terminal state (a Succeed or Fail state, or \"End\": true).");
    }
  }

  DefinitionImpl& impl_;
  Problems& out_;
  std::map<std::string, std::string> names_;  // state name -> pointer where first seen
};

}  // namespace

void build_definition(DefinitionImpl& impl, Problems& out) { Builder(impl, out).run(); }

ResourceInfo describe_resource(const std::string& r, std::vector<std::string>* problems) {
  auto problem = [&](std::string message) {
    if (problems != nullptr) {
      problems->push_back(std::move(message));
    }
  };
  static constexpr std::string_view kToken = ".waitForTaskToken";
  ResourceInfo info;
  info.region = "us-east-1";
  std::string base = r;
  if (base.size() > kToken.size() && base.ends_with(kToken)) {
    info.wait_for_token = true;
    base.resize(base.size() - kToken.size());
  }
  if (base.starts_with("fn:")) {
    info.resource_type = "fn";
    info.resource = base.substr(3);
    if (info.resource.empty()) {
      problem("Resource \"fn:\" must name a function, e.g. \"fn:echo\".");
    }
    return info;
  }
  if (base.starts_with("http://") || base.starts_with("https://")) {
    info.resource_type = "http";
    info.resource = base;
    return info;
  }
  if (!base.starts_with("arn:")) {
    problem("Resource '" + r + "' must be an ARN, \"fn:<name>\" or an http(s) URL.");
    return info;
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t colon = base.find(':', start);
    parts.push_back(base.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) {
      break;
    }
    start = colon + 1;
  }
  if (parts.size() < 7) {
    problem("Resource '" + r + "' is not a valid ARN.");
    return info;
  }
  if (!parts[3].empty()) {
    info.region = parts[3];
  }
  if (parts[2] == "lambda" && parts[5] == "function" && !parts[6].empty()) {
    info.legacy_lambda = true;
    info.resource_type = "lambda";
    info.resource = r;
    if (info.wait_for_token) {
      problem(
          "A Lambda function ARN cannot use .waitForTaskToken; use "
          "\"arn:aws:states:::lambda:invoke.waitForTaskToken\".");
    }
  } else if (parts[2] == "states" && parts[5] == "activity") {
    problem("Activities are not supported yet.");
  } else if (parts[2] == "states") {
    std::string service = parts[5];
    std::string action = parts[6];
    for (size_t i = 7; i < parts.size(); ++i) {
      if (service == "aws-sdk" && i == 7) {
        service += ":" + action;
        action = parts[i];
      } else {
        action += ":" + parts[i];
      }
    }
    if (action.ends_with(".sync") || action.find(".sync:") != std::string::npos) {
      problem("The .sync integration pattern is not supported yet.");
    } else if (!((service == "lambda" || service == "http") && action == "invoke")) {
      // Refused at deploy time rather than failing every execution that reaches it.
      problem("The service integration '" + service + ":" + action +
              "' is not supported: Switchyard runs arn:aws:states:::lambda:invoke and "
              "arn:aws:states:::http:invoke; call other services from a function (\"fn:<name>\").");
    }
    info.integration = service;
    info.action = action;
    info.resource_type = service;
    info.resource = action + (info.wait_for_token ? std::string(kToken) : "");
  } else {
    problem("Resource '" + r + "' is neither a Lambda function ARN nor a Step Functions integration ARN.");
  }
  return info;
}

}  // namespace switchyard::asl
