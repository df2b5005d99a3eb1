package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * V110: job ids are UUID version 7 in enqueue order (what keeps a claim's and a completion's
 * index entries on adjacent pages), and nothing else about a job changes: unique ids, claims in
 * priority order whatever the id, the lease still fences.
 */
class TimeOrderedJobIdsTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static DataSource worker;
  static Db su;

  @BeforeAll
  static void logins() throws SQLException {
    worker = pg.loginAs("time_ordered_worker", "queue_worker");
    su = new Db(pg.superuser());
  }

  /** The Unix milliseconds in a version 7 id's first 48 bits. */
  static long millisOf(UUID id) {
    return id.getMostSignificantBits() >>> 16;
  }

  @Test
  void enqueueJobsHandsOutVersion7IdsInElementOrder() {
    String run = UUID.randomUUID().toString();
    long before = Instant.now().toEpochMilli();
    List<UUID> ids = new PostgresJobQueue(worker).enqueueAll(
        IntStream.range(0, 5000).mapToObj(i -> NewJob.of("ordered.ids", "{}", run + ":" + i)).toList());
    long after = Instant.now().toEpochMilli();

    assertThat(ids).hasSize(5000).doesNotHaveDuplicates();
    for (UUID id : ids) {
      assertThat(id.version()).as("version of %s", id).isEqualTo(7);
      assertThat(id.variant()).as("variant of %s", id).isEqualTo(2);
      assertThat(millisOf(id)).as("milliseconds of %s", id).isBetween(before - 1000, after + 1000);
    }
    // PostgreSQL orders uuids by their bytes, unsigned: the element order is the index order
    assertThat(su.count("""
        SELECT count(*) FROM (SELECT id, lag(id) OVER (ORDER BY ord) AS previous
                                FROM unnest(?::uuid[]) WITH ORDINALITY AS t(id, ord)) AS s
         WHERE s.previous >= s.id""", (Object) ids.toArray(new UUID[0])))
        .as("ids out of element order").isZero();
  }

  @Test
  void enqueueJobHandsOutAVersion7IdOfNow() {
    String run = UUID.randomUUID().toString();
    long before = Instant.now().toEpochMilli();
    UUID id = new PostgresJobQueue(worker).enqueue(NewJob.of("ordered.ids", "{}", run + ":single"));
    long after = Instant.now().toEpochMilli();
    assertThat(id.version()).isEqualTo(7);
    assertThat(id.variant()).isEqualTo(2);
    assertThat(millisOf(id)).isBetween(before - 1000, after + 1000);
  }

  @Test
  void aClaimStillTakesTheMostUrgentJobNotTheSmallestId() {
    String run = UUID.randomUUID().toString();
    PostgresJobQueue q = new PostgresJobQueue(worker);
    String type = "ordered.claim." + run.substring(0, 8);
    List<UUID> ids = new ArrayList<>(q.enqueueAll(List.of(
        new NewJob(type, "default", "{}", run + ":late", null, null, null, 9, null, null, null),
        new NewJob(type, "default", "{}", run + ":urgent", null, null, null, 1, null, null, null))));
    assertThat(ids.get(0)).as("the first element has the smaller id").isLessThan(ids.get(1));
    ClaimedJob first = q.claim("ordered-worker", List.of(type), List.of(), 1).get(0);
    assertThat(first.id()).as("priority 1 first, whatever the ids").isEqualTo(ids.get(1));
    // and its lease fences as before: a wrong token completes nothing, the right one does
    assertThat(q.complete(first.id(), UUID.randomUUID(), null, null)).isFalse();
    assertThat(q.complete(first.id(), first.leaseToken(), null, null)).isTrue();
    assertThat(su.count("SELECT count(*) FROM public.job_history WHERE id = ? AND lease_token = ?",
        first.id(), first.leaseToken())).isEqualTo(1);
  }
}
