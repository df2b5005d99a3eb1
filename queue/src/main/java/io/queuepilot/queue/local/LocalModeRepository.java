package io.queuepilot.queue.local;

import io.queuepilot.queue.patient.PatientUploads.Caller;
import io.queuepilot.queue.patient.PatientUploads.Registered;
import io.queuepilot.queue.patient.PatientUploads.Upload;
import io.queuepilot.queue.patient.PatientUploads;
import io.queuepilot.queue.roles.LoginRoles;
import io.queuepilot.queue.sql.Jdbc;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The SQL of the CLI's local mode ({@code queuepilot local}), run as the database owner: login
 * roles for the in-process worker and controller, the demo patient, its uploads through
 * {@link PatientUploads} as the patient's own user, and the counts behind progress and summary.
 * Everything it creates is named with {@link #RUN_PREFIX}, so that it never touches another
 * application's rows in an existing database.
 */
public final class LocalModeRepository {

  /** The display name that marks a local-mode demo patient (erase_local_demo_patient checks it). */
  public static final String DEMO_PATIENT_NAME = "Demo patient (queuepilot local)";

  /** Every local-mode lane and login starts with this; a run adds its own suffix. */
  public static final String RUN_PREFIX = "queuepilot_local_";

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

  private final Jdbc jdbc;
  private final LoginRoles logins;

  public LocalModeRepository(DataSource owner) {
    this.jdbc = new Jdbc(owner);
    this.logins = new LoginRoles(owner);
  }

  /** Creates or updates {@code login} with {@code password} as a member of {@code groupRole}. */
  public void ensureLogin(String login, String password, String groupRole) {
    if (!password.matches("[A-Za-z0-9]+")) {
      throw new IllegalArgumentException("generated passwords are alphanumeric");
    }
    requireRunName(login);
    logins.ensure(login, password, groupRole);
  }

  /** Drops a login this run created (its sessions are closed first by the caller). */
  public void dropLogin(String login) {
    requireRunName(login);
    logins.drop(login);
  }

  /** Erases the demo patient and its rows through erase_local_demo_patient; returns the counts (JSON), null if absent. */
  public String erasePatient(UUID patientId) {
    return jdbc.queryOne("erasing the demo patient " + patientId, ERASE_PATIENT, rs -> rs.getString(1), patientId);
  }

  private static void requireRunName(String name) {
    if (!name.matches(RUN_PREFIX + "[a-z0-9_]+")) {
      throw new IllegalArgumentException("local-mode names start with " + RUN_PREFIX);
    }
  }

  /** Creates the demo patient owned by {@code userId}; returns the profile (patient) id. */
  public UUID createPatient(UUID userId) {
    return new PatientUploads(jdbc.dataSource())
        .createPatient(null, userId, "local-demo+" + userId + "@queuepilot.invalid", DEMO_PATIENT_NAME);
  }

  /** The Storage bucket uploads go to (upload_settings). */
  public String documentsBucket() {
    return jdbc.queryOne("reading upload_settings", BUCKET, rs -> rs.getString(1));
  }

  /**
   * Registers one upload as the patient's own user ({@link PatientUploads}) and moves its job into
   * the run's {@code lane}, in one transaction.
   */
  public Registered register(UUID userId, Upload upload, String lane) {
    requireRunName(lane);
    return jdbc.inTransaction("registering an upload of patient " + upload.patientId(), tx -> {
      Registered r = PatientUploads.register(tx, Caller.patientUser(userId), upload);
      tx.execute("RESET ROLE");
      if (tx.queryOptional(MOVE_TO_LANE, rs -> Boolean.TRUE, lane, r.jobId(), upload.patientId()).isEmpty()) {
        throw new SQLException("the job of a new upload was not pending; nothing registered");
      }
      return r;
    });
  }

  /** Job counts of this run's patient and the clinical events written so far. */
  public record Progress(long ready, long scheduled, long processing, long completed, long deadLetter, long cancelled,
      long clinicalEvents) {

    public long finished() {
      return completed + deadLetter + cancelled;
    }
  }

  public Progress progress(UUID patientId) {
    return jdbc.queryOne("reading the local run's progress", PROGRESS,
        rs -> new Progress(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5), rs.getLong(6),
            rs.getLong(7)),
        patientId, patientId);
  }

  public Map<String, Long> filesByStatus(UUID patientId) {
    return countBy("counting the run's files", FILES_BY_STATUS, patientId);
  }

  public Map<String, Long> eventsByType(UUID patientId) {
    return countBy("counting the run's clinical events", EVENTS_BY_TYPE, patientId);
  }

  /** Seconds from upload to processed: {p50, p95}, null when nothing completed. */
  public double[] timeToProcessed(UUID patientId) {
    return jdbc.queryOptional("reading time to processed", TIME_TO_PROCESSED, rs -> {
      double p50 = rs.getDouble(1);
      return rs.wasNull() ? null : new double[] {p50, rs.getDouble(2)};
    }, patientId).orElse(null);
  }

  /** Dead-letter reasons: code → "count × message". */
  public Map<String, String> deadLetterReasons(UUID patientId) {
    Map<String, String> reasons = new LinkedHashMap<>();
    jdbc.queryList("reading dead-letter reasons", DEAD_LETTER_REASONS,
            rs -> Map.entry(rs.getString(1), rs.getLong(3) + " × " + rs.getString(2)), patientId)
        .forEach(e -> reasons.put(e.getKey(), e.getValue()));
    return reasons;
  }

  private Map<String, Long> countBy(String operation, String sql, UUID patientId) {
    Map<String, Long> counts = new LinkedHashMap<>();
    List<Map.Entry<String, Long>> rows =
        jdbc.queryList(operation, sql, rs -> Map.entry(rs.getString(1), rs.getLong(2)), patientId);
    rows.forEach(e -> counts.put(e.getKey(), e.getValue()));
    return counts;
  }
}
