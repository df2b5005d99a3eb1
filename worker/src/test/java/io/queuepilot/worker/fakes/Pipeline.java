package io.queuepilot.worker.fakes;

import io.queuepilot.queue.patient.PatientUploads;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.testkit.FakeOpenAi;
import io.queuepilot.testkit.FakeStorage;
import io.queuepilot.worker.WorkerApp;
import io.queuepilot.worker.WorkerConfig;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The world of the worker integration tests: a patient on a freshly migrated real PostgreSQL,
 * uploads registered through register_shell_file exactly as an authenticated Supabase user
 * calls it (role authenticated + request.jwt.claims), and workers started from an environment
 * map the way WorkerMain starts them.
 */
public final class Pipeline {

  public static final String BUCKET = "medical-docs";
  public static final String SERVICE_KEY = "service-role-key";
  public static final String OPENAI_KEY = "sk-test";

  public final PostgresExtension pg;
  public final UUID owner = UUID.randomUUID();
  public final UUID patient = UUID.randomUUID();
  private final String workerLogin;

  /** One registered upload. */
  public record Upload(UUID shellFileId, UUID jobId, String key) {}

  public Pipeline(PostgresExtension pg, String workerLogin) throws SQLException {
    this.pg = pg;
    this.workerLogin = workerLogin;
    pg.loginAs(workerLogin, "queue_worker");
    new PatientUploads(pg.superuser()).createPatient(patient, owner, owner + "@example.test", "Pat Patient");
  }

  /** The storage path register_shell_file accepts for this patient. */
  public String path(String key, String ext) {
    return patient + "/" + key + "." + ext;
  }

  /** Registers an upload as the patient's owner; the storage object should exist by then. */
  public Upload register(String key, String ext, String mime, long size) {
    PatientUploads.Registered r = new PatientUploads(pg.superuser()).register(PatientUploads.Caller.patientUser(owner),
        new PatientUploads.Upload(patient, BUCKET, path(key, ext), key + "." + ext, mime, size, "upload-" + key));
    return new Upload(r.shellFileId(), r.jobId(), key);
  }

  /** The environment of one worker replica (as WorkerMain would read it). */
  public Map<String, String> env(String workerId) {
    Map<String, String> env = new HashMap<>();
    env.put("QUEUEPILOT_DB_URL", pg.jdbcUrl());
    env.put("QUEUEPILOT_DB_USER", workerLogin);
    env.put("QUEUEPILOT_DB_PASSWORD", workerLogin);
    env.put("QUEUEPILOT_WORKER_ID", workerId);
    env.put("QUEUEPILOT_HTTP_PORT", "0");
    env.put("QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS", "1");
    env.put("QUEUEPILOT_POLL_INTERVAL_SECONDS", "1");
    env.put("QUEUEPILOT_GRACE_PERIOD_SECONDS", "2");
    env.put("QUEUEPILOT_STORAGE_BUCKET", BUCKET);
    return env;
  }

  public Map<String, String> openAi(Map<String, String> env, FakeOpenAi openai) {
    env.put("QUEUEPILOT_PROCESSOR", "openai");
    env.put("OPENAI_API_KEY", OPENAI_KEY);
    env.put("OPENAI_BASE_URL", openai.baseUrl());
    env.put("QUEUEPILOT_OPENAI_MODEL", "gpt-4o-mini");
    env.put("QUEUEPILOT_OPENAI_MAX_OUTPUT_TOKENS", "300");
    env.put("QUEUEPILOT_OPENAI_TIMEOUT_SECONDS", "20");
    return env;
  }

  public Map<String, String> supabase(Map<String, String> env, FakeStorage storage) {
    env.put("QUEUEPILOT_STORE", "supabase");
    env.put("SUPABASE_URL", storage.baseUrl());
    env.put("SUPABASE_SERVICE_ROLE_KEY", SERVICE_KEY);
    return env;
  }

  public WorkerApp start(Map<String, String> env) throws Exception {
    return WorkerApp.start(WorkerConfig.from(env), Clock.systemUTC());
  }

  public DataSource superuser() {
    return pg.superuser();
  }

  public long scalar(String sql, Object... args) throws SQLException {
    try (Connection c = pg.superuser().getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  public String text(String sql, Object... args) throws SQLException {
    try (Connection c = pg.superuser().getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  public List<Map<String, Object>> rows(String sql, Object... args) throws SQLException {
    try (Connection c = pg.superuser().getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        List<Map<String, Object>> out = new ArrayList<>();
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          Map<String, Object> row = new HashMap<>();
          for (int i = 1; i <= n; i++) {
            row.put(rs.getMetaData().getColumnLabel(i), rs.getObject(i));
          }
          out.add(row);
        }
        return out;
      }
    }
  }

  /** The job's status. */
  public String status(UUID jobId) throws SQLException {
    return text("SELECT status FROM public.jobs WHERE id = ?", jobId);
  }
}
