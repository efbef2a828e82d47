#include "auth/jwt.h"

#include <optional>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "protocol/json.h"

namespace ddp::auth {

enum class Alg { kHS256, kRS256, kES256 };

struct JwtVerifier::Key {
  Alg alg;
  std::string kid;     // empty: matches tokens without kid (and any kid for PEM keys)
  std::string secret;  // HS256
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

std::string_view AlgName(Alg a) {
  switch (a) {
    case Alg::kHS256:
      return "HS256";
    case Alg::kRS256:
      return "RS256";
    case Alg::kES256:
      return "ES256";
  }
  return "";
}

absl::Status Bad(std::string_view why) {
  return absl::UnauthenticatedError(StrCat("invalid token: ", why));
}

// base64url without padding, strictly (no '=', no other characters).
bool Base64UrlDecode(std::string_view in, std::string* out) {
  for (char c : in) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  }
  return absl::WebSafeBase64Unescape(absl::string_view(in.data(), in.size()), out);
}

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

// A public key from OSSL_PARAMs (JWKS members).
absl::StatusOr<EVP_PKEY*> FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  bool ok = params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  if (!ok) return absl::InvalidArgumentError(StrCat("JWKS: not a valid ", type, " public key"));
  return pkey;
}

std::string Member(const Value& o, std::string_view key) {
  const Value* v = o.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

// The algorithm a public key is used with; checks that it is strong enough.
absl::StatusOr<Alg> AlgOf(EVP_PKEY* pkey) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(pkey) < 2048) {
        return absl::InvalidArgumentError("RSA keys must have at least 2048 bits");
      }
      return Alg::kRS256;
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &len) != 1 ||
          (std::string_view(group) != "prime256v1" && std::string_view(group) != "P-256")) {
        return absl::InvalidArgumentError("EC keys must be on P-256 (ES256)");
      }
      return Alg::kES256;
    }
    default:
      return absl::InvalidArgumentError("public keys must be RSA or EC P-256");
  }
}

absl::StatusOr<EVP_PKEY*> JwkToKey(const Value& jwk) {
  const std::string kty = Member(jwk, "kty");
  if (kty == "RSA") {
    std::string n, e;
    if (!Base64UrlDecode(Member(jwk, "n"), &n) || !Base64UrlDecode(Member(jwk, "e"), &e) ||
        n.empty() || e.empty()) {
      return absl::InvalidArgumentError("JWKS: an RSA key needs base64url n and e");
    }
    Bn bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                      static_cast<int>(n.size()), nullptr));
    Bn bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                      static_cast<int>(e.size()), nullptr));
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    if (bld == nullptr || !bn_n || !bn_e ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
      OSSL_PARAM_BLD_free(bld);
      return absl::InvalidArgumentError("JWKS: cannot build an RSA key");
    }
    absl::StatusOr<EVP_PKEY*> key = FromParams("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    return key;
  }
  if (kty == "EC") {
    if (Member(jwk, "crv") != "P-256") {
      return absl::InvalidArgumentError("JWKS: EC keys must be on P-256");
    }
    std::string x, y;
    if (!Base64UrlDecode(Member(jwk, "x"), &x) || !Base64UrlDecode(Member(jwk, "y"), &y) ||
        x.size() != 32 || y.size() != 32) {
      return absl::InvalidArgumentError("JWKS: a P-256 key needs 32-byte x and y");
    }
    std::string point = "\x04" + x + y;  // uncompressed
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    if (bld == nullptr ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1) {
      OSSL_PARAM_BLD_free(bld);
      return absl::InvalidArgumentError("JWKS: cannot build an EC key");
    }
    absl::StatusOr<EVP_PKEY*> key = FromParams("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    return key;
  }
  return absl::InvalidArgumentError(StrCat("JWKS: key type '", kty, "' is not RSA or EC"));
}

bool VerifyWithKey(const JwtVerifier::Key& key, std::string_view signed_part,
                   const std::string& signature) {
  const auto* data = reinterpret_cast<const unsigned char*>(signed_part.data());
  if (key.alg == Alg::kHS256) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), key.secret.data(), static_cast<int>(key.secret.size()), data,
             signed_part.size(), mac, &mac_len) == nullptr) {
      return false;
    }
    return signature.size() == mac_len && CRYPTO_memcmp(mac, signature.data(), mac_len) == 0;
  }
  std::string der;
  const std::string* sig = &signature;
  if (key.alg == Alg::kES256) {
    // JWS carries r || s (32 bytes each); OpenSSL verifies DER.
    if (signature.size() != 64) return false;
    ECDSA_SIG* es = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr);
    BIGNUM* s =
        BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr);
    if (es == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(es, r, s) != 1) {
      BN_free(r);
      BN_free(s);
      ECDSA_SIG_free(es);
      return false;
    }
    unsigned char* out = nullptr;
    int len = i2d_ECDSA_SIG(es, &out);
    ECDSA_SIG_free(es);
    if (len <= 0) return false;
    der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(len));
    OPENSSL_free(out);
    sig = &der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr &&
            EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.pkey) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                             data, signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// A NumericDate claim: absent (nullopt), a number, or an error.
absl::StatusOr<std::optional<double>> NumericDate(const Object& claims, std::string_view name) {
  const Value* v = claims.Find(name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) return Bad(StrCat("'", name, "' is not a number"));
  return v->ToDouble();
}

}  // namespace

JwtVerifier::~JwtVerifier() = default;

absl::StatusOr<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(const JwtOptions& options) {
  auto v = std::unique_ptr<JwtVerifier>(new JwtVerifier());
  v->options_ = options;
  if (!options.hs256_secret.empty()) {
    if (options.hs256_secret.size() < 32) {
      return absl::InvalidArgumentError("the HS256 secret must have at least 32 bytes");
    }
    auto k = std::make_unique<Key>();
    k->alg = Alg::kHS256;
    k->secret = options.hs256_secret;
    v->keys_.push_back(std::move(k));
  }
  for (const std::string& pem : options.public_keys_pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* pkey = bio != nullptr ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    if (pkey == nullptr) return absl::InvalidArgumentError("not a PEM public key");
    auto k = std::make_unique<Key>();
    k->pkey = pkey;
    ASSIGN_OR_RETURN(k->alg, AlgOf(pkey));
    v->keys_.push_back(std::move(k));
  }
  if (!options.jwks_json.empty()) {
    absl::StatusOr<Value> jwks = ParseJson(options.jwks_json);
    if (!jwks.ok() || !jwks->is_object() || jwks->Find("keys") == nullptr ||
        !jwks->Find("keys")->is_array()) {
      return absl::InvalidArgumentError("JWKS: expected {\"keys\": [...]}");
    }
    for (const Value& jwk : jwks->Find("keys")->as_array()) {
      if (!jwk.is_object()) return absl::InvalidArgumentError("JWKS: a key is not an object");
      const std::string use = Member(jwk, "use");
      if (!use.empty() && use != "sig") continue;  // encryption keys are not ours
      ASSIGN_OR_RETURN(EVP_PKEY * pkey, JwkToKey(jwk));
      auto k = std::make_unique<Key>();
      k->pkey = pkey;
      k->kid = Member(jwk, "kid");
      ASSIGN_OR_RETURN(k->alg, AlgOf(pkey));
      const std::string alg = Member(jwk, "alg");
      if (!alg.empty() && alg != AlgName(k->alg)) {
        return absl::InvalidArgumentError(
            StrCat("JWKS: key '", k->kid, "' says alg ", alg, ", its key type is for ",
                   AlgName(k->alg)));
      }
      v->keys_.push_back(std::move(k));
    }
  }
  if (v->keys_.empty()) return absl::InvalidArgumentError("no JWT key configured");
  return v;
}

absl::StatusOr<Object> JwtVerifier::Verify(std::string_view token, int64_t now) const {
  if (token.size() > 16 * 1024) return Bad("longer than 16 KiB");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Bad("not three base64url parts");
  }
  std::string header_json, payload_json, signature;
  if (!Base64UrlDecode(token.substr(0, dot1), &header_json) ||
      !Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1), &payload_json) ||
      !Base64UrlDecode(token.substr(dot2 + 1), &signature)) {
    return Bad("not base64url");
  }
  absl::StatusOr<Value> header = ParseJson(header_json);
  if (!header.ok() || !header->is_object()) return Bad("the header is not a JSON object");
  const std::string alg = Member(*header, "alg");
  if (header->Find("crit") != nullptr) return Bad("critical header extensions are not supported");
  const Value* kid_value = header->Find("kid");
  if (kid_value != nullptr && !kid_value->is_string()) return Bad("'kid' is not a string");
  const std::string kid = kid_value != nullptr ? kid_value->as_string() : "";

  bool alg_known = false, verified = false;
  for (const auto& key : keys_) {
    if (AlgName(key->alg) != alg) continue;
    if (!key->kid.empty() && key->kid != kid) continue;
    alg_known = true;
    if (VerifyWithKey(*key, token.substr(0, dot2), signature)) {
      verified = true;
      break;
    }
  }
  if (!alg_known) {
    return Bad(StrCat("algorithm '", alg, "'", kid.empty() ? "" : StrCat(" with kid '", kid, "'"),
                      " is not accepted"));
  }
  if (!verified) return Bad("bad signature");

  absl::StatusOr<Value> payload = ParseJson(payload_json);
  if (!payload.ok() || !payload->is_object()) return Bad("the claims are not a JSON object");
  Object claims = std::move(payload->as_object());
  const double leeway = static_cast<double>(options_.leeway.count());
  ASSIGN_OR_RETURN(std::optional<double> exp, NumericDate(claims, "exp"));
  if (exp && *exp + leeway <= static_cast<double>(now)) return Bad("expired");
  ASSIGN_OR_RETURN(std::optional<double> nbf, NumericDate(claims, "nbf"));
  if (nbf && *nbf - leeway > static_cast<double>(now)) return Bad("not valid yet (nbf)");
  if (!options_.issuer.empty()) {
    const Value* iss = claims.Find("iss");
    if (iss == nullptr || !iss->is_string() || iss->as_string() != options_.issuer) {
      return Bad("wrong issuer");
    }
  }
  if (!options_.audience.empty()) {
    const Value* aud = claims.Find("aud");
    bool ok = false;
    if (aud != nullptr && aud->is_string()) ok = aud->as_string() == options_.audience;
    if (aud != nullptr && aud->is_array()) {
      for (const Value& a : aud->as_array()) ok |= a.is_string() && a.as_string() == options_.audience;
    }
    if (!ok) return Bad("wrong audience");
  }
  const Value* sub = claims.Find("sub");
  if (sub == nullptr || !sub->is_string() || sub->as_string().empty()) {
    return Bad("no 'sub' (the user id)");
  }
  return claims;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  absl::WebSafeBase64Escape(absl::string_view(bytes.data(), bytes.size()), &out);
  return out;
}

}  // namespace ddp::auth
