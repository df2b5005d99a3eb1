package io.queuepilot.controller.k8s;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscalerBuilder;
import io.queuepilot.controller.crd.QueueScaler;
import io.queuepilot.controller.crd.QueueScalerSpec;
import io.queuepilot.controller.crd.ScaleTargetRef;
import io.queuepilot.queue.JobQueue;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;

/** Kubernetes objects and queue contents the reconciler tests and ITs build on. */
public final class Fixtures {

  private Fixtures() {}

  public static Secret databaseSecret(String namespace, String name, String url, String user, String password) {
    return new SecretBuilder().withNewMetadata().withName(name).withNamespace(namespace).endMetadata()
        .withStringData(Map.of("url", url, "username", user, "password", password)).build();
  }

  public static Deployment deployment(String namespace, String name, int replicas) {
    return new DeploymentBuilder()
        .withNewMetadata().withName(name).withNamespace(namespace).endMetadata()
        .withNewSpec().withReplicas(replicas)
          .withNewSelector().addToMatchLabels("app", name).endSelector()
          .withNewTemplate().withNewMetadata().addToLabels("app", name).endMetadata()
            .withNewSpec().addNewContainer().withName("worker").withImage("queuepilot/worker:test").endContainer().endSpec()
          .endTemplate()
        .endSpec().build();
  }

  public static HorizontalPodAutoscaler hpa(String namespace, String name, String deployment) {
    return new HorizontalPodAutoscalerBuilder()
        .withNewMetadata().withName(name).withNamespace(namespace).endMetadata()
        .withNewSpec().withMinReplicas(1).withMaxReplicas(5)
          .withNewScaleTargetRef().withApiVersion("apps/v1").withKind("Deployment").withName(deployment).endScaleTargetRef()
        .endSpec().build();
  }

  public static QueueScaler scaler(String namespace, String name, String deployment, String secret, String jobType) {
    QueueScaler qs = new QueueScaler();
    qs.getMetadata().setName(name);
    qs.getMetadata().setNamespace(namespace);
    QueueScalerSpec spec = new QueueScalerSpec();
    spec.scaleTargetRef = ScaleTargetRef.deployment(deployment);
    spec.databaseSecretRef = new io.queuepilot.controller.crd.SecretRef(secret);
    spec.jobTypes = List.of(jobType);
    spec.minReplicas = 0;
    spec.maxReplicas = 20;
    spec.concurrencyPerReplica = 4;
    qs.setSpec(spec);
    return qs;
  }

  /** Enqueues {@code n} jobs of {@code jobType}, each its own transaction (one NOTIFY each). */
  public static void enqueue(JobQueue q, String jobType, int n) {
    for (int i = 0; i < n; i++) {
      q.enqueue(JobQueue.NewJob.of(jobType, "{\"n\":" + i + "}", jobType + ":" + UUID.randomUUID()));
    }
  }

  /** Claims one job of {@code jobType} as a worker and backdates its heartbeat by ten minutes. */
  public static UUID staleJob(JobQueue q, DataSource superuser, String jobType) throws SQLException {
    return staleJob(q, superuser, jobType, null);
  }

  /** A job of {@code jobType} in {@code lane} (null: the default lane) claimed by a worker that died ten minutes ago. */
  public static UUID staleJob(JobQueue q, DataSource superuser, String jobType, String lane) throws SQLException {
    q.enqueue(new JobQueue.NewJob(jobType, lane, "{}", jobType + ":stale:" + UUID.randomUUID(), null, null, null, null,
        null, null, null));
    List<JobQueue.ClaimedJob> claimed = q.claim("worker-that-died", List.of(jobType), List.of(), 1);
    if (claimed.size() != 1) throw new IllegalStateException("expected to claim one " + jobType + " job, got " + claimed);
    UUID id = claimed.get(0).id();
    try (Connection c = superuser.getConnection(); Statement s = c.createStatement()) {
      // Test set-up only: simulate a worker whose last heartbeat was ten minutes ago.
      s.executeUpdate("UPDATE public.job_queue SET heartbeat_at = now() - interval '10 minutes' WHERE id = '" + id + "'");
    }
    return id;
  }

  /** Marks every pending job of {@code jobType} completed (the queue drained). */
  public static int drain(DataSource superuser, String jobType) throws SQLException {
    try (Connection c = superuser.getConnection(); Statement s = c.createStatement()) {
      // cancel_job moves each job into job_history (finished jobs leave the live table since V081)
      try (ResultSet rs = s.executeQuery("WITH cancelled AS (SELECT public.cancel_job(j.id) FROM public.job_queue j "
          + "WHERE j.job_type = '" + jobType + "' AND j.status IN ('pending', 'processing')) SELECT count(*) FROM cancelled")) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }
}
