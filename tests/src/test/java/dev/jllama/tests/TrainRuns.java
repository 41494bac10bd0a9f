package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.cli.Main;
import dev.jllama.data.prepare.BundledCorpus;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.SafeTensors;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/** Runs {@code llama train} through the command line and reads back what its checkpoints recorded. */
final class TrainRuns {
    private TrainRuns() {}

    /**
     * The bundled corpus, prepared once for all test classes of a build (preparing it runs a Spark job; a
     * prepared dataset is reused by name).
     */
    static synchronized String bundledData() {
        return BundledCorpus.prepare(java.nio.file.Path.of("target", "bundled-corpus").toAbsolutePath()).toString();
    }

    /** The command's JSON result line; fails the test on a non-zero exit. */
    static JsonNode train(String... args) throws Exception {
        return trainWithOutput(args).result();
    }

    /** What a finished command printed on standard output, and its JSON result line. */
    record Finished(String stdout, JsonNode result) {}

    /** The command's standard output and JSON result line; fails the test on a non-zero exit. */
    static Finished trainWithOutput(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String stdout = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, "exit status; stderr: " + err.toString(StandardCharsets.UTF_8) + "\nstdout: " + stdout);
        String[] lines = stdout.strip().split("\n");
        return new Finished(stdout, new ObjectMapper().readTree(lines[lines.length - 1]));
    }

    /** The loss recorded by each checkpoint under {@code checkpoints}, by step. */
    static Map<Integer, Double> lossesByStep(String checkpoints) throws IOException {
        Configuration conf = new Configuration();
        Map<Integer, Double> losses = new TreeMap<>();
        for (Path dir : new CheckpointStore(checkpoints, conf).list()) {
            var state = CheckpointStore.readState(dir.toString(), conf);
            losses.put(state.step(), state.loss());
        }
        return losses;
    }

    /** The weights of the newest checkpoint under {@code checkpoints}. */
    static Map<String, SafeTensors.Entry> finalWeights(String checkpoints) throws IOException {
        return tensors(checkpoints, CheckpointStore.MODEL_FILE);
    }

    static Map<String, SafeTensors.Entry> finalMoments(String checkpoints) throws IOException {
        return tensors(checkpoints, CheckpointStore.OPTIMIZER_FILE);
    }

    private static Map<String, SafeTensors.Entry> tensors(String checkpoints, String file) throws IOException {
        Configuration conf = new Configuration();
        Path dir = new CheckpointStore(checkpoints, conf).latest().orElseThrow();
        Path path = new Path(dir, file);
        try (InputStream in = path.getFileSystem(conf).open(path)) {
            return SafeTensors.read(in, path.toString());
        }
    }

    /** Largest norm-wise relative difference ||a-b|| / ||b|| over the tensors of two checkpoints. */
    static double worstRelativeDifference(Map<String, SafeTensors.Entry> a, Map<String, SafeTensors.Entry> b) {
        assertEquals(b.keySet(), a.keySet());
        double worst = 0;
        for (String name : b.keySet()) {
            float[] x = a.get(name).data(), y = b.get(name).data();
            double diff = 0, norm = 0;
            for (int i = 0; i < y.length; i++) {
                diff += Math.pow((double) x[i] - y[i], 2);
                norm += (double) y[i] * y[i];
            }
            worst = Math.max(worst, norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm));
        }
        return worst;
    }
}
