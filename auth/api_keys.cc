#include "auth/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace ddp::auth {

std::string Sha256(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), len);
}

absl::StatusOr<ApiKeys> ApiKeys::Parse(std::string_view text) {
  ApiKeys out;
  int line_no = 0;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_no;
    std::string_view line(raw.data(), raw.size());
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF files
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::vector<absl::string_view> parts =
        absl::StrSplit(absl::string_view(line.data(), line.size()), ' ', absl::SkipWhitespace());
    if (parts.empty()) continue;
    auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(StrCat("API keys, line ", line_no, ": ", why));
    };
    if (parts.size() != 3) return bad("expected <name> <scopes> <key>");
    ApiKey key;
    key.name = std::string(parts[0]);
    for (absl::string_view scope : absl::StrSplit(parts[1], ',')) {
      if (scope == "read") {
        key.read = true;
      } else if (scope == "write") {
        key.write = true;
      } else {
        return bad(StrCat("unknown scope '", std::string_view(scope.data(), scope.size()),
                          "' (read, write)"));
      }
    }
    if (parts[2].size() < 24) return bad("keys must have at least 24 characters");
    for (const auto& [hash, other] : out.keys_) {
      if (other.name == key.name) return bad(StrCat("a second key named '", key.name, "'"));
    }
    out.keys_.emplace_back(Sha256(std::string_view(parts[2].data(), parts[2].size())),
                           std::move(key));
  }
  return out;
}

const ApiKey* ApiKeys::Find(std::string_view bearer) const {
  const std::string hash = Sha256(bearer);
  const ApiKey* found = nullptr;
  // Every key is compared, found or not: the time says nothing.
  for (const auto& [h, key] : keys_) {
    if (CRYPTO_memcmp(h.data(), hash.data(), hash.size()) == 0) found = &key;
  }
  return found;
}

}  // namespace ddp::auth
