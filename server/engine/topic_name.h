// Topic names and patterns (API.md §4, §6).
//
// A name is segments of [A-Za-z0-9_-] joined by '.', at most 255 bytes
// ("chat.room42"). A pattern may end a segment list with '*' (exactly one
// segment) anywhere, or '>' (one or more segments) as the last segment,
// like NATS subjects ("sensors.*.temp", "sensors.>").
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace ddp::engine {

inline constexpr size_t kMaxTopicBytes = 255;

// InvalidArgument naming the problem.
absl::Status ValidateTopicName(std::string_view name);
absl::Status ValidateTopicPattern(std::string_view pattern);
bool IsPattern(std::string_view s);
bool TopicMatches(std::string_view pattern, std::string_view topic);
// Between patterns (a topic name is a pattern that matches itself):
// every topic `inner` matches, `outer` matches too.
bool PatternCovers(std::string_view outer, std::string_view inner);
// Some topic matches both.
bool PatternsOverlap(std::string_view a, std::string_view b);

}  // namespace ddp::engine
