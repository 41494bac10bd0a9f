package dev.jllama.tests;

import static dev.jllama.tests.DistributedEquivalenceTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jllama.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Test hosts whose Spark runs on Java 17, Spark 4's floor ({@code test-hosts.sh up --worker-java}): their workers start
 * executors on it unless the job names a JDK 25 of its own. Without one, train fails with one line naming the Java it
 * found and the option; with {@code spark.executorEnv.JAVA_HOME} (standalone.sh's EXECUTOR_JAVA_HOME) it trains.
 */
class TestHostsJavaTest {
    @TempDir
    static Path work;

    @Test
    void executorsOnJava17FailWithOneLineAndTrainOnTheJobsJdk() throws Exception {
        Path java17 = YarnTrainingTest.JAVA_17;
        assumeTrue(Files.isExecutable(java17.resolve("bin/java")), () -> "no Java 17 at " + java17
                + " for the test hosts' workers (-Djllama.java17=/path/to/jdk-17 names one)");
        String data = TrainRuns.bundledData();
        try (TestHosts hosts = TestHosts.up(2, "--worker-java", java17.toString())) {
            List<String> options = new ArrayList<>(TestHostsTrainingTest.onTestHosts(hosts, 2));
            options.addAll(List.of("--max-attempts", "1"));

            ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
            int status = Main.run(run(data, work.resolve("java17").toString(), 2, 4, 2, options.toArray(String[]::new)),
                    new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
            String printed = "stderr:\n" + err.toString(StandardCharsets.UTF_8) + "\nstdout:\n"
                    + out.toString(StandardCharsets.UTF_8);
            assertNotEquals(0, status, printed);
            List<String> failure = err.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("llama")).toList();
            assertEquals(1, failure.size(), "one line saying why; " + printed);
            String line = failure.get(0);
            assertTrue(line.matches("llama train: executor \\d+ on 198\\.18\\.0\\.1[12] runs Java 17\\.\\S* \\(\\S+\\) and"
                    + " jllama needs Java 25 or later: .*"), line);
            assertTrue(line.contains("spark.executorEnv.JAVA_HOME") && line.contains("EXECUTOR_JAVA_HOME="), line);
            assertFalse(printed.contains("UnsupportedClassVersionError"), printed);

            options.addAll(List.of("--conf", "spark.executorEnv.JAVA_HOME=" + System.getProperty("java.home")));
            JsonNode result = TrainRuns.train(run(data, work.resolve("java25").toString(), 2, 4, 2,
                    options.toArray(String[]::new)));
            assertEquals(2, result.get("ranks").asInt(), result.toString());
            Set<String> rankHosts = new TreeSet<>();
            result.get("hosts").forEach(h -> rankHosts.add(h.asText()));
            assertEquals(Set.of("198.18.0.11", "198.18.0.12"), rankHosts, "one rank in each test host: " + result);
        }
    }
}
