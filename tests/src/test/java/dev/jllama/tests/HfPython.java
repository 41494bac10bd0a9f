package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The reference implementations for the export and import checks: {@code src/test/python/hf_check.py} run by the
 * Python named by JLLAMA_HF_PYTHON (a virtual environment with torch, transformers, sentencepiece and gguf, which
 * .ci/run makes and sets).
 */
final class HfPython {
    static final String VARIABLE = "JLLAMA_HF_PYTHON";
    private static final Path SCRIPT = Path.of("src/test/python/hf_check.py");

    private HfPython() {}

    static void assumeAvailable() {
        assumeTrue(System.getenv(VARIABLE) != null, VARIABLE + " is not set: no Python with torch, transformers and "
                + "gguf to cross-check against (.ci/run creates one)");
    }

    /** Runs {@code hf_check.py args...}; fails the test unless it exits 0. Returns its standard output. */
    static String run(String... args) throws IOException, InterruptedException {
        return runScript(VARIABLE, SCRIPT, args);
    }

    /**
     * Runs {@code script args...} with the Python named by the environment variable {@code variable}; fails the test
     * unless it exits 0. Returns its standard output.
     */
    static String runScript(String variable, Path script, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(System.getenv(variable), script.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        // One thread: reproducible sums in torch, and the build machine's cores stay with the build.
        builder.environment().put("OMP_NUM_THREADS", "1");
        builder.environment().put("HF_HUB_OFFLINE", "1");
        Process p = builder.start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String name = script.getFileName() + " " + String.join(" ", args);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), name + " timed out");
        assertEquals(0, p.exitValue(), name + " failed");
        return out;
    }

    static float[] readFloats(Path file) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[bytes.remaining() / 4];
        bytes.asFloatBuffer().get(values);
        return values;
    }
}
