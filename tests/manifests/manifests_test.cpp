// The Kubernetes and Knative manifests (manifests/, knative/manifests/) parse,
// every object names its apiVersion, kind and name, kustomizations list files
// that exist, and the Knative Services run function binaries that the build
// makes. (No cluster here: `kubectl kustomize` renders them where kubectl is.)
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>
#include <vector>

namespace {

namespace fs = std::filesystem;

const fs::path kRoot = fs::path(SWITCHYARD_EXAMPLES_DIR).parent_path();

std::vector<fs::path> yaml_files() {
  std::vector<fs::path> out;
  for (const char* dir : {"manifests", "knative/manifests"}) {
    for (const auto& e : fs::recursive_directory_iterator(kRoot / dir)) {
      if (e.is_regular_file() && (e.path().extension() == ".yaml" || e.path().extension() == ".yml")) {
        out.push_back(e.path());
      }
    }
  }
  return out;
}

TEST(Manifests, EveryFileParsesAndEveryObjectIsNamed) {
  auto files = yaml_files();
  ASSERT_GE(files.size(), 10U) << "manifests missing under " << kRoot;
  for (const auto& f : files) {
    std::vector<YAML::Node> docs;
    ASSERT_NO_THROW(docs = YAML::LoadAllFromFile(f.string())) << f;
    ASSERT_FALSE(docs.empty()) << f;
    for (const auto& d : docs) {
      ASSERT_TRUE(d.IsMap()) << f;
      EXPECT_TRUE(d["apiVersion"] && d["apiVersion"].IsScalar()) << f;
      ASSERT_TRUE(d["kind"] && d["kind"].IsScalar()) << f;
      std::string kind = d["kind"].as<std::string>();
      if (kind != "Kustomization" && kind != "Component") {
        EXPECT_TRUE(d["metadata"] && d["metadata"]["name"] && !d["metadata"]["name"].as<std::string>().empty())
            << f << ": a " << kind << " without metadata.name";
      }
    }
  }
}

TEST(Manifests, KustomizationsReferToFilesThatExist) {
  int kustomizations = 0;
  for (const auto& f : yaml_files()) {
    if (f.filename() != "kustomization.yaml") {
      continue;
    }
    ++kustomizations;
    auto k = YAML::LoadFile(f.string());
    for (const char* list : {"resources", "components"}) {
      for (const auto& r : k[list]) {
        fs::path p = f.parent_path() / r.as<std::string>();
        EXPECT_TRUE(fs::exists(p)) << f << " lists " << r.as<std::string>() << ", which does not exist";
      }
    }
    // Every resource file of the folder is listed (an unlisted one would silently not deploy).
    std::set<std::string> listed;
    for (const auto& r : k["resources"]) {
      listed.insert(r.as<std::string>());
    }
    if (k["kind"].as<std::string>() == "Kustomization" && f.parent_path().filename() != "prod" &&
        f.parent_path().filename() != "dev") {
      for (const auto& e : fs::recursive_directory_iterator(f.parent_path())) {
        if (e.is_regular_file() && e.path().extension() == ".yaml" && e.path().filename() != "kustomization.yaml") {
          EXPECT_EQ(listed.count(fs::relative(e.path(), f.parent_path()).string()), 1U)
              << e.path() << " is not in " << f;
        }
      }
    }
  }
  EXPECT_EQ(kustomizations, 5);  // base, overlays/dev, overlays/prod, components/keda-router, knative/manifests
}

TEST(Manifests, TheConfigMapHoldsAValidConfigFile) {
  auto docs = YAML::LoadAllFromFile((kRoot / "manifests/base/configmap.yaml").string());
  ASSERT_EQ(docs.size(), 1U);
  auto config = YAML::Load(docs[0]["data"]["config.yaml"].as<std::string>());
  ASSERT_TRUE(config.IsMap());
  EXPECT_EQ(config["listen"].as<std::string>(), "0.0.0.0:8080");
  EXPECT_EQ(config["redis"].as<std::string>().rfind("redis://", 0), 0U);
  for (const auto& kv : config) {
    EXPECT_TRUE(kv.second.IsScalar()) << kv.first.as<std::string>() << ": settings are scalars";
  }
}

TEST(Manifests, KnativeServicesRunExampleFunctionsWithScaleToZero) {
  int services = 0;
  for (const auto& e : fs::directory_iterator(kRoot / "knative/manifests/functions")) {
    auto svc = YAML::LoadFile(e.path().string());
    ASSERT_EQ(svc["kind"].as<std::string>(), "Service") << e.path();
    ++services;
    auto tmpl = svc["spec"]["template"];
    EXPECT_EQ(tmpl["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"].as<std::string>(), "0");
    EXPECT_GT(tmpl["spec"]["containerConcurrency"].as<int>(), 0);
    std::string name = svc["metadata"]["name"].as<std::string>();
    std::string command = tmpl["spec"]["containers"][0]["command"][0].as<std::string>();
    EXPECT_EQ(command, "/usr/local/lib/switchyard/functions/" + name);  // where the Dockerfile installs them
    EXPECT_TRUE(fs::exists(kRoot / "examples/functions" / (name + ".cpp"))) << name << " is not an example function";
  }
  EXPECT_GE(services, 3);
}

}  // namespace
