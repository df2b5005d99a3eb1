package io.queuepilot.queue.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Who may do what, cell by cell: every actor (owner, a delegate at each level, a not-yet-started,
 * an expired and a revoked delegate, a stranger, anon, service_role) against select / insert /
 * update / delete on every table the API roles can reach and a call of every function they can
 * execute. Each cell is a real request: a signed token through {@link PostgrestGateway}
 * (SET LOCAL ROLE + request.jwt.claims), rolled back afterwards. docs/security.md states the
 * same table in prose.
 */
class AccessMatrixTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  /*
   * Legend:
   *   rows   = the read returns the row(s) about the patient
   *   none   = allowed to run, but row level security leaves nothing to see / change
   *   ok     = the write or call went through
   *   denied = refused with SQLSTATE 42501 (no privilege, a WITH CHECK policy, or the
   *            function's own access check)
   *   true / false = the answer of an access-check function
   * Columns: owner = account owner of the patient profile; full/rw/ro/emerg = live delegates
   * at full_access/read_write/read_only/emergency; future = read_write grant starting tomorrow;
   * expired = read_write grant that ended yesterday; revoked = read_write grant revoked an hour
   * ago; stranger = another user (with a profile of their own); anon = the anon API key or no
   * token; service = the service_role API key.
   * clinical_events:allergy / :observation are reads of one event of that type; self = the
   * caller's own user id (the owner's for service), probe = asks about the owner's access.
   */
  static final String EXPECTED = """
      table / function                  op      owner  full   rw     ro     emerg  future expired revoked stranger anon   service
      user_profiles                     select  rows   rows   rows   rows   rows   none   none    none    none     denied rows
      user_profiles                     insert  ok     denied denied denied denied denied denied  denied  denied   denied ok
      user_profiles                     update  ok     none   none   none   none   none   none    none    none     denied ok
      user_profiles                     delete  denied denied denied denied denied denied denied  denied  denied   denied ok
      profile_access_permissions        select  rows   rows   rows   rows   rows   rows   rows    rows    none     denied rows
      profile_access_permissions        insert  ok     denied denied denied denied denied denied  denied  denied   denied ok
      profile_access_permissions        update  ok     none   none   none   none   none   none    none    none     denied ok
      profile_access_permissions        delete  ok     none   none   none   none   none   none    none    none     denied ok
      shell_files                       select  rows   rows   rows   rows   none   none   none    none    none     denied rows
      shell_files                       insert  denied denied denied denied denied denied denied  denied  denied   denied ok
      shell_files                       update  denied denied denied denied denied denied denied  denied  denied   denied ok
      shell_files                       delete  denied denied denied denied denied denied denied  denied  denied   denied ok
      document_texts                    select  rows   rows   rows   rows   none   none   none    none    none     denied rows
      document_texts                    insert  denied denied denied denied denied denied denied  denied  denied   denied ok
      document_texts                    update  denied denied denied denied denied denied denied  denied  denied   denied ok
      document_texts                    delete  denied denied denied denied denied denied denied  denied  denied   denied ok
      clinical_events:allergy           select  rows   rows   rows   rows   rows   none   none    none    none     denied rows
      clinical_events:observation       select  rows   rows   rows   rows   none   none   none    none    none     denied rows
      clinical_events                   insert  denied denied denied denied denied denied denied  denied  denied   denied ok
      clinical_events                   update  denied denied denied denied denied denied denied  denied  denied   denied ok
      clinical_events                   delete  denied denied denied denied denied denied denied  denied  denied   denied ok
      upload_settings                   select  denied denied denied denied denied denied denied  denied  denied   denied rows
      upload_settings                   insert  denied denied denied denied denied denied denied  denied  denied   denied denied
      upload_settings                   update  denied denied denied denied denied denied denied  denied  denied   denied ok
      upload_settings                   delete  denied denied denied denied denied denied denied  denied  denied   denied denied
      job_queue                         select  denied denied denied denied denied denied denied  denied  denied   denied rows
      job_queue                         insert  denied denied denied denied denied denied denied  denied  denied   denied denied
      job_queue                         update  denied denied denied denied denied denied denied  denied  denied   denied denied
      job_queue                         delete  denied denied denied denied denied denied denied  denied  denied   denied denied
      job_history                       select  denied denied denied denied denied denied denied  denied  denied   denied rows
      job_history                       insert  denied denied denied denied denied denied denied  denied  denied   denied denied
      job_history                       update  denied denied denied denied denied denied denied  denied  denied   denied denied
      job_history                       delete  denied denied denied denied denied denied denied  denied  denied   denied denied
      jobs                              select  denied denied denied denied denied denied denied  denied  denied   denied rows
      audit_log                         select  denied denied denied denied denied denied denied  denied  denied   denied rows
      audit_log                         insert  denied denied denied denied denied denied denied  denied  denied   denied denied
      audit_log                         update  denied denied denied denied denied denied denied  denied  denied   denied denied
      audit_log                         delete  denied denied denied denied denied denied denied  denied  denied   denied denied
      patient_erasures                  select  denied denied denied denied denied denied denied  denied  denied   denied none
      patient_erasures                  insert  denied denied denied denied denied denied denied  denied  denied   denied denied
      patient_erasures                  update  denied denied denied denied denied denied denied  denied  denied   denied denied
      patient_erasures                  delete  denied denied denied denied denied denied denied  denied  denied   denied denied
      queuepilot_schema_history         select  denied denied denied denied denied denied denied  denied  denied   denied denied
      queuepilot_schema_history         insert  denied denied denied denied denied denied denied  denied  denied   denied denied
      queuepilot_schema_history         update  denied denied denied denied denied denied denied  denied  denied   denied denied
      queuepilot_schema_history         delete  denied denied denied denied denied denied denied  denied  denied   denied denied
      token_budget                      select  denied denied denied denied denied denied denied denied denied denied denied
      token_budget                      insert  denied denied denied denied denied denied denied denied denied denied denied
      token_budget                      update  denied denied denied denied denied denied denied denied denied denied denied
      token_budget                      delete  denied denied denied denied denied denied denied denied denied denied denied
      token_budget_reservation          select  denied denied denied denied denied denied denied denied denied denied denied
      token_budget_reservation          insert  denied denied denied denied denied denied denied denied denied denied denied
      token_budget_reservation          update  denied denied denied denied denied denied denied denied denied denied denied
      token_budget_reservation          delete  denied denied denied denied denied denied denied denied denied denied denied
      configure_token_budget            call    denied denied denied denied denied denied denied denied denied denied denied
      token_budget_exists               call    denied denied denied denied denied denied denied denied denied denied denied
      reserve_tokens                    call    denied denied denied denied denied denied denied denied denied denied denied
      settle_tokens                     call    denied denied denied denied denied denied denied denied denied denied denied
      block_token_budget                call    denied denied denied denied denied denied denied denied denied denied denied
      token_budget_status               call    denied denied denied denied denied denied denied denied denied denied denied
      storage.objects                   select  rows   rows   rows   rows   none   none   none    none    none     none   rows
      storage.objects                   insert  ok     ok     ok     denied denied denied denied  denied  denied   denied ok
      storage.objects                   update  ok     ok     ok     none   none   none   none    none    none     none   ok
      storage.objects                   delete  ok     ok     none   none   none   none   none    none    none     none   ok
      storage.buckets                   select  none   none   none   none   none   none   none    none    none     none   rows
      storage.buckets                   insert  denied denied denied denied denied denied denied  denied  denied   denied ok
      storage.buckets                   update  none   none   none   none   none   none   none    none    none     none   ok
      storage.buckets                   delete  none   none   none   none   none   none   none    none    none     none   ok
      has_profile_access:self           call    true   true   true   true   true   false  false   false   false    denied true
      has_profile_access_level:self:rw  call    true   true   true   false  false  false  false   false   false    denied true
      has_profile_access_level:probe    call    true   false  false  false  false  false  false   false   false    denied true
      profile_access_level_of           call    denied denied denied denied denied denied denied  denied  denied   denied denied
      storage_object_patient_id         call    ok     ok     ok     ok     ok     ok     ok      ok      ok       denied ok
      register_shell_file               call    ok     ok     ok     denied denied denied denied  denied  denied   denied ok
      write_back_extraction             call    denied denied denied denied denied denied denied  denied  denied   denied denied
      reprocess_shell_file              call    denied denied denied denied denied denied denied  denied  denied   denied ok
      erase_patient_data                call    denied denied denied denied denied denied denied  denied  denied   denied ok
      audit_integrity_problems          call    denied denied denied denied denied denied denied  denied  denied   denied ok
      enqueue_job                       call    denied denied denied denied denied denied denied  denied  denied   denied ok
      enqueue_jobs                      call    denied denied denied denied denied denied denied  denied  denied   denied ok
      claim_next_job                    call    denied denied denied denied denied denied denied  denied  denied   denied ok
      heartbeat_job                     call    denied denied denied denied denied denied denied  denied  denied   denied ok
      complete_job                      call    denied denied denied denied denied denied denied  denied  denied   denied ok
      fail_job                          call    denied denied denied denied denied denied denied  denied  denied   denied ok
      release_job                       call    denied denied denied denied denied denied denied  denied  denied   denied ok
      update_job_status                 call    denied denied denied denied denied denied denied  denied  denied   denied ok
      retry_job                         call    denied denied denied denied denied denied denied  denied  denied   denied ok
      dead_letter_job                   call    denied denied denied denied denied denied denied  denied  denied   denied ok
      cancel_job                        call    denied denied denied denied denied denied denied  denied  denied   denied ok
      requeue_stale_jobs                call    denied denied denied denied denied denied denied  denied  denied   denied ok
      requeue_stale_jobs:scoped         call    denied denied denied denied denied denied denied  denied  denied   denied ok
      complete_jobs                     call    denied denied denied denied denied denied denied  denied  denied   denied ok
      complete_and_claim_jobs           call    denied denied denied denied denied denied denied  denied  denied   denied ok
      heartbeat_jobs                    call    denied denied denied denied denied denied denied  denied  denied   denied ok
      fail_jobs                         call    denied denied denied denied denied denied denied  denied  denied   denied ok
      release_jobs                      call    denied denied denied denied denied denied denied  denied  denied   denied ok
      job_queue_check_batch             call    denied denied denied denied denied denied denied  denied  denied   denied denied
      job_history_ensure_partitions     call    denied denied denied denied denied denied denied  denied  denied   denied ok
      job_queue_move_finished           call    denied denied denied denied denied denied denied  denied  denied   denied ok
      queue_stats                       call    denied denied denied denied denied denied denied  denied  denied   denied ok
      jobs_held_by_workers              call    denied denied denied denied denied denied denied  denied  denied   denied ok
      purge_finished_jobs               call    denied denied denied denied denied denied denied  denied  denied   denied ok
      log_audit_event                   call    denied denied denied denied denied denied denied  denied  denied   denied ok
      job_queue_bounded_error           call    denied denied denied denied denied denied denied  denied  denied   denied denied
      job_queue_backoff                 call    denied denied denied denied denied denied denied  denied  denied   denied denied
      job_queue_new_id                  call    denied denied denied denied denied denied denied  denied  denied   denied denied
      """;

  static SecurityWorld world;
  static Actor[] actors;
  static UUID shellFile;
  static UUID shellFileWithoutText;
  static UUID extractionJob;
  static UUID pendingProbeJob;
  static UUID deadProbeJob;
  /** A signed-up user without any grant yet: whom the grant-insert probes name. */
  static final UUID newDelegate = UUID.randomUUID();
  static UUID matrixReservation;

  /** A column of the matrix: who is asking, with which token. */
  record Actor(String column, UUID self, String token) {}

  /** One cell's operation, run inside the actor's request. */
  @FunctionalInterface
  interface Probe {
    String run(Actor actor, Connection c) throws SQLException;
  }

  @BeforeAll
  static void seed() throws SQLException {
    world = SecurityWorld.create(pg);
    pg.createAuthUsers(newDelegate);
    SecurityWorld.Registration first = world.register(world.owner, "matrix-file");
    SecurityWorld.Registration second = world.register(world.owner, "matrix-file-2");
    shellFile = first.shellFileId();
    extractionJob = first.jobId();
    shellFileWithoutText = second.shellFileId();

    DataSource worker = pg.loginAs("matrix_worker", "queue_worker");
    SecurityWorld.Claim claim = SecurityWorld.claim(worker, "matrix-worker");
    assertThat(claim.jobId()).as("the first registered file's job is claimed first").isEqualTo(extractionJob);
    assertThat(SecurityWorld.writeBack(worker, claim,
            """
            {"text": "Allergy: penicillin. HbA1c 6.1 %", "page_count": 1, "processor": "local", "model": null}""",
            """
            [{"event_type": "allergy", "name": "Penicillin", "confidence": 0.9, "source_page": 1},
             {"event_type": "observation", "name": "HbA1c", "value": "6.1", "unit": "%",
              "code": "4548-4", "code_system": "http://loinc.org", "event_date": "2026-01-15"}]""",
            120))
        .isTrue();

    world.execute("INSERT INTO storage.objects (bucket_id, name) VALUES ('medical-docs', ?)",
        world.patient + "/matrix-file.pdf");
    world.execute("INSERT INTO storage.buckets (id, name) VALUES ('scratch', 'scratch')");
    pendingProbeJob = UUID.fromString(world.text(
        "SELECT public.enqueue_job('matrix_probe', '{}'::jsonb, 'matrix-probe-pending')"));
    deadProbeJob = UUID.fromString(world.text(
        "SELECT public.enqueue_job('matrix_probe', '{}'::jsonb, 'matrix-probe-dead')"));
    world.execute("SELECT public.dead_letter_job(?, '{\"message\":\"matrix\"}'::jsonb)", deadProbeJob);
    world.execute("SELECT public.configure_token_budget('matrix', 1000, 10, 60)");
    matrixReservation = UUID.fromString(world.text("SELECT reservation_id FROM public.reserve_tokens('matrix', 10)"));

    actors = new Actor[] {
      user("owner", world.owner),
      user("full", world.fullAccess),
      user("rw", world.readWrite),
      user("ro", world.readOnly),
      user("emerg", world.emergency),
      user("future", world.notStarted),
      user("expired", world.expired),
      user("revoked", world.revoked),
      user("stranger", world.stranger),
      new Actor("anon", null, world.tokens.anonKey()),
      new Actor("service", world.owner, world.tokens.serviceRoleKey()),
    };
  }

  private static Actor user(String column, UUID id) {
    return new Actor(column, id, world.token(id));
  }

  @AfterAll
  static void close() {
    world.close();
  }

  @Test
  void everyCellMatchesTheDocumentedAccessModel() throws SQLException {
    Map<String, Probe> probes = probes();
    List<String[]> expectedRows = parse(EXPECTED);
    String[] header = expectedRows.get(0);
    assertThat(Arrays.copyOfRange(header, 2, header.length))
        .containsExactly(Arrays.stream(actors).map(Actor::column).toArray(String[]::new));

    List<String> mismatches = new ArrayList<>();
    StringBuilder actualTable = new StringBuilder();
    int cells = 0;
    for (String[] row : expectedRows.subList(1, expectedRows.size())) {
      String key = row[0] + " " + row[1];
      Probe probe = probes.get(key);
      assertThat(probe).as("a probe for matrix row '%s'", key).isNotNull();
      actualTable.append(String.format("%-33s %-7s", row[0], row[1]));
      for (int i = 0; i < actors.length; i++) {
        String actual = outcome(actors[i], probe);
        cells++;
        actualTable.append(String.format(" %-6s", actual));
        if (!actual.equals(row[i + 2])) {
          mismatches.add(key + " as " + actors[i].column() + ": expected " + row[i + 2] + ", got " + actual);
        }
      }
      actualTable.append('\n');
    }
    assertThat(probes.keySet()).as("every probe has a row in the expected table")
        .containsExactlyInAnyOrderElementsOf(expectedRows.subList(1, expectedRows.size()).stream()
            .map(r -> r[0] + " " + r[1]).toList());
    assertThat(mismatches).as("cells differing from the expected table; actual table:%n%s", actualTable).isEmpty();
    assertThat(cells).isEqualTo((expectedRows.size() - 1) * actors.length);
  }

  /**
   * The matrix covers everything the API roles can reach: every table in public and storage
   * has row level security, every table an API role holds any privilege on is a matrix row,
   * and so is every function an API role may execute.
   */
  @Test
  void matrixCoversEveryTableAndFunctionTheApiRolesCanReach() throws SQLException {
    Set<String> rows = new TreeSet<>();
    for (String[] row : parse(EXPECTED).subList(1, parse(EXPECTED).size())) {
      rows.add(row[0].split(":")[0]);
    }
    try (Connection c = pg.superuser().getConnection()) {
      assertThat(strings(c, """
          SELECT n.nspname || '.' || k.relname FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
           WHERE n.nspname IN ('public', 'storage') AND k.relkind IN ('r', 'p') AND NOT k.relrowsecurity
             -- Flyway's own table: no API privileges at all (see V015 and its matrix rows)
             AND k.relname <> 'queuepilot_schema_history'"""))
          .as("tables without row level security").isEmpty();
      List<String> reachableTables = strings(c, """
          SELECT CASE WHEN n.nspname = 'public' THEN k.relname ELSE n.nspname || '.' || k.relname END
            FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
           CROSS JOIN (VALUES ('anon'), ('authenticated'), ('service_role')) r(role)
           WHERE n.nspname IN ('public', 'storage') AND k.relkind IN ('r', 'p', 'v', 'm')
             AND has_table_privilege(r.role, k.oid, 'SELECT, INSERT, UPDATE, DELETE')
           GROUP BY 1""");
      assertThat(rows).as("tables an API role can reach are all in the matrix").containsAll(reachableTables);
      List<String> callable = strings(c, """
          SELECT DISTINCT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           CROSS JOIN (VALUES ('anon'), ('authenticated'), ('service_role')) r(role)
           WHERE n.nspname = 'public' AND p.prorettype <> 'trigger'::regtype
             AND has_function_privilege(r.role, p.oid, 'EXECUTE')""");
      assertThat(rows).as("functions an API role can execute are all in the matrix").containsAll(callable);
    }
  }

  /**
   * Beyond the matrix's four operations: on Supabase's default privileges nothing of ours keeps
   * TRUNCATE, REFERENCES or TRIGGER for an API role, and PUBLIC holds nothing on our tables,
   * sequences and functions (Supabase's ALL grants would otherwise survive a REVOKE FROM PUBLIC).
   */
  @Test
  void noApiRoleHoldsTruncateReferencesOrTriggerAndPublicHoldsNothing() throws SQLException {
    try (Connection c = pg.superuser().getConnection()) {
      assertThat(strings(c, """
          SELECT r.role || ' ' || p.priv || ' on ' || k.oid::regclass
            FROM pg_class k
           CROSS JOIN (VALUES ('anon'), ('authenticated'), ('service_role'), ('public')) r(role)
           CROSS JOIN (VALUES ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) p(priv)
           WHERE k.relnamespace = 'public'::regnamespace AND k.relkind IN ('r', 'p', 'v', 'm')
             AND has_table_privilege(r.role, k.oid, p.priv)
          UNION ALL
          SELECT 'public ' || p.priv || ' on ' || k.oid::regclass
            FROM pg_class k
           CROSS JOIN (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE')) p(priv)
           WHERE k.relnamespace = 'public'::regnamespace AND k.relkind IN ('r', 'p', 'v', 'm')
             AND has_table_privilege('public', k.oid, p.priv)
          UNION ALL
          SELECT r.role || ' USAGE on sequence ' || k.oid::regclass
            FROM pg_class k
           CROSS JOIN (VALUES ('anon'), ('authenticated'), ('service_role'), ('public')) r(role)
           WHERE k.relnamespace = 'public'::regnamespace AND k.relkind = 'S'
             AND has_sequence_privilege(r.role, k.oid, 'USAGE')
          UNION ALL
          SELECT 'public EXECUTE on ' || f.oid::regprocedure
            FROM pg_proc f
           WHERE f.pronamespace = 'public'::regnamespace AND has_function_privilege('public', f.oid, 'EXECUTE')"""))
          .isEmpty();
    }
  }

  private static List<String> strings(Connection c, String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(sql);
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  private static List<String[]> parse(String table) {
    return table.lines().map(String::strip).filter(l -> !l.isEmpty())
        .map(l -> l.split("\\s+")).map(AccessMatrixTest::joinHeader).toList();
  }

  /** The header's first column is three words ("table / function"); keep the columns aligned. */
  private static String[] joinHeader(String[] cells) {
    if (cells[0].equals("table")) {
      String[] out = new String[cells.length - 2];
      out[0] = "table/function";
      System.arraycopy(cells, 3, out, 1, cells.length - 3);
      return out;
    }
    return cells;
  }

  private static String outcome(Actor actor, Probe probe) {
    try {
      return world.api.probe(actor.token(), c -> probe.run(actor, c));
    } catch (SQLException e) {
      return "42501".equals(e.getSQLState()) ? "denied" : "error:" + e.getSQLState();
    }
  }

  private static Map<String, Probe> probes() {
    UUID p = world.patient;
    Map<String, Probe> m = new LinkedHashMap<>();
    // user_profiles
    m.put("user_profiles select", (a, c) -> rows(c, "SELECT count(*) FROM public.user_profiles WHERE id = ?", p));
    m.put("user_profiles insert", (a, c) -> write(c,
        "INSERT INTO public.user_profiles (account_owner_id, display_name) VALUES (?, 'Matrix Kid')", world.owner));
    m.put("user_profiles update", (a, c) -> write(c,
        "UPDATE public.user_profiles SET display_name = display_name WHERE id = ?", p));
    m.put("user_profiles delete", (a, c) -> write(c, "DELETE FROM public.user_profiles WHERE id = ?", p));
    // profile_access_permissions
    m.put("profile_access_permissions select", (a, c) -> rows(c,
        "SELECT count(*) FROM public.profile_access_permissions WHERE profile_id = ?", p));
    m.put("profile_access_permissions insert", (a, c) -> write(c,
        "INSERT INTO public.profile_access_permissions (profile_id, user_id, access_level) VALUES (?, ?, 'read_only')",
        p, newDelegate));
    m.put("profile_access_permissions update", (a, c) -> write(c,
        "UPDATE public.profile_access_permissions SET expires_at = expires_at WHERE profile_id = ?", p));
    m.put("profile_access_permissions delete", (a, c) -> write(c,
        "DELETE FROM public.profile_access_permissions WHERE profile_id = ?", p));
    // shell_files
    m.put("shell_files select", (a, c) -> rows(c, "SELECT count(*) FROM public.shell_files WHERE patient_id = ?", p));
    m.put("shell_files insert", (a, c) -> write(c, """
        INSERT INTO public.shell_files (patient_id, storage_bucket, storage_path, filename, mime_type, size_bytes, idempotency_key)
        VALUES (?, 'medical-docs', ? || '/direct.pdf', 'direct.pdf', 'application/pdf', 10, ?)""",
        p, p.toString(), "direct-" + UUID.randomUUID()));
    m.put("shell_files update", (a, c) -> write(c,
        "UPDATE public.shell_files SET filename = filename WHERE patient_id = ?", p));
    m.put("shell_files delete", (a, c) -> write(c, "DELETE FROM public.shell_files WHERE patient_id = ?", p));
    // document_texts
    m.put("document_texts select", (a, c) -> rows(c, "SELECT count(*) FROM public.document_texts WHERE patient_id = ?", p));
    m.put("document_texts insert", (a, c) -> write(c, """
        INSERT INTO public.document_texts (patient_id, shell_file_id, job_id, text, processor)
        VALUES (?, ?, ?, 'forged', 'matrix')""", p, shellFileWithoutText, extractionJob));
    m.put("document_texts update", (a, c) -> write(c,
        "UPDATE public.document_texts SET model = model WHERE patient_id = ?", p));
    m.put("document_texts delete", (a, c) -> write(c, "DELETE FROM public.document_texts WHERE patient_id = ?", p));
    // clinical_events
    m.put("clinical_events:allergy select", (a, c) -> rows(c,
        "SELECT count(*) FROM public.clinical_events WHERE patient_id = ? AND event_type = 'allergy'", p));
    m.put("clinical_events:observation select", (a, c) -> rows(c,
        "SELECT count(*) FROM public.clinical_events WHERE patient_id = ? AND event_type = 'observation'", p));
    m.put("clinical_events insert", (a, c) -> write(c, """
        INSERT INTO public.clinical_events (patient_id, shell_file_id, job_id, ordinal, event_type, name)
        VALUES (?, ?, ?, 99, 'allergy', 'Forged')""", p, shellFile, extractionJob));
    m.put("clinical_events update", (a, c) -> write(c,
        "UPDATE public.clinical_events SET name = name WHERE patient_id = ?", p));
    m.put("clinical_events delete", (a, c) -> write(c, "DELETE FROM public.clinical_events WHERE patient_id = ?", p));
    // upload_settings
    m.put("upload_settings select", (a, c) -> rows(c, "SELECT count(*) FROM public.upload_settings"));
    m.put("upload_settings insert", (a, c) -> write(c, "INSERT INTO public.upload_settings (id) VALUES (true)"));
    m.put("upload_settings update", (a, c) -> write(c,
        "UPDATE public.upload_settings SET max_size_bytes = max_size_bytes"));
    m.put("upload_settings delete", (a, c) -> write(c, "DELETE FROM public.upload_settings"));
    // job_queue
    m.put("job_queue select", (a, c) -> rows(c, "SELECT count(*) FROM public.job_queue WHERE patient_id = ?", p));
    m.put("job_queue insert", (a, c) -> write(c,
        "INSERT INTO public.job_queue (job_type, idempotency_key) VALUES ('forged', ?)", UUID.randomUUID().toString()));
    m.put("job_queue update", (a, c) -> write(c,
        "UPDATE public.job_queue SET priority = priority WHERE patient_id = ?", p));
    m.put("job_queue delete", (a, c) -> write(c, "DELETE FROM public.job_queue WHERE patient_id = ?", p));
    // job_history (finished jobs, V081) and the view over both tables
    // (the view is not updatable: only its read is a cell)
    m.put("jobs select", (a, c) -> rows(c, "SELECT count(*) FROM public.jobs WHERE patient_id = ?", p));
    for (String t : List.of("job_history")) {
      m.put(t + " select", (a, c) -> rows(c, "SELECT count(*) FROM public." + t + " WHERE patient_id = ?", p));
      m.put(t + " insert", (a, c) -> write(c, "INSERT INTO public." + t + " (id, job_type, job_lane, payload, status,"
          + " priority, scheduled_at, created_at, updated_at, attempt, max_attempts, error_history, idempotency_key,"
          + " correlation_id, finished_at) VALUES (gen_random_uuid(), 'forged', 'default', '{}', 'completed', 5, now(),"
          + " now(), now(), 1, 5, '[]', 'forged', gen_random_uuid(), now())"));
      m.put(t + " update", (a, c) -> write(c, "UPDATE public." + t + " SET priority = priority WHERE patient_id = ?", p));
      m.put(t + " delete", (a, c) -> write(c, "DELETE FROM public." + t + " WHERE patient_id = ?", p));
    }
    // audit_log
    m.put("audit_log select", (a, c) -> rows(c, "SELECT count(*) FROM public.audit_log WHERE patient_id = ?", p));
    m.put("audit_log insert", (a, c) -> write(c,
        "INSERT INTO public.audit_log (table_name, operation, actor, db_user) VALUES ('x', 'forged', 'x', 'x')"));
    m.put("audit_log update", (a, c) -> write(c, "UPDATE public.audit_log SET reason = reason WHERE patient_id = ?", p));
    m.put("audit_log delete", (a, c) -> write(c, "DELETE FROM public.audit_log WHERE patient_id = ?", p));
    // Flyway's history table
    m.put("patient_erasures select", (a, c) -> rows(c, "SELECT count(*) FROM public.patient_erasures"));
    m.put("patient_erasures insert", (a, c) -> write(c,
        "INSERT INTO public.patient_erasures (patient_id, reason, requested_by) VALUES (?, 'matrix', 'matrix')", p));
    m.put("patient_erasures update", (a, c) -> write(c, "UPDATE public.patient_erasures SET reason = reason"));
    m.put("patient_erasures delete", (a, c) -> write(c, "DELETE FROM public.patient_erasures"));
    m.put("queuepilot_schema_history select", (a, c) -> rows(c, "SELECT count(*) FROM public.queuepilot_schema_history"));
    m.put("queuepilot_schema_history insert", (a, c) -> write(c, """
        INSERT INTO public.queuepilot_schema_history (installed_rank, description, type, script, installed_by, execution_time, success)
        VALUES (9999, 'forged', 'SQL', 'forged.sql', 'x', 0, true)"""));
    m.put("queuepilot_schema_history update", (a, c) -> write(c,
        "UPDATE public.queuepilot_schema_history SET success = success"));
    m.put("queuepilot_schema_history delete", (a, c) -> write(c, "DELETE FROM public.queuepilot_schema_history"));
    // the shared token budget (V020; API roles have nothing since V051)
    m.put("token_budget select", (a, c) -> rows(c, "SELECT count(*) FROM public.token_budget"));
    m.put("token_budget insert", (a, c) -> write(c,
        "INSERT INTO public.token_budget (name, tokens_per_window, requests_per_window) VALUES ('forged', 1, 1)"));
    m.put("token_budget update", (a, c) -> write(c, "UPDATE public.token_budget SET tokens_per_window = 1"));
    m.put("token_budget delete", (a, c) -> write(c, "DELETE FROM public.token_budget"));
    m.put("token_budget_reservation select", (a, c) -> rows(c, "SELECT count(*) FROM public.token_budget_reservation"));
    m.put("token_budget_reservation insert", (a, c) -> write(c, """
        INSERT INTO public.token_budget_reservation (budget_name, tokens, requests, reserved_at, active_until)
        VALUES ('matrix', 1, 1, now(), '2094-01-01')"""));
    m.put("token_budget_reservation update", (a, c) -> write(c,
        "UPDATE public.token_budget_reservation SET active_until = '2094-01-01'"));
    m.put("token_budget_reservation delete", (a, c) -> write(c, "DELETE FROM public.token_budget_reservation"));
    m.put("configure_token_budget call", (a, c) -> call(c, "SELECT public.configure_token_budget('matrix', 1, 1, 60)"));
    m.put("token_budget_exists call", (a, c) -> call(c, "SELECT public.token_budget_exists('matrix')"));
    m.put("reserve_tokens call", (a, c) -> call(c, "SELECT * FROM public.reserve_tokens('matrix', 1)"));
    m.put("settle_tokens call", (a, c) -> call(c, "SELECT public.settle_tokens(?, 0)", matrixReservation));
    m.put("block_token_budget call", (a, c) -> call(c, "SELECT public.block_token_budget('matrix', 1000, 'matrix')"));
    m.put("token_budget_status call", (a, c) -> call(c, "SELECT * FROM public.token_budget_status('matrix')"));
    // storage
    m.put("storage.objects select", (a, c) -> rows(c,
        "SELECT count(*) FROM storage.objects WHERE bucket_id = 'medical-docs' AND name LIKE ? || '/%'", p.toString()));
    m.put("storage.objects insert", (a, c) -> write(c,
        "INSERT INTO storage.objects (bucket_id, name) VALUES ('medical-docs', ? || '/upload-' || ? || '.pdf')",
        p.toString(), a.column()));
    m.put("storage.objects update", (a, c) -> write(c,
        "UPDATE storage.objects SET metadata = metadata WHERE bucket_id = 'medical-docs' AND name LIKE ? || '/%'",
        p.toString()));
    m.put("storage.objects delete", (a, c) -> write(c,
        "DELETE FROM storage.objects WHERE bucket_id = 'medical-docs' AND name LIKE ? || '/%'", p.toString()));
    m.put("storage.buckets select", (a, c) -> rows(c, "SELECT count(*) FROM storage.buckets WHERE id = 'medical-docs'"));
    m.put("storage.buckets insert", (a, c) -> write(c,
        "INSERT INTO storage.buckets (id, name) VALUES ('matrix-bucket', 'matrix-bucket')"));
    m.put("storage.buckets update", (a, c) -> write(c,
        "UPDATE storage.buckets SET public = public WHERE id = 'medical-docs'"));
    m.put("storage.buckets delete", (a, c) -> write(c, "DELETE FROM storage.buckets WHERE id = 'scratch'"));
    // access checks
    m.put("has_profile_access:self call", (a, c) -> bool(c, "SELECT public.has_profile_access(?, ?)", a.self(), p));
    m.put("has_profile_access_level:self:rw call", (a, c) -> bool(c,
        "SELECT public.has_profile_access_level(?, ?, 'read_write')", a.self(), p));
    m.put("has_profile_access_level:probe call", (a, c) -> bool(c,
        "SELECT public.has_profile_access_level(?, ?, 'read_only')", world.owner, p));
    m.put("profile_access_level_of call", (a, c) -> call(c, "SELECT public.profile_access_level_of(?, ?)", a.self(), p));
    m.put("storage_object_patient_id call", (a, c) -> call(c,
        "SELECT public.storage_object_patient_id(? || '/x.pdf')", p.toString()));
    // the upload and write-back paths
    m.put("register_shell_file call", (a, c) -> {
      SecurityWorld.registerOn(c, p, "matrix-" + a.column(), "application/pdf", 100L);
      return "ok";
    });
    m.put("write_back_extraction call", (a, c) -> call(c,
        "SELECT public.write_back_extraction(?, ?, '{}'::jsonb, '[]'::jsonb)", extractionJob, UUID.randomUUID()));
    // the queue contract (issue 2)
    m.put("reprocess_shell_file call", (a, c) -> call(c,
        "SELECT public.reprocess_shell_file(?, 'matrix probe')", shellFile));
    // A patient id nobody has: the call runs (and is rolled back) without erasing the world.
    m.put("erase_patient_data call", (a, c) -> call(c,
        "SELECT public.erase_patient_data(?, 'matrix probe')", UUID.randomUUID()));
    m.put("audit_integrity_problems call", (a, c) -> call(c, "SELECT * FROM public.audit_integrity_problems()"));
    m.put("enqueue_job call", (a, c) -> call(c, "SELECT public.enqueue_job('matrix_probe', '{}'::jsonb, 'matrix-new')"));
    m.put("enqueue_jobs call", (a, c) -> call(c,
        "SELECT * FROM public.enqueue_jobs(ARRAY['matrix_probe'], ARRAY['{}']::jsonb[], ARRAY['matrix-new-bulk'])"));
    m.put("claim_next_job call", (a, c) -> call(c,
        "SELECT * FROM public.claim_next_job('matrix', ARRAY['no_such_type'])"));
    m.put("heartbeat_job call", (a, c) -> call(c, "SELECT public.heartbeat_job(?, ?)", pendingProbeJob, UUID.randomUUID()));
    m.put("complete_job call", (a, c) -> call(c, "SELECT public.complete_job(?, ?)", pendingProbeJob, UUID.randomUUID()));
    m.put("fail_job call", (a, c) -> call(c,
        "SELECT public.fail_job(?, ?, '{}'::jsonb)", pendingProbeJob, UUID.randomUUID()));
    m.put("release_job call", (a, c) -> call(c, "SELECT public.release_job(?, ?)", pendingProbeJob, UUID.randomUUID()));
    m.put("update_job_status call", (a, c) -> call(c,
        "SELECT public.update_job_status(?, 'cancelled')", pendingProbeJob));
    m.put("retry_job call", (a, c) -> call(c, "SELECT public.retry_job(?)", deadProbeJob));
    m.put("dead_letter_job call", (a, c) -> call(c,
        "SELECT public.dead_letter_job(?, '{\"message\":\"matrix\"}'::jsonb)", pendingProbeJob));
    m.put("cancel_job call", (a, c) -> call(c, "SELECT public.cancel_job(?)", pendingProbeJob));
    m.put("requeue_stale_jobs call", (a, c) -> call(c, "SELECT * FROM public.requeue_stale_jobs('1 hour')"));
    m.put("requeue_stale_jobs:scoped call", (a, c) -> call(c,
        "SELECT * FROM public.requeue_stale_jobs('1 hour', ARRAY['matrix_probe'], ARRAY['default'])"));
    // the batched lease-guarded functions (issue 14): a wrong lease, so nothing changes
    m.put("complete_jobs call", (a, c) -> call(c,
        "SELECT * FROM public.complete_jobs(ARRAY[?]::uuid[], ARRAY[?]::uuid[])", pendingProbeJob, UUID.randomUUID()));
    m.put("complete_and_claim_jobs call", (a, c) -> call(c,
        "SELECT * FROM public.complete_and_claim_jobs(ARRAY[?]::uuid[], ARRAY[?]::uuid[], NULL, NULL, 'matrix', ARRAY['no_such_type'])",
        pendingProbeJob, UUID.randomUUID()));
    m.put("heartbeat_jobs call", (a, c) -> call(c,
        "SELECT * FROM public.heartbeat_jobs(ARRAY[?]::uuid[], ARRAY[?]::uuid[])", pendingProbeJob, UUID.randomUUID()));
    m.put("fail_jobs call", (a, c) -> call(c,
        "SELECT * FROM public.fail_jobs(ARRAY[?]::uuid[], ARRAY[?]::uuid[], ARRAY['{}']::jsonb[])",
        pendingProbeJob, UUID.randomUUID()));
    m.put("release_jobs call", (a, c) -> call(c,
        "SELECT * FROM public.release_jobs(ARRAY[?]::uuid[], ARRAY[?]::uuid[])", pendingProbeJob, UUID.randomUUID()));
    // the history's maintenance (V081): partitions ahead, the upgrade's move of finished rows
    m.put("job_history_ensure_partitions call", (a, c) -> call(c, "SELECT public.job_history_ensure_partitions()"));
    m.put("job_queue_move_finished call", (a, c) -> call(c, "SELECT public.job_queue_move_finished(1)"));
    m.put("job_queue_check_batch call", (a, c) -> call(c,
        "SELECT public.job_queue_check_batch('matrix', ARRAY[]::uuid[], ARRAY[]::uuid[])"));
    m.put("queue_stats call", (a, c) -> call(c, "SELECT * FROM public.queue_stats()"));
    m.put("jobs_held_by_workers call", (a, c) -> call(c, "SELECT * FROM public.jobs_held_by_workers('{worker-a}')"));
    m.put("purge_finished_jobs call", (a, c) -> call(c, "SELECT public.purge_finished_jobs('3650 days', 1)"));
    m.put("log_audit_event call", (a, c) -> call(c,
        "SELECT public.log_audit_event('matrix', '1', 'PROBE', NULL, NULL, 'matrix probe')"));
    m.put("job_queue_bounded_error call", (a, c) -> call(c, "SELECT public.job_queue_bounded_error('{}'::jsonb)"));
    m.put("job_queue_backoff call", (a, c) -> call(c, "SELECT public.job_queue_backoff(1)"));
    m.put("job_queue_new_id call", (a, c) -> call(c, "SELECT public.job_queue_new_id(now(), 1)"));
    return m;
  }

  private static PreparedStatement prepare(Connection c, String sql, Object... args) throws SQLException {
    PreparedStatement ps = c.prepareStatement(sql);
    for (int i = 0; i < args.length; i++) {
      ps.setObject(i + 1, args[i]);
    }
    return ps;
  }

  private static String rows(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = prepare(c, sql, args);
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getLong(1) > 0 ? "rows" : "none";
    }
  }

  private static String write(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = prepare(c, sql, args)) {
      return ps.executeUpdate() > 0 ? "ok" : "none";
    }
  }

  private static String call(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = prepare(c, sql, args);
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        // drain: the call has run once every row is read
      }
      return "ok";
    }
  }

  private static String bool(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = prepare(c, sql, args);
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return Boolean.toString(rs.getBoolean(1));
    }
  }
}
