package dev.jllama.javacheck;

import java.util.Map;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * A Spark plugin that stops an executor running on a Java older than jllama's as it starts, with one line naming
 * the Java it found and what to do, instead of an UnsupportedClassVersionError at the first task. Compiled
 * for Java 17 (Spark 4's floor, in its own source folder), so that it loads where the rest of jllama cannot; it uses
 * nothing of jllama. Spark reports the executor's end to the driver with this message, where {@code
 * dev.jllama.driver.ExecutorJavaWatch} picks it up.
 */
public final class ExecutorJavaCheck implements SparkPlugin {
    /** The Java release jllama's classes are compiled for (maven.compiler.release). */
    public static final int REQUIRED_JAVA = 25;
    /** What every line says, so that the driver tells it from other reasons an executor ends. */
    public static final String NEEDS = " and jllama needs Java " + REQUIRED_JAVA + " or later: ";

    @Override
    public DriverPlugin driverPlugin() {
        return null; // the driver runs jllama's classes, so it is on Java 25 already
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override
            public void init(PluginContext context, Map<String, String> extraConf) {
                // The host as Spark names it: the block manager is up before plugins start, while an executor's
                // PluginContext.hostname() fails (its RPC environment has no address).
                String host = SparkEnv.get().blockManager().blockManagerId().host();
                String problem = problem(Runtime.version().feature(), System.getProperty("java.version"),
                        System.getProperty("java.home"), context.executorID(), host,
                        context.conf().get("spark.master", ""));
                if (problem != null) throw new IllegalStateException(problem);
            }
        };
    }

    /** How the line of {@code executor} starts, so that the driver finds it inside Spark's reason for its end. */
    public static String lineStart(String executor) {
        return "executor " + executor + " on ";
    }

    /** The one line for an executor on Java {@code feature}, or null when that Java runs jllama. */
    static String problem(int feature, String version, String javaHome, String executor, String host, String master) {
        if (feature >= REQUIRED_JAVA) return null;
        String remedy = master.startsWith("yarn")
                ? "ship one with the job (submit/cluster/yarn.sh: JDK=/path/to/jdk-25; it sets spark.yarn.dist.archives"
                        + " and spark.executorEnv.JAVA_HOME) or set spark.executorEnv.JAVA_HOME to a JDK 25 on every node"
                : master.startsWith("k8s")
                ? "use an image whose JAVA_HOME is a JDK 25 (submit/cluster/kubernetes/build-image.sh builds one)"
                : "set spark.executorEnv.JAVA_HOME to a JDK 25 at the same path on every worker (submit/cluster/"
                        + "standalone.sh: EXECUTOR_JAVA_HOME=...), or give the workers one as their JAVA_HOME";
        return lineStart(executor) + host + " runs Java " + version + " (" + javaHome + ")" + NEEDS + remedy;
    }
}
