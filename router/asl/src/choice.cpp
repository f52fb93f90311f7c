/*
 * Choice rules as Step Functions evaluates them: the 39 comparison operators
 * (String*, Numeric*, Boolean*, Timestamp*, each with a ...Path form whose
 * operand is a Reference Path, StringMatches and the Is* type tests) and
 * And/Or/Not.
 *   - A value of the wrong type makes a comparison false, never an error.
 *   - A Variable (or ...Path operand) that selects nothing is States.Runtime,
 *     "Invalid path '$.x': The choice state's condition path references an
 *     invalid value.", except under IsPresent, which is then false.
 *   - Strings compare in UTF-16 code unit order (Java's compareTo).
 *   - Timestamps are RFC 3339 with an upper-case T and Z or a ±hh:mm offset
 *     and up to nanosecond fractions; they compare as instants.
 *   - StringMatches: '*' matches any run of characters, "\*" a literal '*',
 *     "\\" a literal backslash; the pattern must match the whole string.
 *   - And and Or stop at the first rule that decides them.
 */
#include "switchyard/asl/choice.hpp"

#include <array>
#include <optional>
#include <string_view>

#include "path_engine.hpp"
#include "switchyard/asl/paths.hpp"

namespace switchyard::asl {
namespace {

enum class Family { String, Numeric, Boolean, Timestamp, Type };
enum class Op {
  Equals,
  LessThan,
  GreaterThan,
  LessThanEquals,
  GreaterThanEquals,
  Matches,
  IsNull,
  IsPresent,
  IsNumeric,
  IsString,
  IsBoolean,
  IsTimestamp
};

struct Comparator {
  std::string_view name;
  Family family;
  Op op;
  bool path;  // the operand is a Reference Path
};

constexpr std::array<Comparator, 39> kComparators = {{
    {"StringEquals", Family::String, Op::Equals, false},
    {"StringEqualsPath", Family::String, Op::Equals, true},
    {"StringLessThan", Family::String, Op::LessThan, false},
    {"StringLessThanPath", Family::String, Op::LessThan, true},
    {"StringGreaterThan", Family::String, Op::GreaterThan, false},
    {"StringGreaterThanPath", Family::String, Op::GreaterThan, true},
    {"StringLessThanEquals", Family::String, Op::LessThanEquals, false},
    {"StringLessThanEqualsPath", Family::String, Op::LessThanEquals, true},
    {"StringGreaterThanEquals", Family::String, Op::GreaterThanEquals, false},
    {"StringGreaterThanEqualsPath", Family::String, Op::GreaterThanEquals, true},
    {"StringMatches", Family::String, Op::Matches, false},
    {"NumericEquals", Family::Numeric, Op::Equals, false},
    {"NumericEqualsPath", Family::Numeric, Op::Equals, true},
    {"NumericLessThan", Family::Numeric, Op::LessThan, false},
    {"NumericLessThanPath", Family::Numeric, Op::LessThan, true},
    {"NumericGreaterThan", Family::Numeric, Op::GreaterThan, false},
    {"NumericGreaterThanPath", Family::Numeric, Op::GreaterThan, true},
    {"NumericLessThanEquals", Family::Numeric, Op::LessThanEquals, false},
    {"NumericLessThanEqualsPath", Family::Numeric, Op::LessThanEquals, true},
    {"NumericGreaterThanEquals", Family::Numeric, Op::GreaterThanEquals, false},
    {"NumericGreaterThanEqualsPath", Family::Numeric, Op::GreaterThanEquals, true},
    {"BooleanEquals", Family::Boolean, Op::Equals, false},
    {"BooleanEqualsPath", Family::Boolean, Op::Equals, true},
    {"TimestampEquals", Family::Timestamp, Op::Equals, false},
    {"TimestampEqualsPath", Family::Timestamp, Op::Equals, true},
    {"TimestampLessThan", Family::Timestamp, Op::LessThan, false},
    {"TimestampLessThanPath", Family::Timestamp, Op::LessThan, true},
    {"TimestampGreaterThan", Family::Timestamp, Op::GreaterThan, false},
    {"TimestampGreaterThanPath", Family::Timestamp, Op::GreaterThan, true},
    {"TimestampLessThanEquals", Family::Timestamp, Op::LessThanEquals, false},
    {"TimestampLessThanEqualsPath", Family::Timestamp, Op::LessThanEquals, true},
    {"TimestampGreaterThanEquals", Family::Timestamp, Op::GreaterThanEquals, false},
    {"TimestampGreaterThanEqualsPath", Family::Timestamp, Op::GreaterThanEquals, true},
    {"IsNull", Family::Type, Op::IsNull, false},
    {"IsPresent", Family::Type, Op::IsPresent, false},
    {"IsNumeric", Family::Type, Op::IsNumeric, false},
    {"IsString", Family::Type, Op::IsString, false},
    {"IsBoolean", Family::Type, Op::IsBoolean, false},
    {"IsTimestamp", Family::Type, Op::IsTimestamp, false},
}};

const Comparator* find_comparator(std::string_view name) {
  for (const auto& c : kComparators) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

bool is_logical(std::string_view key) { return key == "And" || key == "Or" || key == "Not"; }

// ---- timestamps -------------------------------------------------------------

struct Instant {
  int64_t seconds = 0;
  int64_t nanos = 0;
  auto operator<=>(const Instant&) const = default;
};

int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::optional<Instant> parse_timestamp(std::string_view s) {
  size_t pos = 0;
  auto digits = [&](size_t n) -> std::optional<int64_t> {
    if (pos + n > s.size()) {
      return std::nullopt;
    }
    int64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      char c = s[pos + i];
      if (c < '0' || c > '9') {
        return std::nullopt;
      }
      v = v * 10 + (c - '0');
    }
    pos += n;
    return v;
  };
  auto expect = [&](char c) {
    if (pos < s.size() && s[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  };
  auto year = digits(4);
  if (!year || !expect('-')) {
    return std::nullopt;
  }
  auto month = digits(2);
  if (!month || !expect('-')) {
    return std::nullopt;
  }
  auto day = digits(2);
  if (!day || !expect('T')) {
    return std::nullopt;
  }
  auto hour = digits(2);
  if (!hour || !expect(':')) {
    return std::nullopt;
  }
  auto minute = digits(2);
  if (!minute || !expect(':')) {
    return std::nullopt;
  }
  auto second = digits(2);
  if (!second) {
    return std::nullopt;
  }
  int64_t nanos = 0;
  if (expect('.')) {
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ++pos;
    }
    size_t n = pos - start;
    if (n == 0 || n > 9) {
      return std::nullopt;
    }
    for (size_t i = 0; i < 9; ++i) {
      nanos = nanos * 10 + (i < n ? s[start + i] - '0' : 0);
    }
  }
  int64_t offset = 0;
  if (expect('Z')) {
    offset = 0;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int64_t sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    auto oh = digits(2);
    if (!oh || !expect(':')) {
      return std::nullopt;
    }
    auto om = digits(2);
    if (!om || *oh > 18 || *om > 59 || (*oh == 18 && *om != 0)) {
      return std::nullopt;
    }
    offset = sign * (*oh * 3600 + *om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) {
    return std::nullopt;
  }
  static constexpr std::array<int64_t, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
  if (*month < 1 || *month > 12) {
    return std::nullopt;
  }
  int64_t month_days = kDays[static_cast<size_t>(*month - 1)] + (*month == 2 && leap ? 1 : 0);
  if (*day < 1 || *day > month_days || *hour > 23 || *minute > 59 || *second > 59) {
    return std::nullopt;
  }
  int64_t seconds = days_from_civil(*year, *month, *day) * 86400 + *hour * 3600 + *minute * 60 + *second - offset;
  return Instant{seconds, nanos};
}

std::optional<Instant> timestamp_of(const Json& v) {
  if (!v.is_string()) {
    return std::nullopt;
  }
  return parse_timestamp(v.get_ref<const std::string&>());
}

// ---- comparisons ------------------------------------------------------------

// -1, 0, 1 for two JSON numbers, exact for integers.
int compare_numbers(const Json& a, const Json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    bool au = a.is_number_unsigned();
    bool bu = b.is_number_unsigned();
    if (!au && !bu) {
      auto x = a.get<int64_t>();
      auto y = b.get<int64_t>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    if (au && bu) {
      auto x = a.get<uint64_t>();
      auto y = b.get<uint64_t>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    // One signed, one unsigned above INT64_MAX or a non-negative signed.
    if (au) {
      return b.get<int64_t>() < 0 ? 1 : -compare_numbers(b, a);
    }
    if (a.get<int64_t>() < 0) {
      return -1;
    }
    auto x = static_cast<uint64_t>(a.get<int64_t>());
    auto y = b.get<uint64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  auto x = a.get<double>();
  auto y = b.get<double>();
  return x < y ? -1 : (x > y ? 1 : 0);
}

bool ordered(Op op, int cmp) {
  switch (op) {
    case Op::Equals:
      return cmp == 0;
    case Op::LessThan:
      return cmp < 0;
    case Op::GreaterThan:
      return cmp > 0;
    case Op::LessThanEquals:
      return cmp <= 0;
    case Op::GreaterThanEquals:
      return cmp >= 0;
    default:
      return false;
  }
}

bool string_matches(std::string_view text, std::string_view pattern) {
  // Tokens: a literal byte, or a star (kStar).
  constexpr int kStar = -1;
  std::vector<int> tokens;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size() && (pattern[i + 1] == '*' || pattern[i + 1] == '\\')) {
      tokens.push_back(static_cast<unsigned char>(pattern[++i]));
    } else if (c == '*') {
      tokens.push_back(kStar);
    } else {
      tokens.push_back(static_cast<unsigned char>(c));
    }
  }
  // Greedy match with one backtrack point: linear in practice, never exponential.
  size_t t = 0;
  size_t p = 0;
  std::optional<size_t> star;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < tokens.size() && tokens[p] != kStar && tokens[p] == static_cast<unsigned char>(text[t])) {
      ++t;
      ++p;
    } else if (p < tokens.size() && tokens[p] == kStar) {
      star = p++;
      star_t = t;
    } else if (star) {
      p = *star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < tokens.size() && tokens[p] == kStar) {
    ++p;
  }
  return p == tokens.size();
}

bool compare_values(const Comparator& c, const Json& value, const Json& operand) {
  switch (c.family) {
    case Family::String:
      if (!value.is_string() || !operand.is_string()) {
        return false;
      }
      if (c.op == Op::Matches) {
        return string_matches(value.get_ref<const std::string&>(), operand.get_ref<const std::string&>());
      }
      return ordered(c.op,
                     detail::compare_utf16(value.get_ref<const std::string&>(), operand.get_ref<const std::string&>()));
    case Family::Numeric:
      if (!value.is_number() || !operand.is_number()) {
        return false;
      }
      return ordered(c.op, compare_numbers(value, operand));
    case Family::Boolean:
      return value.is_boolean() && operand.is_boolean() && value == operand;
    case Family::Timestamp: {
      auto a = timestamp_of(value);
      auto b = timestamp_of(operand);
      if (!a || !b) {
        return false;
      }
      return ordered(c.op, *a < *b ? -1 : (*a > *b ? 1 : 0));
    }
    case Family::Type:
      break;
  }
  return false;
}

bool type_test(Op op, const Json& value) {
  switch (op) {
    case Op::IsNull:
      return value.is_null();
    case Op::IsNumeric:
      return value.is_number();
    case Op::IsString:
      return value.is_string();
    case Op::IsBoolean:
      return value.is_boolean();
    case Op::IsTimestamp:
      return timestamp_of(value).has_value();
    default:
      return false;
  }
}

Error invalid_path(const std::string& path) {
  return Error{"States.Runtime",
               "Invalid path '" + path + "': The choice state's condition path references an invalid value."};
}

// The value a path selects, or nullopt when it selects nothing (an index past
// the end counts as nothing here).
std::optional<Json> select(const std::string& path, const Scope& scope) {
  auto compiled = detail::compile_path(path);
  if (!compiled.ok()) {
    return std::nullopt;
  }
  const Json* doc = detail::root_document(*compiled, scope);
  if (doc == nullptr) {
    return std::nullopt;
  }
  detail::Lookup found = detail::lookup(*compiled, *doc);
  if (!found.found || found.past_end) {
    return std::nullopt;
  }
  return std::move(found.value);
}

std::string escape_pointer_token(std::string_view token) {
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

constexpr int kMaxDepth = 100;  // And/Or/Not nesting; evaluation and validation recurse per level

Result<bool> evaluate(const Json& rule, const Scope& scope, int depth) {
  if (depth > kMaxDepth) {
    return Error{"States.Runtime", "Choice rules are nested more than " + std::to_string(kMaxDepth) + " levels deep"};
  }
  if (!rule.is_object()) {
    return Error{"States.Runtime", "A Choice rule must be an object"};
  }
  if (auto it = rule.find("And"); it != rule.end() && it->is_array()) {
    for (const auto& sub : *it) {
      auto r = evaluate(sub, scope, depth + 1);
      if (!r.ok() || !*r) {
        return r;
      }
    }
    return true;
  }
  if (auto it = rule.find("Or"); it != rule.end() && it->is_array()) {
    for (const auto& sub : *it) {
      auto r = evaluate(sub, scope, depth + 1);
      if (!r.ok() || *r) {
        return r;
      }
    }
    return false;
  }
  if (auto it = rule.find("Not"); it != rule.end()) {
    auto r = evaluate(*it, scope, depth + 1);
    if (!r.ok()) {
      return r;
    }
    return !*r;
  }
  const Comparator* comparator = nullptr;
  const Json* operand = nullptr;
  for (const auto& [key, value] : rule.items()) {
    if (const Comparator* c = find_comparator(key)) {
      comparator = c;
      operand = &value;
      break;
    }
  }
  auto variable = rule.find("Variable");
  if (comparator == nullptr || variable == rule.end() || !variable->is_string()) {
    return Error{"States.Runtime", "A Choice rule needs a Variable and a comparison operator"};
  }
  const auto& variable_path = variable->get_ref<const std::string&>();
  std::optional<Json> value = select(variable_path, scope);
  if (comparator->op == Op::IsPresent) {
    return operand->is_boolean() && value.has_value() == operand->get<bool>();
  }
  if (!value) {
    return invalid_path(variable_path);
  }
  if (comparator->family == Family::Type) {
    return operand->is_boolean() && type_test(comparator->op, *value) == operand->get<bool>();
  }
  if (!comparator->path) {
    return compare_values(*comparator, *value, *operand);
  }
  if (!operand->is_string()) {
    return false;
  }
  std::optional<Json> other = select(operand->get<std::string>(), scope);
  if (!other) {
    return invalid_path(operand->get<std::string>());
  }
  return compare_values(*comparator, *value, *other);
}

void validate(const Json& rule, const std::string& pointer, bool top_level, int depth, Problems& out) {
  if (depth > kMaxDepth) {
    out.push_back(Problem{pointer, "Choice rules may be nested at most " + std::to_string(kMaxDepth) + " levels deep"});
    return;
  }
  if (!rule.is_object()) {
    out.push_back(Problem{pointer, "A Choice rule must be an object"});
    return;
  }
  std::vector<std::string> operators;
  for (const auto& [key, value] : rule.items()) {
    if (is_logical(key) || find_comparator(key) != nullptr) {
      operators.push_back(key);
    }
  }
  if (operators.empty()) {
    out.push_back(Problem{pointer,
                          "A Choice rule needs exactly one comparison operator (such as StringEquals or "
                          "IsPresent) or one of And, Or, Not"});
  } else if (operators.size() > 1) {
    std::string list;
    for (const auto& op : operators) {
      list += (list.empty() ? "" : ", ") + op;
    }
    out.push_back(Problem{pointer, "A Choice rule must have exactly one operator, but has " + list});
  }
  bool logical = !operators.empty() && is_logical(operators.front()) && operators.size() == 1;

  for (const auto& [key, value] : rule.items()) {
    std::string here = pointer + "/" + escape_pointer_token(key);
    if (key == "Next") {
      if (!top_level) {
        out.push_back(Problem{here, "\"Next\" is only allowed in a top-level Choice rule, not inside And, Or or Not"});
      } else if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
        out.push_back(Problem{here, "\"Next\" must be the name of a state"});
      }
    } else if (key == "Comment") {
      if (!value.is_string()) {
        out.push_back(Problem{here, "\"Comment\" must be a string"});
      }
    } else if (key == "Assign") {
      if (!top_level) {
        out.push_back(Problem{here, "\"Assign\" is only allowed in a top-level Choice rule"});
      }
    } else if (key == "Variable") {
      if (logical) {
        out.push_back(Problem{here, "\"Variable\" is not allowed in a rule with And, Or or Not"});
      } else if (!value.is_string()) {
        out.push_back(Problem{here, "\"Variable\" must be a string containing a path"});
      } else {
        std::string why;
        if (!is_valid_path(value.get_ref<const std::string&>(), PathKind::Path, &why)) {
          out.push_back(Problem{here, "\"Variable\" is not a valid path: " + why});
        }
      }
    } else if (key == "And" || key == "Or") {
      if (!value.is_array() || value.empty()) {
        out.push_back(Problem{here, "\"" + key + "\" must be a non-empty array of Choice rules"});
        continue;
      }
      for (size_t i = 0; i < value.size(); ++i) {
        validate(value[i], here + "/" + std::to_string(i), false, depth + 1, out);
      }
    } else if (key == "Not") {
      if (!value.is_object()) {
        out.push_back(Problem{here, "\"Not\" must be a single Choice rule (an object)"});
        continue;
      }
      validate(value, here, false, depth + 1, out);
    } else if (const Comparator* c = find_comparator(key)) {
      std::string name(c->name);
      if (c->path) {
        std::string why;
        if (!value.is_string()) {
          out.push_back(Problem{here, "\"" + name + "\" must be a string containing a reference path"});
        } else if (!is_valid_path(value.get_ref<const std::string&>(), PathKind::Reference, &why)) {
          out.push_back(Problem{here, "\"" + name + "\" is not a valid reference path: " + why});
        }
        continue;
      }
      switch (c->family) {
        case Family::String:
          if (!value.is_string()) {
            out.push_back(Problem{here, "\"" + name + "\" must be a string"});
          }
          break;
        case Family::Numeric:
          if (!value.is_number()) {
            out.push_back(Problem{here, "\"" + name + "\" must be a number"});
          }
          break;
        case Family::Boolean:
        case Family::Type:
          if (!value.is_boolean()) {
            out.push_back(Problem{here, "\"" + name + "\" must be true or false"});
          }
          break;
        case Family::Timestamp:
          if (!timestamp_of(value)) {
            out.push_back(Problem{here, "\"" + name +
                                            "\" must be an RFC 3339 timestamp such as "
                                            "\"2016-08-18T17:33:00Z\""});
          }
          break;
      }
    } else {
      out.push_back(Problem{here, "Field \"" + key + "\" is not supported in a Choice rule"});
    }
  }
  if (!logical && !operators.empty() && !rule.contains("Variable")) {
    out.push_back(Problem{pointer, "A Choice rule with a comparison operator must have \"Variable\""});
  }
  if (top_level && !rule.contains("Next")) {
    out.push_back(Problem{pointer, "A top-level Choice rule must have \"Next\""});
  }
}

}  // namespace

Result<bool> evaluate_choice_rule(const Json& rule, const Scope& scope) { return evaluate(rule, scope, 0); }

void validate_choice_rule(const Json& rule, const std::string& pointer, bool top_level, Problems& out) {
  validate(rule, pointer, top_level, 0, out);
}

}  // namespace switchyard::asl
