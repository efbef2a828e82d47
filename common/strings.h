// String helpers that bridge std::string_view and Debian's Abseil.
//
// Debian 12 builds Abseil with ABSL_OPTION_USE_STD_STRING_VIEW=0, so
// absl::string_view is its own class: absl::StrCat and absl::Status do not
// accept a std::string_view. ddpd uses std::string_view everywhere; these
// wrappers convert at the edge.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ddp {
namespace strings_internal {
template <typename T>
const T& Adapt(const T& v) {
  return v;
}
inline absl::string_view Adapt(std::string_view v) { return absl::string_view(v.data(), v.size()); }
}  // namespace strings_internal

inline absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// absl::StrCat / absl::StrAppend that also take std::string_view.
template <typename... Args>
std::string StrCat(const Args&... args) {
  return absl::StrCat(strings_internal::Adapt(args)...);
}
template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  absl::StrAppend(out, strings_internal::Adapt(args)...);
}

// Status constructors whose message is built like StrCat.
template <typename... Args>
absl::Status InvalidArgument(const Args&... args) {
  return absl::InvalidArgumentError(StrCat(args...));
}
template <typename... Args>
absl::Status NotFound(const Args&... args) {
  return absl::NotFoundError(StrCat(args...));
}
template <typename... Args>
absl::Status Internal(const Args&... args) {
  return absl::InternalError(StrCat(args...));
}

}  // namespace ddp
