package io.queuepilot.controller.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.queuepilot.controller.target.PodDeletionCosts;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The test world itself (no QueuePilot code acting): on {@link KwokCluster} a Deployment's pods
 * are created by the real ReplicaSet controller, placed by the real scheduler on KWOK's fake
 * nodes and become Ready; scaling down deletes the pods with the lowest
 * {@code controller.kubernetes.io/pod-deletion-cost}, even when they are the oldest (which the
 * ReplicaSet controller would otherwise keep).
 */
class KwokClusterIT {

  static final String NS = "kwok-world";
  static KwokCluster cluster;
  static KubernetesClient client;

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(KwokCluster.missing().isEmpty(), KwokCluster.missing().orElse(""));
    cluster = KwokCluster.start("kwok-world", 2);
    client = cluster.client();
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
  }

  @AfterAll
  static void stop() {
    if (cluster != null) cluster.close();
  }

  static Deployment deployment(String name, int replicas) {
    return new DeploymentBuilder().withNewMetadata().withName(name).withNamespace(NS).endMetadata()
        .withNewSpec().withReplicas(replicas)
        .withNewSelector().addToMatchLabels("app", name).endSelector()
        .withNewTemplate().withNewMetadata().addToLabels("app", name).endMetadata()
        .withNewSpec().addNewContainer().withName("worker").withImage("registry.invalid/queuepilot-worker:test")
        .endContainer().endSpec().endTemplate().endSpec().build();
  }

  static List<Pod> pods(String app) {
    return client.pods().inNamespace(NS).withLabel("app", app).list().getItems();
  }

  static Set<String> readyPodNames(String app) {
    return pods(app).stream().filter(KwokCluster::ready).map(p -> p.getMetadata().getName()).collect(Collectors.toSet());
  }

  @Test
  void podsAreScheduledOnFakeNodesAndBecomeReady() {
    client.resource(deployment("web", 3)).create();
    await().atMost(Duration.ofSeconds(60)).until(() -> readyPodNames("web").size() == 3);
    List<Pod> pods = pods("web");
    assertThat(pods).allSatisfy(p -> assertThat(p.getSpec().getNodeName()).startsWith("kwok-node-"));
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      Deployment d = client.apps().deployments().inNamespace(NS).withName("web").get();
      return d.getStatus() != null && Integer.valueOf(3).equals(d.getStatus().getReadyReplicas());
    });
    cluster.assertAllRunning();
  }

  @Test
  void scaleDownDeletesTheLowestDeletionCostPodsEvenWhenTheyAreTheNewest() {
    client.resource(deployment("cost", 2)).create();
    await().atMost(Duration.ofSeconds(60)).until(() -> readyPodNames("cost").size() == 2);
    Set<String> older = readyPodNames("cost");
    // The ReplicaSet controller ranks ready pods by log2 of how long they have been ready:
    // let the first two be ready clearly longer than the next two will be.
    await().atMost(Duration.ofSeconds(30)).until(() -> pods("cost").stream()
        .allMatch(p -> KwokCluster.readyFor(p).compareTo(Duration.ofSeconds(5)) >= 0));
    client.apps().deployments().inNamespace(NS).withName("cost").scale(4);
    await().atMost(Duration.ofSeconds(60)).until(() -> readyPodNames("cost").size() == 4);
    List<String> newer = readyPodNames("cost").stream().filter(n -> !older.contains(n)).sorted().toList();
    assertThat(newer).hasSize(2);
    // Protect the two newest pods: without a cost the ReplicaSet controller deletes the
    // most recently ready pods first, so this only passes because of the annotation.
    for (String name : newer) {
      client.pods().inNamespace(NS).withName(name).edit(p -> {
        p.getMetadata().getAnnotations().put(PodDeletionCosts.ANNOTATION, "5");
        return p;
      });
    }
    client.apps().deployments().inNamespace(NS).withName("cost").scale(2);

    await().atMost(Duration.ofSeconds(60)).until(() -> pods("cost").size() == 2);
    assertThat(readyPodNames("cost")).containsExactlyInAnyOrderElementsOf(newer);
    Map<String, String> costs = pods("cost").stream().sorted(Comparator.comparing(p -> p.getMetadata().getName()))
        .collect(Collectors.toMap(p -> p.getMetadata().getName(),
            p -> p.getMetadata().getAnnotations().get(PodDeletionCosts.ANNOTATION)));
    assertThat(costs).containsOnlyKeys(newer).containsValues("5");
    cluster.assertAllRunning();
  }
}
