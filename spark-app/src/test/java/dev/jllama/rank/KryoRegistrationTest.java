package dev.jllama.rank;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/** The ranks' results cross from the tasks to the driver through Kryo with registration required. */
class KryoRegistrationTest {
    private static final ClassTag<RankResult[]> TAG = ClassTag$.MODULE$.apply(RankResult[].class);

    private static SerializerInstance kryo(boolean withRegistrator) {
        SparkConf conf = new SparkConf(false).set("spark.kryo.registrationRequired", "true");
        if (withRegistrator) conf.set("spark.kryo.registrator", KryoRegistration.class.getName());
        return new KryoSerializer(conf).newInstance();
    }

    @Test
    void rankResultsRoundTrip() {
        Map<String, Object> web = new LinkedHashMap<>();
        web.put("weight", 0.75);
        web.put("windows", 96);
        web.put("realised", 0.7421875);
        Map<String, Map<String, Object>> data = new LinkedHashMap<>();
        data.put("web", web);
        RankResult[] results = {
                new RankResult(0, "10.0.0.1", List.of("0"), "cpu", "CPU, 2 threads", 6, 12, 5.5, 1234.5, 0.125, 3.0e11, 5.75, 314.2, 2.5, 360768,
                        7094272, 2886144, 0.25, data, "hdfs://nn:8020/runs/a/checkpoints/step-00000012", 6.25, 360768, 1_100_000, 1_048_576),
                new RankResult(1, "10.0.0.2", List.of(), "tornado", null, 0, 12, null, null, null, null, null, null, null, 1, 2, 3, 0, Map.of(),
                        null, null, 1, 0, 0)};
        SerializerInstance kryo = kryo(true);
        ByteBuffer bytes = kryo.serialize(results, TAG);
        RankResult[] back = kryo.deserialize(bytes, TAG);
        assertArrayEquals(results, back);
    }

    @Test
    void withoutTheRegistrationKryoRefusesThem() {
        RankResult[] results = {new RankResult(0, "h", List.of(), "cpu", "d", 0, 1, 1.0, 1.0, null, null, null, null, null, 1, 1, 1, 0, Map.of(),
                null, null, 1, 0, 0)};
        Exception e = assertThrows(Exception.class, () -> kryo(false).serialize(results, TAG));
        assertTrue(String.valueOf(e.getMessage()).contains("Class is not registered"), e.toString());
    }
}
