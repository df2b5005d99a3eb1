package io.queuepilot.worker;

import io.queuepilot.worker.WorkerConfig.JitPolicy;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.ObjectName;

/**
 * Applies the worker's {@link JitPolicy} to this JVM: for {@code pipeline} (opt-in), the HotSpot compiler
 * directives of {@link #DIRECTIVES_RESOURCE}, added once per JVM through the DiagnosticCommand
 * MBean (what {@code jcmd <pid> Compiler.directives_add} does; no diagnostic VM flag needed).
 */
public final class JitPolicies {

  /**
   * The directives: C2 for the document pipeline's packages (PDFBox, java2d/ImageIO, zip, Base64,
   * Jackson, the OpenAI client, OkHttp/Okio, TLS), C1 only for every other method. HotSpot applies
   * the first directive that matches a method, so the pipeline's packages come first; a CPU-heavy
   * library added to the pipeline must be added there ({@code QueueRuntimeDirectivesTest}).
   */
  public static final String DIRECTIVES_RESOURCE = "/io/queuepilot/worker/jit/queue-runtime-c1.json";

  private static final Pattern ADDED = Pattern.compile("(\\d+) compiler directives added");
  private static Outcome installed; // guarded by the class: the directive stack takes one copy, at most 50 entries

  private JitPolicies() {}

  /** What applying a policy did: whether this JVM now runs it, and HotSpot's or the failure's words. */
  public record Outcome(boolean applied, String detail) {}

  /**
   * Applies {@code policy}; {@code jvm} changes nothing. A failure (another JVM than HotSpot, an
   * unwritable {@code tempDir}, directives HotSpot refuses) is returned, not thrown: the policy
   * only saves CPU, the worker runs correctly on the JVM's default tiers.
   */
  public static synchronized Outcome apply(JitPolicy policy, Path tempDir) {
    if (policy == JitPolicy.JVM) {
      return new Outcome(false, "jvm: HotSpot's default tiers, C2 for all hot code");
    }
    if (installed == null) {
      Outcome outcome = addDirectives(tempDir);
      if (outcome.applied()) {
        installed = outcome; // a later worker in this JVM (local mode, tests) finds them in place
      }
      return outcome;
    }
    return installed;
  }

  /** Adds the directives to this JVM's directive stack, whatever is there already. */
  static Outcome addDirectives(Path tempDir) {
    Path file = null;
    try (InputStream in = JitPolicies.class.getResourceAsStream(DIRECTIVES_RESOURCE)) {
      if (in == null) {
        return new Outcome(false, DIRECTIVES_RESOURCE + " is missing from the class path");
      }
      // the MBean reads a file; the worker's temp directory is the one it may write to
      file = Files.createTempFile(tempDir, "queuepilot-jit-", ".json");
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
      Object answer = ManagementFactory.getPlatformMBeanServer().invoke(
          new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesAdd",
          new Object[] {new String[] {file.toString()}}, new String[] {String[].class.getName()});
      String text = String.valueOf(answer).strip();
      Matcher added = ADDED.matcher(text);
      if (added.find() && Integer.parseInt(added.group(1)) > 0) {
        return new Outcome(true, "pipeline: " + added.group() + " (C2 for the document pipeline, C1 for the rest)");
      }
      return new Outcome(false, "HotSpot did not add the directives: " + text);
    } catch (Exception | LinkageError e) {
      return new Outcome(false, e.getClass().getSimpleName() + ": " + e.getMessage());
    } finally {
      if (file != null) {
        try {
          Files.deleteIfExists(file); // HotSpot parsed it when it answered
        } catch (java.io.IOException ignored) {
          // a leftover queuepilot-jit-*.json in the temp directory; nothing depends on it
        }
      }
    }
  }
}
