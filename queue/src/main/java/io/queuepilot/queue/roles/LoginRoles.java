package io.queuepilot.queue.roles;

import io.queuepilot.queue.sql.Jdbc;
import javax.sql.DataSource;

/**
 * Login roles for the queue's group roles ({@code queue_worker}, {@code queue_controller},
 * {@code authenticated}, …), created by whoever may (the owner, a superuser in tests and
 * benchmarks). Role DDL takes no bound parameters, so names and passwords are checked against a
 * strict pattern before they are written into the statement.
 */
public final class LoginRoles {

  private static final String NAME = "[a-z_][a-z0-9_]{0,62}";
  private static final String PASSWORD = "[A-Za-z0-9_]{1,200}";

  // Grants the group only when missing: on Supabase the migrating postgres holds some roles
  // (service_role) without the ADMIN option, and a login prepared by someone who may stays usable.
  // Likewise an existing login is altered only by a role holding ADMIN on it (its creator since
  // PostgreSQL 16, or a superuser); one a project admin prepared is left as the admin made it.
  private static final String ENSURE =
      """
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '%1$s') THEN
          CREATE ROLE %1$s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS %4$s PASSWORD '%2$s';
        ELSIF pg_catalog.pg_has_role('%1$s', 'USAGE WITH ADMIN OPTION') THEN
          ALTER ROLE %1$s LOGIN %4$s PASSWORD '%2$s';
        END IF;
        IF NOT pg_catalog.pg_has_role('%1$s', '%3$s', 'MEMBER') THEN
          GRANT %3$s TO %1$s;
        END IF;
      END $$
      """;

  private static final String DROP = "DROP ROLE IF EXISTS %s";

  private final Jdbc jdbc;

  public LoginRoles(DataSource admin) {
    this.jdbc = new Jdbc(admin);
  }

  /** Creates {@code login} (or sets its password) as an inheriting member of {@code groupRole}. */
  public void ensure(String login, String password, String groupRole) {
    ensure(login, password, groupRole, true);
  }

  /**
   * Creates {@code login} (or sets its password) as a member of {@code groupRole}; with
   * {@code inherit=false} it holds the group's privileges only after {@code SET ROLE}, as
   * PostgREST's authenticator does.
   */
  public void ensure(String login, String password, String groupRole, boolean inherit) {
    check("login", login, NAME);
    check("group role", groupRole, NAME);
    if (password == null || !password.matches(PASSWORD)) {
      throw new IllegalArgumentException("the password of login role " + login + " must match " + PASSWORD);
    }
    jdbc.execute("creating login role " + login + " in " + groupRole,
        ENSURE.formatted(login, password, groupRole, inherit ? "INHERIT" : "NOINHERIT"));
  }

  /** Drops {@code login} if it exists (its sessions must be closed first). */
  public void drop(String login) {
    check("login", login, NAME);
    jdbc.execute("dropping login role " + login, DROP.formatted(login));
  }

  private static void check(String what, String name, String pattern) {
    if (name == null || !name.matches(pattern)) {
      throw new IllegalArgumentException("'" + name + "' is not a valid " + what + " name (" + pattern + ")");
    }
  }
}
