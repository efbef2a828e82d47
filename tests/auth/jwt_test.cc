// JwtVerifier against tokens signed here with OpenSSL (fresh RSA-2048 and
// P-256 keys per run): every accepted form, and the forgeries and mistakes
// it must refuse (alg none, algorithm confusion, tampering, expiry, nbf,
// issuer, audience, a missing sub, unknown kids, weak keys).
#include "auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "protocol/json.h"

namespace ddp::auth {
namespace {

constexpr int64_t kNow = 1'800'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

EVP_PKEY* Generate(const char* type, int rsa_bits = 2048) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  EXPECT_EQ(EVP_PKEY_keygen_init(ctx), 1);
  if (std::string_view(type) == "RSA") {
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, rsa_bits), 1);
  } else {
    EXPECT_EQ(EVP_PKEY_CTX_set_group_name(ctx, "prime256v1"), 1);
  }
  EXPECT_EQ(EVP_PKEY_keygen(ctx, &pkey), 1);
  EVP_PKEY_CTX_free(ctx);
  return pkey;
}

std::string PublicPem(EVP_PKEY* pkey) {
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio, pkey), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string BnBytes(EVP_PKEY* pkey, const char* name, size_t pad = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(pkey, name, &bn), 1);
  std::string out(std::max<size_t>(pad, static_cast<size_t>(BN_num_bytes(bn))), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

std::string RsaJwk(EVP_PKEY* pkey, std::string_view kid) {
  return StrCat(R"({"kty":"RSA","kid":")", kid, R"(","use":"sig","alg":"RS256","n":")",
                Base64UrlEncode(BnBytes(pkey, OSSL_PKEY_PARAM_RSA_N)), R"(","e":")",
                Base64UrlEncode(BnBytes(pkey, OSSL_PKEY_PARAM_RSA_E)), R"("})");
}

std::string EcJwk(EVP_PKEY* pkey, std::string_view kid) {
  return StrCat(R"({"kty":"EC","crv":"P-256","kid":")", kid, R"(","x":")",
                Base64UrlEncode(BnBytes(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32)), R"(","y":")",
                Base64UrlEncode(BnBytes(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32)), R"("})");
}

std::string Hs256(std::string_view secret, std::string_view data) {
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

std::string Sign(EVP_PKEY* pkey, std::string_view data, bool ecdsa) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey), 1);
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()),
            1);
  std::string sig(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()),
            1);
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (!ecdsa) return sig;
  // DER -> r || s, as JWS wants it.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(es);
  return raw;
}

// header.payload, unsigned.
std::string Unsigned(std::string_view header, std::string_view payload) {
  return StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload));
}

std::string Claims(std::string_view extra = "") {
  return StrCat(R"({"sub":"u1","iss":"https://idp","aud":"ddpd","exp":)", kNow + 600,
                extra.empty() ? "" : ",", extra, "}");
}

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = Generate("RSA");
    ec_ = Generate("EC");
    other_rsa_ = Generate("RSA");
  }
  static void TearDownTestSuite() {
    EVP_PKEY_free(rsa_);
    EVP_PKEY_free(ec_);
    EVP_PKEY_free(other_rsa_);
  }
  std::unique_ptr<JwtVerifier> Verifier(JwtOptions o) {
    o.issuer = "https://idp";
    o.audience = "ddpd";
    auto v = JwtVerifier::Create(o);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? std::move(*v) : nullptr;
  }
  std::string HsToken(std::string_view claims, std::string_view header = R"({"alg":"HS256","typ":"JWT"})") {
    std::string u = Unsigned(header, claims);
    return StrCat(u, ".", Base64UrlEncode(Hs256(kSecret, u)));
  }
  std::string RsToken(EVP_PKEY* key, std::string_view claims,
                      std::string_view header = R"({"alg":"RS256"})") {
    std::string u = Unsigned(header, claims);
    return StrCat(u, ".", Base64UrlEncode(Sign(key, u, false)));
  }
  std::string EsToken(std::string_view claims, std::string_view header = R"({"alg":"ES256"})") {
    std::string u = Unsigned(header, claims);
    return StrCat(u, ".", Base64UrlEncode(Sign(ec_, u, true)));
  }
  static std::string Why(const absl::StatusOr<Object>& r) {
    return r.ok() ? "accepted" : std::string(r.status().message());
  }

  static EVP_PKEY* rsa_;
  static EVP_PKEY* ec_;
  static EVP_PKEY* other_rsa_;
};
EVP_PKEY* JwtTest::rsa_ = nullptr;
EVP_PKEY* JwtTest::ec_ = nullptr;
EVP_PKEY* JwtTest::other_rsa_ = nullptr;

TEST_F(JwtTest, AcceptsEachAlgorithmWithItsKey) {
  auto hs = Verifier({.hs256_secret = kSecret});
  auto claims = hs->Verify(HsToken(Claims(R"("role":"admin")")), kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->Find("sub")->as_string(), "u1");
  EXPECT_EQ(claims->Find("role")->as_string(), "admin");

  auto pem = Verifier({.public_keys_pem = {PublicPem(rsa_), PublicPem(ec_)}});
  EXPECT_EQ(Why(pem->Verify(RsToken(rsa_, Claims()), kNow)), "accepted");
  EXPECT_EQ(Why(pem->Verify(EsToken(Claims()), kNow)), "accepted");

  auto jwks = Verifier({.jwks_json = StrCat(R"({"keys":[)", RsaJwk(rsa_, "r1"), ",",
                                           RsaJwk(other_rsa_, "r2"), ",", EcJwk(ec_, "e1"), "]}")});
  EXPECT_EQ(Why(jwks->Verify(RsToken(rsa_, Claims(), R"({"alg":"RS256","kid":"r1"})"), kNow)),
            "accepted");
  EXPECT_EQ(Why(jwks->Verify(RsToken(other_rsa_, Claims(), R"({"alg":"RS256","kid":"r2"})"), kNow)),
            "accepted");
  EXPECT_EQ(Why(jwks->Verify(EsToken(Claims(), R"({"alg":"ES256","kid":"e1"})"), kNow)),
            "accepted");
  // The right key under the wrong kid does not verify.
  EXPECT_EQ(Why(jwks->Verify(RsToken(rsa_, Claims(), R"({"alg":"RS256","kid":"r2"})"), kNow)),
            "invalid token: bad signature");
  EXPECT_EQ(Why(jwks->Verify(RsToken(rsa_, Claims(), R"({"alg":"RS256","kid":"zz"})"), kNow)),
            "invalid token: algorithm 'RS256' with kid 'zz' is not accepted");
  // Audience as an array.
  EXPECT_EQ(Why(hs->Verify(HsToken(R"({"sub":"u1","iss":"https://idp","aud":["x","ddpd"]})"), kNow)),
            "accepted");
}

TEST_F(JwtTest, RefusesForgeries) {
  auto hs = Verifier({.hs256_secret = kSecret});
  auto rs = Verifier({.public_keys_pem = {PublicPem(rsa_)}});
  // alg none, with or without a signature part.
  std::string none = Unsigned(R"({"alg":"none"})", Claims());
  EXPECT_EQ(Why(hs->Verify(none + ".", kNow)), "invalid token: algorithm 'none' is not accepted");
  EXPECT_EQ(Why(rs->Verify(none + ".", kNow)), "invalid token: algorithm 'none' is not accepted");
  EXPECT_EQ(Why(rs->Verify(none, kNow)), "invalid token: not three base64url parts");
  // Algorithm confusion: an HS256 token keyed with the RSA public key's PEM.
  std::string confused = Unsigned(R"({"alg":"HS256"})", Claims());
  confused += "." + Base64UrlEncode(Hs256(PublicPem(rsa_), confused));
  EXPECT_EQ(Why(rs->Verify(confused, kNow)), "invalid token: algorithm 'HS256' is not accepted");
  // Another key, another secret, a tampered payload, a cut signature.
  EXPECT_EQ(Why(rs->Verify(RsToken(other_rsa_, Claims()), kNow)), "invalid token: bad signature");
  std::string u = Unsigned(R"({"alg":"HS256"})", Claims());
  EXPECT_EQ(Why(hs->Verify(u + "." + Base64UrlEncode(Hs256(kSecret + "x", u)), kNow)),
            "invalid token: bad signature");
  std::string good = HsToken(Claims());
  std::string tampered = StrCat(good.substr(0, good.find('.')), ".",
                                Base64UrlEncode(Claims(R"("admin":true)")),
                                good.substr(good.rfind('.')));
  EXPECT_EQ(Why(hs->Verify(tampered, kNow)), "invalid token: bad signature");
  EXPECT_EQ(Why(hs->Verify(good.substr(0, good.size() - 4), kNow)), "invalid token: bad signature");
  // Not a token at all.
  EXPECT_EQ(Why(hs->Verify("", kNow)), "invalid token: not three base64url parts");
  EXPECT_EQ(Why(hs->Verify("a.b.c.d", kNow)), "invalid token: not three base64url parts");
  EXPECT_EQ(Why(hs->Verify("a=.b.c", kNow)), "invalid token: not base64url");
  EXPECT_EQ(Why(hs->Verify(StrCat(Base64UrlEncode("[1]"), ".e30.xx"), kNow)),
            "invalid token: the header is not a JSON object");
  EXPECT_EQ(Why(hs->Verify(HsToken(Claims(), R"({"alg":"HS256","crit":["exp"]})"), kNow)),
            "invalid token: critical header extensions are not supported");
}

TEST_F(JwtTest, ChecksTheClaims) {
  auto hs = Verifier({.hs256_secret = kSecret});
  auto at = [&](std::string_view claims, int64_t now = kNow) {
    return Why(hs->Verify(HsToken(claims), now));
  };
  EXPECT_EQ(at(Claims(), kNow + 600 + 31), "invalid token: expired");  // past the leeway
  EXPECT_EQ(at(Claims(), kNow + 600 + 29), "accepted");               // within it
  EXPECT_EQ(at(StrCat(R"({"sub":"u1","iss":"https://idp","aud":"ddpd","nbf":)", kNow + 60, "}")),
            "invalid token: not valid yet (nbf)");
  EXPECT_EQ(at(R"({"sub":"u1","iss":"https://idp","aud":"ddpd","exp":"soon"})"),
            "invalid token: 'exp' is not a number");
  EXPECT_EQ(at(R"({"sub":"u1","iss":"https://evil","aud":"ddpd"})"), "invalid token: wrong issuer");
  EXPECT_EQ(at(R"({"sub":"u1","aud":"ddpd"})"), "invalid token: wrong issuer");
  EXPECT_EQ(at(R"({"sub":"u1","iss":"https://idp","aud":"other"})"), "invalid token: wrong audience");
  EXPECT_EQ(at(R"({"sub":"u1","iss":"https://idp"})"), "invalid token: wrong audience");
  EXPECT_EQ(at(R"({"iss":"https://idp","aud":"ddpd"})"), "invalid token: no 'sub' (the user id)");
  EXPECT_EQ(at(R"({"sub":7,"iss":"https://idp","aud":"ddpd"})"),
            "invalid token: no 'sub' (the user id)");
  EXPECT_EQ(at("[]"), "invalid token: the claims are not a JSON object");
}

TEST_F(JwtTest, RefusesWeakOrBrokenKeys) {
  EXPECT_FALSE(JwtVerifier::Create({}).ok());
  EXPECT_FALSE(JwtVerifier::Create({.hs256_secret = "short"}).ok());
  EVP_PKEY* weak = Generate("RSA", 1024);
  auto v = JwtVerifier::Create({.public_keys_pem = {PublicPem(weak)}});
  EVP_PKEY_free(weak);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "RSA keys must have at least 2048 bits");
  EXPECT_FALSE(JwtVerifier::Create({.public_keys_pem = {"-----BEGIN PUBLIC KEY-----\nxx"}}).ok());
  EXPECT_FALSE(JwtVerifier::Create({.jwks_json = "{"}).ok());
  EXPECT_FALSE(JwtVerifier::Create({.jwks_json = R"({"keys":[{"kty":"oct","k":"AA"}]})"}).ok());
  EXPECT_FALSE(
      JwtVerifier::Create({.jwks_json = R"({"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]})"})
          .ok());
  std::string mislabeled = StrCat(R"({"keys":[)", RsaJwk(rsa_, "k"), "]}");
  mislabeled.replace(mislabeled.find("RS256"), 5, "ES256");
  EXPECT_FALSE(JwtVerifier::Create({.jwks_json = mislabeled}).ok())
      << "a JWK whose alg does not fit its key type";
}

}  // namespace
}  // namespace ddp::auth
