package dev.jllama.driver;

import dev.jllama.data.SparkKryo;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.rank.KryoRegistration;
import dev.jllama.rank.RankResult;
import dev.jllama.rank.RankTask;
import dev.jllama.rank.TrainPlan;
import java.io.IOException;
import java.io.PrintStream;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkException;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.SerializableConfiguration;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * The driver of a training run: waits until every one of the world's executors ({@link WorldSize}) has registered, and runs exactly one barrier stage with one task per rank for the whole run, showing
 * rank 0's progress as it arrives ({@link ProgressDisplay}). When a rank is lost the stage fails (a barrier stage cannot lose one task);
 * the driver says which rank, where and at which step, and runs the stage again, resuming from the newest intact
 * checkpoint, up to {@code --max-attempts} times. With no master it runs the same stage on local Spark in this JVM.
 */
public final class TrainDriver {
    /** How long to wait for executors to register before giving up. */
    static final String EXECUTOR_WAIT = "spark.jllama.executorWaitSeconds";
    private static final String VECTOR_MODULE = "--add-modules=jdk.incubator.vector";

    /**
     * @param master  {@code --master}, or null for spark-submit's or, failing that, local Spark
     * @param ranks   the world size ({@link WorldSize#of}): one rank per executor, or per task slot on local Spark
     * @param threads {@code --threads}, or 0 for the cores of the task
     * @param extra   {@code --conf k=v} settings
     * @param attempts how many times the training stage runs before the run fails ({@code --max-attempts})
     */
    public record Cluster(String master, int ranks, int threads, List<String> extra, int attempts) {}

    /** The ranks' results, by rank, where the run went and the plan it ran. */
    public record Outcome(String master, TrainPlan plan, List<RankResult> ranks) {}

    private TrainDriver() {}

    /** @param plan the run, its batch already split over {@code cluster.ranks()} ranks */
    public static Outcome run(TrainPlan plan, Cluster cluster, PrintStream out) throws IOException, InterruptedException {
        SparkConf conf = sparkConf(cluster.master(), cluster.extra());
        boolean local = isLocal(conf.get("spark.master"));
        int ranks = cluster.ranks();
        if (local) localSlots(conf, ranks, cluster.threads());
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            ExecutorJavaWatch javaWatch = new ExecutorJavaWatch();
            sc.sc().addSparkListener(javaWatch);
            if (!local) awaitExecutors(sc, ranks, conf.getInt(EXECUTOR_WAIT, 300), out, javaWatch);
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            // The address Spark's own driver endpoint took (spark.driver.host, else this machine's address), which
            // the executors reach; not loopback, which an executor on another host cannot.
            String driverHost = sc.getConf().get("spark.driver.host", "127.0.0.1");
            try (ProgressDisplay display = ProgressDisplay.forOutput(out, plan.logEvery());
                 ProgressServer progress = new ProgressServer(driverHost, secret, display)) {
                if (!local && plan.backend().equals("auto") && !conf.contains("spark.task.resource.gpu.amount")) {
                    // On a cluster, a GPU is what Spark assigns to a task: without GPU scheduling, ranks use their cores.
                    plan = plan.withBackend("cpu");
                }
                TrainPlan job = plan.forJob(secret, progress.address(), new SerializableConfiguration(sc.hadoopConfiguration()));
                display.line(String.format("training on %s: %d rank%s, one barrier stage", sc.master(), ranks,
                        ranks == 1 ? "" : "s"));
                FailureWatch failures = new FailureWatch();
                sc.sc().addSparkListener(failures);
                for (int attempt = 1; ; attempt++) {
                    failures.reset();
                    sc.setJobDescription(ProgressDisplay.jobDescription(job, ranks, sc.hadoopConfiguration()));
                    try {
                        List<RankResult> results = runStage(sc, job, ranks, javaWatch);
                        return new Outcome(sc.master(), plan, results);
                    } catch (SparkException e) {
                        Optional<FailureWatch.Failure> cause = failures.cause(5_000);
                        // After the wait for a cause: the listeners have seen the executors' removal by then.
                        javaWatch.check();
                        String what = cause.map(FailureWatch.Failure::describe).orElse(withoutStackTrace(e));
                        String where = progress.lastStep() > 0 ? "at step " + progress.lastStep() : "before its first step";
                        boolean badInput = cause.map(f -> IllegalArgumentException.class.getName()
                                .equals(f.exceptionClass())).orElse(false);
                        if (attempt >= cluster.attempts() || badInput) {
                            throw new IllegalStateException("training stage failed " + where + " (attempt " + attempt
                                    + " of " + cluster.attempts() + "): " + withoutStackTrace(e), e);
                        }
                        Optional<Path> newest = new CheckpointStore(job.checkpoints(), sc.hadoopConfiguration()).latest();
                        display.line(String.format("attempt %d of %d failed %s: %s; attempt %d resumes from %s", attempt,
                                cluster.attempts(), where, what, attempt + 1, newest.map(p -> "the newest complete "
                                        + "checkpoint, " + p.getName()).orElse("the start (no checkpoint yet)")));
                        job = job.withResume();
                        if (!local) awaitExecutors(sc, ranks, conf.getInt(EXECUTOR_WAIT, 300), out, javaWatch);
                    }
                }
            }
        }
    }

    /**
     * The one barrier stage of a run: one task per rank, each training to the end; their results by rank. Fails with
     * the watch's line as soon as an executor was on too old a Java: the stage would otherwise wait on for slots that
     * no executor ever offers (a barrier job waiting for slots is not yet a job Spark can cancel).
     */
    private static List<RankResult> runStage(JavaSparkContext sc, TrainPlan job, int ranks, ExecutorJavaWatch javaWatch)
            throws SparkException, InterruptedException {
        ClassTag<RankResult> tag = ClassTag$.MODULE$.apply(RankResult.class);
        JavaFutureAction<List<RankResult>> stage = JavaRDD.fromRDD(sc.parallelize(IntStream.range(0, ranks).boxed()
                .toList(), ranks).rdd().barrier().mapPartitions(new RankTask(job), false, tag), tag).collectAsync();
        List<RankResult> results;
        while (true) {
            try {
                results = new ArrayList<>(stage.get(200, TimeUnit.MILLISECONDS));
                break;
            } catch (TimeoutException running) {
                javaWatch.check();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof SparkException failed) throw failed;
                throw new IllegalStateException("training stage failed: " + e.getCause(), e.getCause());
            }
        }
        results.sort(Comparator.comparingInt(RankResult::rank));
        return results;
    }

    /** Spark's message for a failed stage, which names the failed rank and its cause, up to the task's stack trace. */
    private static String withoutStackTrace(Exception e) {
        if (e.getMessage() == null) return e.toString();
        return String.join(" ", e.getMessage().lines().takeWhile(line -> !line.startsWith("\tat ")).toList());
    }

    /**
     * The run's Spark configuration: spark-submit's, {@code --conf} settings and {@code --master}, and ours, Spark's
     * authentication and encryption among them ({@link SparkSecurity}).
     */
    public static SparkConf sparkConf(String master, List<String> extra) {
        SparkConf conf = new SparkConf().setAppName("jllama-train");
        for (String kv : extra) {
            int eq = kv.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("--conf expects key=value, got '" + kv + "'");
            conf.set(kv.substring(0, eq), kv.substring(eq + 1));
        }
        if (master != null) conf.setMaster(master);
        if (!conf.contains("spark.master")) conf.setMaster("local");
        if (isLocal(conf.get("spark.master"))) conf.setIfMissing("spark.ui.enabled", "false");
        // The data crossing between driver and tasks (the ranks' ids, their results) goes through Kryo; Spark
        // serialises the task itself (the plan inside it) with Java serialisation whatever this says.
        SparkKryo.use(conf, KryoRegistration.class);
        // A barrier stage needs all its tasks at once: run() waits until every requested executor is there
        // (awaitExecutors), seeing meanwhile an executor stopped for its Java. Spark's own wait, inside the context's
        // constructor, would only delay that line by its whole length.
        conf.setIfMissing("spark.scheduler.maxRegisteredResourcesWaitingTime", "0s");
        // The CPU backend runs on the Vector API, which executors must enable too.
        String executorOptions = conf.get("spark.executor.extraJavaOptions", "");
        if (!executorOptions.contains("jdk.incubator.vector")) {
            conf.set("spark.executor.extraJavaOptions", (VECTOR_MODULE + " " + executorOptions).strip());
        }
        if (conf.get("spark.master").startsWith("local-cluster")) {
            // Executors of a local cluster start from this machine's files: give them this JVM's class path.
            conf.setIfMissing("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        }
        if (conf.contains("spark.executor.cores") && !conf.contains("spark.task.cpus")) {
            conf.set("spark.task.cpus", conf.get("spark.executor.cores")); // one rank per executor
        }
        if (conf.contains("spark.executor.resource.gpu.amount") && !conf.contains("spark.task.resource.gpu.amount")) {
            conf.set("spark.task.resource.gpu.amount", "1");
        }
        // Executors on too old a Java stop as they start, saying so, instead of failing on jllama's classes.
        if (!isLocal(conf.get("spark.master"))) ExecutorJavaWatch.install(conf);
        return SparkSecurity.secure(conf);
    }

    /** True for Spark in this JVM ({@code local}, {@code local[N]}), not for {@code local-cluster}. */
    public static boolean isLocal(String master) {
        return master.equals("local") || master.startsWith("local[");
    }

    /** Local Spark: one task slot of {@code threads} cores per rank. */
    private static void localSlots(SparkConf conf, int ranks, int threads) {
        int perRank = threads > 0 ? threads : Math.max(1, Runtime.getRuntime().availableProcessors() / ranks);
        conf.setMaster("local[" + ranks * perRank + "]");
        conf.set("spark.task.cpus", Integer.toString(perRank));
    }

    /** Waits until {@code ranks} executors have registered; fails at once when one was on too old a Java. */
    private static void awaitExecutors(JavaSparkContext sc, int ranks, int waitSeconds, PrintStream out,
                                       ExecutorJavaWatch javaWatch) {
        long deadline = System.nanoTime() + waitSeconds * 1_000_000_000L;
        int registered = executors(sc);
        if (registered < ranks) out.printf("waiting for %d executors (%d registered)%n", ranks, registered);
        while (registered < ranks) {
            javaWatch.check();
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("only " + registered + " of " + ranks
                        + " executors registered within " + waitSeconds + " s (" + EXECUTOR_WAIT + ")");
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for executors");
            }
            registered = executors(sc);
        }
    }

    /** Registered executors, the driver not counted. */
    private static int executors(JavaSparkContext sc) {
        return sc.sc().statusTracker().getExecutorInfos().length - 1;
    }
}
