// functions.yaml loading: the good shapes and precise errors for the bad ones.
#include <gtest/gtest.h>

#include <fstream>

#include "switchyard/knative/function_host.hpp"
#include "switchyard/testing/process.hpp"

namespace switchyard::knative {
namespace {

namespace fs = std::filesystem;

fs::path write(const fs::path& dir, const std::string& text, const std::string& name = "functions.yaml") {
  fs::path p = dir / name;
  std::ofstream(p) << text;
  return p;
}

TEST(FunctionsFile, LoadsEveryFieldAndTheDefaults) {
  testing::TempDir dir;
  auto file = write(dir.path(), R"(functions:
  echo:
    command: ["/usr/bin/env", "--flag", "x y"]
    env: {GREETING: hello, N: 3}
    concurrency: 2
    idleTimeoutSeconds: 0
    maxProcesses: 7
  plain:
    command: python3
)");
  auto specs = load_functions_file(file);
  ASSERT_EQ(specs.size(), 2u);
  const FunctionSpec& echo = specs.at("echo");
  EXPECT_EQ(echo.command, (std::vector<std::string>{"/usr/bin/env", "--flag", "x y"}));
  EXPECT_EQ(echo.env, (std::map<std::string, std::string>{{"GREETING", "hello"}, {"N", "3"}}));
  EXPECT_EQ(echo.concurrency, 2);
  EXPECT_EQ(echo.idle_timeout_seconds, 0);
  EXPECT_EQ(echo.max_processes, 7);
  const FunctionSpec& plain = specs.at("plain");
  EXPECT_EQ(plain.command, (std::vector<std::string>{"python3"}));  // bare names stay for the PATH lookup
  FunctionSpec defaults;
  EXPECT_EQ(plain.concurrency, defaults.concurrency);
  EXPECT_EQ(plain.idle_timeout_seconds, defaults.idle_timeout_seconds);
  EXPECT_EQ(plain.max_processes, defaults.max_processes);
  EXPECT_TRUE(plain.env.empty());
}

TEST(FunctionsFile, ResolvesRelativeCommandPathsAgainstItsDirectory) {
  testing::TempDir dir;
  fs::create_directories(dir.path() / "conf");
  auto file = write(dir.path() / "conf", R"(functions:
  a: {command: ["./build/echo"]}
  b: {command: ["../bin/echo", "./arg-stays"]}
)");
  auto specs = load_functions_file(file);
  EXPECT_EQ(specs.at("a").command.front(), (dir.path() / "conf" / "build" / "echo").string());
  EXPECT_EQ(specs.at("b").command, (std::vector<std::string>{(dir.path() / "bin" / "echo").string(), "./arg-stays"}));
}

TEST(FunctionsFile, EmptyFunctionsSectionMeansNone) {
  testing::TempDir dir;
  EXPECT_TRUE(load_functions_file(write(dir.path(), "functions:\n")).empty());
}

TEST(FunctionsFile, RejectsBadInputWithFileLineAndField) {
  struct Case {
    std::string name;
    std::string yaml;
    std::vector<std::string> expected;  // substrings of the message
  };
  const std::vector<Case> cases = {
      {"syntax", "functions:\n  a: [unclosed\n", {"functions.yaml:", "invalid YAML"}},
      {"not a map", "- a\n- b\n", {"functions.yaml:1:1:", "'functions'"}},
      {"unknown top key", "function:\n  a: {command: [x]}\n", {":1:1:", "function: unknown key"}},
      {"functions not a map", "functions: [a]\n", {":1:12:", "functions: expected a mapping"}},
      {"bad name", "functions:\n  a.b: {command: [x]}\n", {":2:3:", "functions.a.b: invalid function name"}},
      {"function not a map", "functions:\n  a: x\n", {":2:6:", "functions.a: expected a mapping"}},
      {"missing command", "functions:\n  a:\n    concurrency: 2\n", {":3:5:", "functions.a.command: missing"}},
      {"empty command", "functions:\n  a: {command: []}\n", {"functions.a.command: must name a program"}},
      {"nested command", "functions:\n  a: {command: [[x]]}\n", {"functions.a.command: every element"}},
      {"zero concurrency",
       "functions:\n  a:\n    command: [x]\n    concurrency: 0\n",
       {":4:18:", "functions.a.concurrency: expected an integer from 1"}},
      {"text concurrency", "functions:\n  a: {command: [x], concurrency: many}\n", {"functions.a.concurrency"}},
      {"negative idle",
       "functions:\n  a: {command: [x], idleTimeoutSeconds: -1}\n",
       {"functions.a.idleTimeoutSeconds"}},
      {"fractional processes", "functions:\n  a: {command: [x], maxProcesses: 1.5}\n", {"functions.a.maxProcesses"}},
      {"typo key",
       "functions:\n  a:\n    command: [x]\n    concurency: 3\n",
       {":4:5:", "functions.a.concurency: unknown key"}},
      {"env not a map", "functions:\n  a: {command: [x], env: [A]}\n", {"functions.a.env: expected a mapping"}},
      {"env nested value",
       "functions:\n  a: {command: [x], env: {A: [1]}}\n",
       {"functions.a.env.A: expected a string"}},
  };
  testing::TempDir dir;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto file = write(dir.path(), c.yaml);
    try {
      load_functions_file(file);
      ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
      std::string msg = e.what();
      EXPECT_EQ(msg.rfind(file.string(), 0), 0u) << msg;  // starts with the file name
      for (const auto& part : c.expected) {
        EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
      }
    }
  }
}

TEST(FunctionsFile, MissingFileIsAClearError) {
  testing::TempDir dir;
  try {
    load_functions_file(dir.path() / "nope.yaml");
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.yaml: cannot read functions file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace switchyard::knative
