package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Test hosts made by {@code submit/cluster/test-hosts.sh} (network namespaces on one bridge, a Spark standalone master
 * on the bridge, a worker in each host), as an operator would use the script. Needs root and {@code ip netns}; without
 * them the calling test is skipped, saying why.
 */
final class TestHosts implements AutoCloseable {
    static final Path SCRIPT = ApplicationJar.ROOT.resolve("submit/cluster/test-hosts.sh");
    /** The script's state folder (its default): the host list and its processes' marks. */
    static final Path STATE = Path.of("/tmp/jllama-test-hosts");
    /** The driver's address: the bridge side of every host's link. */
    static final String BRIDGE_ADDRESS = "198.18.0.1";

    /** A host: its namespace and its address. */
    record Host(String namespace, String address) {}

    private final String masterUrl;
    private final List<Host> hosts;

    private TestHosts(String masterUrl, List<Host> hosts) {
        this.masterUrl = masterUrl;
        this.hosts = hosts;
    }

    /** Why test hosts cannot be made here, if they cannot. */
    static Optional<String> unavailable() throws IOException, InterruptedException {
        if (!Files.isRegularFile(ApplicationJar.ROOT.resolve("spark-app/target/classpath.txt"))) {
            return Optional.of("spark-app is not packaged (run ./mvnw verify): the test hosts' workers run from it");
        }
        String uid = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("Uid:"))
                .map(l -> l.split("\\s+")[1]).findFirst().orElse("?");
        if (!uid.equals("0")) return Optional.of("not root (uid " + uid + "): test hosts need network namespaces");
        Run netns = run(List.of("ip", "netns", "list"), 30);
        if (netns.status() != 0) return Optional.of("'ip netns' does not work here: " + netns.output().strip());
        return Optional.empty();
    }

    /** Brings up {@code n} hosts with the script's options (e.g. {@code --link-gbps 1}); skips the test without root. */
    static TestHosts up(int n, String... options) throws IOException, InterruptedException {
        Optional<String> why = unavailable();
        assumeTrue(why.isEmpty(), () -> "test hosts unavailable: " + why.orElseThrow());
        List<String> command = new ArrayList<>(List.of(SCRIPT.toString(), "up", Integer.toString(n)));
        command.addAll(List.of(options));
        Run up = run(command, 300);
        if (up.status() != 0) throw new IllegalStateException("test-hosts.sh up failed:\n" + up.output());
        List<String> lines = up.output().lines().toList();
        List<Host> hosts = new ArrayList<>();
        for (String line : Files.readAllLines(STATE.resolve("hosts"))) {
            String[] fields = line.split(" ");
            hosts.add(new Host(fields[0], fields[1]));
        }
        assertEquals(n, hosts.size(), up.output());
        return new TestHosts(lines.get(lines.size() - 1), hosts);
    }

    String masterUrl() {
        return masterUrl;
    }

    List<Host> hosts() {
        return hosts;
    }

    /**
     * Spark settings for a driver in this JVM using the hosts' workers: executors of one core on this JVM's classes,
     * and the cluster's secret for Spark's authentication.
     */
    List<String> sparkConf(String executorMemory) {
        return List.of("spark.driver.host=" + BRIDGE_ADDRESS, "spark.driver.bindAddress=" + BRIDGE_ADDRESS,
                "spark.executor.cores=1", "spark.executor.memory=" + executorMemory,
                "spark.executor.extraClassPath=" + System.getProperty("java.class.path"),
                "spark.jllama.authenticate.secretFile=" + STATE.resolve("spark-secret"));
    }

    /** Runs a command in a host's namespace. */
    static Run inHost(Host host, List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", host.namespace()));
        full.addAll(command);
        return run(full, timeoutSeconds);
    }

    /** The host side of a host's link (the other end is eth0 inside the host). */
    static String link(Host host) {
        return "jlh-v" + host.namespace().substring("jlh-h".length());
    }

    /** Reshapes one host's link, both ways, to {@code mbit} Mbit/s (as test-hosts.sh shapes them, 64 KiB burst). */
    static void shape(Host host, int mbit) throws IOException, InterruptedException {
        List<String> tbf = List.of("root", "tbf", "rate", mbit + "mbit", "burst", "65536", "latency", "20ms");
        List<String> into = new ArrayList<>(List.of("tc", "qdisc", "replace", "dev", link(host)));
        into.addAll(tbf);
        List<String> outOf = new ArrayList<>(List.of("tc", "qdisc", "replace", "dev", "eth0"));
        outOf.addAll(tbf);
        for (Run run : List.of(run(into, 30), inHost(host, outOf, 30))) {
            if (run.status() != 0) throw new IllegalStateException("tc failed: " + run.output());
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        Run down = run(List.of(SCRIPT.toString(), "down"), 120);
        if (down.status() != 0) throw new IllegalStateException("test-hosts.sh down failed:\n" + down.output());
    }

    record Run(int status, String output) {}

    static Run run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        Path output = Files.createTempFile("jlh-command", ".txt");
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile())
                    .start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " took longer than " + timeoutSeconds
                        + " s:\n" + Files.readString(output, StandardCharsets.UTF_8));
            }
            return new Run(process.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(output);
        }
    }
}
