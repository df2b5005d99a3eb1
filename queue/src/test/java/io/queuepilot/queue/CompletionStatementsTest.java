package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.testing.PostgresExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Since V114 complete_and_claim_jobs runs the completion and the claim itself instead of calling
 * complete_jobs and claim_next_job (one nested SECURITY DEFINER call and one copy of every claimed
 * row less). The rules must still have one definition: this compares the statements as the
 * database holds them, so a migration that changes one function without the other fails here.
 */
class CompletionStatementsTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static final Pattern COMPLETION = Pattern.compile(
      "IF p_job_ids IS NULL OR p_lease_tokens IS NULL.*?-- \\[completion rule: end\\]", Pattern.DOTALL);
  static final Pattern CLAIM = Pattern.compile("UPDATE public\\.job_queue AS j\\s+SET status\\s+= 'processing'.*?j\\.created_at;",
      Pattern.DOTALL);

  static String source(String function) {
    return new Db(pg.superuser()).value(
        "SELECT prosrc FROM pg_proc WHERE oid = to_regproc(?)::oid", "public." + function);
  }

  static List<String> statements(Pattern p, String source) {
    List<String> found = new ArrayList<>();
    Matcher m = p.matcher(source);
    while (m.find()) {
      found.add(m.group().replaceAll("\\s+", " ").trim());
    }
    return found;
  }

  @Test
  void completeAndClaimJobsRunsCompleteJobsOwnCompletion() {
    List<String> own = statements(COMPLETION, source("complete_jobs"));
    assertThat(own).as("complete_jobs' checks and statement").hasSize(1);
    assertThat(own.get(0)).contains("DELETE FROM public.job_queue", "INSERT INTO public.job_history");
    assertThat(statements(COMPLETION, source("complete_and_claim_jobs"))).containsExactlyElementsOf(own);
  }

  @Test
  void completeAndClaimJobsRunsClaimNextJobsOwnClaims() {
    List<String> own = statements(CLAIM, source("claim_next_job"));
    assertThat(own).as("claim_next_job's two statements (all lanes, named lanes)").hasSize(2);
    List<String> inline = statements(CLAIM, source("complete_and_claim_jobs")).stream()
        .map(s -> s.replace("RETURNING NULL::uuid, j.id,", "RETURNING j.id,")).toList();
    assertThat(inline).containsExactlyElementsOf(own);
  }
}
