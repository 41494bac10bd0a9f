package dev.jllama.cli;

import dev.jllama.driver.SparkSecurity;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The test hosts of {@code submit/cluster/test-hosts.sh} (network namespaces on one bridge, links shaped to a rate),
 * for the benchmarks that run on them: brings them up as asked, and {@link #close() down} again only if this run made
 * them (hosts already up as asked are left as they were).
 */
final class TestHostsScript implements AutoCloseable {
    /** The bridge side of every host's link: where a driver on this machine listens. */
    static final String BRIDGE_ADDRESS = "198.18.0.1";

    /** A host: its network namespace and its address. */
    record Host(String namespace, String address) {
        /** The command prefix that runs a program inside the host. */
        List<String> commandPrefix() {
            return List.of("ip", "netns", "exec", namespace);
        }
    }

    private final Path script;
    private final List<Host> hosts;
    private final String masterUrl;
    private final boolean madeHere;

    private TestHostsScript(Path script, List<Host> hosts, String masterUrl, boolean madeHere) {
        this.script = script;
        this.hosts = hosts;
        this.masterUrl = masterUrl;
        this.madeHere = madeHere;
    }

    /**
     * {@code test-hosts.sh up n --link-gbps gbps} (with {@code --no-spark} unless {@code spark}); its output goes to
     * {@code out}.
     */
    static TestHostsScript up(int n, double gbps, boolean spark, List<String> options, PrintStream out)
            throws IOException, InterruptedException {
        Path script = findScript();
        Path state = state();
        String before = readOrEmpty(state.resolve("state"));
        List<String> command = new ArrayList<>(List.of(script.toString(), "up", Integer.toString(n),
                "--link-gbps", Double.toString(gbps)));
        command.addAll(options);
        if (!spark) command.add("--no-spark");
        List<String> lines = runScript(command);
        lines.forEach(line -> out.println("test-hosts.sh: " + line));
        List<Host> hosts = new ArrayList<>();
        for (String line : Files.readAllLines(state.resolve("hosts"))) {
            String[] fields = line.split(" ");
            hosts.add(new Host(fields[0], fields[1]));
        }
        boolean reused = !before.isEmpty() && lines.stream().anyMatch(l -> l.startsWith("test hosts already up"));
        return new TestHostsScript(script, hosts, spark ? lines.get(lines.size() - 1) : null, !reused);
    }

    List<Host> hosts() {
        return hosts;
    }

    /** The standalone master's URL (null for hosts without Spark). */
    String masterUrl() {
        return masterUrl;
    }

    /**
     * train's --conf settings for a driver on this machine whose executors run in the hosts (one core each; their
     * workers give them the application's classes), with the cluster's secret for Spark's authentication.
     */
    static List<String> driverConf(String executorMemory) {
        return List.of("spark.driver.host=" + BRIDGE_ADDRESS, "spark.executor.cores=1",
                "spark.executor.memory=" + executorMemory,
                SparkSecurity.SECRET_FILE + "=" + state().resolve("spark-secret"));
    }

    /** The script's state folder: logs, process ids, the host list and the cluster's secret. */
    private static Path state() {
        return Path.of(System.getenv().getOrDefault("JLLAMA_TEST_HOSTS_DIR", "/tmp/jllama-test-hosts"));
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (madeHere) runScript(List.of(script.toString(), "down"));
    }

    private static List<String> runScript(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + output.strip());
        }
        return output.strip().lines().toList();
    }

    private static String readOrEmpty(Path file) throws IOException {
        return Files.isRegularFile(file) ? Files.readString(file).strip() : "";
    }

    /** The script under the project directory: {@code jllama.home} (set by submit/llama), else here or the parent. */
    private static Path findScript() {
        String home = System.getProperty("jllama.home");
        List<Path> candidates = home != null ? List.of(Path.of(home)) : List.of(Path.of("."), Path.of(".."));
        for (Path candidate : candidates) {
            Path script = candidate.resolve(Path.of("submit", "cluster", "test-hosts.sh")).toAbsolutePath().normalize();
            if (Files.isExecutable(script)) return script;
        }
        throw new UsageException("--hosts needs the project's submit/cluster/test-hosts.sh, not found under " + candidates
                + " (run bench from the project directory or through submit/llama)");
    }
}
