package dev.jllama.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Entry point of {@code submit/llama} and the main class under {@code spark-submit}:
 * {@code llama <command> [options]}. Exit status 0 on success, 2 for a bad command line (one line on standard
 * error naming the option), 1 when the command fails (one line on standard error).
 */
public final class Main {

    /** The whole tool: only {@code --help} and {@code --version}; the work is in the subcommands. */
    @Command(name = "llama", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
            description = "LLaMA pretraining on Apache Spark and TornadoVM.",
            footer = "%nRun 'llama COMMAND --help' for a command's options. Arguments may come from @FILE (one per"
                    + " line); train and prepare also read --config FILE.yaml.",
            subcommands = {TrainCommand.class, FinetuneCommand.class, BenchCommand.class, TokenizeCommand.class, PrepareCommand.class,
                GenerateCommand.class, EvalCommand.class, EvalTaskCommand.class, ExportCommand.class,
                ImportCommand.class, TrainClassifierCommand.class, CommandLine.HelpCommand.class, AutoComplete.GenerateCompletion.class})
    static final class Root {}

    /** Loggers that say nothing useful on the embedded default; {@code --verbose} shows them (at warn). */
    static final List<String> QUIET_LOGGERS = List.of("org.apache.hadoop.util.NativeCodeLoader",
            "org.apache.spark.util.Utils");

    private Main() {}

    public static void main(String[] argv) {
        System.exit(run(argv, System.out, System.err));
    }

    /** The command line, every option's range described in its help text. */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Root());
        for (CommandLine sub : cli.getSubcommands().values()) {
            OptionRanges.describeInHelp(sub.getCommandSpec());
            sub.getCommandSpec().usageMessage().sortOptions(false);
        }
        cli.getSubcommands().get("generate-completion").getCommandSpec().usageMessage().hidden(true);
        return cli;
    }

    public static int run(String[] argv, PrintStream out, PrintStream err) {
        String name = "llama";
        try {
            CommandLine cli = commandLine();
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(err, true));
            ParseResult parsed = cli.parseArgs(argv);
            if (CommandLine.printHelpIfRequested(parsed)) return 0;
            if (!parsed.hasSubcommand()) {
                cli.usage(out);
                return 2;
            }
            CommandLine leaf = parsed.subcommand().commandSpec().commandLine();
            name = "llama " + leaf.getCommandName();
            if (!(leaf.getCommand() instanceof LlamaCommand)) { // the completion script
                ((Runnable) leaf.getCommand()).run();
                return 0;
            }
            LlamaCommand command = checked(parsed);
            Map<String, Object> result = command.run(out);
            if (command.json) out.println(Json.line(result));
            out.flush();
            return 0;
        } catch (CommandLine.UnmatchedArgumentException e) {
            if (e.getCommandLine().getParent() != null) return usageError(e, err);
            err.println("llama: unknown command '" + e.getUnmatched().get(0) + "' (commands: "
                    + String.join(", ", e.getCommandLine().getSubcommands().keySet()) + ")");
            return 2;
        } catch (ParameterException e) {
            return usageError(e, err);
        } catch (UsageException e) {
            err.println(name + ": " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println(name + ": " + oneLine(e));
            if (System.getenv("LLAMA_DEBUG") != null) e.printStackTrace(err);
            return 1;
        }
    }

    /** One line naming the command and the option, then exit status 2. */
    private static int usageError(ParameterException e, PrintStream err) {
        String name = "llama" + (e.getCommandLine().getParent() != null ? " " + e.getCommandLine().getCommandName() : "");
        err.println(name + ": " + e.getMessage() + " (see " + name + " --help)");
        return 2;
    }

    /**
     * The command of a parsed command line, with its {@code --config} file and recalled settings applied
     * ({@link #withLayers}), its ranges and its cross-option rules checked: ready to run.
     */
    static LlamaCommand checked(ParseResult parsed) {
        CommandLine leaf = withLayers(parsed);
        LlamaCommand command = leaf.getCommand();
        quietUnlessVerbose(command.verbose);
        OptionRanges.check(leaf.getCommandSpec());
        OptionChoices.check(leaf.getCommandSpec());
        command.validate();
        return command;
    }

    /** {@link #checked} for an argument list, as tests and other commands run a command. */
    static LlamaCommand checked(String... argv) {
        return checked(commandLine().parseArgs(argv));
    }

    /**
     * The command parsed again with its lower layers of settings in front of the typed arguments: the
     * {@code --config} file's values, and below them what the command recalls by itself ({@link Recalling}: a resumed
     * run's recorded configuration). Each layer sets only options the layers above left unset.
     */
    private static CommandLine withLayers(ParseResult parsed) {
        List<String> typed = rest(parsed);
        String subcommand = parsed.expandedArgs().get(0);
        CommandSpec spec = parsed.subcommand().commandSpec();
        List<String> layers = new ArrayList<>();
        Set<String> given = matched(parsed.subcommand());
        if (spec.findOption("--config") != null && parsed.subcommand().hasMatchedOption("--config")) {
            Path file = parsed.subcommand().matchedOptionValue("--config", null);
            layers.addAll(ConfigFile.arguments(file, spec, given));
        }
        ParseResult current = parse(subcommand, layers, typed);
        if (current.subcommand().commandSpec().userObject() instanceof Recalling recalling) {
            Set<String> set = matched(current.subcommand());
            List<String> recalled = recalling.recall(current.subcommand().commandSpec(), set);
            if (!recalled.isEmpty()) {
                List<String> all = new ArrayList<>(recalled);
                all.addAll(layers);
                current = parse(subcommand, all, typed);
                ((Recalling) current.subcommand().commandSpec().userObject()).recalled(recalled);
            }
        }
        return current.subcommand().commandSpec().commandLine();
    }

    private static ParseResult parse(String subcommand, List<String> layers, List<String> typed) {
        List<String> args = new ArrayList<>();
        args.add(subcommand);
        args.addAll(layers);
        args.addAll(typed);
        return commandLine().parseArgs(args.toArray(String[]::new));
    }

    /** The arguments after the subcommand's name, @files expanded. */
    private static List<String> rest(ParseResult parsed) {
        List<String> expanded = parsed.expandedArgs();
        return new ArrayList<>(expanded.subList(1, expanded.size()));
    }

    private static Set<String> matched(ParseResult result) {
        Set<String> names = new HashSet<>();
        for (OptionSpec option : result.matchedOptions()) names.add(option.longestName());
        return names;
    }

    /** A command that fills options left unset from what it recorded earlier (e.g. {@code train --resume}). */
    interface Recalling {
        /** Arguments for options not in {@code given}, from the command's record; empty when there is none. */
        List<String> recall(CommandSpec parsed, Set<String> given);

        /** Tells the command finally run which arguments {@link #recall} gave (a new instance is parsed with them). */
        void recalled(List<String> arguments);
    }

    private static void quietUnlessVerbose(boolean verbose) {
        if (!verbose) return;
        for (String logger : QUIET_LOGGERS) Configurator.setLevel(logger, Level.WARN);
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        return message.replace('\n', ' ');
    }
}
