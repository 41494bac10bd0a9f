package dev.jllama.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The PyTorch baselines of {@code bench}: the project's reference scripts ({@code model/src/test/python}) run by the
 * Python of {@code --python} or {@code JLLAMA_HF_PYTHON}, each printing a JSON object as its last line.
 */
final class PythonBaseline {
    private final String python;
    private final Path scripts;

    private PythonBaseline(String python, Path scripts) {
        this.python = python;
        this.scripts = scripts;
    }

    /**
     * The baseline for {@code --python PATH}, else {@code JLLAMA_HF_PYTHON}, else none (null). The scripts are found
     * under the project directory: {@code jllama.home} (set by {@code submit/llama}), else the working directory or
     * its parent (a module's directory).
     */
    static PythonBaseline find(String pythonOption) {
        String python = pythonOption != null ? pythonOption : System.getenv("JLLAMA_HF_PYTHON");
        if (python == null || python.isBlank()) return null;
        String home = System.getProperty("jllama.home");
        List<Path> candidates = home != null ? List.of(Path.of(home)) : List.of(Path.of("."), Path.of(".."));
        Path scripts = null;
        for (Path candidate : candidates) {
            Path dir = candidate.resolve(Path.of("model", "src", "test", "python"));
            if (scripts == null && Files.isRegularFile(dir.resolve("bench_torch.py"))) scripts = dir;
        }
        if (scripts == null) {
            throw new UsageException("the PyTorch baseline needs the project's model/src/test/python scripts, not"
                    + " found under " + candidates + " (run bench from the project directory or through submit/llama)");
        }
        if (!Files.isExecutable(Path.of(python))) {
            throw new UsageException("--python / JLLAMA_HF_PYTHON '" + python + "' is not an executable file");
        }
        return new PythonBaseline(python, scripts);
    }

    /** Runs {@code script} with {@code arguments}, echoing its output lines to {@code out}; returns its JSON result. */
    JsonNode run(String script, List<String> arguments, PrintStream out) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(python, scripts.resolve(script).toString()));
        command.addAll(arguments);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int status = process.waitFor();
        String[] lines = output.stripTrailing().split("\n");
        if (status != 0 || lines.length == 0 || !lines[lines.length - 1].startsWith("{")) {
            throw new IllegalStateException(String.join(" ", command) + " failed (exit " + status + "): "
                    + output.strip());
        }
        for (int i = 0; i < lines.length - 1; i++) out.println("    " + lines[i]);
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }
}
