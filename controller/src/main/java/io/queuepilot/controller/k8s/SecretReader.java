package io.queuepilot.controller.k8s;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.queuepilot.controller.db.DatabaseConfigException;
import io.queuepilot.controller.db.DatabaseCredentials;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/** Reads the Secrets a QueueScaler names: database credentials and the Render API key. */
public final class SecretReader {

  private final KubernetesClient client;

  public SecretReader(KubernetesClient client) {
    this.client = client;
  }

  /** Keys {@code url}, {@code username}, {@code password} (required) and {@code listenUrl} (optional). */
  public DatabaseCredentials database(String namespace, String name) throws DatabaseConfigException {
    if (name == null || name.isBlank()) throw new DatabaseConfigException("spec.databaseSecretRef.name is required in Kubernetes mode");
    Map<String, String> data = read(namespace, name);
    return new DatabaseCredentials(required(data, namespace, name, "url"), required(data, namespace, name, "username"),
        required(data, namespace, name, "password"), data.get("listenUrl"));
  }

  /** The Render API key: key {@code ref.key} (default apiKey) of Secret {@code ref.name}. */
  public String renderApiKey(String namespace, io.queuepilot.controller.crd.ScaleTargetRef.SecretKeyRef ref)
      throws DatabaseConfigException {
    if (ref == null || ref.name == null || ref.name.isBlank()) {
      throw new DatabaseConfigException("spec.scaleTargetRef.apiKeySecretRef is required when kind is RenderService");
    }
    return required(read(namespace, ref.name), namespace, ref.name, ref.key == null ? "apiKey" : ref.key);
  }

  private Map<String, String> read(String namespace, String name) throws DatabaseConfigException {
    Secret s;
    try {
      s = client.secrets().inNamespace(namespace).withName(name).get();
    } catch (KubernetesClientException e) {
      if (KubeErrors.refused(e)) {
        throw DatabaseConfigException.forbidden("the controller may not read secret " + namespace + "/" + name + " ("
            + KubeErrors.sentence(e) + "); add it to the Role's resourceNames (chart value rbac.extraSecrets)", e);
      }
      throw new DatabaseConfigException("could not read secret " + namespace + "/" + name + ": "
          + KubeErrors.sentence(e), e);
    }
    if (s == null) throw new DatabaseConfigException("secret " + namespace + "/" + name + " not found");
    Map<String, String> out = new java.util.HashMap<>();
    if (s.getData() != null) {
      s.getData().forEach((k, v) -> out.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
    }
    if (s.getStringData() != null) out.putAll(s.getStringData());
    return out;
  }

  private static String required(Map<String, String> data, String ns, String name, String key)
      throws DatabaseConfigException {
    String v = data.get(key);
    if (v == null || v.isBlank()) {
      throw new DatabaseConfigException("secret " + ns + "/" + name + " has no key '" + key + "'");
    }
    return v;
  }
}
