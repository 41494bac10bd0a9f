package dev.jllama.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** The world size comes from the configuration and --ranks alone, never from which executors registered first. */
class WorldSizeTest {

    /** The settings, and a standalone cluster's secret, which a spark:// master needs. */
    private static SparkConf conf(String master, String... settings) {
        List<String> all = new java.util.ArrayList<>(List.of(settings));
        all.add("spark.authenticate.secret=cluster-secret");
        return TrainDriver.sparkConf(master, all);
    }

    @Test
    void localSparkTakesRanksOrOne() {
        assertEquals(1, WorldSize.of(conf(null), null));
        assertEquals(3, WorldSize.of(conf("local[4]"), 3));
    }

    @Test
    void localClusterGivesOneRankPerExecutor() {
        assertEquals(2, WorldSize.of(conf("local-cluster[2,1,3072]"), null));
        assertEquals(2, WorldSize.of(conf("local-cluster[2,1,3072]"), 2));
        String disagreement = assertThrows(IllegalArgumentException.class,
                () -> WorldSize.of(conf("local-cluster[2,1,3072]"), 3)).getMessage();
        assertTrue(disagreement.contains("--ranks 3") && disagreement.contains("starts 2 executors"), disagreement);
        String small = assertThrows(IllegalArgumentException.class,
                () -> WorldSize.of(conf("local-cluster[2,1,256]"), null)).getMessage();
        assertTrue(small.contains("executors of 256 MiB are below Spark's minimum of 450 MiB"), small);
    }

    @Test
    void executorInstancesOrCoresFixTheSize() {
        assertEquals(4, WorldSize.of(conf("yarn", "spark.executor.instances=4"), null));
        assertEquals(3, WorldSize.of(conf("spark://m:7077", "spark.cores.max=6", "spark.executor.cores=2"), null));
        String uneven = assertThrows(IllegalArgumentException.class,
                () -> WorldSize.of(conf("spark://m:7077", "spark.cores.max=5", "spark.executor.cores=2"), null)).getMessage();
        assertTrue(uneven.contains("not a multiple"), uneven);
    }

    @Test
    void anUnsizedClusterNeedsRanks() {
        String message = assertThrows(IllegalArgumentException.class,
                () -> WorldSize.of(conf("spark://m:7077"), null)).getMessage();
        assertTrue(message.contains("give --ranks N"), message);
        assertEquals(5, WorldSize.of(conf("spark://m:7077"), 5));
    }

    @Test
    void dynamicAllocationIsRefused() {
        String message = assertThrows(IllegalArgumentException.class, () -> WorldSize.of(conf("yarn",
                "spark.dynamicAllocation.enabled=true", "spark.executor.instances=2"), 2)).getMessage();
        assertTrue(message.contains("spark.dynamicAllocation.enabled"), message);
    }
}
