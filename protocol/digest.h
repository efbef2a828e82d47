// A digest of a document's fields as a DDP client holds them, so that a
// reconnecting client can tell the server what it has in 8 bytes a
// document (ddpd's resume, server/ddp/resume.h). Server and client compute
// it the same way: per top-level field, FNV-1a over the key and the
// field's JSON, summed (a client's cache need not keep the server's field
// order), then mixed. Not a cryptographic hash: a client that forges one
// only fools itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/value.h"

namespace ddp {

uint64_t FieldsDigest(const Object& fields);
// 16 lowercase hex digits (JSON numbers cannot hold 64 bits exactly).
std::string DigestText(uint64_t digest);
std::optional<uint64_t> ParseDigestText(std::string_view text);

}  // namespace ddp
