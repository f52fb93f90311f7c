#pragma once
/// The client verbs: validate (local), apply, start, describe, history, stop.
#include "config.hpp"

namespace switchyard::app {

/// Runs a client verb; returns the process exit code.
int run_client_verb(const Args& args, const Settings& settings);

}  // namespace switchyard::app
