package dev.jllama.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Three ranks in three JVMs, the way executors run them: addresses and secret travel through the parent. */
class CollectiveProcessTest {
    private static final int WORLD_SIZE = 3;

    @Test
    @Timeout(120)
    void threeProcessesAllReduceToIdenticalResults(@TempDir Path logs) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> ranks = new ArrayList<>();
        List<BufferedReader> outputs = new ArrayList<>();
        try {
            for (int rank = 0; rank < WORLD_SIZE; rank++) {
                Process process = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                        RankProcess.class.getName(), String.valueOf(rank), String.valueOf(WORLD_SIZE))
                        .redirectError(logs.resolve("rank-" + rank + ".err").toFile())
                        .start();
                ranks.add(process);
                outputs.add(new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)));
            }
            List<String> addresses = new ArrayList<>();
            for (int rank = 0; rank < WORLD_SIZE; rank++) {
                addresses.add(expect(outputs.get(rank), "address", logs, rank));
            }
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            for (Process process : ranks) {
                PrintWriter input = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
                input.println("addresses " + String.join(",", addresses));
                input.println("secret " + HexFormat.of().formatHex(secret));
            }
            List<String> checksums = new ArrayList<>();
            for (int rank = 0; rank < WORLD_SIZE; rank++) {
                checksums.add(expect(outputs.get(rank), "checksum", logs, rank));
            }
            for (int rank = 0; rank < WORLD_SIZE; rank++) {
                assertTrue(ranks.get(rank).waitFor(60, TimeUnit.SECONDS), "rank " + rank + " did not exit");
                assertEquals(0, ranks.get(rank).exitValue(), errors(logs, rank));
            }
            assertEquals(List.of(checksums.get(0), checksums.get(0), checksums.get(0)), checksums,
                    "every rank holds the same bits");
        } finally {
            for (Process process : ranks) process.destroyForcibly();
        }
    }

    /** The value of the next {@code name ...} line of a rank (other lines, e.g. logging, are skipped). */
    private static String expect(BufferedReader output, String name, Path logs, int rank) throws Exception {
        for (String line = output.readLine(); line != null; line = output.readLine()) {
            if (line.startsWith(name + " ")) return line.substring(name.length() + 1);
        }
        throw new AssertionError("rank " + rank + " ended without printing '" + name + "': " + errors(logs, rank));
    }

    private static String errors(Path logs, int rank) throws Exception {
        return Files.readString(logs.resolve("rank-" + rank + ".err"));
    }
}
