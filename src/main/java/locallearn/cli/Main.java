package locallearn.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The command line. Every subcommand is a small class of its own in this package; bad input of
 * any kind ends in one line on stderr and exit code 2 ({@link UserError}), never a stack trace.
 */
@Command(name = "locallearn", mixinStandardHelpOptions = true, version = "locallearn 0.1.0",
        description = "Train neural networks with layer-local error signals (Nøkland & Eidnes, 2019) or global backprop.",
        subcommands = {TrainCommand.class, EvalCommand.class, PredictCommand.class, ExportCommand.class, InfoCommand.class, BenchCommand.class, BenchMemoryCommand.class, ReportCommand.class, SelfTestCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (tests call this). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler((ex, a) -> {
            System.err.println("locallearn: " + ex.getMessage());
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            Throwable t = ex;
            if (t instanceof UserError || t instanceof IllegalArgumentException || t instanceof IllegalStateException
                    || t instanceof java.io.IOException || t instanceof java.io.UncheckedIOException) {
                System.err.println("locallearn " + cmd.getCommandName() + ": " + t.getMessage());
            } else {
                System.err.println("locallearn " + cmd.getCommandName() + ": internal error: " + t);
                if (System.getenv("LOCALLEARN_DEBUG") != null) t.printStackTrace();
            }
            return 2;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            // picocli hands only Exceptions to the handler above; an Error reaches here
            System.err.println("locallearn" + (args.length > 0 ? " " + args[0] : "") + ": " + outOfMemory(e));
            return 2;
        }
    }

    /** One line for a full Java heap: what did not fit, the heap's size, and how to give more. */
    static String outOfMemory(OutOfMemoryError e) {
        String what = e.getMessage() == null || e.getMessage().equals("Java heap space") ? "the Java heap is full" : e.getMessage();
        long max = Runtime.getRuntime().maxMemory();
        return "out of memory: " + what + " (heap limit " + String.format(java.util.Locale.ROOT, "%.1f GiB", max / 1073741824.0)
                + "); give the JVM more with LOCALLEARN_JAVA_OPTS=-Xmx<size>, or use a smaller batch";
    }
}
