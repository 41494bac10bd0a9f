package dev.jllama.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** One {@code llama ...} invocation through {@link Main#run}: exit status and what it printed. */
record CommandLineRun(int status, String out, String err) {

    static CommandLineRun of(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new CommandLineRun(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Runs a command that must succeed with --json and returns its result object (the last line). */
    static JsonNode json(String... argv) throws IOException {
        CommandLineRun run = of(argv);
        assertEquals(0, run.status(), "exit status; stderr: " + run.err() + "\nstdout: " + run.out());
        String[] lines = run.out().strip().split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }
}
