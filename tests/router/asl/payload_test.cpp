// Payload templates: "key.$" values are paths (input, context, variables) or
// intrinsics; everything else is copied. Failures use AWS's error and wording.
#include "switchyard/asl/payload.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace switchyard::asl {
namespace {

const Json kInput =
    Json::parse(R"({"a": 1, "b": "two", "items": [{"id": 1}, {"id": 2}, {"x": 3}], "obj": {"k": true}})");
const Json kContext = Json::parse(R"({"Execution": {"Id": "exec-1"}, "Task": {"Token": "tok"}})");
const Json kVariables = Json::parse(R"({"limit": 10, "user": {"name": "ada"}})");

Scope scope() { return Scope{kInput, &kContext, &kVariables}; }

struct Case {
  std::string name;
  std::string tmpl;
  std::string expected;
};

TEST(EvaluatePayload, BuildsTheEffectiveValue) {
  const std::vector<Case> cases = {
      {"static values are copied", R"({"a": 1, "b": {"c": [1, {"d": "x"}]}, "s": "$.a"})",
       R"({"a": 1, "b": {"c": [1, {"d": "x"}]}, "s": "$.a"})"},
      {"a path", R"({"x.$": "$.a"})", R"({"x": 1})"},
      {"the whole input", R"({"all.$": "$"})", Json{{"all", kInput}}.dump()},
      {"nested objects and arrays", R"({"outer": {"in.$": "$.b"}, "list": [{"v.$": "$.obj.k"}, 3, "$.a"]})",
       R"({"outer": {"in": "two"}, "list": [{"v": true}, 3, "$.a"]})"},
      {"the context object", R"({"id.$": "$$.Execution.Id", "token.$": "$$.Task.Token"})",
       R"({"id": "exec-1", "token": "tok"})"},
      {"variables", R"({"l.$": "$limit", "n.$": "$user.name"})", R"({"l": 10, "n": "ada"})"},
      {"an indefinite path is a list", R"({"ids.$": "$.items[*].id"})", R"({"ids": [1, 2]})"},
      {"an indefinite path matching nothing is empty", R"({"ids.$": "$.items[*].nope"})", R"({"ids": []})"},
      {"a filter", R"({"big.$": "$.items[?(@.id > 1)]"})", R"({"big": [{"id": 2}]})"},
      {"an index past the end is null", R"({"v.$": "$.items[7]"})", R"({"v": null})"},
      {"the computed key wins over a plain one", R"({"x": "plain", "x.$": "$.a"})", R"({"x": 1})"},
      {"a template that is an array", R"([{"a.$": "$.a"}, 2])", R"([{"a": 1}, 2])"},
      {"a scalar template", R"("$.a")", R"("$.a")"},
      {"a key that is only .$", R"({".$": "$.a"})", R"({"": 1})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto got = evaluate_payload(Json::parse(c.tmpl), scope());
    ASSERT_TRUE(got.ok()) << got.error().cause;
    EXPECT_EQ(*got, Json::parse(c.expected));
  }
}

struct FailureCase {
  std::string name;
  std::string tmpl;
  std::string cause;
};

TEST(EvaluatePayload, FailsWithStatesRuntimeAndAwsCause) {
  const std::string input_text = R"({"a":1,"b":"two","items":[{"id":1},{"id":2},{"x":3}],"obj":{"k":true}})";
  const std::vector<FailureCase> cases = {
      {"a missing field", R"({"x.$": "$.missing"})",
       "The JSONPath '$.missing' specified for the field 'x.$' could not be found in the input '" + input_text + "'"},
      {"a missing nested field", R"({"outer": {"deep.$": "$.obj.nope"}})",
       "The JSONPath '$.obj.nope' specified for the field 'deep.$' could not be found in the input '" + input_text +
           "'"},
      {"a missing field inside an array", R"({"list": [1, {"v.$": "$.nope"}]})",
       "The JSONPath '$.nope' specified for the field 'v.$' could not be found in the input '" + input_text + "'"},
      {"a missing context field", R"({"c.$": "$$.Nope"})",
       "The JSONPath '$$.Nope' specified for the field 'c.$' could not be found in the input '" + kContext.dump() +
           "'"},
      {"a missing variable field", R"({"v.$": "$user.age"})",
       R"(The JSONPath '$user.age' specified for the field 'v.$' could not be found in the input '{"name":"ada"}')"},
      {"an unknown variable", R"({"v.$": "$nobody"})",
       "The JSONPath '$nobody' specified for the field 'v.$' could not be found in the input 'null'"},
      {"a non-string value", R"({"x.$": 5})",
       "The value for the field 'x.$' must be a STRING that contains a JSONPath but was an INTEGER"},
      {"an object value", R"({"x.$": {"a": 1}})",
       "The value for the field 'x.$' must be a STRING that contains a JSONPath but was an OBJECT"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto got = evaluate_payload(Json::parse(c.tmpl), scope());
    ASSERT_FALSE(got.ok()) << got->dump();
    EXPECT_EQ(got.error().error, "States.Runtime");
    EXPECT_EQ(got.error().cause, c.cause);
  }
}

TEST(EvaluatePayload, ContextPathFailsWithoutAContextObject) {
  auto got = evaluate_payload(Json::parse(R"({"id.$": "$$.Execution.Id"})"), Scope{kInput});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().cause,
            "The JSONPath '$$.Execution.Id' specified for the field 'id.$' could not be found in the input 'null'");
}

TEST(ValidatePayload, ReportsEveryBadDynamicValue) {
  const Json tmpl = Json::parse(R"({
    "ok.$": "$.a",
    "ctx.$": "$$.Execution.Id",
    "var.$": "$v.x",
    "bad.$": 5,
    "nested": {"p.$": "$.a["},
    "arr": [{"q.$": "nope"}, {"fine.$": "$.items[*].id"}],
    "slash/key.$": true,
    "tilde~.$": "$.",
    "fine": "$.not-dynamic",
    "nul.$": null
  })");
  Problems problems;
  validate_payload(tmpl, "/States/P/Parameters", problems);
  struct Expected {
    std::string path;
    std::string message_prefix;
  };
  const std::string invalid = "must be a valid JSONPath or a valid intrinsic function call: ";
  const std::vector<Expected> expected = {
      {"/States/P/Parameters/arr/0/q.$", "The value for the field 'q.$' " + invalid},
      {"/States/P/Parameters/bad.$",
       "The value for the field 'bad.$' must be a STRING that contains a JSONPath "
       "but was an INTEGER"},
      {"/States/P/Parameters/nested/p.$", "The value for the field 'p.$' " + invalid},
      {"/States/P/Parameters/nul.$",
       "The value for the field 'nul.$' must be a STRING that contains a JSONPath "
       "but was a NULL"},
      {"/States/P/Parameters/slash~1key.$",
       "The value for the field 'slash/key.$' must be a STRING that contains a "
       "JSONPath but was a BOOLEAN"},
      {"/States/P/Parameters/tilde~0.$", "The value for the field 'tilde~.$' " + invalid},
  };
  ASSERT_EQ(problems.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].path);
    EXPECT_EQ(problems[i].path, expected[i].path);
    EXPECT_EQ(problems[i].message.substr(0, expected[i].message_prefix.size()), expected[i].message_prefix)
        << problems[i].message;
  }
}

TEST(Payload, RefusesTemplatesNestedTooDeeply) {
  Json tmpl = Json::parse(R"({"x.$": "$.a"})");
  for (int i = 0; i < 1001; ++i) {
    tmpl = Json{{"n", std::move(tmpl)}};
  }
  auto got = evaluate_payload(tmpl, scope());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().cause, "The payload template is nested more than 1000 levels deep");
  Problems problems;
  validate_payload(tmpl, "", problems);
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_EQ(problems[0].message, "The payload template is nested more than 1000 levels deep");
}

TEST(ValidatePayload, AcceptsAValidTemplate) {
  Problems problems;
  validate_payload(Json::parse(R"({"a.$": "$", "b": {"c.$": "$..x"}, "d": [1, "two", {"e.$": "$$"}]})"), "/P",
                   problems);
  EXPECT_TRUE(problems.empty());
}

}  // namespace
}  // namespace switchyard::asl
