package io.queuepilot.queue.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * Opens database requests the way PostgREST does: verifies the bearer token (signature, an
 * algorithm allow-list, exp, aud), then, in one transaction on a connection logged in as
 * {@code authenticator}, runs {@code SET LOCAL ROLE <role claim>} and
 * {@code set_config('request.jwt.claims', <claims json>, true)} before the request's SQL.
 * A missing token is the anon role, as PostgREST's {@code db-anon-role}.
 */
public final class PostgrestGateway {

  /** PostgREST's allowance for clock skew when checking exp / iat / nbf. */
  static final Duration CLOCK_SKEW = Duration.ofSeconds(30);

  private static final Set<JWSAlgorithm> ALLOWED = Set.of(JWSAlgorithm.HS256, JWSAlgorithm.ES256);
  private static final Pattern ROLE_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  private final DataSource authenticator;
  private final byte[] jwtSecret;
  private final Map<String, ECKey> publicKeys;
  private final String audience;
  private final String anonRole;
  private final Clock clock;

  public PostgrestGateway(DataSource authenticator, String jwtSecret, List<ECKey> publicKeys,
      String audience, String anonRole, Clock clock) {
    this.authenticator = authenticator;
    this.jwtSecret = jwtSecret.getBytes(StandardCharsets.UTF_8);
    this.publicKeys = publicKeys.stream().collect(java.util.stream.Collectors.toMap(ECKey::getKeyID, k -> k));
    this.audience = audience;
    this.anonRole = anonRole;
    this.clock = clock;
  }

  /** A request's SQL, given the connection already switched to the token's role. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  /** The token was refused before any SQL ran (PostgREST answers 401). */
  public static final class RejectedToken extends RuntimeException {
    public RejectedToken(String reason) {
      super(reason);
    }
  }

  /** The verified request identity: database role and the claims JSON exactly as signed. */
  public record Identity(String role, String claimsJson) {}

  /** Verifies {@code bearer} (null = anonymous) and runs {@code work}; commits on success. */
  public <T> T request(String bearer, Work<T> work) throws SQLException {
    return run(verify(bearer), work, true);
  }

  /** As {@link #request} but always rolls back: for probes that must leave no trace. */
  public <T> T probe(String bearer, Work<T> work) throws SQLException {
    return run(verify(bearer), work, false);
  }

  /** PostgREST's token check. */
  public Identity verify(String bearer) {
    if (bearer == null) {
      return new Identity(anonRole, "{\"role\":\"" + anonRole + "\"}");
    }
    JWT jwt;
    try {
      jwt = JWTParser.parse(bearer);
    } catch (ParseException e) {
      throw new RejectedToken("malformed token: " + e.getMessage());
    }
    if (!(jwt instanceof SignedJWT signed)) {
      throw new RejectedToken("unsecured token (alg " + jwt.getHeader().getAlgorithm() + ") is not accepted");
    }
    JWSAlgorithm alg = signed.getHeader().getAlgorithm();
    if (!ALLOWED.contains(alg)) {
      throw new RejectedToken("algorithm " + alg + " is not accepted");
    }
    try {
      if (!signed.verify(verifierFor(signed))) {
        throw new RejectedToken("signature does not verify");
      }
    } catch (JOSEException e) {
      throw new RejectedToken("signature could not be checked: " + e.getMessage());
    }
    JWTClaimsSet claims;
    try {
      claims = signed.getJWTClaimsSet();
    } catch (ParseException e) {
      throw new RejectedToken("claims are not a JSON object");
    }
    Instant now = clock.instant();
    Date exp = claims.getExpirationTime();
    if (exp == null) {
      throw new RejectedToken("token has no exp claim");
    }
    if (!now.isBefore(exp.toInstant().plus(CLOCK_SKEW))) {
      throw new RejectedToken("token expired at " + exp.toInstant());
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && now.plus(CLOCK_SKEW).isBefore(nbf.toInstant())) {
      throw new RejectedToken("token not valid before " + nbf.toInstant());
    }
    List<String> aud = claims.getAudience();
    if (!aud.isEmpty() && !aud.contains(audience)) {
      throw new RejectedToken("audience " + aud + " is not " + audience);
    }
    Object role = claims.getClaim("role");
    String dbRole = role == null ? anonRole : role.toString();
    if (!ROLE_NAME.matcher(dbRole).matches()) {
      throw new RejectedToken("role claim is not a role name");
    }
    return new Identity(dbRole, signed.getPayload().toString());
  }

  private JWSVerifier verifierFor(SignedJWT signed) throws JOSEException {
    if (JWSAlgorithm.HS256.equals(signed.getHeader().getAlgorithm())) {
      return new MACVerifier(jwtSecret);
    }
    String kid = signed.getHeader().getKeyID();
    ECKey key = kid == null ? null : publicKeys.get(kid);
    if (key == null) {
      throw new RejectedToken("no signing key with kid " + kid);
    }
    return new ECDSAVerifier(key);
  }

  private <T> T run(Identity identity, Work<T> work, boolean commit) throws SQLException {
    try (Connection c = authenticator.getConnection()) {
      c.setAutoCommit(false);
      try {
        try (Statement s = c.createStatement()) {
          // The role name was checked against ROLE_NAME; quoting keeps it an identifier.
          s.execute("SET LOCAL ROLE \"" + identity.role() + "\"");
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT set_config('request.jwt.claims', ?, true)")) {
          ps.setString(1, identity.claimsJson());
          ps.execute();
        }
        T result = work.run(c);
        if (commit) {
          c.commit();
        } else {
          c.rollback();
        }
        return result;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    }
  }
}
