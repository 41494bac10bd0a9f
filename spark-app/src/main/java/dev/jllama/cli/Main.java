package dev.jllama.cli;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Entry point of {@code submit/llama} and the main class under {@code spark-submit}:
 * {@code llama <command> [options]}. Exit status 0 on success; otherwise one line on standard error.
 */
public final class Main {

    /** Every command of the launcher, in the order {@code --help} lists them. */
    static List<Command> commands() {
        return List.of(
                new TrainCommand(),
                new BenchCommand(),
                new TokenizeCommand(),
                new PrepareCommand(),
                new GenerateCommand(),
                new EvalCommand(),
                new EvalTaskCommand(),
                new ExportCommand(),
                new ImportCommand());
    }

    public static void main(String[] argv) {
        System.exit(run(argv, System.out, System.err));
    }

    public static int run(String[] argv, PrintStream out, PrintStream err) {
        Map<String, Command> byName = new LinkedHashMap<>();
        for (Command command : commands()) byName.put(command.name(), command);
        if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h") || argv[0].equals("help")) {
            out.println("usage: llama <command> [options]   (llama <command> --help for its options)");
            out.println("commands: " + String.join(", ", byName.keySet()));
            return argv.length == 0 ? 2 : 0;
        }
        Command command = byName.get(argv[0]);
        if (command == null) {
            err.println("llama: unknown command '" + argv[0] + "' (commands: " + String.join(", ", byName.keySet()) + ")");
            return 2;
        }
        try {
            Args args = Args.parse(argv, 1);
            if (args.flag("help")) {
                out.println(command.usage());
                return 0;
            }
            boolean json = args.json();
            Map<String, Object> result = command.run(args, out);
            if (json) out.println(Json.line(result));
            out.flush();
            return 0;
        } catch (UsageException e) {
            err.println("llama " + command.name() + ": " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println("llama " + command.name() + ": " + oneLine(e));
            if (System.getenv("LLAMA_DEBUG") != null) e.printStackTrace(err);
            return 1;
        }
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        return message.replace('\n', ' ');
    }
}
