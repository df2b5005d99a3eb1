package io.queuepilot.helm;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.queuepilot.controller.k8s.KubernetesController;
import io.queuepilot.queue.Migrations;
import io.queuepilot.queue.patient.PatientUploads;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIf;
import org.postgresql.ds.PGSimpleDataSource;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.Network;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * End to end on k3s (Testcontainers): builds the two images with the documented `docker build`
 * commands, installs the chart from them next to a real PostgreSQL, proves the same install and
 * RBAC facts as ChartInstallIT (shared ChartInstallChecks / ControllerPermissions), then
 * registers documents and watches the controller scale the workers up and the queue drain.
 * Needs a Docker engine and CLI; skipped with a message everywhere else.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@EnabledIf(value = "dockerAvailable", disabledReason = "K3sChartE2EIT needs a Docker engine and the docker CLI (k3s, "
    + "PostgreSQL and the two images run in containers); none here, so it is skipped. ChartInstallIT proves the same "
    + "install and RBAC assertions on a real kube-apiserver.")
class K3sChartE2EIT {

  static final String K3S_IMAGE = "rancher/k3s:v1.34.1-k3s1";
  static final String POSTGRES_IMAGE = "postgres:17-alpine";
  static final String NAMESPACE = "queuepilot";
  static final String RELEASE = "qp";
  static final String WORKER = "qp-queuepilot-worker";
  static final String CONTROLLER = "qp-queuepilot-controller";
  static final String TAG = "e2e";
  static final String HOST_DOCS = "/var/lib/queuepilot-e2e";
  static final int DOCUMENTS = 40;

  private static Network network;
  private static PostgreSQLContainer postgres;
  private static K3sContainer k3s;
  private static KubernetesClient admin;
  private static HelmCli helm;
  private static String databaseIp;
  private static final UUID OWNER = UUID.randomUUID();
  private static final UUID PATIENT = UUID.randomUUID();

  @BeforeAll
  static void startDatabaseClusterAndImages() throws Exception {
    network = Network.newNetwork();
    postgres = new PostgreSQLContainer(DockerImageName.parse(POSTGRES_IMAGE)).withNetwork(network);
    postgres.start();
    databaseIp = postgres.getContainerInfo().getNetworkSettings().getNetworks().values().iterator().next().getIpAddress();
    prepareDatabase();

    for (String component : List.of("worker", "controller")) {
      Tools.run(Duration.ofMinutes(20), Map.of(), List.of("docker", "build", "-f", component + "/Dockerfile", "-t",
          image(component), Tools.repoRoot().toString())).requireSuccess();
    }

    k3s = new K3sContainer(DockerImageName.parse(K3S_IMAGE)).withNetwork(network);
    k3s.start();
    loadImage(image("worker"));
    loadImage(image("controller"));
    copyDocuments();

    Path kubeConfig = Files.createTempFile("queuepilot-k3s", ".yaml");
    Files.writeString(kubeConfig, k3s.getKubeConfigYaml());
    admin = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(k3s.getKubeConfigYaml())).build();
    helm = new HelmCli(kubeConfig);
  }

  /** A Docker engine for Testcontainers and the docker CLI (BuildKit builds of the Dockerfiles). */
  static boolean dockerAvailable() {
    if (!DockerClientFactory.instance().isDockerAvailable()) {
      return false;
    }
    try {
      return Tools.run(Duration.ofSeconds(30), Map.of(), List.of("docker", "version")).exitCode() == 0;
    } catch (java.io.UncheckedIOException e) {
      return false;
    }
  }

  @AfterAll
  static void stop() {
    if (admin != null) {
      admin.close();
    }
    if (k3s != null) {
      k3s.stop();
    }
    if (postgres != null) {
      postgres.stop();
    }
    if (network != null) {
      network.close();
    }
  }

  @Test
  @Order(1)
  void installsFromTheBuiltImagesAndEveryObjectIsAccepted() {
    admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata().build()).create();
    String jdbc = "jdbc:postgresql://" + databaseIp + ":5432/" + postgres.getDatabaseName();
    secret("queuepilot-db", Map.of("url", jdbc, "username", "queuepilot_worker_1", "password", "worker-pw"));
    secret("queuepilot-controller-db", Map.of("url", jdbc, "username", "queuepilot_controller_1",
        "password", "controller-pw"));
    admin.apps().deployments().inNamespace(NAMESPACE).resource(new DeploymentBuilder()
        .withNewMetadata().withName("other-app").endMetadata()
        .withNewSpec().withReplicas(1).withNewSelector().addToMatchLabels("app", "other").endSelector()
        .withNewTemplate().withNewMetadata().addToLabels("app", "other").endMetadata()
        .withNewSpec().addNewContainer().withName("app").withImage("registry.example/other:1").endContainer().endSpec()
        .endTemplate().endSpec().build()).create();
    admin.pods().inNamespace(NAMESPACE).resource(new PodBuilder().withNewMetadata().withName("some-pod").endMetadata()
        .withNewSpec().addNewContainer().withName("app").withImage("registry.example/app:1").endContainer().endSpec()
        .build()).create();

    Tools.Result install = helm.upgradeInstall(RELEASE, NAMESPACE, installArgs(true));
    assertThat(install.exitCode()).as(install.stdout() + install.stderr()).isZero();
    ChartInstallChecks.assertEveryObjectStored(helm, admin, RELEASE, NAMESPACE);

    Awaitility.await().atMost(Duration.ofMinutes(3)).untilAsserted(() ->
        assertThat(admin.apps().deployments().inNamespace(NAMESPACE).withName(CONTROLLER).get().getStatus()
            .getReadyReplicas()).isEqualTo(2));
  }

  @Test
  @Order(2)
  void upgradeAndPermissionsHoldAsOnTheBareApiServer() {
    // scaler paused, so the controller does not move the count while we check ownership
    ChartInstallChecks.assertUpgradeKeepsControllerOwnedReplicas(helm, admin, RELEASE, NAMESPACE, WORKER, 2,
        "QUEUEPILOT_CONCURRENCY", "3", concat(installArgs(true), "--set", "worker.concurrency=3"));
    ControllerPermissions permissions = new ControllerPermissions(admin, new ControllerPermissions.Names(
        NAMESPACE, CONTROLLER, WORKER, "other-app", "queuepilot-controller-db", "queuepilot-db", "some-pod"));
    try (KubernetesClient controller = permissions.controllerClient()) {
      permissions.assertCanDoItsJob(controller);
      permissions.assertIsRefusedEverythingElse(controller);
    }
  }

  @Test
  @Order(3)
  void workersScaleUpForRegisteredDocumentsAndTheQueueDrains() throws Exception {
    admin.apps().deployments().inNamespace(NAMESPACE).withName(WORKER).scale(0);
    Tools.Result resume = helm.upgradeInstall(RELEASE, NAMESPACE, installArgs(false));
    assertThat(resume.exitCode()).as(resume.stdout() + resume.stderr()).isZero();
    Awaitility.await().atMost(Duration.ofMinutes(2)).until(() -> admin.leases().inNamespace(NAMESPACE).list().getItems()
        .stream().map(Lease::getSpec).anyMatch(s -> s.getHolderIdentity() != null && s.getHolderIdentity().startsWith(CONTROLLER)));

    for (int i = 0; i < DOCUMENTS; i++) {
      register("doc-" + i);
    }

    // the same evidence ChartInstallIT demands of the controller jar on the bare API server
    ControllerAtWork.assertScaledAndReported(admin, NAMESPACE, WORKER, WORKER, 2, CONTROLLER, Duration.ofSeconds(90));
    Awaitility.await().atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofSeconds(5)).until(() ->
        count("SELECT count(*) FROM public.jobs WHERE status = 'completed'") == DOCUMENTS);
    assertThat(count("SELECT count(*) FROM public.jobs WHERE status IN ('pending', 'processing', 'dead_letter')"))
        .isZero();
    assertThat(count("SELECT count(*) FROM public.shell_files WHERE status = 'completed'")).isEqualTo(DOCUMENTS);
    Awaitility.await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(5)).until(() ->
        workerReplicas() == 0);
    String leader = admin.leases().inNamespace(NAMESPACE).withName(KubernetesController.LEASE_NAME).get()
        .getSpec().getHolderIdentity();
    ControllerAtWork.assertLeaseRenewed(admin, NAMESPACE, leader, Duration.ofSeconds(30));
    ControllerAtWork.assertLedAndWasNeverRefused(admin.pods().inNamespace(NAMESPACE).withName(leader).getLog());
  }

  private static int workerReplicas() {
    Integer replicas = admin.apps().deployments().inNamespace(NAMESPACE).withName(WORKER).get().getSpec().getReplicas();
    return replicas == null ? 0 : replicas;
  }

  private static String[] installArgs(boolean paused) {
    return new String[] {"-f", ChartRenderer.ciValues("local-values.yaml").toString(),
        "--set", "worker.image.tag=" + TAG, "--set", "worker.image.pullPolicy=Never",
        "--set", "controller.image.tag=" + TAG, "--set", "controller.image.pullPolicy=Never",
        "--set", "controller.replicaCount=2", "--set", "controller.leaderElection=true",
        "--set", "worker.concurrency=2", "--set", "worker.storeDir=/var/lib/queuepilot",
        "--set-json", "worker.storeVolume={\"hostPath\":{\"path\":\"" + HOST_DOCS + "\",\"type\":\"Directory\"}}",
        "--set", "worker.networkPolicy.enabled=true",
        "--set", "worker.networkPolicy.databaseCIDRs[0]=" + databaseIp + "/32",
        "--set", "worker.networkPolicy.databasePorts[0]=5432",
        "--set", "queueScaler.maxReplicas=5", "--set", "queueScaler.scaleDown.stabilizationWindowSeconds=10",
        "--set", "queueScaler.scaleDown.maxStep=5", "--set", "queueScaler.pollIntervalSeconds=5",
        "--set", "queueScaler.paused=" + paused};
  }

  private static String[] concat(String[] base, String... more) {
    String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
    System.arraycopy(more, 0, all, base.length, more.length);
    return all;
  }

  private static String image(String component) {
    return "ghcr.io/queuepilot/queuepilot-" + component + ":" + TAG;
  }

  private static void loadImage(String image) throws IOException, InterruptedException {
    Path tar = Files.createTempFile("queuepilot-image", ".tar");
    Tools.run(Duration.ofMinutes(5), Map.of(), List.of("docker", "save", "-o", tar.toString(), image)).requireSuccess();
    k3s.copyFileToContainer(MountableFile.forHostPath(tar), "/tmp/image.tar");
    ExecResult imported = k3s.execInContainer("ctr", "-n", "k8s.io", "images", "import", "/tmp/image.tar");
    assertThat(imported.getExitCode()).as(imported.getStderr()).isZero();
    Files.delete(tar);
  }

  /** The documents the local store serves: {@code <store>/<bucket>/<storage_path>}, readable by UID 10001. */
  private static void copyDocuments() throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("queuepilot-docs");
    Path bucket = Files.createDirectories(dir.resolve("medical-docs").resolve(PATIENT.toString()));
    for (int i = 0; i < DOCUMENTS; i++) {
      try (PDDocument pdf = new PDDocument()) {
        PDPage page = new PDPage();
        pdf.addPage(page);
        try (PDPageContentStream text = new PDPageContentStream(pdf, page)) {
          text.beginText();
          text.setFont(new PDType1Font(Standard14Fonts.FontName.HELVETICA), 12);
          text.newLineAtOffset(72, 700);
          text.showText("Discharge summary " + i + ". Medication: Metformin 500 mg twice daily. Allergy: penicillin.");
          text.endText();
        }
        pdf.save(bucket.resolve("doc-" + i + ".pdf").toFile());
      }
    }
    k3s.copyFileToContainer(MountableFile.forHostPath(dir, 0755), HOST_DOCS);
    ExecResult chmod = k3s.execInContainer("chmod", "-R", "a+rX", HOST_DOCS);
    assertThat(chmod.getExitCode()).isZero();
  }

  private static void prepareDatabase() throws SQLException {
    Migrations.migrate(dataSource());
    try (Connection c = dataSource().getConnection(); Statement s = c.createStatement()) {
      s.execute("CREATE ROLE queuepilot_worker_1 LOGIN PASSWORD 'worker-pw' IN ROLE queue_worker");
      s.execute("CREATE ROLE queuepilot_controller_1 LOGIN PASSWORD 'controller-pw' IN ROLE queue_controller");
    }
    new PatientUploads(dataSource()).createPatient(PATIENT, OWNER, OWNER + "@example.test", "E2E Patient");
  }

  /** Registers one uploaded document as its owner would through Supabase (role authenticated, JWT claims). */
  private static void register(String key) {
    new PatientUploads(dataSource()).register(PatientUploads.Caller.patientUser(OWNER), new PatientUploads.Upload(PATIENT,
        "medical-docs", PATIENT + "/" + key + ".pdf", key + ".pdf", "application/pdf", 1000L, key));
  }

  private static long count(String sql) throws SQLException {
    try (Connection c = dataSource().getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static PGSimpleDataSource dataSource() {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(postgres.getJdbcUrl());
    ds.setUser(postgres.getUsername());
    ds.setPassword(postgres.getPassword());
    return ds;
  }

  private static void secret(String name, Map<String, String> data) {
    admin.secrets().inNamespace(NAMESPACE).resource(new SecretBuilder().withNewMetadata().withName(name).endMetadata()
        .withStringData(data).build()).create();
  }
}
