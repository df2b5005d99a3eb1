package io.queuepilot.queue.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The PostgREST-like gateway accepts exactly the tokens Supabase would: HS256 with the project
 * secret or ES256 with a published key, unexpired, audience {@code authenticated} — and what it
 * accepts reaches the database as the right role and auth.uid(). Everything else is refused
 * before any SQL runs.
 */
class TokenVerificationTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static SecurityWorld world;

  @BeforeAll
  static void seed() throws SQLException {
    world = SecurityWorld.create(pg);
  }

  @AfterAll
  static void close() {
    world.close();
  }

  /** What the database sees for a request: current_user, auth.uid(), auth.role(). */
  record Seen(String role, UUID uid, String claimRole) {}

  private Seen whoAmI(String token) throws SQLException {
    return world.api.request(token, c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT current_user, auth.uid(), auth.role()");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new Seen(rs.getString(1), rs.getObject(2, UUID.class), rs.getString(3));
      }
    });
  }

  @Test
  void hs256UserTokenBecomesTheAuthenticatedRoleWithItsSubject() throws SQLException {
    assertThat(whoAmI(world.tokens.userHs256(world.owner)))
        .isEqualTo(new Seen("authenticated", world.owner, "authenticated"));
  }

  @Test
  void es256UserTokenSignedWithThePublishedKeyIsAccepted() throws SQLException {
    assertThat(whoAmI(world.tokens.userEs256(world.readOnly)))
        .isEqualTo(new Seen("authenticated", world.readOnly, "authenticated"));
  }

  @Test
  void apiKeysAndNoTokenMapToAnonAndServiceRole() throws SQLException {
    assertThat(whoAmI(null)).isEqualTo(new Seen("anon", null, "anon"));
    assertThat(whoAmI(world.tokens.anonKey())).isEqualTo(new Seen("anon", null, "anon"));
    assertThat(whoAmI(world.tokens.serviceRoleKey())).isEqualTo(new Seen("service_role", null, "service_role"));
  }

  @Test
  void claimsAreVisibleOnlyInsideTheirRequest() throws SQLException {
    whoAmI(world.tokens.userHs256(world.owner));
    // set_config(..., true) and SET LOCAL end with the transaction: the next request on the
    // same pooled connection starts clean.
    String leftover = world.api.request(null, c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT auth.jwt() ->> 'sub'");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    });
    assertThat(leftover).isNull();
  }

  @Test
  void wrongSignatureIsRejected() {
    String forged = SupabaseTokens.hs256(world.tokens.userClaims(world.owner, Duration.ofHours(1)).build(),
        SupabaseTokens.randomSecret());
    assertRejected(forged, "signature does not verify");
  }

  @Test
  void tamperedPayloadIsRejected() {
    String token = world.tokens.userHs256(world.stranger);
    String[] parts = token.split("\\.");
    String otherPayload = world.tokens.userHs256(world.owner).split("\\.")[1];
    assertRejected(parts[0] + "." + otherPayload + "." + parts[2], "signature does not verify");
  }

  @Test
  void algNoneIsRejected() {
    String unsecured = SupabaseTokens.unsecured(world.tokens.userClaims(world.owner, Duration.ofHours(1)).build());
    assertThat(unsecured).endsWith(".");
    assertRejected(unsecured, "unsecured token");
  }

  @Test
  void algorithmsOutsideTheAllowListAreRejected() throws Exception {
    JWTClaimsSet claims = world.tokens.userClaims(world.owner, Duration.ofHours(1)).build();
    SignedJWT hs512 = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS512).type(JOSEObjectType.JWT).build(), claims);
    hs512.sign(new MACSigner((world.tokens.jwtSecret() + world.tokens.jwtSecret()).getBytes()));
    assertRejected(hs512.serialize(), "algorithm HS512 is not accepted");
  }

  @Test
  void expiredTokenIsRejected() {
    String expired = world.tokens.hs256(world.tokens.userClaims(world.owner, Duration.ofHours(1))
        .expirationTime(java.util.Date.from(Instant.now().minus(Duration.ofMinutes(5))))
        .build());
    assertRejected(expired, "token expired");
  }

  @Test
  void tokenExpiresWhenTheGatewayClockPassesExp() throws SQLException {
    Instant issued = Instant.parse("2026-03-01T10:00:00Z");
    SupabaseTokens tokens = SupabaseTokens.newProject(Clock.fixed(issued, ZoneOffset.UTC));
    String token = tokens.userHs256(world.owner);
    PostgrestGateway justBefore = gatewayAt(tokens, issued.plus(Duration.ofHours(1)).plus(PostgrestGateway.CLOCK_SKEW).minusSeconds(1));
    PostgrestGateway justAfter = gatewayAt(tokens, issued.plus(Duration.ofHours(1)).plus(PostgrestGateway.CLOCK_SKEW));
    assertThat(justBefore.verify(token).role()).isEqualTo("authenticated");
    assertThatThrownBy(() -> justAfter.verify(token))
        .isInstanceOf(PostgrestGateway.RejectedToken.class).hasMessageContaining("token expired");
  }

  private PostgrestGateway gatewayAt(SupabaseTokens tokens, Instant now) {
    return new PostgrestGateway(world.authenticatorPool, tokens.jwtSecret(), List.of(tokens.publicSigningKey()),
        "authenticated", "anon", Clock.fixed(now, ZoneOffset.UTC));
  }

  @Test
  void wrongAudienceIsRejected() {
    String token = world.tokens.hs256(world.tokens.userClaims(world.owner, Duration.ofHours(1))
        .audience("some-other-api").build());
    assertRejected(token, "audience");
  }

  @Test
  void serviceRoleClaimSignedWithAWrongKeyIsRejected() {
    JWTClaimsSet serviceClaims = world.tokens.apiKeyClaims("service_role").build();
    assertRejected(SupabaseTokens.hs256(serviceClaims, SupabaseTokens.randomSecret()), "signature does not verify");
    // An ES256 key the project never published, even when it reuses the published key id.
    ECKey impostor = SupabaseTokens.newEcKey(world.tokens.publicSigningKey().getKeyID());
    assertRejected(SupabaseTokens.es256(serviceClaims, impostor), "signature does not verify");
    ECKey unknownKid = SupabaseTokens.newEcKey("unknown-kid");
    assertRejected(SupabaseTokens.es256(serviceClaims, unknownKid), "no signing key with kid unknown-kid");
  }

  @Test
  void hs256SignedWithThePublicKeyIsRejected() throws Exception {
    // Algorithm confusion: an attacker signs HS256 using the (public) EC key as the MAC secret.
    JWTClaimsSet serviceClaims = world.tokens.apiKeyClaims("service_role").build();
    byte[] publicKeyBytes = world.tokens.publicSigningKey().toJSONString().getBytes();
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256)
        .keyID(world.tokens.publicSigningKey().getKeyID()).build(), serviceClaims);
    jwt.sign(new MACSigner(publicKeyBytes));
    assertRejected(jwt.serialize(), "signature does not verify");
  }

  @Test
  void roleTheAuthenticatorCannotBecomeIsRefusedByTheDatabase() {
    String superuserClaim = world.tokens.hs256(world.tokens.apiKeyClaims("postgres").build());
    assertThatThrownBy(() -> whoAmI(superuserClaim))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("permission denied to set role");
  }

  private void assertRejected(String token, String reason) {
    AtomicBoolean sqlRan = new AtomicBoolean();
    assertThatThrownBy(() -> world.api.request(token, c -> {
          sqlRan.set(true);
          return null;
        }))
        .isInstanceOf(PostgrestGateway.RejectedToken.class)
        .hasMessageContaining(reason);
    assertThat(sqlRan).as("no SQL runs for a rejected token").isFalse();
  }
}
