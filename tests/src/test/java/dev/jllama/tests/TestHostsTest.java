package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.cli.Main;
import dev.jllama.driver.SparkSecurity;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.junit.jupiter.api.Test;
import scala.package$;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * {@code submit/cluster/test-hosts.sh} as the README uses it: two hosts come up with a master URL, a Spark job's tasks
 * run in the hosts (each executor sees only its own host's address), and {@code down} leaves no namespace, link or
 * process behind.
 */
class TestHostsTest {

    /** What a task sees of where it runs: its executor, the address Spark knows it by, and its IPv4 interfaces. */
    static final class WhereAmI extends AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<String>>
            implements Serializable {
        @Override
        public scala.collection.Iterator<String> apply(scala.collection.Iterator<Integer> partition) {
            List<String> addresses = new ArrayList<>();
            try {
                for (NetworkInterface nic : NetworkInterface.networkInterfaces().toList()) {
                    for (InetAddress address : nic.inetAddresses().toList()) {
                        if (address instanceof Inet4Address && !address.isLoopbackAddress()) {
                            addresses.add(address.getHostAddress());
                        }
                    }
                }
            } catch (SocketException e) {
                throw new IllegalStateException(e);
            }
            SparkEnv env = SparkEnv.get();
            return package$.MODULE$.Iterator().single(env.executorId() + " " + env.blockManager().blockManagerId().host()
                    + " " + String.join(",", addresses));
        }
    }

    @Test
    void tasksRunInTheirHostsAndDownLeavesNothing() throws Exception {
        List<String> reports;
        Set<String> hostAddresses;
        try (TestHosts hosts = TestHosts.up(2, "--link-gbps", "1")) {
            assertEquals("spark://198.18.0.1:7077", hosts.masterUrl());
            hostAddresses = hosts.hosts().stream().map(TestHosts.Host::address).collect(Collectors.toCollection(TreeSet::new));
            assertEquals(Set.of("198.18.0.11", "198.18.0.12"), hostAddresses);
            // Run twice, the script leaves running hosts as they are.
            TestHosts.Run again = TestHosts.run(List.of(TestHosts.SCRIPT.toString(), "up", "2", "--link-gbps", "1"), 60);
            assertEquals(0, again.status(), again.output());
            assertTrue(again.output().contains("already up"), again.output());

            // The links run at the rate asked: a single TCP stream between two hosts gets about 1 Gbit/s, less the
            // headers' share; the all-reduce bench reuses the hosts that are up and leaves them up.
            ByteArrayOutputStream benchOut = new ByteArrayOutputStream(), benchErr = new ByteArrayOutputStream();
            int status = Main.run(new String[] {"bench", "--what", "allreduce", "--hosts", "2", "--link-gbps", "1",
                    "--sizes", "4", "--json"}, new PrintStream(benchOut, true, StandardCharsets.UTF_8),
                    new PrintStream(benchErr, true, StandardCharsets.UTF_8));
            String benchOutput = benchOut.toString(StandardCharsets.UTF_8);
            assertEquals(0, status, benchOutput + benchErr.toString(StandardCharsets.UTF_8));
            String[] benchLines = benchOutput.strip().split("\n");
            JsonNode bench = new ObjectMapper().readTree(benchLines[benchLines.length - 1]);
            assertEquals(2, bench.get("hosts").asInt());
            assertEquals(1.0, bench.get("link_gbps").asDouble());
            double tcp = bench.get("tcp_gbps").asDouble();
            assertTrue(tcp > 0.85 && tcp <= 1.0, "single stream through 1 Gbit/s links: " + tcp + " Gbit/s\n" + benchOutput);
            double busbw = bench.get("sizes").get(0).get("busbw_gbps").asDouble();
            assertTrue(busbw > 0 && busbw <= 1.0, "the ring cannot beat the links: " + busbw + "\n" + benchOutput);
            assertTrue(TestHosts.run(List.of(TestHosts.SCRIPT.toString(), "status"), 30).output().contains("master"),
                    "the bench left the hosts it found up as they were");

            SparkConf conf = new SparkConf().setAppName("test-hosts").setMaster(hosts.masterUrl())
                    .set("spark.cores.max", "2").set("spark.scheduler.minRegisteredResourcesRatio", "1.0")
                    .set("spark.scheduler.maxRegisteredResourcesWaitingTime", "120s")
                    .set("spark.serializer", "org.apache.spark.serializer.JavaSerializer").set("spark.ui.enabled", "false");
            for (String kv : hosts.sparkConf("512m")) conf.set(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
            try (JavaSparkContext sc = new JavaSparkContext(SparkSecurity.secure(conf))) {
                // Two tasks of a barrier stage, which start together, on two one-core executors: one on each.
                ClassTag<String> tag = ClassTag$.MODULE$.apply(String.class);
                reports = JavaRDD.fromRDD(sc.parallelize(List.of(0, 1), 2).rdd().barrier()
                        .mapPartitions(new WhereAmI(), false, tag), tag).collect();
            }
        }
        assertEquals(2, reports.size(), reports.toString());
        Set<String> executors = new TreeSet<>(), seen = new TreeSet<>();
        for (String report : reports) {
            String[] fields = report.split(" ");
            executors.add(fields[0]);
            assertEquals(fields[1], fields[2], "an executor sees exactly its own host's address: " + report);
            seen.add(fields[1]);
        }
        assertEquals(2, executors.size(), "one task per executor: " + reports);
        assertEquals(hostAddresses, seen, "each task in its own host: " + reports);

        TestHosts.Run namespaces = TestHosts.run(List.of("ip", "netns", "list"), 30);
        assertFalse(namespaces.output().contains("jlh-"), "namespaces left: " + namespaces.output());
        TestHosts.Run links = TestHosts.run(List.of("ip", "-o", "link", "show"), 30);
        assertFalse(links.output().contains("jlh-"), "links left: " + links.output());
        assertEquals(List.of(), processesOfTheScript(), "processes left");
        TestHosts.Run status = TestHosts.run(List.of(TestHosts.SCRIPT.toString(), "status"), 30);
        assertEquals("no test hosts", status.output().strip());
    }

    /** Processes whose command line carries the script's mark. */
    private static List<String> processesOfTheScript() throws IOException {
        String mark = "-Djllama.testHosts=" + TestHosts.STATE;
        List<String> found = new ArrayList<>();
        try (Stream<Path> proc = Files.list(Path.of("/proc"))) {
            for (Path dir : proc.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmdline = Files.readString(dir.resolve("cmdline"), StandardCharsets.ISO_8859_1);
                    if (cmdline.contains(mark)) found.add(dir.getFileName() + ": " + cmdline.replace('\0', ' '));
                } catch (IOException ended) {
                    // it ended meanwhile
                }
            }
        }
        return found;
    }
}
