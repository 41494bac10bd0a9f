package dev.jllama.rank;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** metrics.jsonl: lines in step order, appended or rewritten, and cut back to the checkpoint on resume. */
class MetricsLogTest {
    @TempDir
    Path run;

    /** Hadoop's raw local FileSystem: appends like HDFS (the checksummed local one cannot). */
    private static Configuration appendingLocalFiles() {
        Configuration raw = new Configuration();
        raw.setClass("fs.file.impl", RawLocalFileSystem.class, org.apache.hadoop.fs.FileSystem.class);
        raw.setBoolean("fs.file.impl.disable.cache", true);
        return raw;
    }

    private static StepMetrics step(int step, double loss) {
        return new StepMetrics(step, 512L * step, loss, 1e-3, 0.5, 1000, 0.0625, 0.2, 0.01, 0.001, 1.7e9 + step);
    }

    private List<JsonNode> lines() throws Exception {
        List<JsonNode> nodes = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve(MetricsLog.FILE))) nodes.add(new ObjectMapper().readTree(line));
        return nodes;
    }

    private List<String> summary() throws Exception {
        List<String> out = new ArrayList<>();
        for (JsonNode n : lines()) {
            out.add(n.get("step").asInt() + (n.has("val_loss") ? " val " + n.get("val_loss").asDouble()
                    : " loss " + n.get("loss").asDouble()));
        }
        return out;
    }

    @Test
    void stepsAndValidationsInStepOrder() throws Exception {
        MetricsLog log = MetricsLog.open(run.toString(), new Configuration(), false, 0);
        assertEquals(List.of(), summary(), "a fresh run starts an empty file");
        log.add(step(1, 8.5));
        log.add(step(2, 8.25));
        log.add(new MetricsLog.Validation(2, 1024, 8.0, 2981.0, 4.5, 1.7e9 + 2.5));
        log.flush();
        StepMetrics onAMixture = new StepMetrics(3, 1536, 7.75, 1e-3, 0.5, 1000, 0.0625, 0.2, 0.01, 0.001, 1.7e9 + 3,
                Map.of("web", Map.of("weight", 0.75, "windows", 5, "realised", 0.625, "epochs", 0.5),
                        "books", Map.of("weight", 0.25, "windows", 3, "realised", 0.375, "epochs", 1.5)));
        log.add(onAMixture);
        log.flush();
        assertEquals(List.of("1 loss 8.5", "2 loss 8.25", "2 val 8.0", "3 loss 7.75"), summary());
        assertEquals(step(2, 8.25), StepMetrics.fromJson(lines().get(1), "line 2"), "every field comes back");
        assertEquals(onAMixture, StepMetrics.fromJson(lines().get(3), "line 4"), "a mixture's shares come back");
        assertFalse(lines().get(1).has("data"), "one dataset: no shares");
    }

    @Test
    void resumeKeepsTheLinesUpToTheCheckpointAndDropsTheRest() throws Exception {
        MetricsLog first = MetricsLog.open(run.toString(), appendingLocalFiles(), false, 0);
        for (int s = 1; s <= 5; s++) first.add(step(s, 9 - s));
        first.add(new MetricsLog.Validation(4, 2048, 4.5, 90.0, 2.0, 1.7e9 + 4.5));
        first.flush();
        // The writer died in the middle of appending a line.
        Files.writeString(run.resolve(MetricsLog.FILE), "{\"step\":6,\"tokens\":30", StandardOpenOption.APPEND);

        MetricsLog resumed = MetricsLog.open(run.toString(), appendingLocalFiles(), true, 4);
        assertEquals(List.of("1 loss 8.0", "2 loss 7.0", "3 loss 6.0", "4 loss 5.0", "4 val 4.5"), summary());
        assertEquals(4, resumed.steps().size());
        resumed.add(step(5, 4.0));
        resumed.add(new MetricsLog.Validation(4, 2048, 4.25, 70.1, 1.9, 1.7e9 + 9)); // evaluated again: replaces the old one
        resumed.flush();
        assertEquals(List.of("1 loss 8.0", "2 loss 7.0", "3 loss 6.0", "4 loss 5.0", "4 val 4.25", "5 loss 4.0"),
                summary());

        MetricsLog fresh = MetricsLog.open(run.toString(), appendingLocalFiles(), false, 0);
        assertEquals(List.of(), summary(), "a run that does not resume starts over");
        assertEquals(0, fresh.steps().size());
    }

    @Test
    void appendsWhereTheFileSystemCanAndRewritesWhereItCannot() throws Exception {
        Path file = run.resolve(MetricsLog.FILE);
        // Hadoop's local FileSystem keeps checksums and cannot append: every flush replaces the file.
        MetricsLog checksummed = MetricsLog.open(run.toString(), new Configuration(), false, 0);
        checksummed.add(step(1, 8));
        checksummed.flush();
        Object before = Files.readAttributes(file, "unix:ino").get("ino");
        checksummed.add(step(2, 7));
        checksummed.flush();
        assertNotEquals(before, Files.readAttributes(file, "unix:ino").get("ino"), "rewritten and renamed over");

        // Where the FileSystem appends (HDFS, the raw local one), the file stays the same file.
        MetricsLog appending = MetricsLog.open(run.toString(), appendingLocalFiles(), true, 2);
        before = Files.readAttributes(file, "unix:ino").get("ino");
        appending.add(step(3, 6));
        appending.flush();
        appending.add(step(4, 5));
        appending.flush();
        assertEquals(before, Files.readAttributes(file, "unix:ino").get("ino"), "appended in place");
        assertEquals(List.of("1 loss 8.0", "2 loss 7.0", "3 loss 6.0", "4 loss 5.0"), summary());
        assertTrue(Files.list(run).noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary left");
    }
}
