package dev.jllama.cli;

import java.io.PrintStream;

/** One subcommand of {@code submit/llama}. */
public interface Command {

    /** The word after {@code llama}, e.g. {@code train}. */
    String name();

    /** Usage text printed by {@code --help}: synopsis line first, then one line per option. */
    String usage();

    /**
     * Runs the command. Human-readable progress goes to {@code out}; when {@code args.json()} is set the
     * command's results must be returned as the JSON object that {@link Main} prints as the last line.
     *
     * @return the result fields (printed as one JSON object under {@code --json}); never null
     * @throws UsageException for bad arguments (exit status 2, one-line reason on standard error)
     */
    java.util.Map<String, Object> run(Args args, PrintStream out) throws Exception;
}
