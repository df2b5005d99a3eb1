package io.queuepilot.cli.sim;

import io.queuepilot.cli.CliException;

/**
 * The simple model of the worker service the simulation runs: each replica works on
 * {@code concurrency} jobs at once, every job takes {@code jobSeconds} and costs
 * {@code tokensPerJob} tokens, a new replica serves after {@code startupSeconds}, and jobs only
 * start while the tokens started in the last minute stay within {@code tokensPerMinuteBudget}
 * (null: no budget) — the shared token budget the workers ask before each OpenAI call.
 */
public record ServiceModel(
    int concurrency, int jobSeconds, int tokensPerJob, int startupSeconds, Long tokensPerMinuteBudget) {

  public ServiceModel {
    if (concurrency < 1) {
      throw CliException.usage("per-replica concurrency must be at least 1, was " + concurrency);
    }
    if (jobSeconds < 1) {
      throw CliException.usage("--job-seconds must be at least 1, was " + jobSeconds);
    }
    if (tokensPerJob < 0) {
      throw CliException.usage("--tokens-per-job must not be negative, was " + tokensPerJob);
    }
    if (startupSeconds < 0) {
      throw CliException.usage("--startup-seconds must not be negative, was " + startupSeconds);
    }
    if (tokensPerMinuteBudget != null && tokensPerMinuteBudget < 0) {
      throw CliException.usage("the token budget must not be negative, was " + tokensPerMinuteBudget);
    }
  }

  /** Replicas the token budget can keep busy (null when there is no budget or jobs cost nothing). */
  public Integer tokenBudgetReplicas() {
    if (tokensPerMinuteBudget == null || tokensPerJob == 0) {
      return null;
    }
    double tokensPerReplicaMinute = (double) concurrency * tokensPerJob * 60.0 / jobSeconds;
    return (int) Math.max(0, Math.floor(tokensPerMinuteBudget / tokensPerReplicaMinute));
  }
}
