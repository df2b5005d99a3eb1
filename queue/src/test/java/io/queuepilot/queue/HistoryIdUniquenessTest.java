package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Since V111 job_history has no index that makes an id unique (it never had one: its primary key
 * was (id, finished_at)). A job is in exactly one of job_queue and job_history by construction:
 * every move deletes the row it copies, under the row's lock. These tests attack that with
 * repeated re-opens and concurrent movers, and check that a finished job is still found by id
 * through the BRIN index that replaced the btree.
 */
class HistoryIdUniquenessTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  private static final AtomicInteger TYPES = new AtomicInteger();
  private static PostgresJobQueue queue;
  private static Db db;

  @BeforeAll
  static void setUp() {
    queue = new PostgresJobQueue(pg.superuser());
    db = new Db(pg.superuser());
  }

  private static String newType() {
    return "hist" + TYPES.incrementAndGet();
  }

  private static long copies(UUID id) {
    return db.count("SELECT count(*) FROM public.jobs WHERE id = ?", id);
  }

  @Test
  void aJobReopenedAndFinishedAgainAndAgainIsInOneTableOnce() {
    String type = newType();
    UUID id = queue.enqueue(NewJob.of(type, "{}", type + "-key"));
    for (int round = 1; round <= 3; round++) {
      ClaimedJob held = queue.claim("w" + round, List.of(type), List.of(), 1).get(0);
      queue.cancel(id); // processing -> cancelled: out of the live table
      assertThat(copies(id)).as("after cancel, round %d", round).isEqualTo(1);
      assertThat(queue.complete(id, held.leaseToken(), "{}", 1)).as("the cancelled holder is fenced").isFalse();
      queue.retry(id, Instant.now().minusSeconds(1)); // re-open: back into the live table
      assertThat(copies(id)).as("after re-open, round %d", round).isEqualTo(1);
      assertThat(db.count("SELECT count(*) FROM public.job_history WHERE id = ?", id)).isZero();
    }
    ClaimedJob last = queue.claim("w-last", List.of(type), List.of(), 1).get(0);
    assertThat(queue.complete(id, last.leaseToken(), "{\"ok\":true}", 7)).isTrue();
    assertThat(queue.complete(id, last.leaseToken(), "{\"ok\":true}", 7)).as("a second completion").isFalse();
    assertThat(db.rows("SELECT status, attempt, tokens_used, result::text AS result FROM public.jobs WHERE id = ?", id))
        .containsExactly(java.util.Map.of("status", "completed", "attempt", 4, "tokens_used", 7, "result", "{\"ok\": true}"));
    assertThat(db.count("SELECT count(*) FROM public.job_history WHERE id = ?", id)).isEqualTo(1);
    assertThat(db.count("SELECT count(*) FROM public.job_queue WHERE id = ?", id)).isZero();
  }

  @Test
  void twoConcurrentReopensOfOneCancelledJobMoveItOnce() throws Exception {
    String type = newType();
    UUID id = queue.enqueue(NewJob.of(type, "{}", type + "-key"));
    queue.cancel(id);
    try (Connection first = pg.superuser().getConnection()) {
      first.setAutoCommit(false);
      reopen(first, id); // holds the history row's lock until commit
      CompletableFuture<String> second = CompletableFuture.supplyAsync(() -> {
        try (Connection c = pg.superuser().getConnection()) {
          reopen(c, id);
          return "moved";
        } catch (SQLException e) {
          return e.getSQLState();
        }
      });
      awaitWaitingOnALock("update_job_status");
      first.commit();
      assertThat(second.get(30, TimeUnit.SECONDS)).as("the second mover finds no row left").isEqualTo("P0002");
    }
    assertThat(copies(id)).isEqualTo(1);
    assertThat(db.<String>value("SELECT status FROM public.job_queue WHERE id = ?", id)).isEqualTo("pending");
  }

  @Test
  void twoConcurrentCompletionsUnderOneLeaseFileOneHistoryRow() throws Exception {
    String type = newType();
    UUID id = queue.enqueue(NewJob.of(type, "{}", type + "-key"));
    ClaimedJob held = queue.claim("w", List.of(type), List.of(), 1).get(0);
    try (Connection first = pg.superuser().getConnection()) {
      first.setAutoCommit(false);
      assertThat(complete(first, id, held.leaseToken())).isTrue();
      CompletableFuture<Boolean> second = CompletableFuture.supplyAsync(() -> {
        try (Connection c = pg.superuser().getConnection()) {
          return complete(c, id, held.leaseToken());
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      });
      awaitWaitingOnALock("complete_job");
      first.commit();
      assertThat(second.get(30, TimeUnit.SECONDS)).as("the second completion deleted nothing").isFalse();
    }
    assertThat(db.count("SELECT count(*) FROM public.job_history WHERE id = ?", id)).isEqualTo(1);
    assertThat(copies(id)).isEqualTo(1);
  }

  @Test
  void aFinishedJobIsFoundByIdThroughTheBrinIndexReadingOnlyItsBlockRange() {
    String type = newType();
    List<UUID> ids = queue.enqueueAll(java.util.stream.IntStream.range(0, 20_000)
        .mapToObj(i -> NewJob.of(type, "{\"i\":" + i + "}", type + "-" + i)).toList());
    db.exec("""
        DO $$
        DECLARE n integer;
        BEGIN
          LOOP
            WITH c AS (SELECT id, lease_token FROM public.claim_next_job('w', ARRAY['%s'], NULL, 1000))
            SELECT count(*) INTO n FROM public.complete_jobs((SELECT array_agg(id) FROM c), (SELECT array_agg(lease_token) FROM c));
            EXIT WHEN NOT EXISTS (SELECT 1 FROM public.job_queue WHERE job_type = '%s');
          END LOOP;
        END
        $$""".formatted(type, type));
    String partition = db.value(
        "SELECT tableoid::regclass::text FROM public.job_history WHERE id = ? AND finished_at > now() - interval '1 hour'",
        ids.get(0));
    String idIndex = db.value("""
        SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          JOIN pg_index x ON x.indexrelid = c.oid
         WHERE i.inhparent = 'public.job_history_id_brin'::regclass AND x.indrelid = ?::regclass""", partition);
    db.exec("SELECT brin_summarize_new_values(('queuepilot_history.' || ?)::regclass)", idIndex);
    db.exec("ANALYZE " + partition);
    long pages = db.count("SELECT relpages FROM pg_class WHERE oid = ?::regclass", partition);
    assertThat(pages).as("the partition spans many block ranges").isGreaterThan(200);

    UUID probe = ids.get(12_345);
    String plan = String.join("\n", db.rows("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) "
        + "SELECT row_to_json(j)::text FROM public.jobs j WHERE j.id = '" + probe + "'").stream()
        .map(r -> String.valueOf(r.values().iterator().next())).toList());
    assertThat(plan).contains("Bitmap Index Scan on " + idIndex)
        .doesNotContain("Seq Scan on " + partition.substring(partition.indexOf('.') + 1));
    long heapBlocks = java.util.regex.Pattern.compile("Heap Blocks: lossy=(\\d+)").matcher(plan).results()
        .mapToLong(m -> Long.parseLong(m.group(1))).sum();
    assertThat(heapBlocks).as("blocks read for one id out of %d: %s", pages, plan).isBetween(1L, 64L);
    assertThat(db.<String>value("SELECT status FROM public.jobs WHERE id = ?", probe)).isEqualTo("completed");
  }

  private static void reopen(Connection c, UUID id) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT public.update_job_status(?, 'pending')")) {
      ps.setObject(1, id);
      ps.execute();
    }
  }

  private static boolean complete(Connection c, UUID id, UUID lease) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT public.complete_job(?, ?)")) {
      ps.setObject(1, id);
      ps.setObject(2, lease);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  private static void awaitWaitingOnALock(String call) {
    await().atMost(Duration.ofSeconds(30)).until(() -> db.count(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ?",
        "%" + call + "%") == 1);
  }
}
