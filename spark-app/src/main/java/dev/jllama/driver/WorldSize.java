package dev.jllama.driver;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;

/**
 * How many ranks a run has, decided from the Spark configuration and {@code --ranks} before any executor starts:
 * the world size decides which data each rank reads and how the batch is split, so it must never depend on how
 * many executors happened to have registered at some instant.
 */
public final class WorldSize {
    private static final Pattern LOCAL_CLUSTER =
            Pattern.compile("local-cluster\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*,\\s*(\\d+)\\s*]");
    /** Spark refuses executors below 1.5 times its 300 MiB reserve, with a stack trace; say so in one line first. */
    private static final int SPARK_MINIMUM_EXECUTOR_MIB = 450;

    private WorldSize() {}

    /**
     * @param conf  the run's Spark configuration (master, {@code --conf} settings and spark-submit's included)
     * @param ranks {@code --ranks}, or null when not given
     * @throws IllegalArgumentException when the configuration fixes no size and {@code --ranks} is missing, when the
     *                                  two disagree, or when executors come and go (dynamic allocation)
     */
    public static int of(SparkConf conf, Integer ranks) {
        String master = conf.get("spark.master", "local");
        if (TrainDriver.isLocal(master)) return ranks != null ? ranks : 1;
        if (conf.getBoolean("spark.dynamicAllocation.enabled", false)) {
            throw new IllegalArgumentException("spark.dynamicAllocation.enabled is true, but a barrier stage needs a"
                    + " fixed set of executors: set it to false and give the number of executors");
        }
        Matcher localCluster = LOCAL_CLUSTER.matcher(master);
        if (localCluster.matches()) {
            if (Integer.parseInt(localCluster.group(3)) < SPARK_MINIMUM_EXECUTOR_MIB) {
                throw new IllegalArgumentException(master + ": executors of " + localCluster.group(3) + " MiB are below"
                        + " Spark's minimum of " + SPARK_MINIMUM_EXECUTOR_MIB + " MiB (1.5 x its 300 MiB reserve)");
            }
            return agreeing(Integer.parseInt(localCluster.group(1)), ranks, master + " starts "
                    + localCluster.group(1) + " executors");
        }
        if (conf.contains("spark.executor.instances")) {
            int instances = conf.getInt("spark.executor.instances", 0);
            return agreeing(instances, ranks, "spark.executor.instances is " + instances);
        }
        if (master.startsWith("spark://") && conf.contains("spark.cores.max") && conf.contains("spark.executor.cores")) {
            int max = conf.getInt("spark.cores.max", 0), perExecutor = conf.getInt("spark.executor.cores", 1);
            if (max % perExecutor != 0) {
                throw new IllegalArgumentException("spark.cores.max " + max + " is not a multiple of spark.executor.cores "
                        + perExecutor + ": the number of executors would depend on the workers' free cores");
            }
            return agreeing(max / perExecutor, ranks, "spark.cores.max / spark.executor.cores is " + max + " / "
                    + perExecutor);
        }
        if (ranks != null) return ranks;
        throw new IllegalArgumentException("the number of ranks on " + master + " is not fixed by the configuration:"
                + " give --ranks N (or set spark.executor.instances, or on a standalone master spark.cores.max with"
                + " spark.executor.cores)");
    }

    private static int agreeing(int fromConf, Integer ranks, String why) {
        if (fromConf < 1) throw new IllegalArgumentException(why + ": a run needs at least one executor");
        if (ranks != null && ranks != fromConf) {
            throw new IllegalArgumentException("--ranks " + ranks + " disagrees with the cluster: " + why
                    + " (one rank per executor)");
        }
        return fromConf;
    }
}
