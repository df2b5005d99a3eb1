package io.queuepilot.helm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.authentication.TokenRequest;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.queuepilot.controller.k8s.KubernetesController;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/**
 * What the chart's controller ServiceAccount may and may not do, checked with a real token of
 * that ServiceAccount (TokenRequest API) against a real API server. Shared by every cluster
 * the chart is installed on (kube-api-test here; k3s where Docker exists).
 */
final class ControllerPermissions {

  /** Names of what the chart installed and of the fixtures the checks use. */
  record Names(String namespace, String serviceAccount, String targetDeployment, String otherDeployment,
               String databaseSecret, String otherSecret, String podForExec) {}

  private final KubernetesClient admin;
  private final Names names;

  ControllerPermissions(KubernetesClient admin, Names names) {
    this.admin = admin;
    this.names = names;
  }

  /** A client that authenticates only with a fresh token of the controller's ServiceAccount. */
  KubernetesClient controllerClient() {
    TokenRequest issued = admin.serviceAccounts().inNamespace(names.namespace()).withName(names.serviceAccount())
        .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(600L).endSpec().build());
    String token = issued.getStatus().getToken();
    assertThat(token).as("TokenRequest for %s", names.serviceAccount()).isNotBlank();
    Config adminConfig = admin.getConfiguration();
    Config config = new ConfigBuilder(Config.empty())
        .withMasterUrl(adminConfig.getMasterUrl())
        .withCaCertData(adminConfig.getCaCertData())
        .withCaCertFile(adminConfig.getCaCertFile())
        .withOauthToken(token)
        .withNamespace(names.namespace())
        .build();
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  void assertCanDoItsJob(KubernetesClient controller) {
    String ns = names.namespace();
    // scale the target Deployment through the scale subresource
    controller.apps().deployments().inNamespace(ns).withName(names.targetDeployment()).scale(3);
    assertThat(admin.apps().deployments().inNamespace(ns).withName(names.targetDeployment()).get()
        .getSpec().getReplicas()).isEqualTo(3);
    assertThat(controller.apps().deployments().inNamespace(ns).withName(names.targetDeployment()).get()).isNotNull();

    // write an Event about it
    controller.v1().events().inNamespace(ns).resource(new EventBuilder()
        .withNewMetadata().withName("queuepilot-scaled-" + System.nanoTime()).endMetadata()
        .withInvolvedObject(new ObjectReferenceBuilder().withApiVersion("apps/v1").withKind("Deployment")
            .withNamespace(ns).withName(names.targetDeployment()).build())
        .withReason("Scaled").withMessage("replicas 1 -> 3").withType("Normal")
        .withFirstTimestamp("2026-01-01T00:00:00Z")
        .build()).create();

    // the leader-election Lease: may create one, then read and renew (update/patch) only the
    // controller's own (asked of the authorizer: a controller may be holding it right now)
    for (String verb : new String[] {"get", "update", "patch"}) {
      assertThat(canI(controller, verb, "coordination.k8s.io", "leases", "", null, KubernetesController.LEASE_NAME))
          .as(verb + " Lease " + KubernetesController.LEASE_NAME).isTrue();
    }
    Lease created = controller.leases().inNamespace(ns).resource(new LeaseBuilder()
        .withNewMetadata().withName("queuepilot-permission-check-lease").endMetadata()
        .withNewSpec().withHolderIdentity("controller-0").withLeaseDurationSeconds(15).endSpec().build()).create();
    assertThat(created.getSpec().getHolderIdentity()).isEqualTo("controller-0");
    assertForbidden(() -> controller.leases().inNamespace(ns).withName("queuepilot-permission-check-lease").get());
    admin.leases().inNamespace(ns).withName("queuepilot-permission-check-lease").delete();

    // read the database Secret it names
    Secret secret = controller.secrets().inNamespace(ns).withName(names.databaseSecret()).get();
    assertThat(secret.getData()).containsKeys("url", "username", "password");

    // list the worker pods and set their deletion cost (the only thing it changes on a pod)
    assertThat(controller.pods().inNamespace(ns).list().getItems()).extracting(p -> p.getMetadata().getName())
        .contains(names.podForExec());
    controller.pods().inNamespace(ns).withName(names.podForExec()).patch(
        io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
        "{\"metadata\":{\"annotations\":{\"controller.kubernetes.io/pod-deletion-cost\":\"2\"}}}");
    assertThat(admin.pods().inNamespace(ns).withName(names.podForExec()).get().getMetadata().getAnnotations())
        .containsEntry("controller.kubernetes.io/pod-deletion-cost", "2");

    // read QueueScalers and patch their status (asked of the authorizer: the CRD may not be installed)
    for (String verb : new String[] {"get", "list", "watch"}) {
      assertThat(canI(controller, verb, "queuepilot.io", "queuescalers", "", null)).as(verb + " queuescalers").isTrue();
    }
    assertThat(canI(controller, "patch", "queuepilot.io", "queuescalers", "status", null)).isTrue();
  }

  void assertIsRefusedEverythingElse(KubernetesClient controller) {
    String ns = names.namespace();
    var other = controller.apps().deployments().inNamespace(ns).withName(names.otherDeployment());
    assertForbidden(other::get);
    assertForbidden(() -> other.scale(5));
    assertThat(admin.apps().deployments().inNamespace(ns).withName(names.otherDeployment()).get()
        .getSpec().getReplicas()).isEqualTo(1);
    assertForbidden(() -> controller.apps().deployments().inNamespace(ns).list());
    assertForbidden(() -> controller.apps().deployments().inNamespace(ns).withName(names.targetDeployment()).delete());
    assertForbidden(() -> controller.apps().deployments().inNamespace(ns).withName(names.targetDeployment())
        .edit(d -> { d.getSpec().getTemplate().getSpec().getContainers().get(0).setImage("attacker/image"); return d; }));

    assertForbidden(() -> controller.secrets().inNamespace(ns).withName(names.otherSecret()).get());
    assertForbidden(() -> controller.secrets().inNamespace(ns).list());
    assertForbidden(() -> controller.pods().inNamespace(ns).withName(names.podForExec()).delete());
    assertThat(canI(controller, "create", "", "pods", "", null)).isFalse();
    assertThat(canI(controller, "delete", "", "pods", "", null)).isFalse();
    assertThat(canI(controller, "patch", "", "pods", "status", null)).isFalse();
    assertThat(canI(controller, "create", "", "pods", "eviction", null)).isFalse();
    assertForbidden(() -> controller.namespaces().list());
    assertThat(canI(controller, "delete", "queuepilot.io", "queuescalers", "", null)).isFalse();
    assertThat(canI(controller, "update", "queuepilot.io", "queuescalers", "", null)).isFalse();
    assertThat(canI(controller, "get", "", "secrets", "", "default")).isFalse();
    assertThat(canI(controller, "update", "coordination.k8s.io", "leases", "", null, "some-other-lease")).isFalse();

    // pods/exec: the API server refuses before it even looks at the (never running) pod
    assertThat(execStatus(controller)).isEqualTo(403);
    assertThat(execStatus(admin)).as("admin passes authorization, so the 403 above is RBAC").isNotEqualTo(403);
  }

  private int execStatus(KubernetesClient client) {
    String url = client.getConfiguration().getMasterUrl().replaceAll("/$", "") + "/api/v1/namespaces/"
        + names.namespace() + "/pods/" + names.podForExec() + "/exec?command=id&stdout=true";
    HttpRequest request = client.getHttpClient().newHttpRequestBuilder().uri(url).post("application/json", "").build();
    try {
      HttpResponse<String> response = client.getHttpClient().sendAsync(request, String.class).get(30, TimeUnit.SECONDS);
      return response.code();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("exec request failed: " + e.getMessage(), e);
    }
  }

  private static boolean canI(KubernetesClient client, String verb, String group, String resource, String subresource,
                              String namespace) {
    return canI(client, verb, group, resource, subresource, namespace, null);
  }

  private static boolean canI(KubernetesClient client, String verb, String group, String resource, String subresource,
                              String namespace, String name) {
    SelfSubjectAccessReview review = client.authorization().v1().selfSubjectAccessReview().create(
        new SelfSubjectAccessReviewBuilder().withNewSpec().withNewResourceAttributes()
            .withVerb(verb).withGroup(group).withResource(resource).withSubresource(subresource).withName(name)
            .withNamespace(namespace == null ? client.getNamespace() : namespace)
            .endResourceAttributes().endSpec().build());
    return review.getStatus().getAllowed();
  }

  private static void assertForbidden(ThrowingCallable call) {
    assertThatThrownBy(call).isInstanceOfSatisfying(KubernetesClientException.class,
        e -> assertThat(e.getCode()).as(e.getMessage()).isEqualTo(403));
  }
}
