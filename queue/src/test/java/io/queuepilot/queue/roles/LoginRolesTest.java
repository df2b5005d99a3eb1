package io.queuepilot.queue.roles;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.sql.Jdbc;
import io.queuepilot.queue.testing.PostgresExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link LoginRoles}: logins that work, a changed password that takes effect, and no SQL through a name. */
class LoginRolesTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  private static String whoAmI(String login, String password) {
    return new Jdbc(pg.dataSource(login, password)).queryOne("logging in", "SELECT current_user || ' '"
        + " || pg_has_role(current_user, 'queue_worker', 'MEMBER')", rs -> rs.getString(1));
  }

  private static String passwordHash(String login) {
    return new Jdbc(pg.superuser()).queryOne("reading pg_authid", "SELECT rolpassword FROM pg_catalog.pg_authid "
        + "WHERE rolname = ?", rs -> rs.getString(1), login);
  }

  @Test
  void createsALoginInTheGroupAndUpdatesItsPassword() {
    LoginRoles roles = new LoginRoles(pg.superuser());
    roles.ensure("lr_worker", "first1", "queue_worker");
    assertThat(whoAmI("lr_worker", "first1")).isEqualTo("lr_worker true");
    String firstHash = passwordHash("lr_worker");
    roles.ensure("lr_worker", "second2", "queue_worker");
    assertThat(whoAmI("lr_worker", "second2")).isEqualTo("lr_worker true");
    // the test server trusts loopback logins, so the stored hash shows the new password took
    assertThat(passwordHash("lr_worker")).isNotNull().isNotEqualTo(firstHash);
    roles.drop("lr_worker");
    assertThat(new Jdbc(pg.superuser()).<Boolean>queryOne("checking", "SELECT to_regrole('lr_worker') IS NULL",
        rs -> rs.getBoolean(1))).isTrue();
  }

  @Test
  void namesAndPasswordsThatCouldCarrySqlAreRefusedBeforeAnythingRuns() {
    LoginRoles roles = new LoginRoles(pg.superuser());
    assertThatThrownBy(() -> roles.ensure("x; DROP TABLE public.job_queue; --", "pw", "queue_worker"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not a valid login name");
    assertThatThrownBy(() -> roles.ensure("lr_a", "pw'; ALTER ROLE postgres SUPERUSER; --", "queue_worker"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the password of login role lr_a");
    assertThatThrownBy(() -> roles.ensure("lr_a", "pw", "queue_worker TO postgres; --"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not a valid group role name");
    assertThat(new Jdbc(pg.superuser()).<Boolean>queryOne("checking", "SELECT to_regrole('lr_a') IS NULL",
        rs -> rs.getBoolean(1))).isTrue();
  }
}
