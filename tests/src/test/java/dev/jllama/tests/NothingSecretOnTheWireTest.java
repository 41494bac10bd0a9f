package dev.jllama.tests;

import static dev.jllama.tests.DistributedEquivalenceTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.NoSuchAlgorithmException;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.SecureRandomSpi;
import java.security.Security;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing secret on the wire: the per-job secret (the key the ring's peers and the progress channel prove) travels to
 * the executors inside the serialised task, so it is as private as Spark's RPC. Two ranks train on two test hosts while
 * tcpdump records every packet through both hosts' links (so driver to executor, worker to master and rank to rank);
 * the job's secret, raw, in hex or in base64, is in none of the TCP streams. The control: the same run with Spark's
 * encryption turned off ({@code spark.network.crypto.enabled=false}, the documented opt-out) and the same search
 * finds it, so the search can fail.
 *
 * <p>The secret is the one the driver in this JVM draws: a SecureRandom provider installed first for this test hands
 * out the platform's own random bytes and keeps those that {@code TrainDriver.run} asked for.
 */
public class NothingSecretOnTheWireTest {
    @TempDir
    static Path work;

    /** The bytes each SecureRandom drawn by TrainDriver.run produced, in order: one job secret per run. */
    static final List<byte[]> JOB_SECRETS = new CopyOnWriteArrayList<>();
    private static final Provider RECORDING = new RecordingProvider();

    @BeforeAll
    static void recordJobSecrets() {
        Security.insertProviderAt(RECORDING, 1);
    }

    @AfterAll
    static void stopRecording() {
        Security.removeProvider(RECORDING.getName());
    }

    @Test
    void theJobSecretIsInNoPacketWithSparksEncryptionAndInTheControlWithout() throws Exception {
        assumeTrue(tcpdumpWorks(), "tcpdump is not installed (apt-get install tcpdump): it records the links");
        try (TestHosts hosts = TestHosts.up(2)) {
            Capture encrypted = trainCaptured(hosts, "encrypted");
            Map<String, String> found = find(encrypted.secret(), encrypted.streams());
            System.out.printf("encrypted run: %d TCP streams, %d payload bytes; job secret found: %s%n",
                    encrypted.streams().size(), encrypted.payloadBytes(), found);
            assertTrue(encrypted.payloadBytes() > 10_000, "the capture holds the run: " + encrypted.payloadBytes());
            assertTrue(found.isEmpty(), "the job secret crossed the links readable: " + found);

            Capture plain = trainCaptured(hosts, "plain", "--conf", "spark.network.crypto.enabled=false");
            Map<String, String> control = find(plain.secret(), plain.streams());
            System.out.printf("control run (spark.network.crypto.enabled=false): %d TCP streams, %d payload bytes; "
                    + "job secret found: %s%n", plain.streams().size(), plain.payloadBytes(), control);
            assertFalse(control.isEmpty(), "without Spark's encryption the task, and the secret in it, cross in clear");
            for (TestHosts.Host host : hosts.hosts()) { // every executor gets the task: each host's link carries it
                String file = "plain-" + TestHosts.link(host) + ".pcap ";
                Map<String, byte[]> ofLink = new LinkedHashMap<>();
                plain.streams().forEach((stream, bytes) -> {
                    if (stream.startsWith(file)) ofLink.put(stream, bytes);
                });
                assertFalse(find(plain.secret(), ofLink).isEmpty(), "the secret in clear on " + TestHosts.link(host));
            }
        }
    }

    record Capture(byte[] secret, Map<String, byte[]> streams, long payloadBytes) {}

    /** A 5-step run of two ranks on the hosts, with tcpdump on both host links; the job's secret and the TCP streams. */
    private static Capture trainCaptured(TestHosts hosts, String name, String... extra) throws Exception {
        List<Process> dumps = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        try {
            for (TestHosts.Host host : hosts.hosts()) {
                Path file = work.resolve(name + "-" + TestHosts.link(host) + ".pcap");
                dumps.add(tcpdump(TestHosts.link(host), file));
                files.add(file);
            }
            int before = JOB_SECRETS.size();
            List<String> options = new ArrayList<>(TestHostsTrainingTest.onTestHosts(hosts, 2));
            options.addAll(List.of("--max-attempts", "1"));
            options.addAll(List.of(extra));
            TrainRuns.train(run(TrainRuns.bundledData(), work.resolve(name).toString(), 2, 4, 2,
                    options.toArray(String[]::new)));
            assertEquals(before + 1, JOB_SECRETS.size(), "one job secret drawn by the run");
            byte[] secret = JOB_SECRETS.get(before);
            for (Process dump : dumps) {
                dump.destroy(); // SIGTERM: tcpdump flushes its file and exits
                assertTrue(dump.waitFor(30, TimeUnit.SECONDS), "tcpdump ended");
            }
            Map<String, byte[]> streams = new LinkedHashMap<>();
            long bytes = 0;
            for (Path file : files) {
                for (Map.Entry<String, byte[]> e : tcpStreams(file).entrySet()) {
                    streams.put(file.getFileName() + " " + e.getKey(), e.getValue());
                    bytes += e.getValue().length;
                }
            }
            return new Capture(secret, streams, bytes);
        } finally {
            dumps.forEach(Process::destroyForcibly);
        }
    }

    private static boolean tcpdumpWorks() throws InterruptedException {
        try {
            Process p = new ProcessBuilder("tcpdump", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** tcpdump on a link, every byte of every packet, into a pcap file; returns once it is listening. */
    private static Process tcpdump(String link, Path file) throws IOException {
        Process p = new ProcessBuilder("tcpdump", "-i", link, "-n", "-s", "0", "-U", "-w", file.toString()).start();
        BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
        StringBuilder said = new StringBuilder();
        for (String line; (line = err.readLine()) != null; ) {
            said.append(line).append('\n');
            if (line.contains("listening on")) {
                Thread.ofVirtual().start(() -> drain(err)); // later messages must not fill the pipe
                return p;
            }
        }
        throw new IllegalStateException("tcpdump -i " + link + " did not start:\n" + said);
    }

    private static void drain(BufferedReader reader) {
        try {
            while (reader.readLine() != null) {
                // discard: the packet counts at exit
            }
        } catch (IOException ignored) {
            // tcpdump ended
        }
    }

    /** Where each form of the secret (raw, hex, base64) occurs: stream name by form; empty when nowhere. */
    static Map<String, String> find(byte[] secret, Map<String, byte[]> streams) {
        Map<String, byte[]> forms = new LinkedHashMap<>();
        forms.put("raw", secret);
        forms.put("hex", HexFormat.of().formatHex(secret).getBytes(StandardCharsets.US_ASCII));
        forms.put("HEX", HexFormat.of().withUpperCase().formatHex(secret).getBytes(StandardCharsets.US_ASCII));
        forms.put("base64", Base64.getEncoder().withoutPadding().encodeToString(secret).getBytes(StandardCharsets.US_ASCII));
        forms.put("base64url", Base64.getUrlEncoder().withoutPadding().encodeToString(secret)
                .getBytes(StandardCharsets.US_ASCII));
        Map<String, String> found = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> form : forms.entrySet()) {
            for (Map.Entry<String, byte[]> stream : streams.entrySet()) {
                if (indexOf(stream.getValue(), form.getValue()) >= 0) {
                    found.put(form.getKey(), stream.getKey());
                    break;
                }
            }
        }
        return found;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) continue outer;
            }
            return i;
        }
        return -1;
    }

    /**
     * The TCP payload of each direction of each connection in a pcap file (Ethernet, IPv4), in capture order, a
     * retransmitted segment kept once: a secret split over two segments is whole again.
     */
    static Map<String, byte[]> tcpStreams(Path pcap) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(pcap));
        int magic = in.order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
            in.order(ByteOrder.BIG_ENDIAN);
            magic = in.getInt(0);
        }
        assertTrue(magic == 0xa1b2c3d4 || magic == 0xa1b23c4d, "a pcap file: " + pcap);
        assertEquals(1, in.getInt(20), "Ethernet frames in " + pcap);
        Map<String, ByteArrayOutputStream> streams = new LinkedHashMap<>();
        Set<String> segments = new HashSet<>();
        in.position(24);
        while (in.remaining() >= 16) {
            in.position(in.position() + 8);
            int captured = in.getInt();
            in.getInt();
            int frame = in.position();
            in.position(frame + captured);
            ByteBuffer f = ByteBuffer.wrap(in.array(), frame, captured).slice().order(ByteOrder.BIG_ENDIAN);
            if (captured < 14 + 20 || (f.getShort(12) & 0xffff) != 0x0800) continue;
            int ip = 14, ihl = (f.get(ip) & 0x0f) * 4, total = f.getShort(ip + 2) & 0xffff;
            if (f.get(ip + 9) != 6) continue;
            int tcp = ip + ihl, offset = ((f.get(tcp + 12) & 0xff) >> 4) * 4;
            int start = tcp + offset, end = Math.min(ip + total, captured);
            if (end <= start) continue;
            String flow = address(f, ip + 12) + ":" + (f.getShort(tcp) & 0xffff) + ">" + address(f, ip + 16) + ":"
                    + (f.getShort(tcp + 2) & 0xffff);
            if (!segments.add(flow + " " + (f.getInt(tcp + 4) & 0xffffffffL) + " " + (end - start))) continue;
            streams.computeIfAbsent(flow, k -> new ByteArrayOutputStream())
                    .write(in.array(), frame + start, end - start);
        }
        Map<String, byte[]> result = new LinkedHashMap<>();
        streams.forEach((flow, bytes) -> result.put(flow, bytes.toByteArray()));
        return result;
    }

    private static String address(ByteBuffer f, int at) {
        return (f.get(at) & 0xff) + "." + (f.get(at + 1) & 0xff) + "." + (f.get(at + 2) & 0xff) + "." + (f.get(at + 3) & 0xff);
    }

    /** Hands out the platform's own SecureRandom (DRBG) for every {@code new SecureRandom()} in this JVM. */
    public static final class RecordingProvider extends Provider {
        RecordingProvider() {
            super("JllamaRecordingRandom", "1", "the platform's DRBG, keeping what TrainDriver.run draws");
            putService(new Service(this, "SecureRandom", "Recording", Recording.class.getName(), null, null));
        }
    }

    /** The platform's DRBG; keeps the bytes that TrainDriver.run itself (not Spark, not the progress server) asks for. */
    public static final class Recording extends SecureRandomSpi {
        private final SecureRandom real;

        public Recording() throws NoSuchAlgorithmException {
            real = SecureRandom.getInstance("DRBG");
        }

        @Override
        protected void engineSetSeed(byte[] seed) {
            real.setSeed(seed);
        }

        @Override
        protected void engineNextBytes(byte[] bytes) {
            real.nextBytes(bytes);
            boolean fromRun = StackWalker.getInstance().walk(frames -> frames
                    .filter(f -> !f.getClassName().startsWith("java.") && !f.getClassName().startsWith("sun.")
                            && !f.getClassName().equals(Recording.class.getName()))
                    .findFirst()
                    .map(f -> f.getClassName().equals("dev.jllama.driver.TrainDriver") && f.getMethodName().equals("run"))
                    .orElse(false));
            if (fromRun) JOB_SECRETS.add(bytes.clone());
        }

        @Override
        protected byte[] engineGenerateSeed(int numBytes) {
            return real.generateSeed(numBytes);
        }
    }
}
