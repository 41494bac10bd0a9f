package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.prepare.BundledCorpus;
import dev.jllama.data.shard.Manifest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's main command, {@code submit/llama train}, as a user runs it: the launcher script in a fresh working
 * directory, with the embedded defaults (bundled corpus prepared on first use, tiny, CPU), shortened to 3 steps.
 * Runs where `./mvnw verify` has packaged spark-app (CI does), so the launcher has nothing to build.
 */
class LauncherTest {
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Path LAUNCHER = ROOT.resolve("submit/llama");
    private static final Path APP_JAR = ROOT.resolve("spark-app/target/jllama-spark-app-0.1.0-SNAPSHOT.jar");

    @TempDir
    Path work;

    record Result(int status, String out, String err) {}

    @BeforeAll
    static void launcherNeedsNoBuild() throws IOException {
        assumeTrue(Files.isRegularFile(APP_JAR) && Files.isRegularFile(ROOT.resolve("spark-app/target/classpath.txt")),
                "spark-app is not packaged (run ./mvnw verify): the launcher would build the project itself");
        FileTime built = Files.getLastModifiedTime(APP_JAR);
        for (String sources : List.of("model/src/main", "data/src/main", "spark-app/src/main")) {
            try (Stream<Path> files = Files.walk(ROOT.resolve(sources))) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    assumeTrue(Files.getLastModifiedTime(f).compareTo(built) <= 0,
                            f + " is newer than the packaged spark-app: the launcher would rebuild (run ./mvnw verify)");
                }
            }
        }
    }

    private Result llama(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(LAUNCHER.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(work.toFile());
        pb.environment().put("LLAMA_HEAP", "2g");
        Path out = work.resolve("stdout.txt");
        Path err = work.resolve("stderr.txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(240, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("submit/llama " + String.join(" ", args) + " ran for more than 240 s");
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void helpAndNoCommand() throws Exception {
        Result help = llama("--help");
        assertEquals(0, help.status(), help.err());
        for (String command : List.of("train", "bench", "tokenize", "prepare")) {
            assertTrue(help.out().contains("\n  " + command + " "), help.out());
        }
        Result none = llama();
        assertEquals(2, none.status());
        assertTrue(none.out().startsWith("Usage: llama"), none.out());
        Result trainHelp = llama("train", "--help");
        assertEquals(0, trainHelp.status(), trainHelp.err());
        assertTrue(trainHelp.out().startsWith("Usage: llama train") && trainHelp.out().contains("--steps=N"), trainHelp.out());
        Result version = llama("--version");
        assertEquals(0, version.status(), version.err());
        assertTrue(version.out().startsWith("jllama 0.1.0-SNAPSHOT (git "), version.out());
        Result bad = llama("train", "--micro-batch", "0");
        assertEquals(2, bad.status());
        assertEquals("llama train: --micro-batch must be at least 1, got 0\n", bad.err(), "one line, nothing before it");
        assertTrue(Files.notExists(work.resolve("runs/train")), "nothing written");
    }

    @Test
    void trainWithTheEmbeddedDefaultsPreparesTheBundledCorpusAndCheckpoints() throws Exception {
        Result run = llama("train", "--steps", "3", "--json");
        assertEquals(0, run.status(), "stderr: " + run.err() + "\nstdout: " + run.out());
        assertTrue(run.out().startsWith("no --data given: using the bundled sample corpus"), run.out());
        String[] lines = run.out().strip().split("\n");
        JsonNode result = new ObjectMapper().readTree(lines[lines.length - 1]);
        assertEquals(3, result.get("steps").asInt());
        assertEquals("cpu", result.get("backend").asText());
        assertEquals(360_768, result.get("parameters").asLong(), "the tiny preset");
        assertEquals(16 * 128, result.get("tokens_per_step").asInt(), "16 sequences of 128 tokens");
        double loss = result.get("final_loss").asDouble();
        assertTrue(loss > 5 && loss < Math.log(4096) + 0.5, "loss after 3 steps: " + loss);
        assertTrue(result.get("val_loss").isNumber(), result.toString());
        assertTrue(Files.isRegularFile(work.resolve("runs/data/bundled").resolve(BundledCorpus.DATASET_NAME).resolve(Manifest.FILE_NAME)));
        assertTrue(Files.isRegularFile(work.resolve("runs/train/checkpoints/step-00000003/COMPLETE")));
        // Three steps and the validation in metrics.jsonl, and the loss curve beside it.
        assertEquals(4, Files.readAllLines(work.resolve("runs/train/metrics.jsonl")).size());
        assertTrue(Files.size(work.resolve("runs/train/loss.png")) > 0);
        // Quiet by default: none of the JVM's, Hadoop's or Spark's start-up notices.
        for (String notice : List.of("Using incubator modules", "NativeCodeLoader", "resolves to a loopback address")) {
            assertFalse(run.err().contains(notice), "stderr shows " + notice + ":\n" + run.err());
        }
        Result again = llama("train", "--steps", "3");
        assertEquals(2, again.status(), again.err());
        assertTrue(again.err().contains("already holds checkpoints (newest step-00000003): add --resume"), again.err());
    }
}
