package dev.jllama.cli;

import dev.jllama.data.mixture.TrainingData;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * One subcommand of {@code submit/llama}: a picocli command whose option fields are set before {@link #run} is
 * called, with every declared {@link Range} already checked.
 */
public abstract class LlamaCommand {

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
    boolean help;

    @Option(names = "--json", description = "print the result as one JSON object on the last line of standard output")
    boolean json;

    @Option(names = "--verbose", description = "show the JVM's, Spark's and Hadoop's start-up warnings too")
    boolean verbose;

    @Spec
    CommandSpec spec;

    /** True when the option was set on the command line or by a lower layer ({@code --config}, a recalled run). */
    boolean given(String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    /**
     * Runs the command. Human-readable progress goes to {@code out}.
     *
     * @return the result fields (printed as one JSON object under {@code --json}); never null
     * @throws UsageException for bad arguments found only now (exit status 2, one-line reason on standard error)
     */
    public abstract Map<String, Object> run(PrintStream out) throws Exception;

    /** Checks that need several options together, before any work; the default has none. */
    void validate() {}

    /**
     * The data a {@code --data} spec names. A spec typed on the command line that is malformed or names what the
     * dataset lacks (a source) is a usage error naming the option; a mixture file's content ({@code @FILE}) and a
     * dataset that cannot be read stay input errors.
     */
    static TrainingData openData(String spec, Configuration conf) throws IOException {
        try {
            return TrainingData.open(spec, conf);
        } catch (IllegalArgumentException e) {
            if (spec.startsWith("@")) throw e;
            throw new UsageException("--data: " + e.getMessage());
        }
    }
}
