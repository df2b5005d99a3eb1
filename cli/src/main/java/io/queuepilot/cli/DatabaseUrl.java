package io.queuepilot.cli;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What a user may pass as the database: a JDBC URL ({@code jdbc:postgresql://host:port/db}) or a
 * libpq connection URI ({@code postgresql://user:password@host:port/db?sslmode=require}, also
 * {@code postgres://}, as Supabase and psql print them), turned into a JDBC URL plus the
 * credentials the URI carried. Nothing here ever puts a password into a message.
 */
public record DatabaseUrl(String jdbcUrl, String user, String password) {

  /** libpq URI parameters and their pgjdbc names; any other parameter is refused by name. */
  private static final Map<String, String> LIBPQ_PARAMETERS = Map.of(
      "sslmode", "sslmode",
      "sslrootcert", "sslrootcert",
      "sslcert", "sslcert",
      "sslkey", "sslkey",
      "connect_timeout", "connectTimeout",
      "application_name", "ApplicationName",
      "options", "options",
      "target_session_attrs", "targetServerType");

  private static final Map<String, String> TARGET_SESSION_ATTRS = Map.of(
      "any", "any", "read-write", "primary", "primary", "primary", "read-only", "secondary",
      "standby", "secondary", "prefer-standby", "preferSecondary");

  private static final Pattern USERINFO = Pattern.compile("(//[^/@:?]*):[^/@?]*@");
  private static final Pattern PASSWORD_PARAMETER = Pattern.compile("(?i)(password=)[^&]*");

  /** Parses {@code text}; {@code what} names the setting in errors (e.g. "--db-url / QUEUEPILOT_DB_URL"). */
  public static DatabaseUrl parse(String text, String what) {
    String t = text.trim();
    if (t.startsWith("jdbc:postgresql:")) {
      return new DatabaseUrl(t, null, null);
    }
    String rest;
    if (t.startsWith("postgresql://")) {
      rest = t.substring("postgresql://".length());
    } else if (t.startsWith("postgres://")) {
      rest = t.substring("postgres://".length());
    } else {
      throw CliException.usage(what + " must be a JDBC URL (jdbc:postgresql://host:port/db) or a libpq URI "
          + "(postgresql://user:password@host:port/db), was '" + redact(t) + "'");
    }
    String query = "";
    int q = rest.indexOf('?');
    if (q >= 0) {
      query = rest.substring(q + 1);
      rest = rest.substring(0, q);
    }
    int slash = rest.indexOf('/');
    String authority = slash < 0 ? rest : rest.substring(0, slash);
    String database = slash < 0 ? "" : decode(rest.substring(slash + 1), what);
    String user = null;
    String password = null;
    int at = authority.lastIndexOf('@');
    if (at >= 0) {
      String userInfo = authority.substring(0, at);
      authority = authority.substring(at + 1);
      int colon = userInfo.indexOf(':');
      user = decode(colon < 0 ? userInfo : userInfo.substring(0, colon), what);
      password = colon < 0 ? null : decode(userInfo.substring(colon + 1), what);
    }
    if (authority.isEmpty()) {
      throw CliException.usage(what + " names no host: a libpq URI needs postgresql://[user[:password]@]host[:port]/db"
          + " (Unix sockets are not supported), was '" + redact(t) + "'");
    }
    List<String> jdbcParameters = new ArrayList<>();
    for (String pair : query.isEmpty() ? new String[0] : query.split("&")) {
      int eq = pair.indexOf('=');
      String key = decode(eq < 0 ? pair : pair.substring(0, eq), what);
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1), what);
      switch (key) {
        case "user" -> user = value;
        case "password" -> password = value;
        case "dbname" -> database = value;
        default -> {
          String jdbcKey = LIBPQ_PARAMETERS.get(key);
          if (jdbcKey == null) {
            throw CliException.usage(what + ": unsupported libpq URI parameter '" + key + "' (supported: user, "
                + "password, dbname, " + String.join(", ", LIBPQ_PARAMETERS.keySet().stream().sorted().toList()) + ")");
          }
          if (key.equals("target_session_attrs")) {
            value = TARGET_SESSION_ATTRS.get(value.toLowerCase(Locale.ROOT));
            if (value == null) {
              throw CliException.usage(what + ": target_session_attrs must be one of "
                  + TARGET_SESSION_ATTRS.keySet().stream().sorted().toList());
            }
          }
          jdbcParameters.add(jdbcKey + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8));
        }
      }
    }
    if (database.isEmpty()) {
      database = user != null ? user : "postgres"; // libpq's default: the user name
    }
    String jdbc = "jdbc:postgresql://" + authority + "/" + URLEncoder.encode(database, StandardCharsets.UTF_8)
        + (jdbcParameters.isEmpty() ? "" : "?" + String.join("&", jdbcParameters));
    return new DatabaseUrl(jdbc, emptyToNull(user), emptyToNull(password));
  }

  /** The JDBC URL built from libpq's PGHOST, PGPORT, PGDATABASE and PGSSLMODE, or null when neither host nor db is set. */
  public static String fromLibpqEnvironment(String host, String port, String database, String sslMode, String user) {
    if (host == null && database == null) {
      return null;
    }
    String h = host == null ? "localhost" : host;
    if (h.startsWith("/")) {
      throw CliException.usage("PGHOST '" + h + "' is a Unix socket directory; the CLI connects over TCP only");
    }
    String db = database != null ? database : user != null ? user : "postgres";
    return "jdbc:postgresql://" + h + (port == null ? "" : ":" + port) + "/"
        + URLEncoder.encode(db, StandardCharsets.UTF_8)
        + (sslMode == null ? "" : "?sslmode=" + URLEncoder.encode(sslMode, StandardCharsets.UTF_8));
  }

  /** {@code url} with any password (user:password@ or password=...) replaced by ***. */
  public static String redact(String url) {
    if (url == null) {
      return "(none)";
    }
    return PASSWORD_PARAMETER.matcher(USERINFO.matcher(url).replaceAll("$1:***@")).replaceAll("$1***");
  }

  private static String decode(String s, String what) {
    try {
      return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw CliException.usage(what + " has a malformed %-escape");
    }
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  @Override
  public String toString() {
    return "DatabaseUrl[" + redact(jdbcUrl) + ", user=" + user + ", password=" + (password == null ? "none" : "***") + "]";
  }
}
