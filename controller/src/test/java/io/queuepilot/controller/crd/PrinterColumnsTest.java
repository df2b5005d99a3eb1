package io.queuepilot.controller.crd;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code kubectl get qs} as the generated CRD defines it: Ready is the Ready condition, Paused the
 * effective pause from status (spec or annotation), the ready-job count is Queued (never a column READY holding a number), in the
 * order kubectl prints them.
 */
class PrinterColumnsTest {

  @Test
  void defaultColumnsReadLikeKedas() throws Exception {
    JsonNode crd = new ObjectMapper(new YAMLFactory()).readTree(CrdUpToDateTest.generated().toFile());
    List<String> defaults = new ArrayList<>();
    List<String> wide = new ArrayList<>();
    for (JsonNode c : crd.at("/spec/versions/0/additionalPrinterColumns")) {
      (c.path("priority").asInt(0) == 0 ? defaults : wide).add(c.path("name").asText());
      if (c.path("name").asText().equals("Ready")) {
        assertThat(c.path("jsonPath").asText()).isEqualTo(".status.conditions[?(@.type==\"Ready\")].status");
      }
      if (c.path("name").asText().equals("Paused")) {
        // the effective pause (spec or annotation) the controller writes, not spec.paused alone
        assertThat(c.path("jsonPath").asText()).isEqualTo(".status.paused");
      }
      if (c.path("type").asText().equals("integer")) {
        assertThat(c.path("name").asText()).isNotEqualToIgnoringCase("Ready");
      }
    }
    assertThat(defaults).containsExactly("Target", "Ready", "Current", "Desired", "LimitedBy", "Paused", "Processing",
        "Queued");
    assertThat(wide).containsExactlyInAnyOrder("Age", "Max", "Min", "Kind", "Reason");
  }
}
