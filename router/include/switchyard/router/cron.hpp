#pragma once
/// Cron expressions for schedule triggers (DESIGN.md §3), pure: no clock, no I/O.
///
/// Five fields "minute hour day-of-month month day-of-week" as in Vixie cron:
/// `*`, numbers, ranges `a-b`, lists `a,b`, steps `*/n`, `a-b/n` and `a/n`
/// (= `a-max/n`), month names JAN..DEC and day names SUN..SAT (any case, also
/// inside ranges), Sunday as 0 or 7, and the macros @yearly (@annually),
/// @monthly, @weekly, @daily (@midnight), @hourly. As in Vixie cron, when both
/// day-of-month and day-of-week are restricted (neither field starts with `*`)
/// a day matches when EITHER matches; otherwise both must match.
///
/// Fields are evaluated on the wall clock of the trigger's time zone (timezone.hpp): UTC, a
/// fixed offset, or an IANA zone with daylight saving. As in EventBridge Scheduler, a time the
/// clock skips (spring forward) does not fire that day, and one it repeats (fall back) fires once.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "switchyard/common/result.hpp"
#include "switchyard/router/timezone.hpp"

namespace switchyard::router {

class CronSchedule {
 public:
  /// Parses a 5-field expression or a macro. Error{"InvalidCron", why} when invalid.
  static Result<CronSchedule> parse(std::string_view expr);

  /// The first matching minute strictly after `t` (UTC; fields are evaluated at
  /// `t + utc_offset`), or nullopt when none comes within 10 years (e.g. "0 0 30 2 *").
  std::optional<std::chrono::sys_seconds> next_fire_after(std::chrono::sys_seconds t,
                                                          std::chrono::seconds utc_offset = {}) const;
  /// The last matching minute at or before `t` (its start), or nullopt when none within 10 years.
  std::optional<std::chrono::sys_seconds> last_fire_at_or_before(std::chrono::sys_seconds t,
                                                                 std::chrono::seconds utc_offset = {}) const;
  /// The same on the wall clock of `zone` (which may skip or repeat times).
  std::optional<std::chrono::sys_seconds> next_fire_after(std::chrono::sys_seconds t, const TimeZone& zone) const;
  std::optional<std::chrono::sys_seconds> last_fire_at_or_before(std::chrono::sys_seconds t,
                                                                 const TimeZone& zone) const;
  /// Whether the minute containing local time `local` matches.
  bool matches(std::chrono::sys_seconds local) const;

 private:
  bool day_matches(std::chrono::sys_days day) const;

  uint64_t minutes_ = 0;   // bit m: minute m
  uint32_t hours_ = 0;     // bit h
  uint32_t days_ = 0;      // bit d, 1..31
  uint32_t months_ = 0;    // bit m, 1..12
  uint32_t weekdays_ = 0;  // bit d, 0..6 (Sunday 0; 7 folded into 0)
  bool day_or_ = false;    // both day fields restricted: either matches
};

/// Parses a schedule trigger's "timezone": "UTC", "Etc/UTC", "GMT", "Z" or a fixed
/// offset "+HH:MM" / "-HH:MM" (also "UTC+HH:MM"). Error{"InvalidTimezone", why} otherwise.
Result<std::chrono::seconds> parse_utc_offset(std::string_view tz);

/// "20261122T1509Z": the minute of `t` in ISO 8601 basic format (UTC), safe in execution names.
std::string iso_minute(std::chrono::sys_seconds t);

}  // namespace switchyard::router
