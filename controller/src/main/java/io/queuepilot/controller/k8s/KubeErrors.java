package io.queuepilot.controller.k8s;

import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * Turns a Kubernetes API failure into the short sentence conditions and Events carry, as KEDA
 * does: the HTTP code, its name and the API server's own message ({@code deployments.apps "x" is
 * forbidden: User "..." cannot get resource ...}), never fabric8's request dump with
 * {@code Status(apiVersion=v1, ..., additionalProperties={})}.
 */
public final class KubeErrors {

  private KubeErrors() {}

  /** E.g. {@code HTTP 403 Forbidden: deployments.apps "w" is forbidden: User "u" cannot get ...}. */
  public static String sentence(KubernetesClientException e) {
    int code = e.getCode();
    Status status = e.getStatus();
    String serverMessage = status == null ? null : blankToNull(status.getMessage());
    if (serverMessage == null) {
      serverMessage = firstClause(e.getMessage());
    }
    String name = httpName(code);
    return (code > 0 ? "HTTP " + code + (name == null ? "" : " " + name) + ": " : "") + serverMessage;
  }

  /** Whether the API server refused the caller (RBAC): 401 or 403. */
  public static boolean refused(KubernetesClientException e) {
    return e.getCode() == 401 || e.getCode() == 403;
  }

  static String httpName(int code) {
    return switch (code) {
      case 400 -> "Bad Request";
      case 401 -> "Unauthorized";
      case 403 -> "Forbidden";
      case 404 -> "Not Found";
      case 409 -> "Conflict";
      case 422 -> "Unprocessable Entity";
      case 429 -> "Too Many Requests";
      case 500 -> "Internal Server Error";
      case 503 -> "Service Unavailable";
      default -> null;
    };
  }

  /** fabric8's message without the request line and the Status dump. */
  private static String firstClause(String message) {
    if (message == null || message.isBlank()) {
      return "no message";
    }
    String m = message;
    int received = m.indexOf(". Received status:");
    if (received >= 0) m = m.substring(0, received);
    int msg = m.indexOf("Message: ");
    if (msg >= 0) m = m.substring(msg + "Message: ".length());
    if (m.startsWith("Failure executing:")) m = "request failed";
    return m.lines().findFirst().orElse(m).trim();
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }
}
