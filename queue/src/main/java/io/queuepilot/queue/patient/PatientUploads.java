package io.queuepilot.queue.patient;

import io.queuepilot.queue.JobQueueException;
import io.queuepilot.queue.sql.Jdbc;
import java.sql.SQLException;
import java.util.Objects;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Uploads as a patient: {@code public.register_shell_file} (sql/V013, V055) called the way
 * Supabase's API calls it — the caller's role and JWT claims set for the transaction
 * ({@code set_config('role', …, true)}, {@code set_config('request.jwt.claims', …, true)}, as
 * PostgREST does), then the function, then commit — and the sign-up that gives a patient a
 * profile to upload to. The one copy of this flow for local mode, the benchmarks and every test.
 *
 * <p>The data source must be allowed to switch to the caller's role (the owner, an
 * authenticator login granted {@code authenticated}, or a superuser in tests).
 */
public final class PatientUploads {

  /** Who calls register_shell_file. */
  public sealed interface Caller {

    /** The role set for the transaction. */
    String role();

    /** The JWT claims PostgREST would set from the caller's token. */
    String claimsJson();

    /** A patient's own user, signed in: role {@code authenticated}, claim {@code sub} = the user. */
    record PatientUser(UUID userId) implements Caller {
      public PatientUser {
        Objects.requireNonNull(userId, "userId");
      }

      @Override
      public String role() {
        return "authenticated";
      }

      @Override
      public String claimsJson() {
        return "{\"sub\":\"" + userId + "\",\"role\":\"authenticated\",\"aud\":\"authenticated\"}";
      }
    }

    /** The upload API's server-side identity: role {@code service_role}. */
    record UploadApi() implements Caller {
      @Override
      public String role() {
        return "service_role";
      }

      @Override
      public String claimsJson() {
        return "{\"role\":\"service_role\"}";
      }
    }

    static Caller patientUser(UUID userId) {
      return new PatientUser(userId);
    }

    static Caller uploadApi() {
      return new UploadApi();
    }
  }

  /** One document already in Storage at {@code bucket}/{@code storagePath}, to be registered for {@code patientId}. */
  public record Upload(UUID patientId, String bucket, String storagePath, String filename, String mimeType,
      long sizeBytes, String idempotencyKey) {}

  /** What register_shell_file answered: the shell file, its job, and whether this call created them. */
  public record Registered(UUID shellFileId, UUID jobId, boolean created) {}

  private static final String ACT_AS =
      "SELECT set_config('role', ?, true), set_config('request.jwt.claims', ?, true)";

  private static final String REGISTER =
      """
      SELECT shell_file_id, job_id, created
        FROM public.register_shell_file(?, ?, ?, ?, ?, ?, ?)
      """;

  private static final String HAS_AUTH_USERS = "SELECT to_regclass('auth.users') IS NOT NULL";

  // Supabase projects have auth.users, referenced by user_profiles.account_owner_id.
  private static final String SIGN_UP =
      """
      INSERT INTO auth.users (id, email, aud, role) VALUES (?, ?, 'authenticated', 'authenticated')
      ON CONFLICT (id) DO NOTHING
      """;

  private static final String INSERT_PROFILE =
      """
      INSERT INTO public.user_profiles (id, account_owner_id, profile_type, display_name)
      VALUES (coalesce(?::uuid, gen_random_uuid()), ?, 'self', ?)
      RETURNING id
      """;

  private final Jdbc jdbc;

  public PatientUploads(DataSource dataSource) {
    this.jdbc = new Jdbc(dataSource);
  }

  /** Registers {@code upload} as {@code caller} in a transaction of its own. */
  public Registered register(Caller caller, Upload upload) {
    return jdbc.inTransaction("register_shell_file for patient " + upload.patientId(), tx -> register(tx, caller, upload));
  }

  /**
   * Registers {@code upload} as {@code caller} inside the caller's open transaction. The role stays
   * set until the transaction ends (or {@code RESET ROLE}): what the caller runs next runs as it.
   */
  public static Registered register(Jdbc.Session tx, Caller caller, Upload upload) throws SQLException {
    actAs(tx, caller);
    return tx.queryOne(REGISTER, rs -> new Registered(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class),
            rs.getBoolean(3)),
        upload.patientId(), upload.bucket(), upload.storagePath(), upload.filename(), upload.mimeType(),
        upload.sizeBytes(), upload.idempotencyKey());
  }

  /** Sets {@code caller}'s role and JWT claims for the rest of the transaction, as PostgREST does per request. */
  public static void actAs(Jdbc.Session tx, Caller caller) throws SQLException {
    tx.queryOne(ACT_AS, rs -> Boolean.TRUE, caller.role(), caller.claimsJson());
  }

  /**
   * Signs {@code userId} up (in {@code auth.users} where the database has it, as Supabase Auth
   * would) and creates the user's own patient profile; returns the profile (patient) id, which is
   * {@code patientId} when given. Runs as this data source (the owner or a superuser).
   *
   * @throws JobQueueException naming the user when the rows cannot be written
   */
  public UUID createPatient(UUID patientId, UUID userId, String email, String displayName) {
    return jdbc.inTransaction("creating the patient of user " + userId,
        tx -> createPatient(tx, patientId, userId, email, displayName));
  }

  /** {@link #createPatient(UUID, UUID, String, String)} inside the caller's transaction. */
  public static UUID createPatient(Jdbc.Session tx, UUID patientId, UUID userId, String email, String displayName)
      throws SQLException {
    if (tx.<Boolean>queryOne(HAS_AUTH_USERS, rs -> rs.getBoolean(1))) {
      tx.update(SIGN_UP, userId, email);
    }
    return tx.queryOne(INSERT_PROFILE, rs -> rs.getObject(1, UUID.class), patientId, userId, displayName);
  }
}
