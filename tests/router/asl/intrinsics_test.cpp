// The 18 intrinsic functions with Step Functions' argument rules, quirks and
// error wording; the syntax check; nesting; paths from input, context and
// variables; randomness only through Scope::random.
#include "switchyard/asl/intrinsics.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <regex>
#include <string>
#include <vector>

#include "switchyard/asl/payload.hpp"

namespace switchyard::asl {
namespace {

const Json kInput = Json::parse(R"({
  "name": "Arnav",
  "template": "Hello, my name is {}.",
  "n": null,
  "o": {"k": [1, "two", {"x": null}]},
  "b": true,
  "arr": [1, 2, 3, 4, 5, 6, 7, 8, 9],
  "dups": [1, 2, 3, 3, 3, 3, 3, 3, 4],
  "esc": "{\"foo\": \"bar\"}",
  "u": {"foo": "bar"},
  "v": {"baz": 1},
  "num": 5,
  "s": "a,b,c",
  "items": [1, 2],
  "long": "",
  "longer": ""
})");

Json make_input() {
  Json input = kInput;
  input["long"] = std::string(10000, 'a');
  input["longer"] = std::string(10001, 'a');
  return input;
}

const Json kContext = Json::parse(R"({"Execution": {"Name": "run-7", "Input": {"start": 2, "end": 6, "step": 2}}})");
const Json kVariables = Json::parse(R"({"who": "ada", "limit": 3})");

struct Case {
  std::string expr;
  Json expected;
};

class Intrinsics : public ::testing::Test {
 protected:
  Result<Json> eval(const std::string& expr) {
    return evaluate_intrinsic(expr, Scope{input_, &kContext, &kVariables, &random_});
  }

  Json input_ = make_input();
  std::vector<uint64_t> draws_ = {1000, 0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  size_t next_draw_ = 0;
  std::function<uint64_t()> random_ = [this] { return draws_[next_draw_++ % draws_.size()]; };
};

TEST_F(Intrinsics, EvaluateLikeStepFunctions) {
  const std::vector<Case> cases = {
      // States.Format: {} placeholders, escapes, Java-style rendering of non-strings.
      {"States.Format('Hello, my name is {}.', $.name)", "Hello, my name is Arnav."},
      {"States.Format($.template, $.name)", "Hello, my name is Arnav."},
      {"States.Format('no placeholders')", "no placeholders"},
      {"States.Format('{} {} {}', 'x', 2, true)", "x 2 true"},
      {"States.Format('{}', $.n)", "null"},
      {"States.Format('{}|{}', $.o, $.b)", "{k=[1, two, {x=null}]}|true"},
      {"States.Format('{}', 1.5)", "1.5"},
      {R"(States.Format('a\{b\} {} \'q\' \\', 1))", R"(a{b} 1 'q' \)"},
      {"States.Format('  {}  ', 'x')", "  x  "},
      {"States.Format('arn:{}:{}', 'lambda', States.JsonToString($.u))", R"(arn:lambda:{"foo":"bar"})"},
      {"States.Format('{}:{}:{}', $$.Execution.Name, $who, $limit)", "run-7:ada:3"},
      // JSON conversion.
      {"States.StringToJson($.esc)", Json::parse(R"({"foo":"bar"})")},
      {"States.StringToJson('[1, 2]')", Json::parse("[1,2]")},
      {"States.StringToJson('7')", 7},
      {"States.JsonToString($.u)", R"({"foo":"bar"})"},
      {"States.JsonToString($.items)", "[1,2]"},
      // Arrays.
      {"States.Array($.num)", Json::parse("[5]")},
      {"States.Array()", Json::array()},
      {"States.Array(42, true, false, null, 'hello', -1.5, 1e2)",
       Json::parse(R"([42,true,false,null,"hello",-1.5,100.0])")},
      {"States.Array(1, States.Array(2, 3))", Json::parse("[1,[2,3]]")},
      {"States.Array( $.num ,$.b )", Json::parse("[5,true]")},
      {"States.Array($.items[*])", Json::parse("[[1,2]]")},
      {"States.ArrayPartition($.arr, 4)", Json::parse("[[1,2,3,4],[5,6,7,8],[9]]")},
      {"States.ArrayPartition($.arr, 2.6)", Json::parse("[[1,2],[3,4],[5,6],[7,8],[9]]")},
      {"States.ArrayPartition($.arr, 10)", Json::parse("[[1,2,3,4,5,6,7,8,9]]")},
      {"States.ArrayPartition(States.Array(), 3)", Json::array()},
      {"States.ArrayContains($.arr, 5)", true},
      {"States.ArrayContains($.arr, 10)", false},
      {"States.ArrayContains(States.Array($.u, 1), $.u)", true},
      {"States.ArrayContains(States.Array(0, 1), false)", false},
      {"States.ArrayContains(States.Array('true'), true)", true},  // AWS compares by text
      {"States.ArrayContains(States.Array(), 1)", false},
      {"States.ArrayRange(1, 9, 2)", Json::parse("[1,3,5,7,9]")},
      {"States.ArrayRange(5, 1, -2)", Json::parse("[5,3,1]")},
      {"States.ArrayRange(3, 3, -1)", Json::parse("[3]")},
      {"States.ArrayRange(5, 1, 1)", Json::array()},
      {"States.ArrayRange(1.4, 5.6, 2.2)", Json::parse("[1,3,5]")},
      {"States.ArrayRange(5.4, -0.6, -2.4)", Json::parse("[5,3,1]")},
      {"States.ArrayRange($$.Execution.Input.start, $$.Execution.Input.end, $$.Execution.Input.step)",
       Json::parse("[2,4,6]")},
      {"States.ArrayGetItem($.arr, 5)", 6},
      {"States.ArrayGetItem($.arr, 1.7)", 2},
      {"States.ArrayGetItem(States.Array(), 999)", nullptr},  // AWS: null, not a failure
      {"States.ArrayLength($.arr)", 9},
      {"States.ArrayLength($.items[*])", 2},
      {"States.ArrayLength($.o.k[*].nope)", 0},
      {"States.ArrayUnique($.dups)", Json::parse("[1,2,3,4]")},
      {"States.ArrayUnique(States.Array($.u, $.v, $.u))", Json::parse(R"([{"foo":"bar"},{"baz":1}])")},
      // Encoding.
      {"States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="},
      {"States.Base64Encode('')", ""},
      {"States.Base64Encode('ab')", "YWI="},
      {"States.Base64Encode('✓')", "4pyT"},
      {"States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "Data to encode"},
      {"States.Base64Decode('4pyT')", "✓"},
      {"States.Base64Decode('')", ""},
      {"States.Base64Decode(' YWJjZA== ')", "abcd"},    // AWS skips what is not Base64
      {"States.Base64Decode('ab==cd')", "i"},           // and stops at padding
      {"States.Base64Decode('YWI')", "ab"},             // padding is optional
      {"States.Base64Decode('abc')", "i\xEF\xBF\xBD"},  // bytes that are not UTF-8 become U+FFFD
      {"States.Base64Decode(States.Base64Encode($.name))", "Arnav"},
      {"States.Hash('hello', 'MD5')", "5d41402abc4b2a76b9719d911017c592"},
      {"States.Hash('hello', 'SHA-1')", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"},
      {"States.Hash('hello', 'SHA-256')", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
      {"States.Hash('hello', 'SHA-384')",
       "59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f"},
      {"States.Hash('hello', 'SHA-512')",
       "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3"
       "ad"
       "ef46f73bcdec043"},
      {"States.Hash('v787', 'MD5')", "0003ec0d0c76934ba8a8b39809c825b3"},
      {"States.Hash(123, 'SHA-256')", "a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3"},
      {"States.Hash('', 'SHA-256')", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"States.Hash($.long, 'MD5')", "0d0c9c4db6953fee9e03f528cafd7d3e"},
      // JSON manipulation.
      {"States.JsonMerge($.u, $.v, false)", Json::parse(R"({"foo":"bar","baz":1})")},
      {"States.JsonMerge($.o, States.StringToJson('{\"k\": 9}'), false)", Json::parse(R"({"k":9})")},
      {"States.JsonMerge($.u, $.v, 'false')", Json::parse(R"({"foo":"bar","baz":1})")},
      // Math.
      {"States.MathAdd(111, -1)", 110},
      {"States.MathAdd(1.6, 2.7)", 5},
      {"States.MathAdd(-1.5, 0)", -1},
      {"States.MathAdd(2147483646, 1)", 2147483647},
      {"States.MathAdd(-2147483647, -1)", -2147483648LL},
      {"States.MathAdd(States.MathAdd($.num, 1), 2)", 8},
      {"States.MathRandom(1, 999)", 3},       // 1 + 1000 % 998, from the injected source
      {"States.MathRandom(1, 100, 42)", 63},  // java.util.Random(42).nextInt(99) + 1
      {"States.MathRandom(0, 10, 42)", 0},    // java.util.Random(42).nextInt(10)
      {"States.MathRandom(1, 10, -10)", 1},
      {"States.MathRandom(1.6, 5.4, 0)", 3},  // bounds truncate to [1, 5); java.util.Random(0).nextInt(4) + 1
      // Strings.
      {"States.StringSplit('This.is+a,test=string', '.+,=')", Json::parse(R"(["This","is","a","test","string"])")},
      {"States.StringSplit($.s, ',')", Json::parse(R"(["a","b","c"])")},
      {"States.StringSplit(',,a,,b,,', ',')", Json::parse(R"(["a","b"])")},
      {"States.StringSplit('', ',')", Json::array()},
      {"States.StringSplit('...', '.')", Json::array()},
      {"States.StringSplit('abc', '')", Json::parse(R"(["abc"])")},
      {"States.StringSplit('a😀b😁c', '😀')", Json::parse(R"(["a","b😁c"])")},
      // Nesting.
      {"States.Format('{}.{}', States.ArrayGetItem(States.StringSplit($.s, ','), 0), States.MathAdd(1, 2))", "a.3"},
      {"States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array("
       "States.Array(States.Array(1))))))))))",
       Json::parse("[[[[[[[[[[1]]]]]]]]]]")},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expr);
    auto got = eval(c.expr);
    ASSERT_TRUE(got.ok()) << got.error().cause;
    EXPECT_EQ(*got, c.expected);
  }
}

TEST_F(Intrinsics, ArrayRangeAllowsExactlyOneThousandItems) {
  auto up = eval("States.ArrayRange(1, 1000, 1)");
  ASSERT_TRUE(up.ok()) << up.error().cause;
  ASSERT_EQ(up->size(), 1000U);
  EXPECT_EQ(up->back(), 1000);
  auto down = eval("States.ArrayRange(1000, 1, -1)");
  ASSERT_TRUE(down.ok()) << down.error().cause;
  EXPECT_EQ(down->size(), 1000U);
}

TEST_F(Intrinsics, Base64AndHashAcceptTenThousandCharacters) {
  auto encoded = eval("States.Base64Encode($.long)");
  ASSERT_TRUE(encoded.ok()) << encoded.error().cause;
  EXPECT_EQ(encoded->get<std::string>().size(), 13336U);
  input_["b64"] = std::string(10000, 'A');
  auto decoded = eval("States.Base64Decode($.b64)");
  ASSERT_TRUE(decoded.ok()) << decoded.error().cause;
  EXPECT_EQ(decoded->get<std::string>().size(), 7500U);
  // The limit counts characters, not UTF-8 bytes.
  std::string wide;
  for (int i = 0; i < 5000; ++i) {
    wide += "😀";
  }
  input_["wide"] = wide;
  EXPECT_TRUE(eval("States.Base64Encode($.wide)").ok());
}

TEST_F(Intrinsics, UuidIsVersion4FromTheInjectedSource) {
  draws_ = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  auto got = eval("States.UUID()");
  ASSERT_TRUE(got.ok()) << got.error().cause;
  EXPECT_EQ(*got, "01234567-89ab-4def-bedc-ba9876543210");
  auto other = eval("States.UUID()");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(std::regex_match(other->get<std::string>(),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
}

TEST_F(Intrinsics, FailWithStatesRuntimeAndAwsCause) {
  const std::string input_text = Json(input_).dump();
  auto invalid = [](const std::string& expr, const std::string& fn) {
    return "The function '" + expr + "' had the following error: Invalid arguments in " + fn;
  };
  struct Failure {
    std::string expr;
    std::string cause;
  };
  std::vector<Failure> cases = {
      {"States.Format('{}', $.nope)",
       "The function 'States.Format('{}', $.nope)' had the following error: The "
       "JsonPath argument for the field '$.nope' could not be found in the input '" +
           input_text + "'"},
      {"States.Format('{}', $.items[5])",
       "The function 'States.Format('{}', $.items[5])' had the following error: "
       "The JsonPath argument for the field '$.items[5]' could not be found in "
       "the input '" +
           input_text + "'"},
      {"States.Format('{}', States.Format('{}', $.a.b))",
       "The function 'States.Format('{}', States.Format('{}', $.a.b))' had the following error: The JsonPath "
       "argument for the field '$.a.b' could not be found in the input '" +
           input_text + "'"},
      {"States.Format('{}', $$.Nope)",
       "The function 'States.Format('{}', $$.Nope)' had the following error: The JsonPath argument for the field "
       "'$$.Nope' could not be found in the input '" +
           kContext.dump() + "'"},
      {"States.Format('{}', $nobody)",
       "The function 'States.Format('{}', $nobody)' had the following error: The JsonPath argument for the field "
       "'$nobody' could not be found in the input 'null'"},
      {"States.MathAdd($.num, 'a')", invalid("States.MathAdd($.num, 'a')", "States.MathAdd")},
      {"States.MathAdd(2147483647, 1)", invalid("States.MathAdd(2147483647, 1)", "States.MathAdd")},
      {"States.MathAdd(3000000000, 1)", invalid("States.MathAdd(3000000000, 1)", "States.MathAdd")},
      {"States.MathAdd(true, 1)", invalid("States.MathAdd(true, 1)", "States.MathAdd")},
      {"States.MathAdd(null, 1)", invalid("States.MathAdd(null, 1)", "States.MathAdd")},
      {"States.Format('{} {}', 'x')", invalid("States.Format('{} {}', 'x')", "States.Format")},
      {"States.Format('{}', 'x', 'y')", invalid("States.Format('{}', 'x', 'y')", "States.Format")},
      {"States.Format($.num)", invalid("States.Format($.num)", "States.Format")},
      {"States.Format('Hello {', 'x')",
       "The function 'States.Format('Hello {', 'x')' had the following error: "
       "Invalid template in States.Format: unmatched '{'"},
      {"States.Format('}')",
       "The function 'States.Format('}')' had the following error: Invalid template in "
       "States.Format: unmatched '}'"},
      {"States.StringToJson('{bad')", invalid("States.StringToJson('{bad')", "States.StringToJson")},
      {"States.StringToJson('')", invalid("States.StringToJson('')", "States.StringToJson")},
      {"States.StringToJson($.num)", invalid("States.StringToJson($.num)", "States.StringToJson")},
      {"States.ArrayPartition($.arr, 0)", invalid("States.ArrayPartition($.arr, 0)", "States.ArrayPartition")},
      {"States.ArrayPartition($.arr, 0.6)", invalid("States.ArrayPartition($.arr, 0.6)", "States.ArrayPartition")},
      {"States.ArrayPartition($.arr, -1)", invalid("States.ArrayPartition($.arr, -1)", "States.ArrayPartition")},
      {"States.ArrayPartition('x', 2)", invalid("States.ArrayPartition('x', 2)", "States.ArrayPartition")},
      {"States.ArrayPartition($.arr, '2')", invalid("States.ArrayPartition($.arr, '2')", "States.ArrayPartition")},
      {"States.ArrayPartition($.arr, null)", invalid("States.ArrayPartition($.arr, null)", "States.ArrayPartition")},
      {"States.ArrayRange(1, 10, 0)", invalid("States.ArrayRange(1, 10, 0)", "States.ArrayRange")},
      {"States.ArrayRange(1, 10, 0.49)", invalid("States.ArrayRange(1, 10, 0.49)", "States.ArrayRange")},
      {"States.ArrayRange(1, 1001, 1)", invalid("States.ArrayRange(1, 1001, 1)", "States.ArrayRange")},
      {"States.ArrayRange(1001, 1, -1)", invalid("States.ArrayRange(1001, 1, -1)", "States.ArrayRange")},
      {"States.ArrayRange('a', 5, 1)", invalid("States.ArrayRange('a', 5, 1)", "States.ArrayRange")},
      {"States.ArrayGetItem($.arr, 9)", invalid("States.ArrayGetItem($.arr, 9)", "States.ArrayGetItem")},
      {"States.ArrayGetItem($.arr, -1)", invalid("States.ArrayGetItem($.arr, -1)", "States.ArrayGetItem")},
      {"States.ArrayGetItem('x', 0)", invalid("States.ArrayGetItem('x', 0)", "States.ArrayGetItem")},
      {"States.ArrayGetItem($.arr, '1')", invalid("States.ArrayGetItem($.arr, '1')", "States.ArrayGetItem")},
      {"States.ArrayLength($.num)", invalid("States.ArrayLength($.num)", "States.ArrayLength")},
      {"States.ArrayUnique($.u)", invalid("States.ArrayUnique($.u)", "States.ArrayUnique")},
      {"States.ArrayContains('x', 'x')", invalid("States.ArrayContains('x', 'x')", "States.ArrayContains")},
      {"States.Base64Encode($.longer)", invalid("States.Base64Encode($.longer)", "States.Base64Encode")},
      {"States.Base64Encode($.num)", invalid("States.Base64Encode($.num)", "States.Base64Encode")},
      {"States.Base64Decode($.longer)", invalid("States.Base64Decode($.longer)", "States.Base64Decode")},
      {"States.Base64Decode(123)", invalid("States.Base64Decode(123)", "States.Base64Decode")},
      {"States.Hash('hello', 'sha-256')", invalid("States.Hash('hello', 'sha-256')", "States.Hash")},
      {"States.Hash('hello', 'SHA256')", invalid("States.Hash('hello', 'SHA256')", "States.Hash")},
      {"States.Hash('hello', 'MD-5')", invalid("States.Hash('hello', 'MD-5')", "States.Hash")},
      {"States.Hash('hello', '')", invalid("States.Hash('hello', '')", "States.Hash")},
      {"States.Hash('hello', 123)", invalid("States.Hash('hello', 123)", "States.Hash")},
      {"States.Hash($.longer, 'MD5')", invalid("States.Hash($.longer, 'MD5')", "States.Hash")},
      {"States.JsonMerge($.u, $.v, true)", invalid("States.JsonMerge($.u, $.v, true)", "States.JsonMerge")},
      {"States.JsonMerge($.n, $.v, false)", invalid("States.JsonMerge($.n, $.v, false)", "States.JsonMerge")},
      {"States.JsonMerge($.u, $.arr, false)", invalid("States.JsonMerge($.u, $.arr, false)", "States.JsonMerge")},
      {"States.MathRandom(1, 1)", invalid("States.MathRandom(1, 1)", "States.MathRandom")},
      {"States.MathRandom(10, 5)", invalid("States.MathRandom(10, 5)", "States.MathRandom")},
      {"States.MathRandom(1.4, 1.6)", invalid("States.MathRandom(1.4, 1.6)", "States.MathRandom")},
      {"States.MathRandom('a', 10)", invalid("States.MathRandom('a', 10)", "States.MathRandom")},
      {"States.MathRandom(1, 10, 'seed')", invalid("States.MathRandom(1, 10, 'seed')", "States.MathRandom")},
      {"States.MathRandom(1, 10, null)", invalid("States.MathRandom(1, 10, null)", "States.MathRandom")},
      {"States.StringSplit($.num, ',')", invalid("States.StringSplit($.num, ',')", "States.StringSplit")},
      {"States.StringSplit('a', $.n)", invalid("States.StringSplit('a', $.n)", "States.StringSplit")},
      {"States.Nope(1)",
       "The function 'States.Nope(1)' had the following error: unknown intrinsic function "
       "'States.Nope'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expr);
    auto got = eval(c.expr);
    ASSERT_FALSE(got.ok()) << got->dump();
    EXPECT_EQ(got.error().error, "States.Runtime");
    EXPECT_EQ(got.error().cause, c.cause);
  }
}

TEST(IntrinsicsWithoutRandomness, FailInsteadOfInventingIt) {
  const Json input = Json::object();
  for (const std::string expr : {"States.UUID()", "States.MathRandom(1, 10)"}) {
    SCOPED_TRACE(expr);
    auto got = evaluate_intrinsic(expr, Scope{input});
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().error, "States.Runtime");
  }
  // A seed needs no source of randomness.
  EXPECT_TRUE(evaluate_intrinsic("States.MathRandom(1, 10, 7)", Scope{input}).ok());
}

TEST(IsIntrinsic, RecognisesCalls) {
  EXPECT_TRUE(is_intrinsic("States.Format('x')"));
  EXPECT_TRUE(is_intrinsic("States.Array()"));
  EXPECT_TRUE(is_intrinsic("States.Format ('x')"));
  EXPECT_TRUE(is_intrinsic("States.Nope(1)"));
  EXPECT_FALSE(is_intrinsic("$.a"));
  EXPECT_FALSE(is_intrinsic("States.Format"));
  EXPECT_FALSE(is_intrinsic("States."));
  EXPECT_FALSE(is_intrinsic("States.(1)"));
  EXPECT_FALSE(is_intrinsic("states.Format('x')"));
  EXPECT_FALSE(is_intrinsic(" States.Format('x')"));
}

TEST(ValidateIntrinsic, ChecksSyntaxArityAndPaths) {
  struct SyntaxCase {
    std::string expr;
    std::string why;  // empty: valid
  };
  const std::string eleven =
      "States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array("
      "States.Array(States.Array(States.Array(1)))))))))))";
  const std::vector<SyntaxCase> cases = {
      {"States.Format('Hello {}', $.name)", ""},
      {"States.Format($$.Execution.Name)", ""},
      {"States.Array($var.x, $..y, $.a[?(@.b > 1)], $['a b'])", ""},
      {"States.MathRandom(1, 2)", ""},
      {"States.MathRandom(1, 2, 3)", ""},
      {"States.UUID()", ""},
      {R"(States.Format('\'\{\}\\'))", ""},
      {"States.Nope(1)", "unknown intrinsic function 'States.Nope'"},
      {"States.Format", "expected '(' after States.Format"},
      {"States.Format('x'", "expected ',' or ')' in the arguments of States.Format"},
      {"States.Format('x') trailing", "unexpected 'trailing' after the call"},
      {"States.Array(1,)", "unexpected ')' at position 15"},
      {"States.Array(1 2)", "expected ',' or ')' in the arguments of States.Array"},
      {"States.ArrayRange(1, 5)", "States.ArrayRange takes 3 argument(s), not 2"},
      {"States.UUID(1)", "States.UUID takes 0 argument(s), not 1"},
      {"States.MathRandom(1)", "States.MathRandom takes 2 or 3 argument(s), not 1"},
      {"States.Format()", "States.Format takes at least 1 argument(s), not 0"},
      {R"(States.Format('a\nb'))", R"(invalid escape '\n': only \' \{ \} and \\ are allowed)"},
      {"States.Format('open)", "unterminated string literal"},
      {"States.Array([1,2])", "unexpected '[' at position 13"},
      {"States.Array(1.)", "invalid number '1.'"},
      {"States.Array(.5)", "unexpected '.' at position 13"},
      {"States.Array(trueish)", "unexpected 't' at position 13"},
      {"States.Array($.a[)", "invalid path '$.a[)': unexpected ')' after '['"},
      {"States.Array($.a b)", "expected ',' or ')' in the arguments of States.Array"},
      {eleven, "intrinsic functions can be nested at most 10 deep"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expr);
    std::string why;
    EXPECT_EQ(validate_intrinsic(c.expr, &why), c.why.empty());
    EXPECT_EQ(why, c.why);
  }
}

TEST(IntrinsicsInPayloads, AreEvaluatedForDynamicKeys) {
  const Json input = Json::parse(R"({"Id": 123456, "a": 1})");
  auto got = evaluate_payload(
      Json::parse(R"js({"BuildId.$": "States.Array($.Id)", "sum.$": "States.MathAdd($.a, 2)"})js"), Scope{input});
  ASSERT_TRUE(got.ok()) << got.error().cause;
  EXPECT_EQ(*got, Json::parse(R"({"BuildId": [123456], "sum": 3})"));
  auto failed = evaluate_payload(Json::parse(R"js({"x.$": "States.MathAdd($.a, 'b')"})js"), Scope{input});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error(), (Error{"States.Runtime",
                                   "The function 'States.MathAdd($.a, 'b')' had the following "
                                   "error: Invalid arguments in States.MathAdd"}));
  Problems problems;
  validate_payload(Json::parse(R"js({"x.$": "States.Nope()", "y.$": "States.Array()"})js"), "/P", problems);
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_EQ(problems[0].path, "/P/x.$");
}

}  // namespace
}  // namespace switchyard::asl
