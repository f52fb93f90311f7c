#pragma once
/// How history events are stored in Redis: their JSON text with the words of
/// the event vocabulary ("TaskStateEntered", `","timestamp":"`, the details key,
/// `"inputDetails":{"truncated":false}`, escaped quotes, ...) replaced by one
/// control byte each. Lossless, and about 45% of the bytes for a Task step's
/// five events: the histories are most of an execution's Redis memory and AOF.
///
/// JSON text never holds a raw control byte other than whitespace (strings
/// escape them), so a marker is unambiguous; a text that does not start with
/// `{"type":"` or holds a control byte is stored as it is. Readers accept both
/// forms, so histories written before this encoding read back unchanged.
#include <string>
#include <string_view>

namespace switchyard::store {

/// Writes the stored form of the event JSON text `json` into `out` (replacing its content).
/// Throws std::invalid_argument for a text that starts with a control byte (not JSON).
void encode_event(std::string_view json, std::string& out);

/// The stored form of the event JSON text `json`.
std::string encode_event(std::string_view json);

/// True when `stored` is in the compact form (else it is plain JSON text).
bool is_encoded_event(std::string_view stored);

/// The JSON text of a stored event, in either form.
std::string decode_event(std::string_view stored);

}  // namespace switchyard::store
