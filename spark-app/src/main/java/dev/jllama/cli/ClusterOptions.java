package dev.jllama.cli;

import dev.jllama.driver.TrainDriver;
import dev.jllama.driver.WorldSize;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * Where and how a run through the training driver is spread, the same for {@code train} and {@code finetune}: the
 * Spark master and settings, the ranks, ZeRO, and how the ranks watch each other and recover.
 */
final class ClusterOptions {

    @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: spark-submit's, else local"
            + " Spark in this JVM)")
    String master;

    @Option(names = "--ranks", paramLabel = "N", description = "data-parallel ranks: on local Spark (default 1); on a"
            + " cluster whose size the configuration does not fix (local-cluster[N,..], spark.executor.instances or"
            + " spark.cores.max / spark.executor.cores do), required")
    @Range(min = 1)
    Integer ranks;

    @Option(names = "--zero", defaultValue = "0", paramLabel = "STAGE",
            description = "1 shards AdamW's moments across ranks (ZeRO stage 1); 0 replicates them (default: ${DEFAULT-VALUE})")
    @Range(min = 0, max = 1)
    int zero;

    @Option(names = "--conf", paramLabel = "KEY=VALUE", description = "a Spark setting (repeatable)")
    List<String> conf = new ArrayList<>();

    @Option(names = "--collective-timeout", defaultValue = "180", paramLabel = "S",
            description = "seconds a rank waits for a silent peer before failing (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    int collectiveTimeout;

    @Option(names = "--max-attempts", defaultValue = "4", paramLabel = "N", description = "runs of the training stage"
            + " before giving up; each attempt after a lost rank resumes from the newest intact checkpoint (default:"
            + " ${DEFAULT-VALUE})")
    @Range(min = 1)
    int maxAttempts;

    @Option(names = "--check-every", defaultValue = "100", paramLabel = "N", description = "steps between cross-rank"
            + " parameter checksums; 0 never checks (default: ${DEFAULT-VALUE})")
    @Range(min = 0)
    int checkEvery;

    @Option(names = "--log-every", defaultValue = "10", paramLabel = "N",
            description = "steps between progress lines (default: ${DEFAULT-VALUE})")
    @Range(min = 1)
    int logEvery;

    /** Each {@code --conf} must be KEY=VALUE. */
    void validate() {
        for (String kv : conf) {
            if (kv.indexOf('=') <= 0) throw new UsageException("--conf expects KEY=VALUE, got '" + kv + "'");
        }
    }

    /** The number of ranks the master and settings give ({@link WorldSize}). */
    int worldSize() {
        try {
            return WorldSize.of(TrainDriver.sparkConf(master, conf), ranks);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The cluster the driver runs {@code world} ranks of {@code threads} threads on. */
    TrainDriver.Cluster cluster(int world, int threads) {
        return new TrainDriver.Cluster(master, world, threads, conf, maxAttempts);
    }
}
