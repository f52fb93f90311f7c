// Payload templates (Parameters, ResultSelector, ItemSelector): a copy of the
// template where every "key.$" whose value is a path or an intrinsic becomes
// "key" with the evaluated value. Objects inside arrays are templates too.
// Failures carry AWS's wording and error name (States.Runtime), e.g.
//   The JSONPath '$.x' specified for the field 'x.$' could not be found in the input '{"a":1}'
#include "switchyard/asl/payload.hpp"

#include <string_view>

#include "path_engine.hpp"
#include "switchyard/asl/intrinsics.hpp"
#include "switchyard/asl/paths.hpp"

namespace switchyard::asl {
namespace {

bool is_dynamic_key(const std::string& key) { return key.size() >= 2 && std::string_view(key).ends_with(".$"); }

// AWS names JSON types this way in its schema errors ("...but was an INTEGER").
std::string aws_type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::object:
      return "an OBJECT";
    case Json::value_t::array:
      return "an ARRAY";
    case Json::value_t::boolean:
      return "a BOOLEAN";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an INTEGER";
    case Json::value_t::number_float:
      return "a NUMBER";
    case Json::value_t::null:
      return "a NULL";
    default:
      return "a STRING";
  }
}

std::string not_a_string(const std::string& key, const Json& value) {
  return "The value for the field '" + key + "' must be a STRING that contains a JSONPath but was " +
         aws_type_name(value);
}

std::string escape_pointer_token(const std::string& token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

Result<Json> evaluate_dynamic(const std::string& key, const std::string& expr, const Scope& scope) {
  if (is_intrinsic(expr)) {
    return evaluate_intrinsic(expr, scope);
  }
  auto compiled = detail::compile_path(expr);
  if (!compiled.ok()) {
    return Error{"States.Runtime",
                 "The value for the field '" + key +
                     "' must be a valid JSONPath or a valid intrinsic function call: " + compiled.error().cause};
  }
  const Json* doc = detail::root_document(*compiled, scope);
  if (doc != nullptr) {
    detail::Lookup found = detail::lookup(*compiled, *doc);
    if (found.found) {
      return std::move(found.value);
    }
  }
  return Error{"States.Runtime", "The JSONPath '" + expr + "' specified for the field '" + key +
                                     "' could not be found in the input '" +
                                     detail::to_text(doc != nullptr ? *doc : Json()) + "'"};
}

constexpr int kMaxDepth = 1000;  // template nesting; both walks recurse once per level

Error too_deep() {
  return Error{"States.Runtime",
               "The payload template is nested more than " + std::to_string(kMaxDepth) + " levels deep"};
}

Result<Json> evaluate(const Json& tmpl, const Scope& scope, int depth) {
  if (depth > kMaxDepth) {
    return too_deep();
  }
  if (tmpl.is_array()) {
    Json out = Json::array();
    for (const auto& item : tmpl) {
      auto value = evaluate(item, scope, depth + 1);
      if (!value.ok()) {
        return value;
      }
      out.push_back(std::move(value).value());
    }
    return out;
  }
  if (!tmpl.is_object()) {
    return tmpl;
  }
  Json out = Json::object();
  for (const auto& [key, value] : tmpl.items()) {
    if (!is_dynamic_key(key)) {
      auto nested = evaluate(value, scope, depth + 1);
      if (!nested.ok()) {
        return nested;
      }
      out[key] = std::move(nested).value();
      continue;
    }
    if (!value.is_string()) {
      return Error{"States.Runtime", not_a_string(key, value)};
    }
    auto computed = evaluate_dynamic(key, value.get_ref<const std::string&>(), scope);
    if (!computed.ok()) {
      return computed;
    }
    out[key.substr(0, key.size() - 2)] = std::move(computed).value();
  }
  return out;
}

void validate(const Json& tmpl, const std::string& pointer, int depth, Problems& out) {
  if (depth > kMaxDepth) {
    out.push_back(Problem{pointer, too_deep().cause});
    return;
  }
  if (tmpl.is_array()) {
    for (size_t i = 0; i < tmpl.size(); ++i) {
      validate(tmpl[i], pointer + "/" + std::to_string(i), depth + 1, out);
    }
    return;
  }
  if (!tmpl.is_object()) {
    return;
  }
  for (const auto& [key, value] : tmpl.items()) {
    std::string here = pointer + "/" + escape_pointer_token(key);
    if (!is_dynamic_key(key)) {
      validate(value, here, depth + 1, out);
      continue;
    }
    if (!value.is_string()) {
      out.push_back(Problem{here, not_a_string(key, value)});
      continue;
    }
    const auto& expr = value.get_ref<const std::string&>();
    std::string why;
    bool ok = is_intrinsic(expr) ? validate_intrinsic(expr, &why) : is_valid_path(expr, PathKind::Path, &why);
    if (!ok) {
      out.push_back(Problem{here, "The value for the field '" + key +
                                      "' must be a valid JSONPath or a valid intrinsic function call: " + why});
    }
  }
}

}  // namespace

Result<Json> evaluate_payload(const Json& tmpl, const Scope& scope) { return evaluate(tmpl, scope, 0); }

void validate_payload(const Json& tmpl, const std::string& pointer, Problems& out) { validate(tmpl, pointer, 0, out); }

}  // namespace switchyard::asl
