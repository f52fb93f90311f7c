#pragma once
/// The one JSON type of the ASL engine (and of Switchyard).
#include <nlohmann/json.hpp>

namespace switchyard {
using Json = nlohmann::json;
}
