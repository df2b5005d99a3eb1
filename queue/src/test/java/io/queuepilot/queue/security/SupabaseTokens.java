package io.queuepilot.queue.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Issues access tokens the way Supabase Auth does: HS256 with the project's JWT secret (the
 * legacy default) or ES256 with an asymmetric signing key carrying a {@code kid}, and the
 * anon / service_role API keys. Also builds the malformed tokens the rejection tests need.
 */
public final class SupabaseTokens {

  /** Supabase's issuer for a project with reference {@code ref}. */
  static final String PROJECT_REF = "qpilottestproject";

  static final String ISSUER = "https://" + PROJECT_REF + ".supabase.co/auth/v1";

  private final String jwtSecret;
  private final ECKey signingKey;
  private final Clock clock;

  private SupabaseTokens(String jwtSecret, ECKey signingKey, Clock clock) {
    this.jwtSecret = jwtSecret;
    this.signingKey = signingKey;
    this.clock = clock;
  }

  /** A project with a fresh random JWT secret and a fresh P-256 signing key. */
  public static SupabaseTokens newProject(Clock clock) {
    return new SupabaseTokens(randomSecret(), newEcKey("qp-signing-key"), clock);
  }

  static String randomSecret() {
    byte[] bytes = new byte[48];
    new SecureRandom().nextBytes(bytes);
    return Base64.getEncoder().encodeToString(bytes);
  }

  static ECKey newEcKey(String kid) {
    try {
      return new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException("could not generate an EC key", e);
    }
  }

  public String jwtSecret() {
    return jwtSecret;
  }

  /** The public half of the signing key, as published in the project's JWKS. */
  public ECKey publicSigningKey() {
    return signingKey.toPublicJWK();
  }

  /** Claims of a signed-in user's access token, as Supabase Auth writes them. */
  public JWTClaimsSet.Builder userClaims(UUID userId, Duration ttl) {
    Instant now = clock.instant();
    return new JWTClaimsSet.Builder()
        .issuer(ISSUER)
        .subject(userId.toString())
        .audience("authenticated")
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(ttl)))
        .claim("email", userId + "@example.test")
        .claim("phone", "")
        .claim("app_metadata", Map.of("provider", "email", "providers", List.of("email")))
        .claim("user_metadata", Map.of())
        .claim("role", "authenticated")
        .claim("aal", "aal1")
        .claim("amr", List.of(Map.of("method", "password", "timestamp", now.getEpochSecond())))
        .claim("session_id", UUID.randomUUID().toString())
        .claim("is_anonymous", false);
  }

  /** Claims of the anon / service_role API keys (no sub, no aud). */
  public JWTClaimsSet.Builder apiKeyClaims(String role) {
    Instant now = clock.instant();
    return new JWTClaimsSet.Builder()
        .issuer("supabase")
        .claim("ref", PROJECT_REF)
        .claim("role", role)
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(Duration.ofDays(3650))));
  }

  /** A one-hour user access token signed HS256 with the project secret. */
  public String userHs256(UUID userId) {
    return hs256(userClaims(userId, Duration.ofHours(1)).build());
  }

  /** A one-hour user access token signed ES256 with the project's signing key. */
  public String userEs256(UUID userId) {
    return es256(userClaims(userId, Duration.ofHours(1)).build());
  }

  public String anonKey() {
    return hs256(apiKeyClaims("anon").build());
  }

  public String serviceRoleKey() {
    return hs256(apiKeyClaims("service_role").build());
  }

  public String hs256(JWTClaimsSet claims) {
    return hs256(claims, jwtSecret);
  }

  /** Signs HS256 with an arbitrary secret (a wrong one, for the rejection tests). */
  public static String hs256(JWTClaimsSet claims, String secret) {
    return sign(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(), claims,
        macSigner(secret));
  }

  public String es256(JWTClaimsSet claims) {
    return es256(claims, signingKey);
  }

  /** Signs ES256 with an arbitrary key (one the project does not know, for rejection tests). */
  public static String es256(JWTClaimsSet claims, ECKey key) {
    try {
      return sign(new JWSHeader.Builder(JWSAlgorithm.ES256).type(JOSEObjectType.JWT).keyID(key.getKeyID()).build(),
          claims, new ECDSASigner(key));
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** An unsecured token: header {@code {"alg":"none"}} and an empty signature. */
  public static String unsecured(JWTClaimsSet claims) {
    return new PlainJWT(claims).serialize();
  }

  private static JWSSigner macSigner(String secret) {
    try {
      return new MACSigner(secret.getBytes(StandardCharsets.UTF_8));
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String sign(JWSHeader header, JWTClaimsSet claims, JWSSigner signer) {
    SignedJWT jwt = new SignedJWT(header, claims);
    try {
      jwt.sign(signer);
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
    return jwt.serialize();
  }
}
