package dev.jllama.data;

import dev.jllama.data.prepare.PrepareKryo;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * One local[2] Spark session for every test class of the JVM: Spark allows one active context per JVM, so a test
 * class that started and stopped its own would break whichever class ran after it in the same JVM.
 */
public final class SparkTestSession {
    private static JavaSparkContext sc;

    private SparkTestSession() {}

    public static synchronized JavaSparkContext get() {
        if (sc == null) {
            SparkSession spark = SparkSession.builder()
                    .master("local[2]")
                    .appName("jllama-data-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.sql.shuffle.partitions", "4")
                    // The serializer the preparation job runs with, every class it meets registered.
                    .config(PrepareKryo.configure(new SparkConf(false)).set("spark.kryo.registrationRequired", "true"))
                    .getOrCreate();
            sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            Runtime.getRuntime().addShutdownHook(new Thread(spark::stop));
        }
        return sc;
    }
}
