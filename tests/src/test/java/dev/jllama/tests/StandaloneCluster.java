package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A Spark standalone cluster on 127.0.0.1: a master and workers, each its own JVM started from this JVM's class
 * path, as an operator's cluster would run them, with Spark's authentication and encryption on and a secret of their
 * own (in a file, as an operator would keep it). Executors are the workers' child processes.
 */
final class StandaloneCluster implements AutoCloseable {
    private final Process master;
    private final List<Process> workers = new ArrayList<>();
    private final String url;
    private final Path secretFile;

    StandaloneCluster(Path dir, int workerCount, String workerMemory) throws Exception {
        Files.createDirectories(Path.of(System.getenv("SPARK_HOME"), "jars"));
        Files.createDirectories(dir);
        // The daemons log registrations (what start-up waits for) and executor launches; the rest at warn.
        Files.writeString(dir.resolve("log4j2.properties"), """
                rootLogger.level = warn
                rootLogger.appenderRef.stdout.ref = console
                appender.console.type = Console
                appender.console.name = console
                appender.console.layout.type = PatternLayout
                appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
                logger.deploy.name = org.apache.spark.deploy
                logger.deploy.level = info
                """);
        secretFile = dir.resolve("spark-secret");
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        Files.writeString(secretFile, HexFormat.of().formatHex(secret));
        Files.writeString(dir.resolve("spark-auth.conf"), "spark.authenticate true\nspark.network.crypto.enabled true\n"
                + "spark.authenticate.secret " + HexFormat.of().formatHex(secret) + "\n");
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        url = "spark://127.0.0.1:" + port;
        master = start(dir.resolve("master.log"), "org.apache.spark.deploy.master.Master",
                "--host", "127.0.0.1", "--port", Integer.toString(port), "--webui-port", "0",
                "--properties-file", dir.resolve("spark-auth.conf").toString());
        for (int i = 0; i < workerCount; i++) {
            Path work = Files.createDirectories(dir.resolve("worker-" + i));
            workers.add(start(dir.resolve("worker-" + i + ".log"), "org.apache.spark.deploy.worker.Worker",
                    "--host", "127.0.0.1", "--cores", "1", "--memory", workerMemory, "--webui-port", "0",
                    "--work-dir", work.toString(), "--properties-file", dir.resolve("spark-auth.conf").toString(), url));
        }
        Path masterLog = dir.resolve("master.log");
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (count(masterLog, "Registering worker") < workerCount) {
            assertTrue(System.nanoTime() < deadline && master.isAlive(),
                    "the standalone cluster did not come up:\n" + Files.readString(masterLog));
            Thread.sleep(200);
        }
    }

    private static long count(Path log, String text) throws IOException {
        if (!Files.exists(log)) return 0;
        return Files.readString(log, StandardCharsets.ISO_8859_1).lines().filter(l -> l.contains(text)).count();
    }

    private static Process start(Path log, String mainClass, String... args) throws IOException {
        Path logConfig = log.resolveSibling("log4j2.properties");
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.add("-Xmx256m");
        command.add("-Dlog4j2.configurationFile=" + logConfig.toUri());
        for (String flag : Files.readAllLines(Path.of("..", "submit", "conf", "jvm-flags"))) {
            if (!flag.isBlank()) command.add(flag.strip());
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        return builder.start();
    }

    /** The master URL, {@code spark://127.0.0.1:port}. */
    String url() {
        return url;
    }

    /**
     * Spark settings for an application on this cluster: executors of one core that load this JVM's classes, and the
     * cluster's secret.
     */
    List<String> conf(String executorMemory) {
        return List.of("--master", url, "--conf", "spark.executor.cores=1", "--conf", "spark.executor.memory=" + executorMemory,
                "--conf", "spark.executor.extraClassPath=" + System.getProperty("java.class.path"),
                "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.jllama.authenticate.secretFile=" + secretFile);
    }

    /** The executor JVMs running now. */
    List<ProcessHandle> executors() {
        return workers.stream().flatMap(Process::descendants).filter(StandaloneCluster::isExecutor).toList();
    }

    /** From /proc: ProcessHandle.Info gives no command line as long as an executor's class path. */
    static boolean isExecutor(ProcessHandle process) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(process.pid()), "cmdline"), StandardCharsets.ISO_8859_1)
                    .contains("CoarseGrainedExecutorBackend");
        } catch (IOException e) {
            return false; // it ended meanwhile
        }
    }

    @Override
    public void close() {
        for (Process worker : workers) {
            worker.descendants().forEach(ProcessHandle::destroyForcibly);
            worker.destroyForcibly();
        }
        master.destroyForcibly();
    }
}
