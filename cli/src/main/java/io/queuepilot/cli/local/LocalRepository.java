package io.queuepilot.cli.local;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The local mode's SQL, run as the database owner: login roles for the in-process worker and
 * controller, the demo patient, uploads through {@code register_shell_file} as that patient's
 * authenticated user (the way PostgREST calls it), and the counts behind progress and summary.
 */
final class LocalRepository {

  /** The display name that marks a local-mode demo patient (erase_local_demo_patient checks it). */
  static final String DEMO_PATIENT_NAME = "Demo patient (queuepilot local)";

  /** Every local-mode lane and login starts with this; a run adds its own suffix. */
  static final String RUN_PREFIX = "queuepilot_local_";

  private static final String ENSURE_LOGIN =
      """
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '%1$s') THEN
          CREATE ROLE %1$s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD '%2$s';
        ELSE
          ALTER ROLE %1$s LOGIN PASSWORD '%2$s';
        END IF;
      END $$;
      GRANT %3$s TO %1$s;
      """;

  private static final String DROP_LOGIN = "DROP ROLE IF EXISTS %s";

  // The demo patient's job goes into the run's own lane in the transaction that registered it,
  // so no worker of another app (lane 'ai') and no later local run ever sees it in a lane it claims.
  private static final String MOVE_TO_LANE =
      """
      WITH moved AS (
        UPDATE public.job_queue AS j SET job_lane = ?, updated_at = now()
         WHERE j.id = ? AND j.patient_id = ? AND j.status = 'pending'
        RETURNING j.id, j.correlation_id, j.patient_id, j.job_lane)
      SELECT public.log_audit_event('job_queue', m.id::text, 'LOCAL_LANE', NULL,
               jsonb_build_object('job_lane', m.job_lane), 'queuepilot local run', m.id, m.correlation_id,
               m.patient_id)
        FROM moved AS m
      """;

  private static final String ERASE_PATIENT = "SELECT public.erase_local_demo_patient(?)::text";

  private static final String HAS_AUTH_USERS = "SELECT to_regclass('auth.users') IS NOT NULL";

  // Supabase projects have auth.users, referenced by user_profiles.account_owner_id.
  private static final String INSERT_AUTH_USER =
      """
      INSERT INTO auth.users (id, email, aud, role) VALUES (?, ?, 'authenticated', 'authenticated')
      ON CONFLICT (id) DO NOTHING
      """;

  private static final String INSERT_PROFILE =
      """
      INSERT INTO public.user_profiles (account_owner_id, profile_type, display_name)
      VALUES (?, 'self', ?)
      RETURNING id
      """;

  private static final String CLAIMS = "SELECT set_config('request.jwt.claims', ?, true)";

  private static final String REGISTER =
      """
      SELECT shell_file_id, job_id, created
        FROM public.register_shell_file(?, ?, ?, ?, ?, ?, ?)
      """;

  private static final String BUCKET = "SELECT storage_bucket FROM public.upload_settings";

  private static final String PROGRESS =
      """
      SELECT count(*) FILTER (WHERE j.status = 'pending' AND j.scheduled_at <= now()) AS ready,
             count(*) FILTER (WHERE j.status = 'pending' AND j.scheduled_at > now())  AS scheduled,
             count(*) FILTER (WHERE j.status = 'processing')                         AS processing,
             count(*) FILTER (WHERE j.status = 'completed')                          AS completed,
             count(*) FILTER (WHERE j.status = 'dead_letter')                        AS dead_letter,
             count(*) FILTER (WHERE j.status = 'cancelled')                          AS cancelled,
             (SELECT count(*) FROM public.clinical_events e WHERE e.patient_id = ?)  AS events
        FROM public.jobs j
       WHERE j.patient_id = ? AND j.job_type = 'document_extraction'
      """;

  private static final String FILES_BY_STATUS =
      """
      SELECT status, count(*) FROM public.shell_files WHERE patient_id = ? GROUP BY status
      """;

  private static final String EVENTS_BY_TYPE =
      """
      SELECT event_type, count(*) FROM public.clinical_events WHERE patient_id = ?
       GROUP BY event_type ORDER BY count(*) DESC, event_type
      """;

  private static final String TIME_TO_PROCESSED =
      """
      SELECT percentile_cont(0.5)  WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - created_at)),
             percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - created_at))
        FROM public.shell_files
       WHERE patient_id = ? AND status = 'completed'
      """;

  private static final String DEAD_LETTER_REASONS =
      """
      SELECT coalesce(error ->> 'code', 'error') AS code, min(error ->> 'message') AS message, count(*)
        FROM public.job_queue
       WHERE patient_id = ? AND status = 'dead_letter'
       GROUP BY 1 ORDER BY count(*) DESC
      """;

  private final DataSource owner;

  LocalRepository(DataSource owner) {
    this.owner = owner;
  }

  /** Creates or updates {@code login} with {@code password} as a member of {@code groupRole}. */
  void ensureLogin(String login, String password, String groupRole) throws SQLException {
    if (!password.matches("[A-Za-z0-9]+")) {
      throw new IllegalArgumentException("generated passwords are alphanumeric");
    }
    requireRunName(login);
    try (Connection c = owner.getConnection();
        Statement s = c.createStatement()) {
      s.execute(ENSURE_LOGIN.formatted(login, password, groupRole));
    }
  }

  /** Drops a login this run created (its sessions are closed first by the caller). */
  void dropLogin(String login) throws SQLException {
    requireRunName(login);
    try (Connection c = owner.getConnection();
        Statement s = c.createStatement()) {
      s.execute(DROP_LOGIN.formatted(login));
    }
  }

  /** Erases the demo patient and its rows through erase_local_demo_patient; returns the counts (JSON), null if absent. */
  String erasePatient(UUID patientId) throws SQLException {
    try (Connection c = owner.getConnection();
        PreparedStatement ps = c.prepareStatement(ERASE_PATIENT)) {
      ps.setObject(1, patientId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }

  private static void requireRunName(String name) {
    if (!name.matches(RUN_PREFIX + "[a-z0-9_]+")) {
      throw new IllegalArgumentException("local-mode names start with " + RUN_PREFIX);
    }
  }

  /** Creates the demo patient owned by {@code userId}; returns the profile (patient) id. */
  UUID createPatient(UUID userId) throws SQLException {
    try (Connection c = owner.getConnection()) {
      boolean authUsers;
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery(HAS_AUTH_USERS)) {
        rs.next();
        authUsers = rs.getBoolean(1);
      }
      if (authUsers) {
        try (PreparedStatement ps = c.prepareStatement(INSERT_AUTH_USER)) {
          ps.setObject(1, userId);
          ps.setString(2, "local-demo+" + userId + "@queuepilot.invalid");
          ps.executeUpdate();
        }
      }
      try (PreparedStatement ps = c.prepareStatement(INSERT_PROFILE)) {
        ps.setObject(1, userId);
        ps.setString(2, DEMO_PATIENT_NAME);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getObject(1, UUID.class);
        }
      }
    }
  }

  String documentsBucket() throws SQLException {
    try (Connection c = owner.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(BUCKET)) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** One upload, registered as {@code userId} with the {@code authenticated} role and JWT claims. */
  record Registered(UUID shellFileId, UUID jobId, boolean created) {}

  Registered register(UUID userId, UUID patientId, String lane, String bucket, String storagePath, String filename,
      String mimeType, long sizeBytes, String idempotencyKey) throws SQLException {
    requireRunName(lane);
    try (Connection c = owner.getConnection()) {
      c.setAutoCommit(false);
      try {
        try (Statement s = c.createStatement()) {
          s.execute("SET LOCAL ROLE authenticated");
        }
        try (PreparedStatement ps = c.prepareStatement(CLAIMS)) {
          ps.setString(1, "{\"sub\":\"" + userId + "\",\"role\":\"authenticated\",\"aud\":\"authenticated\"}");
          ps.execute();
        }
        Registered r;
        try (PreparedStatement ps = c.prepareStatement(REGISTER)) {
          ps.setObject(1, patientId);
          ps.setString(2, bucket);
          ps.setString(3, storagePath);
          ps.setString(4, filename);
          ps.setString(5, mimeType);
          ps.setLong(6, sizeBytes);
          ps.setString(7, idempotencyKey);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            r = new Registered(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class), rs.getBoolean(3));
          }
        }
        try (Statement s = c.createStatement()) {
          s.execute("RESET ROLE");
        }
        try (PreparedStatement ps = c.prepareStatement(MOVE_TO_LANE)) {
          ps.setString(1, lane);
          ps.setObject(2, r.jobId());
          ps.setObject(3, patientId);
          try (ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
              throw new SQLException("the job of a new upload was not pending; nothing registered");
            }
          }
        }
        c.commit();
        return r;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    }
  }

  /** Job counts of this run's patient and the clinical events written so far. */
  record Progress(long ready, long scheduled, long processing, long completed, long deadLetter, long cancelled,
      long clinicalEvents) {

    long finished() {
      return completed + deadLetter + cancelled;
    }
  }

  Progress progress(UUID patientId) throws SQLException {
    try (Connection c = owner.getConnection();
        PreparedStatement ps = c.prepareStatement(PROGRESS)) {
      ps.setObject(1, patientId);
      ps.setObject(2, patientId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new Progress(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5),
            rs.getLong(6), rs.getLong(7));
      }
    }
  }

  Map<String, Long> filesByStatus(UUID patientId) throws SQLException {
    return countBy(FILES_BY_STATUS, patientId);
  }

  Map<String, Long> eventsByType(UUID patientId) throws SQLException {
    return countBy(EVENTS_BY_TYPE, patientId);
  }

  /** Seconds from upload to processed: {p50, p95}, null when nothing completed. */
  double[] timeToProcessed(UUID patientId) throws SQLException {
    try (Connection c = owner.getConnection();
        PreparedStatement ps = c.prepareStatement(TIME_TO_PROCESSED)) {
      ps.setObject(1, patientId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        double p50 = rs.getDouble(1);
        return rs.wasNull() ? null : new double[] {p50, rs.getDouble(2)};
      }
    }
  }

  /** Dead-letter reasons: code → "count × message". */
  Map<String, String> deadLetterReasons(UUID patientId) throws SQLException {
    Map<String, String> reasons = new LinkedHashMap<>();
    try (Connection c = owner.getConnection();
        PreparedStatement ps = c.prepareStatement(DEAD_LETTER_REASONS)) {
      ps.setObject(1, patientId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          reasons.put(rs.getString(1), rs.getLong(3) + " × " + rs.getString(2));
        }
      }
    }
    return reasons;
  }

  private Map<String, Long> countBy(String sql, UUID patientId) throws SQLException {
    Map<String, Long> counts = new LinkedHashMap<>();
    try (Connection c = owner.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setObject(1, patientId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          counts.put(rs.getString(1), rs.getLong(2));
        }
      }
    }
    return counts;
  }
}
