// Choice rules: every comparison operator (literal and ...Path forms), type
// tests, StringMatches escaping, timestamps as instants, And/Or/Not, the
// missing-Variable error, and the validator with its JSON pointers.
#include "switchyard/asl/choice.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace switchyard::asl {
namespace {

const Json kInput = Json::parse(R"({
  "s": "b", "s2": "b", "low": "a", "high": "c", "empty": "", "emoji": "😀", "private": "\ue000",
  "i": 5, "i2": 5, "f": 5.0, "big": 18446744073709551615, "neg": -3, "half": 4.5,
  "t": true, "t2": true, "fl": false,
  "ts": "2016-08-18T17:33:00Z", "ts_offset": "2016-08-18T18:33:00+01:00", "ts_later": "2016-08-18T17:33:00.001Z",
  "n": null, "arr": [1, 2], "obj": {"k": 1},
  "file": "log-2024.txt", "star": "a*b", "backslash": "a\\b", "numstr": "5"
})");
const Json kContext = Json::parse(R"({"State": {"Name": "Pick", "RetryCount": 0}})");
const Json kVariables = Json::parse(R"({"limit": 10, "mode": "fast"})");

Scope scope() { return Scope{kInput, &kContext, &kVariables}; }

struct Case {
  std::string rule;
  bool expected;
};

TEST(EvaluateChoiceRule, ComparesLikeStepFunctions) {
  const std::vector<Case> cases = {
      // Strings (UTF-16 order, as Java compares).
      {R"({"Variable": "$.s", "StringEquals": "b"})", true},
      {R"({"Variable": "$.s", "StringEquals": "B"})", false},
      {R"({"Variable": "$.s", "StringLessThan": "c"})", true},
      {R"({"Variable": "$.s", "StringLessThan": "b"})", false},
      {R"({"Variable": "$.s", "StringGreaterThan": "a"})", true},
      {R"({"Variable": "$.s", "StringLessThanEquals": "b"})", true},
      {R"({"Variable": "$.s", "StringGreaterThanEquals": "c"})", false},
      {R"({"Variable": "$.empty", "StringLessThan": "a"})", true},
      {R"({"Variable": "$.emoji", "StringLessThan": "\ue000"})", true},  // surrogates sort before U+E000
      {R"({"Variable": "$.s", "StringEqualsPath": "$.s2"})", true},
      {R"({"Variable": "$.s", "StringLessThanPath": "$.high"})", true},
      {R"({"Variable": "$.s", "StringGreaterThanPath": "$.low"})", true},
      {R"({"Variable": "$.s", "StringLessThanEqualsPath": "$.low"})", false},
      {R"({"Variable": "$.s", "StringGreaterThanEqualsPath": "$.s2"})", true},
      {R"({"Variable": "$.i", "StringEquals": "5"})", false},  // a number is not a string
      {R"({"Variable": "$.s", "StringEqualsPath": "$.i"})", false},
      // StringMatches.
      {R"({"Variable": "$.file", "StringMatches": "log-*.txt"})", true},
      {R"({"Variable": "$.file", "StringMatches": "log-*"})", true},
      {R"({"Variable": "$.file", "StringMatches": "*.txt"})", true},
      {R"({"Variable": "$.file", "StringMatches": "*"})", true},
      {R"({"Variable": "$.file", "StringMatches": "log-*.csv"})", false},
      {R"({"Variable": "$.file", "StringMatches": "log"})", false},
      {R"({"Variable": "$.file", "StringMatches": "*-*-*"})", false},
      {R"({"Variable": "$.file", "StringMatches": "l*g*2*4*t"})", true},
      {R"({"Variable": "$.star", "StringMatches": "a\\*b"})", true},
      {R"({"Variable": "$.file", "StringMatches": "log\\*"})", false},
      {R"({"Variable": "$.backslash", "StringMatches": "a\\\\b"})", true},
      {R"({"Variable": "$.empty", "StringMatches": "*"})", true},
      {R"({"Variable": "$.empty", "StringMatches": ""})", true},
      {R"({"Variable": "$.i", "StringMatches": "*"})", false},
      // Numbers (integers and floats compare by value).
      {R"({"Variable": "$.i", "NumericEquals": 5})", true},
      {R"({"Variable": "$.f", "NumericEquals": 5})", true},
      {R"({"Variable": "$.i", "NumericEquals": 5.0})", true},
      {R"({"Variable": "$.i", "NumericLessThan": 5})", false},
      {R"({"Variable": "$.i", "NumericLessThan": 5.5})", true},
      {R"({"Variable": "$.half", "NumericGreaterThan": 4})", true},
      {R"({"Variable": "$.neg", "NumericLessThanEquals": -3})", true},
      {R"({"Variable": "$.i", "NumericGreaterThanEquals": 6})", false},
      {R"({"Variable": "$.big", "NumericGreaterThan": 9223372036854775807})", true},
      {R"({"Variable": "$.neg", "NumericLessThan": 18446744073709551615})", true},
      {R"({"Variable": "$.i", "NumericEqualsPath": "$.i2"})", true},
      {R"({"Variable": "$.i", "NumericLessThanPath": "$.half"})", false},
      {R"({"Variable": "$.i", "NumericGreaterThanPath": "$.half"})", true},
      {R"({"Variable": "$.i", "NumericLessThanEqualsPath": "$.f"})", true},
      {R"({"Variable": "$.neg", "NumericGreaterThanEqualsPath": "$.i"})", false},
      {R"({"Variable": "$.numstr", "NumericEquals": 5})", false},  // a string is not a number
      {R"({"Variable": "$.i", "NumericEqualsPath": "$.numstr"})", false},
      {R"({"Variable": "$limit", "NumericGreaterThan": 9})", true},
      {R"({"Variable": "$$.State.RetryCount", "NumericEquals": 0})", true},
      // Booleans.
      {R"({"Variable": "$.t", "BooleanEquals": true})", true},
      {R"({"Variable": "$.fl", "BooleanEquals": true})", false},
      {R"({"Variable": "$.t", "BooleanEqualsPath": "$.t2"})", true},
      {R"({"Variable": "$.t", "BooleanEqualsPath": "$.fl"})", false},
      {R"({"Variable": "$.numstr", "BooleanEquals": true})", false},
      // Timestamps compare as instants.
      {R"({"Variable": "$.ts", "TimestampEquals": "2016-08-18T17:33:00Z"})", true},
      {R"({"Variable": "$.ts", "TimestampEquals": "2016-08-18T18:33:00+01:00"})", true},
      {R"({"Variable": "$.ts", "TimestampEquals": "2016-08-18T17:33:00.000000000Z"})", true},
      {R"({"Variable": "$.ts", "TimestampLessThan": "2016-08-18T17:33:00.001Z"})", true},
      {R"({"Variable": "$.ts", "TimestampGreaterThan": "2016-08-18T12:33:00-05:01"})", false},
      {R"({"Variable": "$.ts", "TimestampGreaterThan": "2016-08-18T12:32:59-05:00"})", true},
      {R"({"Variable": "$.ts", "TimestampLessThanEquals": "2016-08-18T17:33:00Z"})", true},
      {R"({"Variable": "$.ts", "TimestampGreaterThanEquals": "2016-08-19T00:00:00Z"})", false},
      {R"({"Variable": "$.ts", "TimestampEqualsPath": "$.ts_offset"})", true},
      {R"({"Variable": "$.ts", "TimestampLessThanPath": "$.ts_later"})", true},
      {R"({"Variable": "$.ts_later", "TimestampGreaterThanPath": "$.ts"})", true},
      {R"({"Variable": "$.ts", "TimestampLessThanEqualsPath": "$.ts_offset"})", true},
      {R"({"Variable": "$.ts", "TimestampGreaterThanEqualsPath": "$.ts_later"})", false},
      {R"({"Variable": "$.s", "TimestampEquals": "2016-08-18T17:33:00Z"})", false},
      {R"({"Variable": "$.ts", "TimestampEqualsPath": "$.s"})", false},
      // Type tests, with true and with false.
      {R"({"Variable": "$.n", "IsNull": true})", true},
      {R"({"Variable": "$.i", "IsNull": true})", false},
      {R"({"Variable": "$.i", "IsNull": false})", true},
      {R"({"Variable": "$.i", "IsNumeric": true})", true},
      {R"({"Variable": "$.numstr", "IsNumeric": true})", false},
      {R"({"Variable": "$.s", "IsString": true})", true},
      {R"({"Variable": "$.n", "IsString": false})", true},
      {R"({"Variable": "$.fl", "IsBoolean": true})", true},
      {R"({"Variable": "$.ts", "IsTimestamp": true})", true},
      {R"({"Variable": "$.s", "IsTimestamp": true})", false},
      {R"({"Variable": "$.ts", "IsTimestamp": false})", false},
      {R"({"Variable": "$.i", "IsPresent": true})", true},
      {R"({"Variable": "$.n", "IsPresent": true})", true},  // an explicit null is present
      {R"({"Variable": "$.missing", "IsPresent": true})", false},
      {R"({"Variable": "$.missing", "IsPresent": false})", true},
      {R"({"Variable": "$.missing.deeper", "IsPresent": false})", true},
      {R"({"Variable": "$.arr[5]", "IsPresent": true})", false},
      {R"({"Variable": "$.arr[1]", "IsPresent": true})", true},
      {R"({"Variable": "$nope", "IsPresent": true})", false},
      {R"({"Variable": "$mode", "IsPresent": true})", true},
      // An indefinite Variable is a list: present, but no scalar comparison holds.
      {R"({"Variable": "$.arr[*]", "IsPresent": true})", true},
      {R"({"Variable": "$.arr[*]", "NumericEquals": 1})", false},
      // Logic.
      {R"({"And": [{"Variable": "$.i", "NumericEquals": 5}, {"Variable": "$.s", "StringEquals": "b"}]})", true},
      {R"({"And": [{"Variable": "$.i", "NumericEquals": 5}, {"Variable": "$.s", "StringEquals": "x"}]})", false},
      {R"({"Or": [{"Variable": "$.i", "NumericEquals": 6}, {"Variable": "$.s", "StringEquals": "b"}]})", true},
      {R"({"Or": [{"Variable": "$.i", "NumericEquals": 6}, {"Variable": "$.s", "StringEquals": "x"}]})", false},
      {R"({"Not": {"Variable": "$.i", "NumericEquals": 6}})", true},
      {R"({"Not": {"Not": {"Variable": "$.i", "NumericEquals": 6}}})", false},
      {R"({"And": [{"Or": [{"Variable": "$.missing", "IsPresent": true}, {"Variable": "$.t", "BooleanEquals": true}]},
                   {"Not": {"Variable": "$.s", "StringMatches": "z*"}}]})",
       true},
      // And/Or stop at the deciding rule, so a later missing Variable is not reached.
      {R"({"And": [{"Variable": "$.i", "NumericEquals": 6}, {"Variable": "$.missing", "NumericEquals": 1}]})", false},
      {R"({"Or": [{"Variable": "$.i", "NumericEquals": 5}, {"Variable": "$.missing", "NumericEquals": 1}]})", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule);
    auto got = evaluate_choice_rule(Json::parse(c.rule), scope());
    ASSERT_TRUE(got.ok()) << got.error().cause;
    EXPECT_EQ(*got, c.expected);
  }
}

TEST(EvaluateChoiceRule, MissingVariableIsStatesRuntime) {
  struct Failure {
    std::string rule;
    std::string cause;
  };
  const std::vector<Failure> cases = {
      {R"({"Variable": "$.missing", "NumericEquals": 1})",
       "Invalid path '$.missing': The choice state's condition path references an invalid value."},
      {R"({"Variable": "$.missing", "IsNull": true})",
       "Invalid path '$.missing': The choice state's condition path references an invalid value."},
      {R"({"Variable": "$.arr[9]", "IsNull": true})",
       "Invalid path '$.arr[9]': The choice state's condition path references an invalid value."},
      {R"({"Variable": "$.i", "NumericEqualsPath": "$.nope"})",
       "Invalid path '$.nope': The choice state's condition path references an invalid value."},
      {R"({"Variable": "$unknownVar", "StringEquals": "x"})",
       "Invalid path '$unknownVar': The choice state's condition path references an invalid value."},
      {R"({"Not": {"Variable": "$.missing", "StringEquals": "x"}})",
       "Invalid path '$.missing': The choice state's condition path references an invalid value."},
      {R"({"And": [{"Variable": "$.i", "NumericEquals": 5}, {"Variable": "$.gone", "NumericEquals": 1}]})",
       "Invalid path '$.gone': The choice state's condition path references an invalid value."},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule);
    auto got = evaluate_choice_rule(Json::parse(c.rule), scope());
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().error, "States.Runtime");
    EXPECT_EQ(got.error().cause, c.cause);
  }
}

TEST(EvaluateChoiceRule, IsTimestampFollowsRfc3339) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"2016-08-18T17:33:00Z", true},
      {"2016-08-18T17:33:00.123Z", true},
      {"2016-08-18T17:33:00.123456789+05:30", true},
      {"2016-08-18T17:33:00-00:00", true},
      {"2024-02-29T00:00:00Z", true},
      {"2016-08-18t17:33:00z", false},
      {"2016-08-18T17:33:00", false},
      {"2024-01-01", false},
      {"2024-01-01T00:00Z", false},
      {"2024-01-01T00:00:00+01", false},
      {"2024-01-01T00:00:00+0100", false},
      {"2024-13-01T00:00:00Z", false},
      {"2023-02-29T00:00:00Z", false},
      {"2024-01-01T24:00:00Z", false},
      {"2024-01-01T00:00:60Z", false},
      {"2024-01-01T00:00:00.Z", false},
      {"2024-01-01T00:00:00.1234567890Z", false},
      {"2024-01-01T00:00:00Z ", false},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    const Json input = {{"v", text}};
    auto got = evaluate_choice_rule(Json::parse(R"({"Variable": "$.v", "IsTimestamp": true})"), Scope{input});
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, expected);
  }
}

TEST(ChoiceRules, RefuseNestingBeyondOneHundredLevels) {
  auto nest = [](int levels) {
    Json rule = Json::parse(R"({"Variable": "$.i", "NumericEquals": 5})");
    for (int i = 0; i < levels; ++i) {
      rule = Json{{"Not", std::move(rule)}};
    }
    return rule;
  };
  auto ok = evaluate_choice_rule(nest(100), scope());
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(*ok);  // an even number of Nots
  auto deep = evaluate_choice_rule(nest(101), scope());
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().error, "States.Runtime");
  Problems problems;
  Json rule = nest(101);
  rule["Next"] = "N";
  validate_choice_rule(rule, "/c", true, problems);
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_EQ(
      problems[0].path, "/c" + [] {
        std::string p;
        for (int i = 0; i < 101; ++i) {
          p += "/Not";
        }
        return p;
      }());
}

struct ValidationCase {
  std::string name;
  std::string rule;
  bool top_level;
  std::vector<std::string> problem_paths;  // empty: valid
};

TEST(ValidateChoiceRule, ReportsEveryProblemWithItsPointer) {
  const std::string p = "/States/C/Choices/0";
  const std::vector<ValidationCase> cases = {
      {"a simple rule", R"({"Variable": "$.a", "StringEquals": "x", "Next": "N"})", true, {}},
      {"a path operand", R"({"Variable": "$.a", "NumericGreaterThanEqualsPath": "$.b", "Next": "N"})", true, {}},
      {"a variable and the context",
       R"({"Variable": "$v.x", "TimestampEqualsPath": "$$.Execution.StartTime",
                                        "Next": "N"})",
       true,
       {}},
      {"an indefinite Variable is a Path", R"({"Variable": "$.a[*].b", "IsPresent": true, "Next": "N"})", true, {}},
      {"logic with comment and Assign",
       R"({"And": [{"Variable": "$.a", "IsPresent": true},
               {"Not": {"Variable": "$.b", "BooleanEquals": false}}], "Next": "N", "Comment": "c",
               "Assign": {"x": 1}})",
       true,
       {}},
      {"a nested rule needs no Next", R"({"Variable": "$.a", "IsNull": true})", false, {}},
      {"no operator", R"({"Variable": "$.a", "Next": "N"})", true, {p}},
      {"two operators", R"({"Variable": "$.a", "NumericEquals": 1, "StringEquals": "y", "Next": "N"})", true, {p}},
      {"an operator and And",
       R"({"Variable": "$.a", "NumericEquals": 1, "And": [{"Variable": "$.b",
                                   "IsNull": true}], "Next": "N"})",
       true,
       {p}},
      {"an unknown operator beside a valid one",
       R"({"Variable": "$.a", "NumericEquals": 1, "NumericSpicyThan": 2,
                                                     "Next": "N"})",
       true,
       {p + "/NumericSpicyThan"}},
      {"a missing Next", R"({"Variable": "$.a", "NumericEquals": 1})", true, {p}},
      {"a nested Next", R"({"Variable": "$.a", "NumericEquals": 1, "Next": "N"})", false, {p + "/Next"}},
      {"a Next that is not a name", R"({"Variable": "$.a", "NumericEquals": 1, "Next": 3})", true, {p + "/Next"}},
      {"a missing Variable", R"({"NumericEquals": 1, "Next": "N"})", true, {p}},
      {"a Variable that is not a path",
       R"({"Variable": "a", "NumericEquals": 1, "Next": "N"})",
       true,
       {p + "/Variable"}},
      {"a Variable that is not a string",
       R"({"Variable": 1, "NumericEquals": 1, "Next": "N"})",
       true,
       {p + "/Variable"}},
      {"a Variable beside And",
       R"({"And": [{"Variable": "$.a", "IsNull": true}], "Variable": "$.b", "Next": "N"})",
       true,
       {p + "/Variable"}},
      {"an empty And", R"({"And": [], "Next": "N"})", true, {p + "/And"}},
      {"Or that is not an array", R"({"Or": {"Variable": "$.a", "IsNull": true}, "Next": "N"})", true, {p + "/Or"}},
      {"Not that is an array", R"({"Not": [{"Variable": "$.a", "IsNull": true}], "Next": "N"})", true, {p + "/Not"}},
      {"problems deep inside",
       R"({"And": [{"Variable": "$.a", "IsNull": true},
               {"Or": [{"Variable": "$.b", "StringEquals": 1}, {"Variable": "$.c", "IsNull": true, "Next": "X"}]}],
               "Next": "N"})",
       true,
       {p + "/And/1/Or/0/StringEquals", p + "/And/1/Or/1/Next"}},
      {"a numeric operator with a string",
       R"({"Variable": "$.a", "NumericEquals": "5", "Next": "N"})",
       true,
       {p + "/NumericEquals"}},
      {"a string operator with a number",
       R"({"Variable": "$.a", "StringLessThan": 5, "Next": "N"})",
       true,
       {p + "/StringLessThan"}},
      {"StringMatches with a number",
       R"({"Variable": "$.a", "StringMatches": 5, "Next": "N"})",
       true,
       {p + "/StringMatches"}},
      {"a boolean operator with a string",
       R"({"Variable": "$.a", "BooleanEquals": "true", "Next": "N"})",
       true,
       {p + "/BooleanEquals"}},
      {"a type test with a string",
       R"({"Variable": "$.a", "IsPresent": "yes", "Next": "N"})",
       true,
       {p + "/IsPresent"}},
      {"a timestamp operator with a bad timestamp",
       R"({"Variable": "$.a", "TimestampEquals": "nope",
                                                       "Next": "N"})",
       true,
       {p + "/TimestampEquals"}},
      {"a timestamp operator with a date only",
       R"({"Variable": "$.a", "TimestampLessThan": "2024-01-01",
                                                   "Next": "N"})",
       true,
       {p + "/TimestampLessThan"}},
      {"a path operator with a non-path",
       R"({"Variable": "$.a", "StringEqualsPath": "notapath", "Next": "N"})",
       true,
       {p + "/StringEqualsPath"}},
      {"a path operator with an indefinite path",
       R"({"Variable": "$.a", "NumericEqualsPath": "$.b[*]",
                                                     "Next": "N"})",
       true,
       {p + "/NumericEqualsPath"}},
      {"a path operator with a number",
       R"({"Variable": "$.a", "BooleanEqualsPath": true, "Next": "N"})",
       true,
       {p + "/BooleanEqualsPath"}},
      {"an unsupported field", R"({"Variable": "$.a", "IsNull": true, "Bogus": 1, "Next": "N"})", true, {p + "/Bogus"}},
      {"Assign in a nested rule", R"({"Variable": "$.a", "IsNull": true, "Assign": {}})", false, {p + "/Assign"}},
      {"not an object", R"([1])", true, {p}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Problems problems;
    validate_choice_rule(Json::parse(c.rule), p, c.top_level, problems);
    std::vector<std::string> paths;
    for (const auto& problem : problems) {
      paths.push_back(problem.path);
      EXPECT_FALSE(problem.message.empty());
    }
    EXPECT_EQ(paths, c.problem_paths);
  }
}

TEST(ValidateChoiceRule, AcceptsEveryOperatorWithAWellFormedOperand) {
  const std::vector<std::pair<std::string, Json>> operators = {
      {"StringEquals", "x"},
      {"StringLessThan", "x"},
      {"StringGreaterThan", "x"},
      {"StringLessThanEquals", "x"},
      {"StringGreaterThanEquals", "x"},
      {"StringMatches", "x*"},
      {"NumericEquals", 1},
      {"NumericLessThan", 1.5},
      {"NumericGreaterThan", -1},
      {"NumericLessThanEquals", 1},
      {"NumericGreaterThanEquals", 1},
      {"BooleanEquals", false},
      {"TimestampEquals", "2016-08-18T17:33:00Z"},
      {"TimestampLessThan", "2016-08-18T17:33:00Z"},
      {"TimestampGreaterThan", "2016-08-18T17:33:00Z"},
      {"TimestampLessThanEquals", "2016-08-18T17:33:00Z"},
      {"TimestampGreaterThanEquals", "2016-08-18T17:33:00Z"},
      {"IsNull", true},
      {"IsPresent", true},
      {"IsNumeric", false},
      {"IsString", true},
      {"IsBoolean", true},
      {"IsTimestamp", true},
  };
  std::vector<std::pair<std::string, Json>> all = operators;
  for (const std::string base :
       {"StringEquals", "StringLessThan", "StringGreaterThan", "StringLessThanEquals", "StringGreaterThanEquals",
        "NumericEquals", "NumericLessThan", "NumericGreaterThan", "NumericLessThanEquals", "NumericGreaterThanEquals",
        "BooleanEquals", "TimestampEquals", "TimestampLessThan", "TimestampGreaterThan", "TimestampLessThanEquals",
        "TimestampGreaterThanEquals"}) {
    all.emplace_back(base + "Path", "$.other");
  }
  ASSERT_EQ(all.size(), 39U);
  for (const auto& [op, operand] : all) {
    SCOPED_TRACE(op);
    Json rule = {{"Variable", "$.a"}, {op, operand}, {"Next", "N"}};
    Problems problems;
    validate_choice_rule(rule, "/c", true, problems);
    EXPECT_TRUE(problems.empty()) << problems.front().path << ": " << problems.front().message;
  }
}

}  // namespace
}  // namespace switchyard::asl
