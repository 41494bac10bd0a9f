package dev.jllama.data.prepare;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/** One local[2] Spark session per test JVM (Spark allows one active context per JVM). */
final class SparkTestSession {
    private static JavaSparkContext sc;

    private SparkTestSession() {}

    static synchronized JavaSparkContext get() {
        if (sc == null) {
            SparkSession spark = SparkSession.builder()
                    .master("local[2]")
                    .appName("jllama-data-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.sql.shuffle.partitions", "4")
                    .getOrCreate();
            sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            Runtime.getRuntime().addShutdownHook(new Thread(spark::stop));
        }
        return sc;
    }
}
