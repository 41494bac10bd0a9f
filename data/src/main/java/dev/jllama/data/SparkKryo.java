package dev.jllama.data;

import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoRegistrator;
import org.apache.spark.serializer.KryoSerializer;

/** Spark's Kryo serializer with a registrator of ours, kept beside any the user named. */
public final class SparkKryo {
    private SparkKryo() {}

    /** Kryo unless the configuration names another serializer, and {@code registrator} among the registrators. */
    public static SparkConf use(SparkConf conf, Class<? extends KryoRegistrator> registrator) {
        conf.setIfMissing("spark.serializer", KryoSerializer.class.getName());
        String registrators = conf.get("spark.kryo.registrator", "");
        if (!registrators.contains(registrator.getName())) {
            conf.set("spark.kryo.registrator", (registrators.isEmpty() ? "" : registrators + ",") + registrator.getName());
        }
        return conf;
    }
}
