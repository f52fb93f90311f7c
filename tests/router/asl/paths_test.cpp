// JSONPath as Step Functions evaluates it (Jayway semantics): definite and
// indefinite paths, filters, slices, roots ($, $$, $var), syntax checks,
// reference-path restrictions and ResultPath.
#include "switchyard/asl/paths.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace switchyard::asl {
namespace {

const Json kStore = Json::parse(R"({
  "store": {
    "book": [
      {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
      {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
      {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553", "price": 8.99},
      {"category": "fiction", "author": "J. R. R. Tolkien", "title": "LOTR", "isbn": "0-395", "price": 22.99}
    ],
    "bicycle": {"color": "red", "price": 19.95}
  },
  "a b": {"c": 1},
  "q'": 2,
  "n": null,
  "arr": [1, 2, 3, 4, 5],
  "s": "str",
  "empty": [],
  "dash-key": "d"
})");

struct PathCase {
  std::string path;
  std::optional<Json> expected;  // nullopt: the evaluation fails
  std::string cause = {};        // for failures: the exact cause
};

TEST(EvaluatePath, SelectsLikeStepFunctions) {
  const std::vector<PathCase> cases = {
      {"$", kStore},
      {"$.store.bicycle.color", "red"},
      {"$['store']['bicycle']['color']", "red"},
      {R"($["a b"].c)", 1},
      {"$['a b']['c']", 1},
      {R"($['q\''])", 2},
      {"$.dash-key", "d"},
      {"$.n", nullptr},
      {"$.store.book[0].title", "Sayings"},
      {"$.store.book[-1].title", "LOTR"},
      // An index past the end, as the last step, is null (AWS resolves it; it does not fail).
      {"$.arr[10]", nullptr},
      {"$.arr[-10]", nullptr},
      {"$.store.book[*].author", Json::parse(R"(["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"])")},
      {"$.store.book[*].isbn", Json::parse(R"(["0-553","0-395"])")},
      {"$.store.book[*].missing", Json::array()},
      {"$.s[*]", Json::array()},
      {"$.store.bicycle.*", Json::parse(R"(["red",19.95])")},
      {"$.arr.*", Json::parse("[1,2,3,4,5]")},
      {"$..author", Json::parse(R"(["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"])")},
      {"$..price", Json::parse("[19.95,8.95,12.99,8.99,22.99]")},
      {"$..book[2].title", Json::parse(R"(["Moby Dick"])")},
      {"$.arr[1:3]", Json::parse("[2,3]")},
      {"$.arr[-2:]", Json::parse("[4,5]")},
      {"$.arr[:2]", Json::parse("[1,2]")},
      {"$.arr[3:10]", Json::parse("[4,5]")},
      {"$.arr[::2]", Json::parse("[1,3,5]")},
      {"$.arr[::-1]", Json::parse("[5,4,3,2,1]")},
      {"$.arr[4:1:-2]", Json::parse("[5,3]")},
      {"$.arr[0,2]", Json::parse("[1,3]")},
      {"$.arr[0,-1,9]", Json::parse("[1,5]")},
      {"$.empty[0:2]", Json::array()},
      {"$['s','n']", Json::parse(R"({"s":"str","n":null})")},
      {"$['s','nope']", Json::parse(R"({"s":"str"})")},
      {"$.store.book[?(@.price < 10)].title", Json::parse(R"(["Sayings","Moby Dick"])")},
      {"$.store.book[?(@.price<=8.95)].title", Json::parse(R"(["Sayings"])")},
      {"$.store.book[?(@.isbn)].title", Json::parse(R"(["Moby Dick","LOTR"])")},
      {"$.store.book[?(!@.isbn)].title", Json::parse(R"(["Sayings","Sword"])")},
      {"$.store.book[?(@.category == 'fiction' && @.price > 20)].title", Json::parse(R"(["LOTR"])")},
      {R"($.store.book[?(@.price < 9 || @.author == "Evelyn Waugh")].title)",
       Json::parse(R"(["Sayings","Sword","Moby Dick"])")},
      {"$.store.book[?(!(@.category == 'fiction'))].title", Json::parse(R"(["Sayings"])")},
      {"$.store.book[?(@.category != 'fiction')].title", Json::parse(R"(["Sayings"])")},
      {"$.store.book[?(@.price > $.store.bicycle.price)].title", Json::parse(R"(["LOTR"])")},
      {"$.store.book[?(@.title >= 'Sw')].title", Json::parse(R"(["Sword"])")},
      {"$.store.book[?(@.price == '8.95')].title", Json::parse(R"(["Sayings"])")},
      {"$.store.book[?(@.isbn == null)].title", Json::array()},
      // On an object a filter tests the object itself (Jayway), not its members.
      {"$.store.bicycle[?(@.color == 'red')].price", Json::parse("[19.95]")},
      {"$.store[?(@.color == 'red')].price", Json::array()},
      {"$.arr[?(@ > 3)]", Json::parse("[4,5]")},
      {"$.missing", std::nullopt, "Invalid path '$.missing' : No results for path: $['missing']"},
      {"$.store.nope", std::nullopt, "Invalid path '$.store.nope' : No results for path: $['store']['nope']"},
      {"$.missing.x", std::nullopt, "Invalid path '$.missing.x' : Missing property in path $['missing']"},
      {"$.missing[*]", std::nullopt, "Invalid path '$.missing[*]' : Missing property in path $['missing']"},
      {"$.s.x", std::nullopt,
       "Invalid path '$.s.x' : Expected to find an object with property ['x'] in path $['s'] but found 'string'"},
      {"$.s[0]", std::nullopt,
       R"(Invalid path '$.s[0]' : Filter: [0] can only be applied to arrays. Current context is: "str")"},
      {"$.n[0]", std::nullopt, "Invalid path '$.n[0]' : The path $['n'] is null"},
      {"$.n.x", std::nullopt,
       "Invalid path '$.n.x' : Expected to find an object with property ['x'] in path $['n'] but found 'null'"},
      {"$.arr[10].x", std::nullopt,
       "Invalid path '$.arr[10].x' : Expected to find an object with property ['x'] in path $['arr'][10] but found "
       "'null'"},
      {"$.s[?(@.x)]", std::nullopt,
       R"(Invalid path '$.s[?(@.x)]' : Filter: [?] can not be applied to primitives. Current context is: "str")"},
      {"$.a[", std::nullopt, "Invalid path '$.a[' : unterminated '['"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    auto got = evaluate_path(c.path, Scope{kStore});
    if (c.expected) {
      ASSERT_TRUE(got.ok()) << got.error().cause;
      EXPECT_EQ(*got, *c.expected);
    } else {
      ASSERT_FALSE(got.ok()) << got->dump();
      EXPECT_EQ(got.error().error, "States.Runtime");
      EXPECT_EQ(got.error().cause, c.cause);
    }
  }
}

TEST(EvaluatePath, ResolvesContextObjectAndVariables) {
  const Json input = {{"x", 1}};
  const Json context = Json::parse(R"({"Execution": {"Id": "e-1", "Input": {"k": "v"}}, "State": {"Name": "S"}})");
  const Json variables = Json::parse(R"({"total": 3, "user": {"name": "ada", "tags": ["a", "b"]}})");
  const Scope scope{input, &context, &variables};
  struct Case {
    std::string path;
    std::optional<Json> expected;
  };
  const std::vector<Case> cases = {
      {"$$", context},
      {"$$.Execution.Id", "e-1"},
      {"$$.Execution.Input.k", "v"},
      {"$$['State']['Name']", "S"},
      {"$total", 3},
      {"$user.name", "ada"},
      {"$user.tags[1]", "b"},
      {"$user.tags[*]", Json::parse(R"(["a","b"])")},
      {"$.x", 1},
      {"$$.Task.Token", std::nullopt},
      {"$undefinedVar", std::nullopt},
      {"$user.nope", std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    auto got = evaluate_path(c.path, scope);
    if (c.expected) {
      ASSERT_TRUE(got.ok()) << got.error().cause;
      EXPECT_EQ(*got, *c.expected);
    } else {
      ASSERT_FALSE(got.ok());
      EXPECT_EQ(got.error().error, "States.Runtime");
    }
  }
}

TEST(EvaluatePath, FailsWithoutContextOrVariables) {
  const Json input = Json::object();
  auto no_context = evaluate_path("$$.Execution.Id", Scope{input});
  ASSERT_FALSE(no_context.ok());
  EXPECT_EQ(no_context.error().cause, "Invalid path '$$.Execution.Id' : the context object is not available");
  auto no_variable = evaluate_path("$v", Scope{input});
  ASSERT_FALSE(no_variable.ok());
  EXPECT_EQ(no_variable.error().cause, "Invalid path '$v' : the variable 'v' is not defined");
}

TEST(EvaluatePath, ScansDeeplyNestedDocumentsWithoutRecursion) {
  // 100,000 levels would overflow the stack of a recursive descent.
  std::string text;
  for (int i = 0; i < 100000; ++i) {
    text += "[";
  }
  text += R"({"leaf": 7})";
  for (int i = 0; i < 100000; ++i) {
    text += "]";
  }
  const Json doc = Json::parse(text);
  auto got = evaluate_path("$..leaf", Scope{doc});
  ASSERT_TRUE(got.ok()) << got.error().cause;
  EXPECT_EQ(*got, Json::parse("[7]"));
}

TEST(EvaluatePath, LimitsStepsAndTheDepthOfQuotedInput) {
  std::string long_path = "$";
  for (int i = 0; i < 1001; ++i) {
    long_path += ".a";
  }
  std::string why;
  EXPECT_FALSE(is_valid_path(long_path, PathKind::Path, &why));
  EXPECT_EQ(why, "a path may have at most 1000 steps");
  // A cause quotes the input; one nested too deeply to print safely is named instead.
  std::string text = R"({"deep": )" + std::string(3000, '[') + std::string(3000, ']') + "}";
  const Json doc = Json::parse(text);
  auto got = evaluate_path("$.nope", Scope{doc});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().cause, "Invalid path '$.nope' : No results for path: $['nope']");
  auto result = apply_result_path(doc, "$.deep.x", Json(1));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().cause,
            "Unable to apply ResultPath '$.deep.x' to input '<JSON nested more than 2000 "
            "levels deep>'");
}

struct SyntaxCase {
  std::string path;
  bool path_ok;
  bool reference_ok;
};

TEST(IsValidPath, ChecksPathAndReferencePathSyntax) {
  const std::vector<SyntaxCase> cases = {
      {"$", true, true},
      {"$.a", true, true},
      {"$.a.b[0]", true, true},
      {"$.a[-1]", true, true},
      {"$[0]", true, true},
      {"$['a b'].c", true, true},
      {R"($["a b"])", true, true},
      {"$.a-b", true, true},
      {"$.a.['b']", true, true},
      {"$$", true, true},
      {"$$.Execution.Input", true, true},
      {"$$.Map.Item.Value", true, true},
      {"$var", true, true},
      {"$var.x[2]", true, true},
      {"$_v1", true, true},
      {"$.a[*]", true, false},
      {"$.*", true, false},
      {"$..a", true, false},
      {"$..[0]", true, false},
      {"$..*", true, false},
      {"$.a[1:2]", true, false},
      {"$.a[:2]", true, false},
      {"$.a[::2]", true, false},
      {"$.a[0,1]", true, false},
      {"$['a','b']", true, false},
      {"$.a[?(@.x > 1)]", true, false},
      {"$.a[?(@.x)]", true, false},
      {"$.a[?(@.x == 'y' || (@.z && !@.w))]", true, false},
      {"", false, false},
      {"a.b", false, false},
      {"$.", false, false},
      {"$.a.", false, false},
      {"$..", false, false},
      {"$[", false, false},
      {"$.a[", false, false},
      {"$.a]", false, false},
      {"$['a]", false, false},
      {"$.a b", false, false},
      {"$ .a", false, false},
      {"$.length()", false, false},
      {"$.a.sum()", false, false},
      {"$.a[?(@.x >)]", false, false},
      {"$.a[?(@.x > 1]", false, false},
      {"$.a[?(1)]", false, false},
      {"$.a[::0]", false, false},
      {"$.a[x]", false, false},
      {"$.a[]", false, false},
      {"$1", false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    std::string why;
    EXPECT_EQ(is_valid_path(c.path, PathKind::Path, &why), c.path_ok) << why;
    EXPECT_EQ(is_valid_path(c.path, PathKind::Reference, &why), c.reference_ok) << why;
    if (!c.reference_ok) {
      EXPECT_FALSE(why.empty());
    }
  }
}

struct ResultPathCase {
  std::string input;
  std::string path;
  std::optional<std::string> expected;  // nullopt: ResultPathMatchFailure
};

TEST(ApplyResultPath, PlacesTheResultLikeStepFunctions) {
  const Json result = {{"r", 1}};
  const std::vector<ResultPathCase> cases = {
      {R"({"a":1})", "$", R"({"r":1})"},
      {R"("str")", "$", R"({"r":1})"},
      {R"({"a":1})", "$.b", R"({"a":1,"b":{"r":1}})"},
      {R"({"a":1})", "$.a", R"({"a":{"r":1}})"},
      {R"({"a":1})", "$.x.y.z", R"({"a":1,"x":{"y":{"z":{"r":1}}}})"},
      {R"({"a":{"k":1}})", "$.a.b", R"({"a":{"k":1,"b":{"r":1}}})"},
      {R"({"a":{"k":1}})", "$['a']['b c']", R"({"a":{"k":1,"b c":{"r":1}}})"},
      {R"([{"a":1},{"id":7},4])", "$[1].payload", R"([{"a":1},{"id":7,"payload":{"r":1}},4])"},
      {R"({"a":[1,2]})", "$.a[0]", R"({"a":[{"r":1},2]})"},
      {R"({"a":[1,2]})", "$.a[-1]", R"({"a":[1,{"r":1}]})"},
      {R"({"a":1})", "$.a.b", std::nullopt},
      {R"({"a":null})", "$.a.b", std::nullopt},
      {R"("str")", "$.x", std::nullopt},
      {R"([1,2])", "$.x", std::nullopt},
      {R"([{"a":1}])", "$[5].x", std::nullopt},
      {R"({"a":[1]})", "$.a[1]", std::nullopt},
      {R"({"a":1})", "$.b[0]", std::nullopt},
      {R"({"a":{"b":1}})", "$.a[0]", std::nullopt},
      {R"({"a":1})", "$.a[*]", std::nullopt},
      {R"({"a":1})", "$..a", std::nullopt},
      {R"({"a":1})", "$$.x", std::nullopt},
      {R"({"a":1})", "$v.x", std::nullopt},
      {R"({"a":1})", "not a path", std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input + " " + c.path);
    auto got = apply_result_path(Json::parse(c.input), c.path, result);
    if (c.expected) {
      ASSERT_TRUE(got.ok()) << got.error().cause;
      EXPECT_EQ(*got, Json::parse(*c.expected));
    } else {
      ASSERT_FALSE(got.ok()) << got->dump();
      EXPECT_EQ(got.error().error, "States.ResultPathMatchFailure");
    }
  }
}

TEST(ApplyResultPath, FailureReportsTheInputUntouched) {
  auto got = apply_result_path(Json::parse(R"({"x":1})"), "$.y.z[0]", Json(5));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().cause, R"(Unable to apply ResultPath '$.y.z[0]' to input '{"x":1}')");
  auto scalar = apply_result_path(Json("just-a-string"), "$.x", Json(5));
  ASSERT_FALSE(scalar.ok());
  EXPECT_EQ(scalar.error().cause, R"(Unable to apply ResultPath '$.x' to input '"just-a-string"')");
}

}  // namespace
}  // namespace switchyard::asl
