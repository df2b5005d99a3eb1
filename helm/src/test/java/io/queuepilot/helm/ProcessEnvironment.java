package io.queuepilot.helm;

import io.queuepilot.worker.WorkerConfig;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The environment variables the worker and controller processes read, which the chart and
 * render.yaml must provide — and nothing else. The worker's come from its configuration class
 * (WorkerConfig.KEYS); the controller's from BRIEF.md and ControllerConfig.KEYS (copied: the controller
 * module cannot be a test dependency while its io.queuepilot.controller.target package is missing from git).
 */
final class ProcessEnvironment {

  private ProcessEnvironment() {}

  /** Read by both processes. */
  static final Set<String> COMMON = Set.of(
      "QUEUEPILOT_DB_URL", "QUEUEPILOT_DB_USER", "QUEUEPILOT_DB_PASSWORD", "QUEUEPILOT_DB_LISTEN_URL",
      "QUEUEPILOT_DB_PREPARED_STATEMENTS", "QUEUEPILOT_DB_POOL_SIZE", "QUEUEPILOT_HTTP_PORT", "QUEUEPILOT_LOG_FORMAT");

  /** Every key WorkerConfig reads, plus the identity fallbacks it consults for the worker id. */
  static final Set<String> WORKER_KEYS = Stream.concat(
          WorkerConfig.KEYS.stream().map(WorkerConfig.Key::name), Stream.of("POD_NAME", "RENDER_INSTANCE_ID"))
      .collect(Collectors.toUnmodifiableSet());

  static final Set<String> CONTROLLER_ONLY = Set.of(
      "QUEUEPILOT_CONTROLLER_MODE", "QUEUEPILOT_RENDER_CONFIG", "RENDER_API_KEY", "RENDER_API_URL",
      "POD_NAMESPACE", "QUEUEPILOT_LEADER_ELECTION", "POD_NAME", "QUEUEPILOT_WATCH_NAMESPACES");

  /** Variables the deployment platform sets for us (Kubernetes downward API, the JVM). */
  static final Set<String> PLATFORM = Set.of("POD_NAME", "POD_NAMESPACE", "JAVA_TOOL_OPTIONS");

  static final Set<String> WORKER = WORKER_KEYS;
  static final Set<String> CONTROLLER = union(COMMON, CONTROLLER_ONLY);

  /** Values that are secrets: only ever from a Secret (Kubernetes) or sync:false (Render). */
  static final Set<String> SECRETS = Set.of(
      "QUEUEPILOT_DB_URL", "QUEUEPILOT_DB_USER", "QUEUEPILOT_DB_PASSWORD", "QUEUEPILOT_DB_LISTEN_URL",
      "OPENAI_API_KEY", "SUPABASE_SERVICE_ROLE_KEY", "RENDER_API_KEY");

  /** What a worker needs to start in production (openai processor, supabase store). */
  static final Set<String> WORKER_REQUIRED_PRODUCTION = Set.of(
      "QUEUEPILOT_DB_URL", "QUEUEPILOT_DB_USER", "QUEUEPILOT_DB_PASSWORD", "QUEUEPILOT_PROCESSOR",
      "OPENAI_API_KEY", "QUEUEPILOT_STORE", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY",
      "QUEUEPILOT_STORAGE_BUCKET", "QUEUEPILOT_JOB_TYPES", "QUEUEPILOT_LANES");

  /** What the controller needs in Render mode (no cluster: database from env, Render API key). */
  static final Set<String> CONTROLLER_REQUIRED_RENDER = Set.of(
      "QUEUEPILOT_CONTROLLER_MODE", "QUEUEPILOT_RENDER_CONFIG", "RENDER_API_KEY",
      "QUEUEPILOT_DB_URL", "QUEUEPILOT_DB_USER", "QUEUEPILOT_DB_PASSWORD");

  private static Set<String> union(Set<String> a, Set<String> b) {
    return Stream.concat(a.stream(), b.stream()).collect(Collectors.toUnmodifiableSet());
  }
}
